// tilerenderd: the daemon. Flags of DESIGN §5; health service and reflection; with --http-listen
// also the HTTP front end (IIIF); TLS (optionally mutual) on both with --tls-cert/--tls-key; bearer
// tokens with roles from --auth-tokens, re-read on SIGHUP; SIGINT/SIGTERM stop both accepting, let
// in-flight work finish, and exit 0.

#include <grpcpp/ext/proto_server_reflection_plugin.h>
#include <grpcpp/grpcpp.h>
#include <grpcpp/health_check_service_interface.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include <CLI/CLI.hpp>
#include <climits>
#include <csignal>
#include <malloc.h>
#include <cstdlib>
#include <iostream>

#include "core/engine.h"
#include "core/image/image_file.h"
#include "core/image/synthetic.h"
#include "server/http_server.h"
#include "server/service.h"

#ifndef TILERENDER_WEB_DIR
#define TILERENDER_WEB_DIR ""
#endif
#ifndef TILERENDER_VERSION
#define TILERENDER_VERSION "dev"
#endif

namespace {

// "8G", "512M", "1048576": bytes.
int64_t ParseBytes(const std::string& s) {
  char* end = nullptr;
  const double v = std::strtod(s.c_str(), &end);
  std::string unit(end);
  double mult = 1;
  if (unit == "K" || unit == "KiB" || unit == "k") mult = 1024.0;
  else if (unit == "M" || unit == "MiB") mult = 1024.0 * 1024;
  else if (unit == "G" || unit == "GiB") mult = 1024.0 * 1024 * 1024;
  else if (!unit.empty()) throw CLI::ValidationError("bytes", "unknown unit in '" + s + "'");
  if (!(v >= 0)) throw CLI::ValidationError("bytes", "'" + s + "' is not a byte count");
  return static_cast<int64_t>(v * mult);
}

}  // namespace

