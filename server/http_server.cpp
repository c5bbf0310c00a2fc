#include "server/http_server.h"

#include <google/protobuf/util/json_util.h>
#include <httplib.h>
#include <sys/socket.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "core/image/image_file.h"
#include "core/render/colormap.h"

#include "server/convert.h"
#include "server/http_status.h"
#include "server/log_text.h"
#include "server/iiif.h"

namespace tilerender::server {
namespace {

using Clock = std::chrono::steady_clock;
using json = nlohmann::json;

thread_local Clock::time_point t_request_start;  // set before routing, read by the logger

// A path or message as it may appear in a log line: printable, bounded.
void SendError(httplib::Response& res, int http_status, const std::string& message) {
  res.status = http_status;
  json body = {{"status", http_status}, {"error", message}};
  res.set_content(body.dump(), "application/json");
}

void SendStatus(httplib::Response& res, const Status& s) { SendError(res, HttpStatusOf(s), s.message()); }

// FNV-1a, 64 bits: the ETag of a render (a function of the image version and the request).
uint64_t Fnv1a(std::string_view s, uint64_t h = 1469598103934665603ull) {
  for (unsigned char c : s) h = (h ^ c) * 1099511628211ull;
  return h;
}

// What a render is a function of: the image version and the whole URL (parameters sorted).
std::string RenderKey(const RegisteredImage& image, const httplib::Request& req) {
  std::string key = std::to_string(image.handle->id()) + "|" + req.path;
  std::vector<std::pair<std::string, std::string>> params(req.params.begin(), req.params.end());
  std::sort(params.begin(), params.end());
  for (const auto& [k, v] : params) key += "|" + k + "=" + v;
  return key;
}

std::string ETagOf(const std::string& render_key) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "\"tr-%016llx\"", static_cast<unsigned long long>(Fnv1a(render_key)));
  return buf;
}

// The route of a path, a bounded label for metrics.
// A message as JSON (the proto's field names, every field), or 500.
void SendProtoJson(httplib::Response& res, const google::protobuf::Message& message) {
  std::string body;
  google::protobuf::util::JsonPrintOptions o;
  o.preserve_proto_field_names = true;
  o.always_print_primitive_fields = true;
  if (!google::protobuf::util::MessageToJsonString(message, &body, o).ok()) return SendError(res, 500, "cannot write JSON");
  res.set_content(body, "application/json");
}

std::string RouteOf(const std::string& path) {
  if (path.rfind("/iiif/", 0) == 0) return path.size() > 10 && path.compare(path.size() - 10, 10, "/info.json") == 0 ? "iiif_info" : "iiif_image";
  for (const char* p : {"/api/render", "/api/images", "/api/info", "/api/probe", "/api/profile", "/healthz", "/metrics"}) {
    if (path == p) return p + 1;
  }
  return path.rfind("/api/", 0) == 0 ? "api_other" : "static";
}

bool NotModified(const httplib::Request& req, const std::string& etag) {
  const std::string inm = req.get_header_value("If-None-Match");
  if (inm.empty()) return false;
  if (inm == "*") return true;
  // A list of entity tags, weak or strong.
  size_t start = 0;
  while (start < inm.size()) {
    size_t end = inm.find(',', start);
    if (end == std::string::npos) end = inm.size();
    std::string tag = inm.substr(start, end - start);
    tag.erase(0, tag.find_first_not_of(' '));
    tag.erase(tag.find_last_not_of(' ') + 1);
    if (tag.rfind("W/", 0) == 0) tag.erase(0, 2);
    if (tag == etag) return true;
    start = end + 1;
  }
  return false;
}

const char* MediaTypeOf(OutputFormat f) {
  switch (f) {
    case OutputFormat::kPng: return "image/png";
    case OutputFormat::kJpeg: return "image/jpeg";
    case OutputFormat::kWebp: return "image/webp";
    case OutputFormat::kRawRgba8: return "application/octet-stream";
  }
  return "application/octet-stream";
}

