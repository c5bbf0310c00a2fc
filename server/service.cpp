#include "server/service.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <condition_variable>
#include <filesystem>
#include <future>
#include <thread>

#include "core/image/image_file.h"
#include "core/render/colormap.h"
#include "server/convert.h"
#include "server/data_root.h"
#include "server/grpc_status.h"

namespace tilerender::server {
namespace {

using Clock = std::chrono::steady_clock;

double MsSince(Clock::time_point t) {
  return std::chrono::duration<double, std::milli>(Clock::now() - t).count();
}

// One info line per request: method, image, size, status, latency.
grpc::Status Finish(const char* method, const std::string& image, const std::string& detail,
                    const Status& status, Clock::time_point start) {
  const double ms = MsSince(start);
  if (status.ok()) {
    spdlog::info("{} image={} {} OK {:.1f} ms", method, image.empty() ? "-" : image, detail, ms);
  } else {
    spdlog::info("{} image={} {} {} {:.1f} ms: {}", method, image.empty() ? "-" : image, detail,
                 StatusCodeName(status.code()), ms, status.message());
  }
  return ToGrpcStatus(status);
}

std::string LayerIds(const v1::RenderRequest& r) {
  std::string ids;
  for (const v1::Layer& l : r.layers()) ids += (ids.empty() ? "" : ",") + l.image_id();
  return ids;
}

std::string SizeOf(const v1::RenderRequest& r) {
  return "size=" + std::to_string(r.width()) + "x" + std::to_string(r.height());
}

// The default id of a loaded file: its name, made a valid id.
std::string IdFromPath(const std::string& path) {
  std::string id = std::filesystem::path(path).filename().string();
  for (char& c : id) {
    const bool ok = std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '_' || c == '-';
    if (!ok) c = '_';
  }
  while (!id.empty() && id[0] == '.') id.erase(0, 1);
  return id.substr(0, 128);
}

CancelFn CancelledBy(grpc::ServerContext* ctx) {
  return [ctx] { return ctx->IsCancelled(); };
}

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

TileRenderService::TileRenderService(Engine& engine, ServiceOptions options)
    : engine_(engine), options_(std::move(options)) {}

Result<std::shared_ptr<const RegisteredImage>> TileRenderService::Register(
    ImageRegistry::Reservation& reservation, std::shared_ptr<ImageSource> source, RegisteredImage image) {
  const auto start = Clock::now();
  TR_ASSIGN_OR_RETURN(image.handle, engine_.LoadImage(std::move(source)));
  image.id = reservation.id();
  image.load_ms = MsSince(start);
  reservation.Commit(image);
  return std::make_shared<const RegisteredImage>(std::move(image));
}

Status TileRenderService::AddImage(const std::string& id, std::shared_ptr<ImageSource> source,
                                   const std::string& origin) {
  TR_ASSIGN_OR_RETURN(auto reservation, registry_.Reserve(id));
  RegisteredImage image;
  image.source = origin;
  image.format = "synthetic";
  return Register(*reservation, std::move(source), std::move(image)).status();
}

grpc::Status TileRenderService::GetServerInfo(grpc::ServerContext*, const v1::GetServerInfoRequest*,
                                              v1::ServerInfo* out) {
  const GpuInfo& gpu = engine_.gpu_info();
  const EngineLimits& l = engine_.limits();
  out->set_version(options_.version);
  out->set_gl_vendor(gpu.gl_vendor);
  out->set_gl_renderer(gpu.gl_renderer);
  out->set_gl_version(gpu.gl_version);
  out->set_egl_platform(gpu.egl_platform);
  out->set_egl_device(gpu.egl_device);
  out->set_max_texture_size(gpu.max_texture_size);
  out->set_tile_size(l.tile_size);
  out->set_gpu_budget_bytes(l.gpu_budget_bytes);
  out->set_host_cache_bytes(l.host_cache_bytes);
  out->set_software_renderer(gpu.software);
  out->set_data_root(options_.data_root);
  v1::Limits* lim = out->mutable_limits();
  lim->set_max_output_side(l.max_output_side);
  lim->set_max_output_pixels(l.max_output_pixels);
  lim->set_max_image_side(l.image.max_side);
  lim->set_max_image_pixels(l.image.max_pixels);
  lim->set_max_image_bytes(l.image.max_bytes);
  lim->set_max_upload_bytes(options_.max_upload_bytes);
  lim->set_max_queue_depth(l.max_queue_depth);
  lim->set_max_message_bytes(options_.max_message_bytes);
  lim->set_max_stream_in_flight(options_.max_stream_in_flight);
  for (const std::string& name : ColormapNames()) out->add_colormaps(name);
  return grpc::Status::OK;
}

grpc::Status TileRenderService::LoadImage(grpc::ServerContext*, const v1::LoadImageRequest* req,
                                          v1::ImageInfo* out) {
  const auto start = Clock::now();
  const std::string id = req->image_id().empty() ? IdFromPath(req->path()) : req->image_id();
  auto run = [&]() -> Status {
    if (req->page() < 0 || req->z() < 0 || req->t() < 0) return InvalidArgument("page, z and t must be >= 0");
    TR_ASSIGN_OR_RETURN(std::string path, ResolveUnderRoot(options_.data_root, req->path()));
    TR_ASSIGN_OR_RETURN(auto reservation, registry_.Reserve(id));
    OpenOptions open;
    open.limits = engine_.limits().image;
    open.page = req->page();
    open.z = req->z();
    open.t = req->t();
    open.reader = req->reader();
    open.associated_image = req->associated_image();
    open.name = req->path();  // messages name the path under the data root, never the absolute one
    TR_ASSIGN_OR_RETURN(OpenedImage file, OpenImageFile(path, open));
    TR_RETURN_IF_ERROR(engine_.CheckLoad(file.source->desc()));
    RegisteredImage image;
    image.source = req->path();
    image.format = file.format;
    image.notes = file.notes;
    image.properties = file.properties;
    image.associated_images = file.associated_images;
    TR_ASSIGN_OR_RETURN(auto registered, Register(*reservation, std::move(file.source), std::move(image)));
    ToProto(*registered, out);
    return Status::Ok();
  };
  const Status s = run();
  return Finish("LoadImage", id, "path=" + req->path(), s, start);
}

grpc::Status TileRenderService::UploadImage(grpc::ServerContext* ctx,
                                            grpc::ServerReader<v1::UploadImageRequest>* reader,
                                            v1::ImageInfo* out) {
  const auto start = Clock::now();
  std::string id;
  std::string detail;
  auto run = [&]() -> Status {
    v1::UploadImageRequest msg;
    if (!reader->Read(&msg)) {
      return ctx->IsCancelled() ? Cancelled("upload cancelled") : InvalidArgument("empty upload stream");
    }
    if (!msg.has_header()) return InvalidArgument("the first upload message must be the header");
    const v1::UploadHeader& h = msg.header();
    id = h.image_id();
    ImageDesc desc;
    desc.width = h.width();
    desc.height = h.height();
    TR_ASSIGN_OR_RETURN(desc.type, FromProto(h.pixel_type()));
    desc.channels = h.channels();
    desc.planes = h.planes() == 0 ? 1 : h.planes();
    detail = "desc=" + desc.ToString();
    TR_RETURN_IF_ERROR(ValidateDesc(desc, engine_.limits().image));
    if (static_cast<int64_t>(desc.byte_size()) > options_.max_upload_bytes) {
      return InvalidArgument("upload of " + std::to_string(desc.byte_size()) +
                             " bytes exceeds the limit of " + std::to_string(options_.max_upload_bytes));
    }
    TR_ASSIGN_OR_RETURN(auto reservation, registry_.Reserve(id));
    // Refuse before receiving gigabytes that could not be placed anyway.
    TR_RETURN_IF_ERROR(engine_.CheckLoad(desc));
    TR_ASSIGN_OR_RETURN(std::unique_ptr<BufferSource> buffer, BufferSource::Allocate(desc));
    const size_t expected = desc.byte_size();
    size_t received = 0;
    while (reader->Read(&msg)) {
      if (msg.has_header()) return InvalidArgument("a second upload header");
      const std::string& chunk = msg.chunk();
      if (chunk.size() > expected - received) {
        return InvalidArgument("upload sends more than the " + std::to_string(expected) +
                               " bytes its header announced");
      }
      std::copy(chunk.begin(), chunk.end(), buffer->mutable_data() + received);
      received += chunk.size();
    }
    if (ctx->IsCancelled()) return Cancelled("upload cancelled after " + std::to_string(received) + " bytes");
    if (received != expected) {
      return InvalidArgument("upload ended after " + std::to_string(received) + " of " +
                             std::to_string(expected) + " bytes");
    }
    RegisteredImage image;
    image.source = "upload";
    image.format = "upload";
    TR_ASSIGN_OR_RETURN(auto registered, Register(*reservation, std::move(buffer), std::move(image)));
    ToProto(*registered, out);
    return Status::Ok();
  };
  const Status s = run();
  return Finish("UploadImage", id, detail, s, start);
}

grpc::Status TileRenderService::UnloadImage(grpc::ServerContext*, const v1::UnloadImageRequest* req,
                                            v1::UnloadImageResponse* out) {
  const auto start = Clock::now();
  auto removed = registry_.Remove(req->image_id());
  if (removed.ok()) out->set_gpu_bytes_freed(engine_.ResidentGpuBytes(*(*removed)->handle));
  // Its tiles leave the caches when the last in-flight render using it lets go of the handle.
  return Finish("UnloadImage", req->image_id(), "", removed.status(), start);
}

grpc::Status TileRenderService::ListImages(grpc::ServerContext*, const v1::ListImagesRequest*,
                                           v1::ListImagesResponse* out) {
  for (const auto& image : registry_.List()) ToProto(*image, out->add_images());
  return grpc::Status::OK;
}

Result<RenderOutput> TileRenderService::DoRender(grpc::ServerContext* ctx,
                                                 const v1::RenderRequest& request) {
  const auto start = Clock::now();
  TR_ASSIGN_OR_RETURN(RenderRequest req, FromProto(request, registry_));
  // The reply must fit one gRPC message: say so plainly instead of failing inside gRPC.
  const int64_t limit = options_.max_message_bytes - (int64_t{64} << 10);
  const auto too_large = [&](int64_t bytes) {
    return ResourceExhausted("the output (" + std::to_string(bytes) + " bytes) exceeds the " +
                             std::to_string(options_.max_message_bytes) +
                             "-byte message limit; render smaller or in PNG, or raise --max-message-bytes");
  };
  if (req.format == OutputFormat::kRawRgba8 && int64_t{req.width} * req.height * 4 > limit) {
    metrics_.RecordError();
    return too_large(int64_t{req.width} * req.height * 4);
  }
  Result<RenderOutput> out = engine_.Render(req, CancelledBy(ctx));
  if (out.ok() && static_cast<int64_t>(out->data.size()) > limit) out = too_large(out->data.size());
  if (out.ok()) {
    metrics_.Record(MsSince(start));
  } else {
    metrics_.RecordError();
  }
  return out;
}

grpc::Status TileRenderService::Render(grpc::ServerContext* ctx, const v1::RenderRequest* req,
                                       v1::RenderResponse* out) {
  const auto start = Clock::now();
  Result<RenderOutput> r = DoRender(ctx, *req);
  if (r.ok()) {
    ToProto(*r, out);
    out->mutable_timings()->set_total_ms(MsSince(start));
  }
  return Finish("Render", LayerIds(*req), SizeOf(*req), r.status(), start);
}

grpc::Status TileRenderService::RenderStream(
    grpc::ServerContext* ctx,
    grpc::ServerReaderWriter<v1::RenderStreamResponse, v1::RenderStreamRequest>* stream) {
  const auto stream_start = Clock::now();
  // Requests are read and submitted here; a writer thread answers them in order. Up to
  // max_stream_in_flight are in flight, each rendered on the render thread and encoded on its own
  // worker, so encodes of one stream run in parallel.
  std::mutex mu;
  std::condition_variable cv;
  std::deque<std::future<v1::RenderStreamResponse>> pending;
  bool reading_done = false;
  int64_t answered = 0;

  std::thread writer([&] {
    for (;;) {
      std::future<v1::RenderStreamResponse> next;
      {
        std::unique_lock lock(mu);
        cv.wait(lock, [&] { return !pending.empty() || reading_done; });
        if (pending.empty()) return;
        next = std::move(pending.front());
      }
      v1::RenderStreamResponse resp;
      try {
        resp = next.get();
      } catch (const std::exception& e) {  // e.g. bad_alloc while encoding: this item fails alone
        resp.set_code(static_cast<int>(StatusCode::kInternal));
        resp.set_message(std::string("render failed: ") + e.what());
      }
      {
        std::lock_guard lock(mu);
        pending.pop_front();
        ++answered;
      }
      cv.notify_all();
      if (!ctx->IsCancelled()) stream->Write(resp);
    }
  });

  v1::RenderStreamRequest item;
  while (stream->Read(&item)) {
    {
      std::unique_lock lock(mu);
      cv.wait(lock, [&] { return static_cast<int>(pending.size()) < options_.max_stream_in_flight; });
    }
    const uint64_t tag = item.tag();
    std::future<v1::RenderStreamResponse> task;
    try {
      task = std::async(std::launch::async, [this, ctx, item = std::move(item)] {
      const auto start = Clock::now();
      v1::RenderStreamResponse resp;
      resp.set_tag(item.tag());
      Result<RenderOutput> r = DoRender(ctx, item.request());
      if (r.ok()) {
        ToProto(*r, resp.mutable_response());
        resp.mutable_response()->mutable_timings()->set_total_ms(MsSince(start));
      } else {
        resp.set_code(static_cast<int>(r.status().code()));
        resp.set_message(r.status().message());
      }
      Finish("RenderStream.item", LayerIds(item.request()),
             SizeOf(item.request()) + " tag=" + std::to_string(item.tag()), r.status(), start);
      return resp;
      });
    } catch (const std::system_error& e) {  // no thread for it: answer this item with the error
      std::promise<v1::RenderStreamResponse> failed;
      v1::RenderStreamResponse resp;
      resp.set_tag(tag);
      resp.set_code(static_cast<int>(StatusCode::kResourceExhausted));
      resp.set_message(std::string("cannot start a render worker: ") + e.what());
      failed.set_value(std::move(resp));
      task = failed.get_future();
    }
    {
      std::lock_guard lock(mu);
      pending.push_back(std::move(task));
    }
    cv.notify_all();
  }
  {
    std::lock_guard lock(mu);
    reading_done = true;
  }
  cv.notify_all();
  writer.join();
  const Status s = ctx->IsCancelled() ? Cancelled("stream cancelled") : Status::Ok();
  return Finish("RenderStream", "", "items=" + std::to_string(answered), s, stream_start);
}

grpc::Status TileRenderService::GetStats(grpc::ServerContext*, const v1::GetStatsRequest*,
                                         v1::Stats* out) {
  const EngineStats s = engine_.stats();
  out->set_gpu_bytes_used(s.gpu_bytes_used);
  out->set_gpu_budget_bytes(s.gpu_budget_bytes);
  out->set_images(static_cast<int32_t>(registry_.size()));
  out->set_renders_served(metrics_.served());
  out->set_render_errors(metrics_.errors());
  out->set_latency_p50_ms(metrics_.Percentile(0.5));
  out->set_latency_p90_ms(metrics_.Percentile(0.9));
  out->set_latency_p99_ms(metrics_.Percentile(0.99));
  out->set_queue_depth(s.queue_depth);
  out->set_uptime_s(MsSince(started_) / 1000.0);
  out->set_live_textures(s.live_textures);
  v1::CacheStats* g = out->mutable_gpu_cache();
  g->set_budget_bytes(s.gpu.budget_bytes);
  g->set_bytes(s.gpu.bytes);
  g->set_entries(s.gpu.tiles);
  g->set_hits(s.gpu.hits);
  g->set_misses(s.gpu.misses);
  g->set_evictions(s.gpu.evictions);
  g->set_bytes_in(s.gpu.bytes_uploaded);
  v1::CacheStats* h = out->mutable_host_cache();
  h->set_budget_bytes(s.host.budget_bytes);
  h->set_bytes(s.host.bytes);
  h->set_entries(s.host.entries);
  h->set_hits(s.host.hits);
  h->set_misses(s.host.misses);
  h->set_evictions(s.host.evictions);
  h->set_bytes_in(s.host.bytes_made);
  return grpc::Status::OK;
}

}  // namespace tilerender::server
