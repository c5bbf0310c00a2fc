#pragma once
/// A small C++ client for tilerenderd: one class wrapping the gRPC stub. Errors come back as
/// tilerender::Status, whose codes are the gRPC codes.

#include <grpcpp/channel.h>

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "core/image/image_source.h"
#include "core/status.h"
#include "tilerender/v1/tilerender.grpc.pb.h"

namespace tilerender::client {

namespace v1 = ::tilerender::v1;

/// 127.0.0.1:50051 unless TILERENDER_SERVER is set.
std::string DefaultServer();
Status FromGrpc(const grpc::Status& status);

struct UploadOptions {
  size_t chunk_bytes = size_t{1} << 20;
  /// Called after each chunk with (bytes sent, bytes total); returning false cancels the upload.
  std::function<bool(size_t, size_t)> progress;
  bool labels = false;  ///< register it as a labels image (UploadHeader.labels)
};

/// How to reach the daemon: TLS (the CA to trust; a certificate and key for mutual TLS) and a bearer
/// token (sent as "authorization: Bearer TOKEN" metadata with every call).
struct ConnectOptions {
  int max_message_bytes = 256 << 20;
  std::string token;
  bool tls = false;     ///< implied by any of the files below
  std::string tls_ca;   ///< PEM file of the CA that signed the daemon's certificate (empty: the system's)
  std::string tls_cert; ///< PEM files of this client's certificate and key (mutual TLS)
  std::string tls_key;
};

class Client {
 public:
  explicit Client(std::shared_ptr<grpc::Channel> channel, std::string token = "");
  static std::unique_ptr<Client> Connect(const std::string& target, int max_message_bytes = 256 << 20);
  /// NOT_FOUND, PERMISSION_DENIED or INVALID_ARGUMENT when a TLS file cannot be read.
  static Result<std::unique_ptr<Client>> Connect(const std::string& target, const ConnectOptions& options);

  /// Waits until the health service reports SERVING (the daemon renders), or the timeout passes.
  Status WaitForServing(std::chrono::milliseconds timeout);
  /// One health check: OK when SERVING.
  Status Health();

  Result<v1::ServerInfo> Info();
  /// `page`: TIFF page; `z`, `t`: the plane of an OME-Zarr image with those axes.
  Result<v1::ImageInfo> Load(const std::string& path, const std::string& id = "", int page = 0, int64_t z = 0,
                             int64_t t = 0);
  /// The full request (reader choice, associated images).
  /// `timeout` > 0: the call's deadline (the daemon stops the load when it passes).
  Result<v1::ImageInfo> Load(const v1::LoadImageRequest& request,
                             std::chrono::milliseconds timeout = std::chrono::milliseconds(0));
  /// Streams the source's pixels: straight from its memory when it has contiguous rows, else in
  /// bands read on demand, so a file is never held twice.
  Result<v1::ImageInfo> Upload(const std::string& id, ImageSource& source, const UploadOptions& options = {});
  Result<std::vector<v1::ImageInfo>> List();
  /// Returns the GPU bytes freed.
  Result<int64_t> Unload(const std::string& id);
  Result<v1::RenderResponse> Render(const v1::RenderRequest& request,
                                    std::chrono::milliseconds timeout = std::chrono::milliseconds(0));
  /// Pipelines the requests on one RenderStream; `on_result(index, result)` is called in order.
  using StreamCallback = std::function<void(size_t, Result<v1::RenderResponse>)>;
  Status RenderStream(const std::vector<v1::RenderRequest>& requests, const StreamCallback& on_result);
  Result<v1::Stats> Stats();
  /// Raw values of images at world points; a line profile.
  Result<v1::ProbeResponse> Probe(const v1::ProbeRequest& request);
  Result<v1::ProfileResponse> Profile(const v1::ProfileRequest& request);

 private:
  /// The token's metadata; for renders also x-image-id (the first layer's image: a balancer hashes
  /// on it for cache affinity).
  void Prepare(grpc::ClientContext& ctx, const std::string& image_id = "") const;

  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<v1::TileRender::Stub> stub_;
  std::string token_;
};

}  // namespace tilerender::client