Result<double> NumberParam(const httplib::Request& req, const char* name) {
  const std::string v = req.get_param_value(name);
  char* end = nullptr;
  const double d = std::strtod(v.c_str(), &end);
  if (v.empty() || end != v.c_str() + v.size() || !std::isfinite(d)) {
    return InvalidArgument(std::string("query parameter ") + name + " must be a number");
  }
  return d;
}

// Our render parameters, as query parameters that plain IIIF clients never send: colormap,
// contrast=lo,hi, gamma, interp=nearest|linear, channel=N, channels=0:green,1:magenta.
// Defaults: linear sampling; a multi-channel image is the additive composite of its channels in
// their suggested colors (else green, magenta, cyan, yellow, red, blue), each through its window.
Result<std::vector<Layer>> LayersFromQuery(const RegisteredImage& image, const httplib::Request& req) {
  const ImageInfo& info = image.handle->info();
  Layer base{.image = image.handle, .interpolation = Interpolation::kLinear};
  if (req.has_param("interp")) {
    TR_ASSIGN_OR_RETURN(base.interpolation, ParseInterpolation(req.get_param_value("interp")));
  }
  if (req.has_param("contrast")) {
    const std::string v = req.get_param_value("contrast");
    double lo = 0, hi = 0;
    char tail = 0;
    if (std::sscanf(v.c_str(), "%lf,%lf%c", &lo, &hi, &tail) != 2) {
      return InvalidArgument("query parameter contrast must be LO,HI");
    }
    base.contrast = Contrast{lo, hi};
  }
  if (req.has_param("gamma")) {
    TR_ASSIGN_OR_RETURN(base.gamma, NumberParam(req, "gamma"));
  }
  if (req.has_param("colormap")) base.colormap.name = req.get_param_value("colormap");
  std::vector<Layer> layers;
  const int planes = info.desc.planes;
  if (req.has_param("channels")) {
    // "0:green,1:magenta": one additive layer per item.
    auto items = ParseChannelColormaps(req.get_param_value("channels"));
    if (!items.ok()) return InvalidArgument("query parameter channels: " + Printable(items.status().message(), 120));
    for (const ChannelColormap& item : *items) {
      Layer l = base;
      l.channel = item.channel;
      l.colormap = {.name = item.colormap};
      l.blending = Blending::kAdditive;
      layers.push_back(l);
    }
  } else if (req.has_param("channel") || planes == 1 || req.has_param("colormap")) {
    Layer l = base;
    if (req.has_param("channel")) {
      TR_ASSIGN_OR_RETURN(double c, NumberParam(req, "channel"));
      if (c < 0 || c != std::floor(c) || c >= planes) {
        return InvalidArgument("query parameter channel must be 0.." + std::to_string(planes - 1));
      }
      l.channel = static_cast<int>(c);
    }
    layers.push_back(l);
  } else {
    static const char* kCycle[] = {"green", "magenta", "cyan", "yellow", "red", "blue"};
    for (int c = 0; c < planes; ++c) {
      Layer l = base;
      l.channel = c;
      l.blending = Blending::kAdditive;
      const uint32_t rgba = c < static_cast<int>(info.channel_info.size()) ? info.channel_info[c].color : 0;
      if (rgba != 0) {
        const Rgba color{((rgba >> 24) & 0xFF) / 255.f, ((rgba >> 16) & 0xFF) / 255.f, ((rgba >> 8) & 0xFF) / 255.f, 1};
        l.colormap = {.points = {{0, {0, 0, 0, 1}}, {1, color}}};
      } else {
        l.colormap = {.name = kCycle[c % 6]};
      }
      layers.push_back(l);
    }
  }
  return layers;
}

