#pragma once
// The HTTP front end over the application layer (cpp-httplib: Debian's libcpp-httplib-dev, a
// small, well-kept server with keep-alive, a bounded worker pool and request limits, and the TLS
// support the production issue will need; Boost.Beast would bring much more code to write and
// CivetWeb a C API). It serves:
//   /iiif/3/{id}/info.json and /iiif/3/{id}/{region}/{size}/{rotation}/{quality}.{format}
//     IIIF Image API 3.0, level 2, with our render parameters as query parameters;
//   /api/info, /api/images (JSON) and /api/render (POST the RenderRequest as proto JSON);
//   / and /web/: the web viewer (static files), /osd/: OpenSeadragon, installed there by npm;
//   /healthz.
// CORS on every answer; renders carry an ETag (a render is a function of the image version and
// the URL), and If-None-Match answers 304 without rendering; IIIF renders are kept in a response
// cache by the same key, so any client asking again gets them without a render. Never a GL call
// here.

#include <memory>
#include <string>
#include <thread>

#include "server/app.h"
#include "server/response_cache.h"

namespace httplib {
class Server;
}

namespace tilerender::server {

struct HttpOptions {
  std::string listen;  ///< HOST:PORT (port 0: any free port)
  int threads = 32;    ///< workers, one per keep-alive connection being served; others wait
  int64_t max_body_bytes = int64_t{1} << 20;  ///< POST bodies (/api/render)
  int keep_alive_max_requests = 1000;
  int timeout_s = 30;  ///< read and write timeouts of a connection
  /// The web viewer: static/ (our files) and node_modules/openseadragon (npm); empty: no viewer.
  std::string web_root;
  /// Encoded IIIF renders kept for repeats (0: none).
  int64_t response_cache_bytes = int64_t{64} << 20;
  /// HTTPS with this PEM certificate and key; with a client CA, client certificates are required.
  std::string tls_cert, tls_key, tls_client_ca;
  /// Serve /metrics and /healthz only (--metrics-listen).
  bool metrics_only = false;
};

class HttpServer {
 public:
  /// Binds and starts serving on its own threads; INVALID_ARGUMENT or UNAVAILABLE when it cannot.
  static Result<std::unique_ptr<HttpServer>> Start(App& app, HttpOptions options);
  ~HttpServer();

  int port() const { return port_; }
  const std::string& host() const { return host_; }
  /// Stops accepting, finishes the requests in progress, joins.
  void Stop();
  ResponseCache::Stats cache_stats() const { return cache_.stats(); }
  /// The response cache's metrics, Prometheus text.
  std::string CacheExposition() const;

 private:
  HttpServer(App& app, HttpOptions options);
  void Routes();

  App& app_;
  HttpOptions options_;
  ResponseCache cache_;
  std::unique_ptr<httplib::Server> server_;
  std::thread thread_;
  std::string host_;
  int port_ = 0;
};

}  // namespace tilerender::server
