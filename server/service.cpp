#include "server/service.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <condition_variable>
#include <filesystem>
#include <future>
#include <thread>

#include "core/render/colormap.h"
#include "server/convert.h"
#include "server/grpc_status.h"
#include "server/log_text.h"

namespace tilerender::server {
namespace {

using Clock = std::chrono::steady_clock;

double MsSince(Clock::time_point t) {
  return std::chrono::duration<double, std::milli>(Clock::now() - t).count();
}

// One info line per request: method, image, size, status, latency.
grpc::Status Finish(App& app, const char* method, const std::string& image, const std::string& detail,
                    const Status& status, Clock::time_point start) {
  const double ms = MsSince(start);
  app.requests().CountRequest("grpc", method, StatusCodeName(status.code()));
  if (status.ok()) {
    spdlog::info("{} image={} {} OK {:.1f} ms", method, image.empty() ? "-" : Printable(image, 200), Printable(detail, 300), ms);
  } else {
    spdlog::info("{} image={} {} {} {:.1f} ms: {}", method, image.empty() ? "-" : Printable(image, 200),
                 Printable(detail, 300), StatusCodeName(status.code()), ms, Printable(status.message(), 500));
  }
  return ToGrpcStatus(status);
}

// The layers' images for the log line: the first four, each made printable and cut.
template <typename Request>  // RenderRequest, ProbeRequest: layers with an image_id
std::string LayerIds(const Request& r) {
  std::string ids;
  for (int i = 0; i < r.layers_size() && i < 4; ++i) ids += (ids.empty() ? "" : ",") + Printable(r.layers(i).image_id(), 64);
  if (r.layers_size() > 4) ids += ",+" + std::to_string(r.layers_size() - 4) + " more";
  return ids;
}

std::string SizeOf(const v1::RenderRequest& r) {
  return "size=" + std::to_string(r.width()) + "x" + std::to_string(r.height());
}

CancelFn CancelledBy(grpc::ServerContext* ctx) {
  return [ctx] { return ctx->IsCancelled(); };
}

// The bearer token in the "authorization" metadata, where the daemon has --auth-tokens.
Status Authorized(const App& app, grpc::ServerContext* ctx, Permission permission) {
  const auto& md = ctx->client_metadata();
  const auto it = md.find("authorization");
  const std::string_view value = it == md.end() ? std::string_view() : std::string_view(it->second.data(), it->second.size());
  return app.Authorize(value, permission);
}

}  // namespace

TileRenderService::TileRenderService(App& app, ServiceOptions options)
    : app_(app),
      options_(std::move(options)),
      output_limit_(options_.max_message_bytes - (int64_t{64} << 10)),
      output_limit_name_("gRPC message limit (--max-message-bytes " + std::to_string(options_.max_message_bytes) + ")") {}

grpc::Status TileRenderService::GetServerInfo(grpc::ServerContext* ctx, const v1::GetServerInfoRequest*,
                                              v1::ServerInfo* out) {
  if (Status a = Authorized(app_, ctx, Permission::kRead); !a.ok()) return Finish(app_, "GetServerInfo", "", "", a, Clock::now());
  const GpuInfo& gpu = app_.engine().gpu_info();
  const EngineLimits& l = app_.engine().limits();
  out->set_version(app_.options().version);
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
  out->set_data_root(app_.options().data_root);
  v1::Limits* lim = out->mutable_limits();
  lim->set_max_output_side(l.max_output_side);
  lim->set_max_output_pixels(l.max_output_pixels);
  lim->set_max_image_side(l.image.max_side);
  lim->set_max_image_pixels(l.image.max_pixels);
  lim->set_max_image_bytes(l.image.max_bytes);
  lim->set_max_upload_bytes(app_.options().max_upload_bytes);
  lim->set_max_queue_depth(l.max_queue_depth);
  lim->set_max_layers(l.max_layers);
  lim->set_max_message_bytes(options_.max_message_bytes);
  lim->set_max_stream_in_flight(options_.max_stream_in_flight);
  for (const std::string& name : ColormapNames()) out->add_colormaps(name);
  app_.requests().CountRequest("grpc", "GetServerInfo", "OK");
  return grpc::Status::OK;
}

grpc::Status TileRenderService::LoadImage(grpc::ServerContext* ctx, const v1::LoadImageRequest* req,
                                          v1::ImageInfo* out) {
  const auto start = Clock::now();
  if (Status a = Authorized(app_, ctx, Permission::kWrite); !a.ok()) return Finish(app_, "LoadImage", "", "", a, start);
  const LoadParams params{.path = req->path(),
                          .id = req->image_id(),
                          .page = req->page(),
                          .z = req->z(),
                          .t = req->t(),
                          .reader = req->reader(),
                          .associated_image = req->associated_image(),
                          .labels = req->labels()};
  auto loaded = app_.Load(params, [ctx] { return ctx->IsCancelled(); });
  if (loaded.ok()) ToProto(**loaded, out);
  return Finish(app_, "LoadImage", params.id.empty() ? App::IdFromPath(params.path) : params.id, "path=" + req->path(),
                loaded.status(), start);
}

grpc::Status TileRenderService::UploadImage(grpc::ServerContext* ctx,
                                            grpc::ServerReader<v1::UploadImageRequest>* reader,
                                            v1::ImageInfo* out) {
  const auto start = Clock::now();
  std::string id;
  std::string detail;
  auto run = [&]() -> Status {
    TR_RETURN_IF_ERROR(Authorized(app_, ctx, Permission::kWrite));
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
    TR_ASSIGN_OR_RETURN(std::unique_ptr<App::Upload> upload, app_.BeginUpload(id, desc, h.labels()));
    while (reader->Read(&msg)) {
      if (msg.has_header()) return InvalidArgument("a second upload header");
      TR_RETURN_IF_ERROR(upload->Append(msg.chunk().data(), msg.chunk().size()));
    }
    if (ctx->IsCancelled()) return Cancelled("upload cancelled after " + std::to_string(upload->received()) + " bytes");
    TR_ASSIGN_OR_RETURN(auto registered, upload->Finish());
    ToProto(*registered, out);
    return Status::Ok();
  };
  const Status s = run();
  return Finish(app_, "UploadImage", id, detail, s, start);
}

grpc::Status TileRenderService::UnloadImage(grpc::ServerContext* ctx, const v1::UnloadImageRequest* req,
                                            v1::UnloadImageResponse* out) {
  const auto start = Clock::now();
  if (Status a = Authorized(app_, ctx, Permission::kWrite); !a.ok()) return Finish(app_, "UnloadImage", "", "", a, start);
  auto removed = app_.Unload(req->image_id());
  if (removed.ok()) out->set_gpu_bytes_freed(removed->gpu_bytes_freed);
  return Finish(app_, "UnloadImage", req->image_id(), "", removed.status(), start);
}

grpc::Status TileRenderService::ListImages(grpc::ServerContext* ctx, const v1::ListImagesRequest*,
                                           v1::ListImagesResponse* out) {
  if (Status a = Authorized(app_, ctx, Permission::kRead); !a.ok()) return Finish(app_, "ListImages", "", "", a, Clock::now());
  for (const auto& image : app_.List()) ToProto(*image, out->add_images());
  app_.requests().CountRequest("grpc", "ListImages", "OK");
  return grpc::Status::OK;
}

Result<RenderOutput> TileRenderService::DoRender(grpc::ServerContext* ctx,
                                                 const v1::RenderRequest& request) {
  Result<RenderRequest> req = FromProto(request, app_.Lookup());
  if (!req.ok()) {
    app_.RecordRenderError();
    return req.status();
  }
  return app_.Render(*req, CancelledBy(ctx), output_limit_, output_limit_name_);
}

grpc::Status TileRenderService::Render(grpc::ServerContext* ctx, const v1::RenderRequest* req,
                                       v1::RenderResponse* out) {
  const auto start = Clock::now();
  if (Status a = Authorized(app_, ctx, Permission::kRead); !a.ok()) return Finish(app_, "Render", "", "", a, start);
  Result<RenderOutput> r = DoRender(ctx, *req);
  if (r.ok()) {
    ToProto(*r, out);
    out->mutable_timings()->set_total_ms(MsSince(start));
  }
  return Finish(app_, "Render", LayerIds(*req), SizeOf(*req), r.status(), start);
}

grpc::Status TileRenderService::RenderStream(
    grpc::ServerContext* ctx,
    grpc::ServerReaderWriter<v1::RenderStreamResponse, v1::RenderStreamRequest>* stream) {
  const auto stream_start = Clock::now();
  if (Status a = Authorized(app_, ctx, Permission::kRead); !a.ok()) return Finish(app_, "RenderStream", "", "", a, stream_start);
  // Requests are read and submitted to the engine's pipeline here (validation and tile fetches on
  // this thread, drawing on the render thread, encoding on the engine's encoder threads, so the
  // encodes of one stream run in parallel); a writer thread answers them in order. Up to
  // max_stream_in_flight are in flight.
  struct Pending {
    uint64_t tag = 0;
    Clock::time_point start;
    std::string ids, detail;
    Status refused;  // refused before it was submitted
    std::future<Result<RenderOutput>> output;
  };
  std::mutex mu;
  std::condition_variable cv;
  std::deque<Pending> pending;
  bool reading_done = false;
  int64_t answered = 0;

  std::thread writer([&] {
    for (;;) {
      Pending* next = nullptr;
      {
        std::unique_lock lock(mu);
        cv.wait(lock, [&] { return !pending.empty() || reading_done; });
        if (pending.empty()) return;
        next = &pending.front();  // stays put: only this thread pops, the reader pushes at the back
      }
      v1::RenderStreamResponse resp;
      resp.set_tag(next->tag);
      Status status = next->refused;
      if (status.ok()) {
        try {
          Result<RenderOutput> r = next->output.get();
          status = r.status();
          if (r.ok()) {
            ToProto(*r, resp.mutable_response());
            resp.mutable_response()->mutable_timings()->set_total_ms(MsSince(next->start));
          }
        } catch (const std::exception& e) {  // e.g. bad_alloc while encoding: this item fails alone
          status = Internal(std::string("render failed: ") + e.what());
        }
      }
      if (!status.ok()) {
        resp.set_code(static_cast<int>(status.code()));
        resp.set_message(status.message());
      }
      Finish(app_, "RenderStream.item", next->ids, next->detail, status, next->start);
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
    Pending p;
    p.tag = item.tag();
    p.start = Clock::now();
    p.ids = LayerIds(item.request());
    p.detail = SizeOf(item.request()) + " tag=" + std::to_string(item.tag());
    Result<RenderRequest> req = FromProto(item.request(), app_.Lookup());
    if (!req.ok()) {
      app_.RecordRenderError();
      p.refused = req.status();
    } else {
      auto submitted = app_.SubmitRender(*req, CancelledBy(ctx), output_limit_, output_limit_name_);
      if (submitted.ok()) {
        p.output = std::move(submitted).value();
      } else {
        p.refused = submitted.status();
      }
    }
    {
      std::lock_guard lock(mu);
      pending.push_back(std::move(p));
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
  return Finish(app_, "RenderStream", "", "items=" + std::to_string(answered), s, stream_start);
}

grpc::Status TileRenderService::GetStats(grpc::ServerContext* ctx, const v1::GetStatsRequest*,
                                         v1::Stats* out) {
  if (Status a = Authorized(app_, ctx, Permission::kRead); !a.ok()) return Finish(app_, "GetStats", "", "", a, Clock::now());
  const EngineStats s = app_.engine().stats();
  const RenderMetrics& metrics_ = app_.metrics();
  out->set_gpu_bytes_used(s.gpu_bytes_used);
  out->set_gpu_budget_bytes(s.gpu_budget_bytes);
  out->set_images(static_cast<int32_t>(app_.registry().size()));
  out->set_renders_served(metrics_.served());
  out->set_render_errors(metrics_.errors());
  out->set_latency_p50_ms(metrics_.Percentile(0.5));
  out->set_latency_p90_ms(metrics_.Percentile(0.9));
  out->set_latency_p99_ms(metrics_.Percentile(0.99));
  out->set_queue_depth(s.queue_depth);
  out->set_uptime_s(app_.uptime_s());
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
  app_.requests().CountRequest("grpc", "GetStats", "OK");
  return grpc::Status::OK;
}

grpc::Status TileRenderService::Probe(grpc::ServerContext* ctx, const v1::ProbeRequest* req, v1::ProbeResponse* out) {
  const auto start = Clock::now();
  if (Status a = Authorized(app_, ctx, Permission::kRead); !a.ok()) return Finish(app_, "Probe", "", "", a, start);
  const std::string detail = "points=" + std::to_string(req->points_size()) + " level=" + std::to_string(req->level());
  auto run = [&]() -> Status {
    TR_ASSIGN_OR_RETURN(ProbeQuery q, FromProto(*req));
    TR_ASSIGN_OR_RETURN(std::vector<LayerValues> layers, app_.Probe(q, CancelledBy(ctx)));
    ToProto(layers, out);
    return Status::Ok();
  };
  return Finish(app_, "Probe", LayerIds(*req), detail, run(), start);
}

grpc::Status TileRenderService::Profile(grpc::ServerContext* ctx, const v1::ProfileRequest* req, v1::ProfileResponse* out) {
  const auto start = Clock::now();
  if (Status a = Authorized(app_, ctx, Permission::kRead); !a.ok()) return Finish(app_, "Profile", "", "", a, start);
  const std::string detail = "samples=" + std::to_string(req->samples()) + " level=" + std::to_string(req->level());
  auto run = [&]() -> Status {
    TR_ASSIGN_OR_RETURN(ProfileQuery q, FromProto(*req));
    TR_ASSIGN_OR_RETURN(ProfileValues p, app_.Profile(q, CancelledBy(ctx)));
    ToProto(p, out);
    return Status::Ok();
  };
  return Finish(app_, "Profile", req->image_id(), detail, run(), start);
}

}  // namespace tilerender::server