int main(int argc, char** argv) {
  namespace tr = tilerender;
  // Each thread that allocates would otherwise get its own malloc arena (up to 8 per core), and
  // freed frame, PNG and band buffers stay cached in all of them: RSS climbs with concurrency.
  // Four arenas keep it flat at no measurable cost (buffers here are few and large).
  mallopt(M_ARENA_MAX, 4);
  // Buffers of 4 MiB and more (frames, encoded images, decoded chunks) come from mmap and go back
  // to the system when freed: a fixed threshold (glibc's adapts upward after the first large free,
  // after which a 16384 x 4096 render's buffers stayed in the heap for good).
  mallopt(M_MMAP_THRESHOLD, 4 << 20);
  CLI::App app{"tilerenderd: headless GPU tile-rendering daemon (gRPC, and IIIF over HTTP)"};
  std::string listen = "127.0.0.1:50051";
  std::string data_root = ".";
  std::string log_level = "info";
  std::string gpu_budget = "0";
  std::string host_cache = "0";
  std::string max_upload = "16G";
  std::string max_image_bytes = "64G";
  bool demo = false;
  int64_t demo_width = 12000, demo_height = 8000;
  tr::EngineOptions engine_options;
  tr::server::ServiceOptions service_options;
  tr::server::AppOptions app_options;
  tr::server::HttpOptions http_options;
  std::string tls_cert, tls_key, tls_client_ca, auth_tokens, metrics_listen;
  app.add_option("--listen", listen, "address:port to listen on (port 0: any free port)")->capture_default_str();
  app.add_option("--data-root", data_root, "directory LoadImage paths resolve in")->capture_default_str();
  app.add_option("--tls-cert", tls_cert, "PEM certificate (chain): serve gRPC and HTTP over TLS")->check(CLI::ExistingFile);
  app.add_option("--tls-key", tls_key, "PEM private key of --tls-cert")->check(CLI::ExistingFile);
  app.add_option("--tls-client-ca", tls_client_ca, "PEM CA: require client certificates it signed (mutual TLS)")
      ->check(CLI::ExistingFile);
  app.add_option("--auth-tokens", auth_tokens,
                 "file of 'TOKEN ROLE' lines (render: read and render; admin: also load, upload, unload); "
                 "re-read on SIGHUP")->check(CLI::ExistingFile);
  app.add_option("--egl-device", engine_options.egl.device, "auto, surfaceless or a GPU index")->capture_default_str();
  app.add_flag("--require-gpu", engine_options.egl.require_hardware, "refuse to start on a software renderer (llvmpipe)");
  app.add_option("--max-tile-size", engine_options.max_tile_size, "GPU tile side in pixels")->capture_default_str()->check(CLI::Range(16, 1 << 16));
  app.add_option("--gpu-budget", gpu_budget, "GPU tile cache, e.g. 2G (0: 90% of free video memory, else half the RAM)")->capture_default_str();
  app.add_option("--host-cache", host_cache, "host cache of decoded tiles, e.g. 1G (0: 1 GiB or RAM/8)")->capture_default_str();
  app.add_option("--decode-threads", engine_options.decode_threads, "threads reading and decoding tiles (0: one per core)")->capture_default_str()->check(CLI::Range(0, 256));
  app.add_option("--max-queue-depth", engine_options.max_queue_depth, "renders waiting before RESOURCE_EXHAUSTED")->capture_default_str()->check(CLI::Range(1, 1 << 20));
  app.add_option("--max-layers", engine_options.max_layers, "layers of one render")->capture_default_str()->check(CLI::Range(1, 4096));
  app.add_option("--max-output-side", engine_options.max_output_side, "pixels per side of a render")->capture_default_str()->check(CLI::PositiveNumber);
  app.add_option("--max-output-pixels", engine_options.max_output_pixels, "pixels of a render")->capture_default_str()->check(CLI::PositiveNumber);
  app.add_option("--max-image-side", engine_options.image_limits.max_side, "pixels per side of an image")->capture_default_str()->check(CLI::PositiveNumber);
  app.add_option("--max-image-pixels", engine_options.image_limits.max_pixels, "pixels of an image")->capture_default_str()->check(CLI::PositiveNumber);
  app.add_option("--max-image-bytes", max_image_bytes, "bytes of an image held whole in memory (PNG, converted NPY, upload)")->capture_default_str();
  app.add_option("--max-upload-bytes", max_upload, "bytes of one upload")->capture_default_str();
  app.add_option("--max-message-bytes", service_options.max_message_bytes, "largest gRPC message")->capture_default_str()->check(CLI::Range(1 << 20, INT_MAX));
  app.add_option("--max-stream-in-flight", service_options.max_stream_in_flight, "renders of one RenderStream in flight")->capture_default_str()->check(CLI::Range(1, 64));
  app.add_option("--http-listen", http_options.listen, "HOST:PORT for HTTP (IIIF Image API, /api); off unless given");
  http_options.web_root = TILERENDER_WEB_DIR;
  app.add_option("--web-root", http_options.web_root, "the web viewer's directory (static/, node_modules/ from npm)")
      ->capture_default_str();
  app.add_flag("--autoload", app_options.autoload,
               "a render naming path:REL/PATH that is not loaded loads that file first (stateless replicas)");
  app.add_option("--autoload-max", app_options.autoload_max_images,
                 "autoloaded images kept; beyond, the least recently used is unloaded")->capture_default_str()
      ->check(CLI::Range(1, 100000));
  app.add_option("--metrics-listen", metrics_listen,
                 "HOST:PORT for Prometheus /metrics alone (plain HTTP; the HTTP port serves /metrics too)");
  app.add_option("--http-threads", http_options.threads, "HTTP workers (each serves one keep-alive connection at a time)")
      ->capture_default_str()->check(CLI::Range(1, 1024));
  std::string http_cache = "64M";
  app.add_option("--http-cache", http_cache, "bytes of encoded IIIF renders kept for repeats (0: none)")->capture_default_str();
  app.add_flag("--layer-by-layer", [&](int64_t) { engine_options.one_pass_composite = false; },
               "draw channel composites one pass per layer (for benchmarks: the pixels are the same)");
  app.add_option_function<bool>("--gpu-histogram", [&](bool on) { engine_options.gpu_histogram = on; },
                                "auto-contrast percentiles from compute histograms: true, false (read back, select on the CPU); "
                                "default: true on a hardware GPU with GL 4.3, false on llvmpipe (same limits either way)");
  app.add_flag("--demo", demo, "load the built-in synthetic image as 'demo'");
  app.add_option("--demo-size", [&](const CLI::results_t& r) {
    return std::sscanf(r[0].c_str(), "%ldx%ld", &demo_width, &demo_height) == 2 && demo_width > 0 && demo_height > 0;
  }, "WxH of the demo image (default 12000x8000)");
  app.add_option("--log-level", log_level, "trace, debug, info, warn, error")->capture_default_str();
  try {
    app.parse(argc, argv);
    engine_options.gpu_budget_bytes = ParseBytes(gpu_budget);
    engine_options.host_cache_bytes = ParseBytes(host_cache);
    engine_options.image_limits.max_bytes = ParseBytes(max_image_bytes);
    app_options.max_upload_bytes = ParseBytes(max_upload);
    http_options.response_cache_bytes = ParseBytes(http_cache);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
  // Logs on stderr; stdout carries one machine-readable line (the address we listen on).
  spdlog::set_default_logger(spdlog::stderr_color_mt("tilerenderd"));
  spdlog::set_level(spdlog::level::from_str(log_level));
  spdlog::set_pattern("%Y-%m-%dT%H:%M:%S.%e %^%l%$ %v");

  // Signals are taken by a dedicated thread with sigwait: block them before any thread starts.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGHUP);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  // A client that closes its socket mid-answer must not kill the daemon.
  std::signal(SIGPIPE, SIG_IGN);

  char root[PATH_MAX];
  if (::realpath(data_root.c_str(), root) == nullptr) {
    spdlog::error("data root {} does not exist", data_root);
    return 1;
  }
  app_options.data_root = root;
  app_options.version = TILERENDER_VERSION;
  if (tls_cert.empty() != tls_key.empty() || (!tls_client_ca.empty() && tls_cert.empty())) {
    spdlog::error("TLS needs --tls-cert and --tls-key together (and both for --tls-client-ca)");
    return 2;
  }
  std::unique_ptr<tr::server::TokenStore> tokens;
  if (!auth_tokens.empty()) {
    auto opened = tr::server::TokenStore::Open(auth_tokens);
    if (!opened.ok()) {
      spdlog::error("{}", opened.status().ToString());
      return 2;
    }
    tokens = std::move(opened).value();
    app_options.tokens = tokens.get();
    spdlog::info("bearer tokens required: {} from {}", tokens->size(), auth_tokens);
  }
  http_options.tls_cert = tls_cert;
  http_options.tls_key = tls_key;
  http_options.tls_client_ca = tls_client_ca;

  auto engine = tr::Engine::Create(engine_options);
  if (!engine.ok()) {
    spdlog::error("cannot start the renderer: {}", engine.status().ToString());
    return 1;
  }
  const tr::GpuInfo& gpu = (*engine)->gpu_info();
  const tr::EngineLimits& limits = (*engine)->limits();
  spdlog::info("GL {} | {} | {} | EGL {} {} ({})", gpu.gl_version, gpu.gl_vendor, gpu.gl_renderer,
               gpu.egl_platform, gpu.egl_device, gpu.egl_version);
  spdlog::info("max texture {} | tile {} | GPU budget {} MiB | host cache {} MiB | output <= {} px/side, {} px | queue {} | layers {}",
               gpu.max_texture_size, limits.tile_size, limits.gpu_budget_bytes >> 20, limits.host_cache_bytes >> 20,
               limits.max_output_side, limits.max_output_pixels, limits.max_queue_depth, limits.max_layers);
  if (gpu.software) spdlog::warn("software renderer: renders run on the CPU ({})", gpu.gl_renderer);

  tr::server::App application(**engine, app_options);
  tr::server::TileRenderService service(application, service_options);
  if (demo) {
    auto image = tr::MakeDemoImage(demo_width, demo_height);
    tr::Status s = image.ok() ? application.AddImage("demo", std::move(image).value(), "built-in synthetic") : image.status();
    if (!s.ok()) {
      spdlog::error("demo image: {}", s.ToString());
      return 1;
    }
    spdlog::info("loaded demo image {}x{} uint16 as 'demo'", demo_width, demo_height);
  }

  grpc::EnableDefaultHealthCheckService(true);
  grpc::reflection::InitProtoReflectionServerBuilderPlugin();
  grpc::ServerBuilder builder;
  int port = 0;
  std::shared_ptr<grpc::ServerCredentials> credentials = grpc::InsecureServerCredentials();
  if (!tls_cert.empty()) {
    grpc::SslServerCredentialsOptions ssl(tls_client_ca.empty()
                                              ? GRPC_SSL_DONT_REQUEST_CLIENT_CERTIFICATE
                                              : GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY);
    auto key = tr::ReadWholeFile(tls_key);
    auto cert = tr::ReadWholeFile(tls_cert);
    auto ca = tls_client_ca.empty() ? tr::Result<std::string>(std::string()) : tr::ReadWholeFile(tls_client_ca);
    for (const tr::Status& s : {key.status(), cert.status(), ca.status()}) {
      if (!s.ok()) {
        spdlog::error("TLS: {}", s.ToString());
        return 2;
      }
    }
    ssl.pem_key_cert_pairs.push_back({*key, *cert});
    ssl.pem_root_certs = *ca;
    credentials = grpc::SslServerCredentials(ssl);
    spdlog::info("TLS on{}", tls_client_ca.empty() ? "" : ", client certificates required (mutual TLS)");
  }
  builder.AddListeningPort(listen, credentials, &port);
  builder.RegisterService(&service);
  builder.SetMaxReceiveMessageSize(service_options.max_message_bytes);
  builder.SetMaxSendMessageSize(service_options.max_message_bytes);
  std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  if (!server || port == 0) {
    spdlog::error("cannot listen on {}", listen);
    return 1;
  }
  // The engine made its warm-up render before we got here: serving means rendering works.
  server->GetHealthCheckService()->SetServingStatus(true);
  server->GetHealthCheckService()->SetServingStatus("tilerender.v1.TileRender", true);
  const std::string host = listen.substr(0, listen.rfind(':'));
  spdlog::info("serving on {}:{}", host, port);
  std::unique_ptr<tr::server::HttpServer> http;
  if (!http_options.listen.empty()) {
    auto started = tr::server::HttpServer::Start(application, http_options);
    if (!started.ok()) {
      spdlog::error("{}", started.status().ToString());
      server->Shutdown();
      return 1;
    }
    http = std::move(started).value();
    spdlog::info("HTTP on {}:{} ({} workers)", http->host(), http->port(), http_options.threads);
  }
  std::unique_ptr<tr::server::HttpServer> metrics_http;
  if (!metrics_listen.empty()) {
    tr::server::HttpOptions m;
    m.listen = metrics_listen;
    m.threads = 2;
    m.metrics_only = true;
    m.response_cache_bytes = 0;
    auto started = tr::server::HttpServer::Start(application, m);
    if (!started.ok()) {
      spdlog::error("metrics: {}", started.status().ToString());
      if (http) http->Stop();
      server->Shutdown();
      return 1;
    }
    metrics_http = std::move(started).value();
    spdlog::info("metrics on {}:{}", metrics_http->host(), metrics_http->port());
  }
  // Machine-readable lines on stdout for whoever started us (scripts, tests), written at once.
  std::string lines = "tilerenderd listening on " + host + ":" + std::to_string(port) + "\n";
  if (http) lines += "tilerenderd http listening on " + http->host() + ":" + std::to_string(http->port()) + "\n";
  if (metrics_http) {
    lines += "tilerenderd metrics listening on " + metrics_http->host() + ":" + std::to_string(metrics_http->port()) + "\n";
  }
  std::cout << lines << std::flush;

  int sig = 0;
  for (;;) {
    sigwait(&signals, &sig);
    if (sig != SIGHUP) break;
    if (!tokens) {
      spdlog::info("SIGHUP: no --auth-tokens to re-read");
      continue;
    }
    const tr::Status reloaded = tokens->Reload();
    if (reloaded.ok()) {
      spdlog::info("SIGHUP: re-read {}: {} tokens", auth_tokens, tokens->size());
    } else {
      spdlog::error("SIGHUP: {} (the tokens stay as they were)", reloaded.ToString());
    }
  }
  spdlog::info("{}: draining and shutting down", sig == SIGINT ? "SIGINT" : "SIGTERM");
  server->GetHealthCheckService()->SetServingStatus(false);
  application.BeginShutdown();  // loads in progress stop now; renders drain
  // Both transports stop accepting; HTTP requests in progress finish (its stop joins them), gRPC
  // calls get up to 30 s, then are cancelled.
  if (http) http->Stop();
  if (metrics_http) metrics_http->Stop();
  server->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(30));
  server->Wait();
  engine->reset();
  spdlog::info("stopped");
  return 0;
}