// A request that transforms nothing (an RGB image, a whole file tile of a level the file has, at
// that level's scale, unrotated, default or color quality, JPEG, none of our parameters) is
// answered with the file's own JPEG tile, undecoded. Empty when the request is not such a one.
Result<std::vector<uint8_t>> StoredTile(const RegisteredImage& image, const iiif::ImageRequest& r, const iiif::Plan& p,
                                        const httplib::Request& req) {
  const ImageInfo& info = image.handle->info();
  if (info.desc.channels != 3 || info.desc.planes != 1 || r.rotation != 0 || r.mirror || r.format != iiif::Format::kJpg ||
      (r.quality != iiif::Quality::kDefault && r.quality != iiif::Quality::kColor) || !req.params.empty() ||
      p.out_w <= 0 || p.w % p.out_w != 0 || p.h != p.out_h * (p.w / p.out_w)) {
    return std::vector<uint8_t>{};
  }
  const int64_t s = p.w / p.out_w;
  if ((s & (s - 1)) != 0) return std::vector<uint8_t>{};
  int k = 0;
  while ((int64_t{1} << k) < s) ++k;
  ImageSource& source = image.handle->source();
  const std::vector<SourceLevel> levels = source.levels();
  for (size_t i = 0; i < levels.size(); ++i) {
    const SourceLevel& l = levels[i];
    if (l.level != k) continue;
    // The level's pixels at this scale: the region must be exactly one of its chunks.
    if (p.x % s != 0 || p.y % s != 0 || p.out_w != l.chunk_width || p.out_h != l.chunk_height) break;
    const int64_t lx = p.x / s, ly = p.y / s;
    if (lx % l.chunk_width != 0 || ly % l.chunk_height != 0) break;
    return source.StoredJpegChunk(static_cast<int>(i), lx / l.chunk_width, ly / l.chunk_height);
  }
  return std::vector<uint8_t>{};
}

}  // namespace

HttpServer::HttpServer(App& app, HttpOptions options)
    : app_(app),
      options_(std::move(options)),
      cache_(options_.response_cache_bytes),
      server_(options_.tls_cert.empty()
                  ? std::make_unique<httplib::Server>()
                  : std::make_unique<httplib::SSLServer>(options_.tls_cert.c_str(), options_.tls_key.c_str(),
                                                         options_.tls_client_ca.empty() ? nullptr
                                                                                        : options_.tls_client_ca.c_str())) {}

HttpServer::~HttpServer() { Stop(); }

std::string HttpServer::CacheExposition() const {
  if (options_.metrics_only) return "";
  const ResponseCache::Stats c = cache_.stats();
  std::string out;
  AppendMetric(out, "tilerender_http_cache_hits_total", "counter", "IIIF renders answered from the response cache",
               static_cast<double>(c.hits));
  AppendMetric(out, "tilerender_http_cache_misses_total", "counter", "IIIF renders not in the response cache",
               static_cast<double>(c.misses));
  AppendMetric(out, "tilerender_http_cache_bytes", "gauge", "bytes the response cache holds", static_cast<double>(c.bytes));
  return out;
}

void HttpServer::Stop() {
  if (server_) server_->stop();
  if (thread_.joinable()) thread_.join();
}

Result<std::unique_ptr<HttpServer>> HttpServer::Start(App& app, HttpOptions options) {
  const size_t colon = options.listen.rfind(':');
  if (colon == std::string::npos) return InvalidArgument("--http-listen must be HOST:PORT, got " + options.listen);
  const std::string host = options.listen.substr(0, colon);
  const int port = std::atoi(options.listen.c_str() + colon + 1);
  std::unique_ptr<HttpServer> s(new HttpServer(app, options));
  httplib::Server& srv = *s->server_;
  if (!srv.is_valid()) return InvalidArgument("cannot use the TLS certificate, key or client CA for HTTPS");
  const int threads = std::max(1, options.threads);
  srv.new_task_queue = [threads] { return new httplib::ThreadPool(static_cast<size_t>(threads)); };
  srv.set_tcp_nodelay(true);  // small answers must not wait for a delayed ACK (40 ms on Linux)
  srv.set_keep_alive_max_count(static_cast<size_t>(std::max(1, options.keep_alive_max_requests)));
  srv.set_read_timeout(options.timeout_s);
  srv.set_write_timeout(options.timeout_s);
  srv.set_payload_max_length(static_cast<size_t>(options.max_body_bytes));
  s->Routes();
  // httplib listens with a backlog of 5 (compiled into Debian's library): sixteen clients that
  // connect at once overflow it and wait a SYN retransmission (1 s). Keep its socket options and
  // listen again on the same socket with a real backlog once it is bound.
  int listen_fd = -1;
  srv.set_socket_options([&listen_fd](socket_t sock) {
    httplib::default_socket_options(sock);
    listen_fd = sock;
  });
  s->port_ = port == 0 ? srv.bind_to_any_port(host) : (srv.bind_to_port(host, port) ? port : -1);
  if (s->port_ <= 0) return Unavailable("cannot listen for HTTP on " + options.listen);
  if (listen_fd >= 0) ::listen(listen_fd, 1024);
  s->host_ = host;
  s->thread_ = std::thread([&srv] { srv.listen_after_bind(); });
  return s;
}

