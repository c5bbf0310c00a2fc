#include "server/app.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <thread>

#include "core/image/image_file.h"
#include "server/data_root.h"

namespace tilerender::server {
namespace {

using Clock = std::chrono::steady_clock;

double MsSince(Clock::time_point t) { return std::chrono::duration<double, std::milli>(Clock::now() - t).count(); }

}  // namespace

void RenderMetrics::Record(double ms) {
  served_.fetch_add(1);
  std::lock_guard lock(mu_);
  window_.push_back(ms);
  if (window_.size() > kWindow) window_.pop_front();
}

double RenderMetrics::Percentile(double p) const {
  std::vector<double> v;
  {
    std::lock_guard lock(mu_);
    v.assign(window_.begin(), window_.end());
  }
  if (v.empty()) return 0;
  const size_t k = std::min(v.size() - 1, static_cast<size_t>(p * (v.size() - 1) + 0.5));
  std::nth_element(v.begin(), v.begin() + k, v.end());
  return v[k];
}

App::App(Engine& engine, AppOptions options) : engine_(engine), options_(std::move(options)) {}

double App::uptime_s() const { return MsSince(started_) / 1000.0; }

std::string App::IdFromPath(const std::string& path) {
  std::string id = std::filesystem::path(path).filename().string();
  for (char& c : id) {
    const bool ok = std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '_' || c == '-';
    if (!ok) c = '_';
  }
  while (!id.empty() && id[0] == '.') id.erase(0, 1);
  return id.substr(0, 128);
}

Result<std::shared_ptr<const RegisteredImage>> App::Register(ImageRegistry::Reservation& reservation,
                                                             std::shared_ptr<ImageSource> source, RegisteredImage image,
                                                             const CancelFn& cancelled, bool labels) {
  const auto start = Clock::now();
  TR_ASSIGN_OR_RETURN(image.handle, engine_.LoadImage(std::move(source), {.cancelled = cancelled, .labels = labels}));
  image.id = reservation.id();
  image.load_ms = MsSince(start);
  reservation.Commit(image);
  return std::make_shared<const RegisteredImage>(std::move(image));
}

Status App::AddImage(const std::string& id, std::shared_ptr<ImageSource> source, const std::string& origin) {
  TR_ASSIGN_OR_RETURN(auto reservation, registry_.Reserve(id));
  RegisteredImage image;
  image.source = origin;
  image.format = "synthetic";
  return Register(*reservation, std::move(source), std::move(image)).status();
}

Result<std::shared_ptr<const RegisteredImage>> App::Load(const LoadParams& p, const CancelFn& caller_cancelled) {
  const std::string id = p.id.empty() ? IdFromPath(p.path) : p.id;
  if (stopping_.load()) return Unavailable("the daemon is shutting down");
  const CancelFn cancelled = [this, &caller_cancelled] { return stopping_.load() || (caller_cancelled && caller_cancelled()); };
  if (p.page < 0 || p.z < 0 || p.t < 0) return InvalidArgument("page, z and t must be >= 0");
  TR_ASSIGN_OR_RETURN(std::string path, ResolveUnderRoot(options_.data_root, p.path));
  TR_ASSIGN_OR_RETURN(auto reservation, registry_.Reserve(id));
  OpenOptions open;
  open.limits = engine_.limits().image;
  open.page = p.page;
  open.z = p.z;
  open.t = p.t;
  open.reader = p.reader;
  open.associated_image = p.associated_image;
  open.labels = p.labels;  // uint32 ids stay uint32
  open.name = p.path;  // messages name the path under the data root, never the absolute one
  open.cancelled = cancelled;
  TR_ASSIGN_OR_RETURN(OpenedImage file, OpenImageFile(path, open));
  TR_RETURN_IF_ERROR(engine_.CheckLoad(file.source->desc()));
  RegisteredImage image;
  image.source = p.path;
  image.format = file.format;
  image.notes = file.notes;
  image.properties = file.properties;
  image.associated_images = file.associated_images;
  return Register(*reservation, std::move(file.source), std::move(image), cancelled, p.labels);
}

Result<std::vector<LayerValues>> App::Probe(const ProbeQuery& query, const CancelFn& cancelled) {
  if (query.layers.empty()) return InvalidArgument("a probe needs at least one layer");
  const int max_layers = engine_.limits().max_layers;
  if (query.layers.size() > static_cast<size_t>(max_layers)) {
    return InvalidArgument("a probe has at most " + std::to_string(max_layers) + " layers, got " + std::to_string(query.layers.size()));
  }
  if (query.points.empty()) return InvalidArgument("a probe needs at least one point");
  std::vector<LayerValues> out;
  for (size_t i = 0; i < query.layers.size(); ++i) {
    const ProbeQuery::Target& t = query.layers[i];
    const std::string layer = "layer " + std::to_string(i) + ": ";
    auto image = FindForRender(t.image_id);
    if (!image.ok()) return Status(image.status().code(), layer + image.status().message());
    auto samples = engine_.Sample(*(*image)->handle, {.plane = t.channel, .level = query.level, .interpolation = query.interpolation},
                                  query.points, cancelled);
    if (!samples.ok()) return Status(samples.status().code(), layer + samples.status().message());
    out.push_back({t.image_id, t.channel, query.level, std::move(*samples)});
  }
  return out;
}

Result<ProfileValues> App::Profile(const ProfileQuery& query, const CancelFn& cancelled) {
  TR_ASSIGN_OR_RETURN(std::shared_ptr<const RegisteredImage> image, FindForRender(query.image_id));
  for (double v : {query.from.x, query.from.y, query.to.x, query.to.y}) {
    if (!std::isfinite(v)) return InvalidArgument("a profile's ends must be finite");
  }
  const double length = std::hypot(query.to.x - query.from.x, query.to.y - query.from.y);
  int64_t n = query.samples;
  if (n < 0 || n > static_cast<int64_t>(kMaxSamplePoints)) {
    return InvalidArgument("a profile has 1 to " + std::to_string(kMaxSamplePoints) + " samples, got " + std::to_string(n));
  }
  const auto& levels = image->handle->plan().levels;
  if (n == 0) {
    // One per level pixel along the line.
    const double scale = query.level >= 0 && query.level < static_cast<int>(levels.size()) ? std::ldexp(1.0, levels[query.level].level) : 1;
    n = std::clamp<int64_t>(static_cast<int64_t>(std::ceil(length / scale)) + 1, 2, static_cast<int64_t>(kMaxSamplePoints));
  }
  ProfileValues out;
  out.level = query.level;
  out.length = length;
  out.points = LinePoints(query.from, query.to, static_cast<int>(n));
  TR_ASSIGN_OR_RETURN(out.samples, engine_.Sample(*image->handle,
                                                  {.plane = query.channel, .level = query.level, .interpolation = query.interpolation},
                                                  out.points, cancelled));
  return out;
}

Result<std::shared_ptr<const RegisteredImage>> App::FindForRender(const std::string& id) {
  auto found = registry_.Find(id);
  const bool autoloadable = options_.autoload && id.rfind("path:", 0) == 0;
  if (!autoloadable) return found;
  TR_RETURN_IF_ERROR(ValidateImageId(id));  // the one id rule, whichever transport asks
  auto touch = [&] {
    std::lock_guard lock(autoload_mu_);
    autoloaded_[id] = ++autoload_clock_;
  };
  if (found.ok()) {
    touch();
    return found;
  }
  for (int attempt = 0; attempt < 3000; ++attempt) {  // up to ~30 s behind another render's load
    auto loaded = Load({.path = id.substr(5), .id = id});
    if (loaded.ok()) {
      spdlog::info("autoloaded {}", id);
      touch();
      // Past the cap, the least recently used autoloaded image goes (its renders in flight finish).
      std::vector<std::string> evict;
      {
        std::lock_guard lock(autoload_mu_);
        while (autoloaded_.size() > std::max<size_t>(1, options_.autoload_max_images)) {
          auto oldest = std::min_element(autoloaded_.begin(), autoloaded_.end(),
                                         [](const auto& a, const auto& b) { return a.second < b.second; });
          evict.push_back(oldest->first);
          autoloaded_.erase(oldest);
        }
      }
      for (const std::string& e : evict) {
        if (registry_.Remove(e).ok()) spdlog::info("autoload: unloaded {} (least recently used)", e);
      }
      return loaded;
    }
    if (loaded.status().code() != StatusCode::kAlreadyExists) return loaded.status();
    std::this_thread::sleep_for(std::chrono::milliseconds(10));  // another render is loading it
    found = registry_.Find(id);
    if (found.ok()) {
      touch();
      return found;
    }
  }
  return Unavailable("image '" + id + "' is still being loaded");
}

Result<std::unique_ptr<App::Upload>> App::BeginUpload(const std::string& id, const ImageDesc& desc, bool labels) {
  TR_RETURN_IF_ERROR(ValidateDesc(desc, engine_.limits().image));
  if (static_cast<int64_t>(desc.byte_size()) > options_.max_upload_bytes) {
    return InvalidArgument("upload of " + std::to_string(desc.byte_size()) + " bytes exceeds the limit of " +
                           std::to_string(options_.max_upload_bytes));
  }
  TR_ASSIGN_OR_RETURN(auto reservation, registry_.Reserve(id));
  // Refuse before receiving gigabytes that could not be placed anyway.
  TR_RETURN_IF_ERROR(engine_.CheckLoad(desc));
  TR_ASSIGN_OR_RETURN(std::unique_ptr<BufferSource> buffer, BufferSource::Allocate(desc));
  std::unique_ptr<Upload> upload(new Upload(this, std::move(reservation), std::move(buffer)));
  upload->labels_ = labels;
  return upload;
}

Status App::Upload::Append(const void* data, size_t size) {
  if (size > expected() - received_) {
    return InvalidArgument("upload sends more than the " + std::to_string(expected()) + " bytes its header announced");
  }
  std::memcpy(buffer_->mutable_data() + received_, data, size);
  received_ += size;
  return Status::Ok();
}

Result<std::shared_ptr<const RegisteredImage>> App::Upload::Finish() {
  if (received_ != expected()) {
    return InvalidArgument("upload ended after " + std::to_string(received_) + " of " + std::to_string(expected()) +
                           " bytes");
  }
  RegisteredImage image;
  image.source = "upload";
  image.format = "upload";
  return app_->Register(*reservation_, std::move(buffer_), std::move(image), {}, labels_);
}

Result<App::Unloaded> App::Unload(const std::string& id) {
  TR_RETURN_IF_ERROR(ValidateImageId(id));
  TR_ASSIGN_OR_RETURN(auto removed, registry_.Remove(id));
  {
    std::lock_guard lock(autoload_mu_);
    autoloaded_.erase(id);  // an unloaded autoloaded image no longer counts against the cap
  }
  // Its tiles leave the caches when the last in-flight render using it lets go of the handle.
  return Unloaded{removed, engine_.ResidentGpuBytes(*removed->handle)};
}

namespace {

Status TooLarge(int64_t bytes, int64_t max_output_bytes, const std::string& limit_name) {
  return ResourceExhausted("the output (" + std::to_string(bytes) + " bytes) exceeds the " + std::to_string(max_output_bytes) +
                           "-byte " + limit_name + "; render smaller or compressed (PNG, JPEG, WebP), or raise the limit");
}

}  // namespace

Result<RenderOutput> App::Render(const RenderRequest& req, const CancelFn& cancelled, int64_t max_output_bytes,
                                 const std::string& limit_name) {
  TR_ASSIGN_OR_RETURN(auto future, SubmitRender(req, cancelled, max_output_bytes, limit_name));
  return future.get();
}

Result<std::future<Result<RenderOutput>>> App::SubmitRender(const RenderRequest& req, const CancelFn& cancelled,
                                                            int64_t max_output_bytes, const std::string& limit_name) {
  const auto start = Clock::now();
  const int64_t raw_bytes = int64_t{req.width} * req.height * 4;
  if (max_output_bytes > 0 && req.format == OutputFormat::kRawRgba8 && raw_bytes > max_output_bytes) {
    metrics_.RecordError();
    return TooLarge(raw_bytes, max_output_bytes, limit_name);
  }
  auto future = engine_.SubmitEncoded(req, cancelled, [this, start, max_output_bytes, limit_name](Result<RenderOutput>& out) {
    if (out.ok() && max_output_bytes > 0 && static_cast<int64_t>(out->data.size()) > max_output_bytes) {
      out = TooLarge(static_cast<int64_t>(out->data.size()), max_output_bytes, limit_name);
    }
    if (out.ok()) {
      const double ms = MsSince(start);
      metrics_.Record(ms);
      requests_.ObserveRender(out->timings, ms);
    } else {
      metrics_.RecordError();
    }
  });
  if (!future.ok()) metrics_.RecordError();
  return future;
}

}  // namespace tilerender::server
