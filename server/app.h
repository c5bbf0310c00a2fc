#pragma once
// The application layer, beside any transport: the image registry and its id rules, loads from the
// data root, uploads, renders with their metrics and output-size policy, statistics. The gRPC
// service and the HTTP front end are thin adapters over it (proto or URLs in, one Status table per
// transport out); neither holds state of its own. Never a GL call here.

#include <atomic>
#include <chrono>
#include <deque>
#include <future>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "core/engine.h"
#include "server/auth.h"
#include "server/image_registry.h"
#include "server/metrics.h"

namespace tilerender::server {

struct AppOptions {
  std::string data_root;  ///< canonical path
  int64_t max_upload_bytes = int64_t{16} << 30;
  std::string version;
  /// Bearer tokens with roles (--auth-tokens); null: every request is allowed.
  const TokenStore* tokens = nullptr;
  /// --autoload: a render naming "path:REL/PATH" that is not loaded loads that file (metadata only)
  /// under that id; beyond `autoload_max_images` such images the least recently used is unloaded.
  bool autoload = false;
  size_t autoload_max_images = 64;
};

/// Latencies of recent successful renders, and counts, for statistics.
class RenderMetrics {
 public:
  void Record(double ms);
  void RecordError() { errors_.fetch_add(1); }
  /// p in [0, 1] over the last kWindow renders; 0 when none.
  double Percentile(double p) const;
  int64_t served() const { return served_.load(); }
  int64_t errors() const { return errors_.load(); }

 private:
  static constexpr size_t kWindow = 1024;
  mutable std::mutex mu_;
  std::deque<double> window_;
  std::atomic<int64_t> served_{0};
  std::atomic<int64_t> errors_{0};
};

struct LoadParams {
  std::string path;  ///< under the data root
  std::string id;    ///< empty: from the file name
  int page = 0;
  int64_t z = 0, t = 0;
  std::string reader;            ///< "", "openslide", "libtiff"
  std::string associated_image;  ///< a slide's label, macro, thumbnail, ...
  bool labels = false;           ///< a labels image (LoadOptions::labels)
};

/// A probe: raw values of several images' planes at world points (DESIGN §3 "Probe and profile").
struct ProbeQuery {
  struct Target {
    std::string image_id;
    int channel = 0;
  };
  std::vector<Target> layers;
  std::vector<WorldPoint> points;
  Interpolation interpolation = Interpolation::kNearest;
  int level = 0;
};
struct LayerValues {
  std::string image_id;
  int channel = 0;
  int level = 0;
  std::vector<ValueSample> samples;
};
/// A line profile: `samples` points from `from` to `to` (0: one per level pixel, at least 2).
struct ProfileQuery {
  std::string image_id;
  int channel = 0;
  WorldPoint from, to;
  int64_t samples = 0;
  Interpolation interpolation = Interpolation::kNearest;
  int level = 0;
};
struct ProfileValues {
  int level = 0;
  double length = 0;  ///< world units
  std::vector<WorldPoint> points;
  std::vector<ValueSample> samples;
};

class App {
 public:
  App(Engine& engine, AppOptions options);

  Engine& engine() { return engine_; }
  const Engine& engine() const { return engine_; }
  const AppOptions& options() const { return options_; }
  const ImageRegistry& registry() const { return registry_; }
  const RenderMetrics& metrics() const { return metrics_; }
  /// Requests by transport, method and code, and render stage histograms (/metrics).
  RequestMetrics& requests() { return requests_; }
  const RequestMetrics& requests() const { return requests_; }
  double uptime_s() const;
  /// OK where no tokens are configured; else the token in `authorization` ("Bearer ...") decides.
  Status Authorize(std::string_view authorization, Permission permission) const {
    return options_.tokens == nullptr ? Status::Ok() : options_.tokens->Authorize(authorization, permission);
  }

  /// Registers an in-memory image (the built-in demo image).
  Status AddImage(const std::string& id, std::shared_ptr<ImageSource> source, const std::string& origin);
  /// The id a load without one gets: the file name made a valid id.
  static std::string IdFromPath(const std::string& path);
  /// Opens and registers a file. `cancelled` (the caller's deadline or disconnection) and
  /// BeginShutdown stop a long load with CANCELLED; nothing is registered then.
  Result<std::shared_ptr<const RegisteredImage>> Load(const LoadParams& params, const CancelFn& cancelled = {});
  /// The daemon is stopping: loads in progress stop at their next check, new ones are refused.
  void BeginShutdown() { stopping_.store(true); }