void HttpServer::Routes() {
  httplib::Server& srv = *server_;
  srv.set_default_headers({{"Access-Control-Allow-Origin", "*"}, {"Access-Control-Expose-Headers", "ETag"}});
  srv.set_pre_routing_handler([this](const httplib::Request& req, httplib::Response& res) {
    t_request_start = Clock::now();
    // With --auth-tokens, images and the API need a token (any role: nothing here writes); the
    // viewer's static files, /healthz and /metrics stay open.
    if (req.method != "OPTIONS" && (req.path.rfind("/iiif/", 0) == 0 || req.path.rfind("/api/", 0) == 0)) {
      const Status s = app_.Authorize(req.get_header_value("Authorization"), Permission::kRead);
      if (!s.ok()) {
        if (s.code() == StatusCode::kUnauthenticated) res.set_header("WWW-Authenticate", "Bearer");
        SendStatus(res, s);
        return httplib::Server::HandlerResponse::Handled;
      }
    }
    return httplib::Server::HandlerResponse::Unhandled;
  });
  // One line per request: method, path, status, bytes, latency (the query is not logged whole).
  srv.set_logger([this](const httplib::Request& req, const httplib::Response& res) {
    const double ms = std::chrono::duration<double, std::milli>(Clock::now() - t_request_start).count();
    app_.requests().CountRequest("http", RouteOf(req.path), std::to_string(res.status));
    spdlog::info("HTTP {} {}{} {} {} bytes {:.1f} ms", req.method, Printable(req.path), req.params.empty() ? "" : "?...",
                 res.status, res.body.size(), ms);
  });
  srv.set_error_handler([](const httplib::Request&, httplib::Response& res) {
    if (res.body.empty()) SendError(res, res.status, res.status == 404 ? "no such resource" : "request refused");
  });
  srv.set_exception_handler([](const httplib::Request&, httplib::Response& res, std::exception_ptr ep) {
    std::string what = "internal error";
    try {
      if (ep) std::rethrow_exception(ep);
    } catch (const std::exception& e) {
      what = std::string("internal error: ") + e.what();
    } catch (...) {
    }
    SendError(res, 500, what);
  });
  srv.Options(R"(/.*)", [](const httplib::Request&, httplib::Response& res) {
    res.status = 204;
    res.set_header("Access-Control-Allow-Methods", "GET, POST, OPTIONS");
    res.set_header("Access-Control-Allow-Headers", "Content-Type, If-None-Match, Authorization");
    res.set_header("Access-Control-Max-Age", "86400");
  });
  srv.Get("/healthz", [](const httplib::Request&, httplib::Response& res) { res.set_content("ok\n", "text/plain"); });
  srv.Get("/metrics", [this](const httplib::Request&, httplib::Response& res) {
    res.set_content(app_.requests().Exposition(app_, CacheExposition()), "text/plain; version=0.0.4; charset=utf-8");
  });
  if (options_.metrics_only) return;

  // The web viewer: our static files, and OpenSeadragon where npm installed it.
  if (!options_.web_root.empty()) {
    const std::filesystem::path root(options_.web_root);
    if (!srv.set_mount_point("/web", (root / "static").string())) {
      spdlog::warn("web viewer: no {} (the viewer is off)", (root / "static").string());
    }
    const auto osd = root / "node_modules" / "openseadragon" / "build" / "openseadragon";
    if (!srv.set_mount_point("/osd", osd.string())) {
      spdlog::warn("web viewer: OpenSeadragon is not installed in {} (run npm ci there)", options_.web_root);
    }
    srv.Get("/", [index = (root / "static" / "index.html").string()](const httplib::Request&, httplib::Response& res) {
      auto page = ReadWholeFile(index);
      if (!page.ok()) return SendError(res, 404, "the web viewer is not installed");
      res.set_content(*page, "text/html; charset=utf-8");
    });
  }
  srv.Get("/api/info", [this](const httplib::Request&, httplib::Response& res) {
    const GpuInfo& gpu = app_.engine().gpu_info();
    const EngineLimits& l = app_.engine().limits();
    json j = {{"version", app_.options().version},
              {"gl_renderer", gpu.gl_renderer},
              {"software_renderer", gpu.software},
              {"tile_size", l.tile_size},
              {"max_output_side", l.max_output_side},
              {"max_output_pixels", l.max_output_pixels},
              {"colormaps", ColormapNames()}};
    res.set_content(j.dump(), "application/json");
  });

  // IIIF: the image information.
  srv.Get(R"(/iiif/3/([^/]+)/info\.json)", [this](const httplib::Request& req, httplib::Response& res) {
    auto image = app_.FindForRender(req.matches[1].str());
    if (!image.ok()) return SendStatus(res, image.status());
    const ImageInfo& info = (*image)->handle->info();
    const EngineLimits& limits = app_.engine().limits();
    const std::string host = req.get_header_value("Host");
    json j;
    j["@context"] = "http://iiif.io/api/image/3/context.json";
    j["id"] = "http://" + (host.empty() ? std::string("localhost") : host) + "/iiif/3/" + (*image)->id;
    j["type"] = "ImageService3";
    j["protocol"] = "http://iiif.io/api/image";
    j["profile"] = "level2";
    j["width"] = info.desc.width;
    j["height"] = info.desc.height;
    j["maxWidth"] = limits.max_output_side;
    j["maxHeight"] = limits.max_output_side;
    j["maxArea"] = limits.max_output_pixels;
    json factors = json::array();
    for (int k = 0; k < info.levels; ++k) factors.push_back(int64_t{1} << k);
    j["tiles"] = json::array({{{"width", 256}, {"height", 256}, {"scaleFactors", factors}}});
    json sizes = json::array();
    for (int k = info.levels - 1; k >= 0; --k) {
      const int64_t w = std::max<int64_t>(1, (info.desc.width + (int64_t{1} << k) - 1) >> k);
      const int64_t h = std::max<int64_t>(1, (info.desc.height + (int64_t{1} << k) - 1) >> k);
      if (w <= limits.max_output_side && h <= limits.max_output_side && w * h <= limits.max_output_pixels) {
        sizes.push_back({{"width", w}, {"height", h}});
      }
    }
    j["sizes"] = sizes;
    j["extraFormats"] = {"webp"};
    j["extraQualities"] = {"color", "gray", "bitonal"};
    j["extraFeatures"] = {"mirroring", "rotationArbitrary", "sizeUpscaling", "regionSquare", "cors", "jsonldMediaType"};
    if (info.pixel_size_x_um > 0) {
      // Not part of IIIF: what our viewer needs for a scale bar.
      j["service"] = json::array({{{"id", "physical-dimensions"},
                                   {"type", "tilerender:PhysicalDimensions"},
                                   {"physicalScale", info.pixel_size_x_um},
                                   {"physicalUnits", "um"}}});
    }
    const std::string accept = req.get_header_value("Accept");
    res.set_content(j.dump(), accept.find("application/ld+json") != std::string::npos
                                  ? "application/ld+json;profile=\"http://iiif.io/api/image/3/context.json\""
                                  : "application/json");
  });
  srv.Get(R"(/iiif/3/([^/]+)/?)", [](const httplib::Request& req, httplib::Response& res) {
    res.status = 303;
    std::string base = req.path;
    if (!base.empty() && base.back() == '/') base.pop_back();
    res.set_header("Location", base + "/info.json");
  });

  // IIIF: an image request.
  srv.Get(R"(/iiif/3/([^/]+)/([^/]+)/([^/]+)/([^/]+)/([^/]+))", [this](const httplib::Request& req,
                                                                          httplib::Response& res) {
    // A request refused before it reaches the engine still counts as a failed render (Stats).
    auto refuse = [&](const Status& s) {
      app_.RecordRenderError();
      SendStatus(res, s);
    };
    auto image = app_.FindForRender(req.matches[1].str());
    if (!image.ok()) return refuse(image.status());
    auto parsed = iiif::ParseImageRequest(req.matches[2].str(), req.matches[3].str(), req.matches[4].str(),
                                          req.matches[5].str());
    if (!parsed.ok()) return refuse(parsed.status());
    const ImageInfo& info = (*image)->handle->info();
    const EngineLimits& limits = app_.engine().limits();
    auto plan = iiif::PlanRequest(*parsed, info.desc.width, info.desc.height,
                                  {limits.max_output_side, limits.max_output_side, limits.max_output_pixels});
    if (!plan.ok()) {
      // The planner's limit errors are a size the client asked for: 413, not a full queue.
      app_.RecordRenderError();
      return SendError(res, plan.status().code() == StatusCode::kResourceExhausted ? 413 : HttpStatusOf(plan.status()),
                       plan.status().message());
    }
    const std::string key = RenderKey(**image, req);
    const std::string etag = ETagOf(key);
    res.set_header("ETag", etag);
    res.set_header("Cache-Control", "public, no-cache");  // stored, revalidated: an id may be reloaded
    if (NotModified(req, etag)) {
      res.status = 304;
      return;
    }
    res.set_header("Link", "<http://iiif.io/api/image/3/level2.json>;rel=\"profile\"");
    if (auto stored = StoredTile(**image, *parsed, *plan, req); stored.ok() && !stored->empty()) {
      res.set_header("X-Tilerender-Tile", "stored");  // the file's own JPEG tile, not a render
      res.set_content(reinterpret_cast<const char*>(stored->data()), stored->size(), "image/jpeg");
      return;
    }
    if (auto hit = cache_.Get(key)) {
      res.set_header("X-Tilerender-Cache", "hit");
      res.set_content(hit->body, hit->content_type);
      return;
    }
    RenderRequest r;
    r.width = static_cast<int>(plan->canvas_w);
    r.height = static_cast<int>(plan->canvas_h);
    r.camera.center_x = plan->x + plan->w / 2.0;
    r.camera.center_y = plan->y + plan->h / 2.0;
    r.camera.zoom = static_cast<double>(plan->out_w) / plan->w;
    const double zoom_y = static_cast<double>(plan->out_h) / plan->h;
    if (zoom_y != *r.camera.zoom) r.camera.zoom_y = zoom_y;
    r.camera.rotation_deg = parsed->rotation;
    r.camera.mirror = parsed->mirror;
    const bool quarter = std::fmod(parsed->rotation, 90.0) == 0;
    // Around an arbitrarily rotated region: transparent where the format has alpha.
    r.background = !quarter && parsed->format != iiif::Format::kJpg ? Rgba{0, 0, 0, 0} : Rgba{0, 0, 0, 1};
    r.format = parsed->format == iiif::Format::kJpg   ? OutputFormat::kJpeg
               : parsed->format == iiif::Format::kPng ? OutputFormat::kPng
                                                      : OutputFormat::kWebp;
    r.tone = parsed->quality == iiif::Quality::kGray      ? Tone::kGray
             : parsed->quality == iiif::Quality::kBitonal ? Tone::kBitonal
                                                          : Tone::kColor;
    if (req.has_param("q")) {
      auto q = NumberParam(req, "q");
      if (!q.ok()) return refuse(q.status());
      r.quality = static_cast<int>(*q);
    }
    r.lossless = req.get_param_value("lossless") == "1" || req.get_param_value("lossless") == "true";
    auto layers = LayersFromQuery(**image, req);
    if (!layers.ok()) return refuse(layers.status());
    r.layers = std::move(layers).value();
    auto out = app_.Render(r, {});
    if (!out.ok()) return SendStatus(res, out.status());
    std::string body(reinterpret_cast<const char*>(out->data.data()), out->data.size());
    cache_.Put(key, iiif::MediaType(parsed->format), body);
    res.set_content(std::move(body), iiif::MediaType(parsed->format));
  });

  // Scripts: the images, and a render from the RenderRequest as JSON (the proto's JSON mapping).
  srv.Get("/api/images", [this](const httplib::Request&, httplib::Response& res) {
    v1::ListImagesResponse list;
    for (const auto& image : app_.List()) ToProto(*image, list.add_images());
    SendProtoJson(res, list);
  });
  srv.Post("/api/render", [this](const httplib::Request& req, httplib::Response& res) {
    v1::RenderRequest request;
    const auto parsed = google::protobuf::util::JsonStringToMessage(req.body, &request);
    if (!parsed.ok()) {
      app_.RecordRenderError();
      return SendError(res, 400, "the body must be a RenderRequest as JSON: " + Printable(parsed.ToString(), 300));
    }
    auto r = FromProto(request, app_.Lookup());
    if (!r.ok()) {
      app_.RecordRenderError();
      return SendStatus(res, r.status());
    }
    auto out = app_.Render(*r, {});
    if (!out.ok()) return SendStatus(res, out.status());
    res.set_header("X-Render-Width", std::to_string(out->width));
    res.set_header("X-Render-Height", std::to_string(out->height));
    res.set_content(reinterpret_cast<const char*>(out->data.data()), out->data.size(), MediaTypeOf(out->format));
  });
  // Probe and profile: a ProbeRequest / ProfileRequest as JSON in, the response as JSON out (NaN as
  // "NaN", the proto JSON mapping).
  auto json_call = [](const httplib::Request& req, httplib::Response& res, google::protobuf::Message* request,
                      const char* name, const std::function<Status()>& call, const google::protobuf::Message& response) {
    const auto parsed = google::protobuf::util::JsonStringToMessage(req.body, request);
    if (!parsed.ok()) {
      return SendError(res, 400, std::string("the body must be a ") + name + " as JSON: " + Printable(parsed.ToString(), 300));
    }
    const Status s = call();
    if (!s.ok()) return SendStatus(res, s);
    SendProtoJson(res, response);
  };
  srv.Post("/api/probe", [this, json_call](const httplib::Request& req, httplib::Response& res) {
    v1::ProbeRequest request;
    v1::ProbeResponse response;
    json_call(req, res, &request, "ProbeRequest", [&]() -> Status {
      TR_ASSIGN_OR_RETURN(ProbeQuery q, FromProto(request));
      TR_ASSIGN_OR_RETURN(std::vector<LayerValues> layers, app_.Probe(q));
      ToProto(layers, &response);
      return Status::Ok();
    }, response);
  });
  srv.Post("/api/profile", [this, json_call](const httplib::Request& req, httplib::Response& res) {
    v1::ProfileRequest request;
    v1::ProfileResponse response;
    json_call(req, res, &request, "ProfileRequest", [&]() -> Status {
      TR_ASSIGN_OR_RETURN(ProfileQuery q, FromProto(request));
      TR_ASSIGN_OR_RETURN(ProfileValues p, app_.Profile(q));
      ToProto(p, &response);
      return Status::Ok();
    }, response);
  });
}

}  // namespace tilerender::server