  /// An upload in progress: holds its id and its buffer; nothing is registered unless Finish
  /// succeeds (an abandoned upload leaves nothing behind).
  class Upload {
   public:
    /// INVALID_ARGUMENT when the chunk goes past the announced size.
    Status Append(const void* data, size_t size);
    size_t received() const { return received_; }
    size_t expected() const { return buffer_->desc().byte_size(); }
    Result<std::shared_ptr<const RegisteredImage>> Finish();

   private:
    friend class App;
    Upload(App* app, std::unique_ptr<ImageRegistry::Reservation> r, std::unique_ptr<BufferSource> b)
        : app_(app), reservation_(std::move(r)), buffer_(std::move(b)) {}
    App* app_;
    std::unique_ptr<ImageRegistry::Reservation> reservation_;
    std::unique_ptr<BufferSource> buffer_;
    size_t received_ = 0;
    bool labels_ = false;
  };
  /// Checks the description against the limits before anything is received.
  Result<std::unique_ptr<Upload>> BeginUpload(const std::string& id, const ImageDesc& desc, bool labels = false);

  struct Unloaded {
    std::shared_ptr<const RegisteredImage> image;
    int64_t gpu_bytes_freed = 0;
  };
  Result<Unloaded> Unload(const std::string& id);
  Result<std::shared_ptr<const RegisteredImage>> Find(const std::string& id) const { return registry_.Find(id); }
  /// Find for a render: with --autoload, a "path:..." id that is not loaded is loaded first (a
  /// concurrent render of it waits for that load), and autoloaded images are kept in LRU order.
  Result<std::shared_ptr<const RegisteredImage>> FindForRender(const std::string& id);
  /// FindForRender as a function (for the proto conversion).
  std::function<Result<std::shared_ptr<const RegisteredImage>>(const std::string&)> Lookup() {
    return [this](const std::string& id) { return FindForRender(id); };
  }
  std::vector<std::shared_ptr<const RegisteredImage>> List() const { return registry_.List(); }

  /// Renders and counts the result. `max_output_bytes` > 0: an output larger than that (the
  /// transport's message limit) is RESOURCE_EXHAUSTED with what to do about it, before rendering
  /// where the size is known in advance (raw RGBA).
  Result<RenderOutput> Render(const RenderRequest& request, const CancelFn& cancelled, int64_t max_output_bytes = 0,
                              const std::string& limit_name = "");
  /// The same as a pipeline (RenderStream): refusals come back at once, the future yields the
  /// encoded output (encoded on the engine's encoder threads, counted when done).
  Result<std::future<Result<RenderOutput>>> SubmitRender(const RenderRequest& request, const CancelFn& cancelled,
                                                         int64_t max_output_bytes = 0, const std::string& limit_name = "");
  /// Probe and profile: INVALID_ARGUMENT for no layer or point, too many, a bad channel or level;
  /// NOT_FOUND for an unknown image; DATA_LOSS when a chunk cannot be read.
  Result<std::vector<LayerValues>> Probe(const ProbeQuery& query, const CancelFn& cancelled = {});
  Result<ProfileValues> Profile(const ProfileQuery& query, const CancelFn& cancelled = {});
  /// A render refused before it reached Render (an unknown image, a bad field) still counts.
  void RecordRenderError() { metrics_.RecordError(); }

 private:
  Result<std::shared_ptr<const RegisteredImage>> Register(ImageRegistry::Reservation& reservation,
                                                          std::shared_ptr<ImageSource> source, RegisteredImage image,
                                                          const CancelFn& cancelled = {}, bool labels = false);
  std::atomic<bool> stopping_{false};

  Engine& engine_;
  AppOptions options_;
  ImageRegistry registry_;
  RenderMetrics metrics_;
  RequestMetrics requests_;
  std::mutex autoload_mu_;
  std::map<std::string, int64_t> autoloaded_;  // id -> last use (a counter)
  int64_t autoload_clock_ = 0;
  const std::chrono::steady_clock::time_point started_ = std::chrono::steady_clock::now();
};

}  // namespace tilerender::server
