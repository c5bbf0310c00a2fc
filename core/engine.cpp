#include "core/engine.h"

#include <spdlog/spdlog.h>
#include <malloc.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>

#include "core/encode/png_encoder.h"
#include "core/engine_state.h"
#include "core/gl/gl_objects.h"
#include "core/render/resolve.h"
#include "core/tiles/cpu_pyramid.h"
#include "core/tiles/gpu_tiles.h"

namespace tilerender {
namespace {

using Clock = std::chrono::steady_clock;

double MsSince(Clock::time_point t) {
  return std::chrono::duration<double, std::milli>(Clock::now() - t).count();
}

int64_t PhysicalMemoryBytes() {
  const long pages = sysconf(_SC_PHYS_PAGES);
  const long page = sysconf(_SC_PAGE_SIZE);
  return pages > 0 && page > 0 ? int64_t{pages} * page : int64_t{8} << 30;
}

std::string Mib(int64_t bytes) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f MiB", bytes / 1048576.0);
  return buf;
}

// Waits on exit for the futures it watches: a job on the render thread or a worker may still be
// reading a buffer (or the caller's source) that an early return would free.
template <typename T>
class WaitOnExit {
 public:
  explicit WaitOnExit(std::future<T>& f) : one_(&f) {}
  explicit WaitOnExit(std::vector<std::future<T>>& all) : all_(&all) {}
  ~WaitOnExit() {
    if (one_ && one_->valid()) one_->wait();
    if (all_) {
      for (auto& f : *all_) {
        if (f.valid()) f.wait();
      }
    }
  }
  WaitOnExit(const WaitOnExit&) = delete;
  WaitOnExit& operator=(const WaitOnExit&) = delete;

 private:
  std::future<T>* one_ = nullptr;
  std::vector<std::future<T>>* all_ = nullptr;
};

}  // namespace

Status EngineState::Reserve(int64_t bytes, const std::string& what) {
  int64_t used = gpu_bytes_used.load();
  for (;;) {
    if (used + bytes > limits.gpu_budget_bytes) {
      return ResourceExhausted(what + " needs " + Mib(bytes) + " of GPU memory; " +
                               Mib(limits.gpu_budget_bytes - used) + " of the " +
                               Mib(limits.gpu_budget_bytes) + " budget is free");
    }
    if (gpu_bytes_used.compare_exchange_weak(used, used + bytes)) return Status::Ok();
  }
}

GpuImage::~GpuImage() {
  std::shared_ptr<EngineState> state = engine_.lock();
  if (state && state->render_thread_id.load() == std::this_thread::get_id()) {
    // Released by a job on the render thread itself (a render held the last handle): free here.
    // Taking a reference to the thread instead could make this thread its last owner, and a
    // thread cannot join itself.
    tiles_.reset();
    state->Unreserve(reserved_bytes_);
    state->images.fetch_sub(1);
    return;
  }
  std::shared_ptr<RenderThread> thread = state ? state->thread() : nullptr;
  if (!thread) {
    // The engine and its context are gone, and the textures with them: nothing to delete.
    if (tiles_) tiles_->Abandon();
    return;
  }
  // GL objects die on the render thread; the budget is returned once they have.
  thread->Post([tiles = std::shared_ptr<GpuTiles>(std::move(tiles_)), state,
                bytes = reserved_bytes_]() mutable {
    tiles.reset();
    state->Unreserve(bytes);
    state->images.fetch_sub(1);
  });
}

Result<std::unique_ptr<Engine>> Engine::Create(const EngineOptions& options) {
  if (options.max_tile_size < 16) {
    return InvalidArgument("max tile size must be at least 16, got " +
                           std::to_string(options.max_tile_size));
  }
  if (options.max_output_side <= 0 || options.max_output_pixels <= 0) {
    return InvalidArgument("output limits must be positive");
  }
  if (options.gpu_budget_bytes < 0) return InvalidArgument("GPU budget must not be negative");
  auto state = std::make_shared<EngineState>();
  EngineState* s = state.get();
  auto init = [s, options]() -> Status {
    s->render_thread_id = std::this_thread::get_id();
    TR_ASSIGN_OR_RETURN(s->context, EglContext::Create(options.egl));
    TR_ASSIGN_OR_RETURN(s->renderer,
                        Renderer::Create(options.pbo_readback.value_or(!s->context->info().software)));
    TR_ASSIGN_OR_RETURN(s->pyramid, PyramidBuilder::Create());
    s->info = s->context->info();
    return Status::Ok();
  };
  auto shutdown = [s] {
    s->renderer.reset();
    s->pyramid.reset();
    s->context.reset();
  };
  TR_ASSIGN_OR_RETURN(std::shared_ptr<RenderThread> thread, RenderThread::Start(init, shutdown));
  state->set_thread(std::move(thread));

  const GpuInfo& info = state->info;
  EngineLimits& l = state->limits;
  l.tile_size = std::min(options.max_tile_size, info.max_texture_size);
  l.max_output_side = std::min({options.max_output_side, info.max_renderbuffer_size,
                                info.max_viewport_width, info.max_viewport_height});
  l.max_output_pixels = options.max_output_pixels;
  l.max_queue_depth = options.max_queue_depth;
  l.image = options.image_limits;
  if (options.gpu_budget_bytes > 0) {
    l.gpu_budget_bytes = options.gpu_budget_bytes;
  } else if (info.available_memory_bytes > 0) {
    l.gpu_budget_bytes = info.available_memory_bytes / 10 * 9;
  } else {
    l.gpu_budget_bytes = PhysicalMemoryBytes() / 2;
  }

  std::unique_ptr<Engine> engine(new Engine());
  engine->state_ = std::move(state);
  // Warm-up: the first draw compiles the shaders for real (~50 ms on llvmpipe); pay it now.
  auto src = BufferSource::Allocate({2, 2, PixelType::kUint8, 1});
  if (!src.ok()) return src.status();
  std::fill_n((*src)->mutable_data(), 4, uint8_t{128});
  TR_ASSIGN_OR_RETURN(ImageHandle warm, engine->LoadImage(**src, {.build_pyramid = false}));
  RenderRequest req;
  req.width = req.height = 4;
  req.layers.push_back({.image = warm, .interpolation = Interpolation::kLinear});
  auto out = engine->Render(req);
  if (!out.ok()) return Internal("warm-up render failed: " + out.status().ToString());
  return engine;
}

Engine::~Engine() {
  // Joins the render thread after it has run every pending job (frees included).
  if (state_) state_->set_thread(nullptr);
}

const GpuInfo& Engine::gpu_info() const { return state_->info; }
const EngineLimits& Engine::limits() const { return state_->limits; }

namespace {
Result<GridPlan> Plan(const ImageDesc& desc, const EngineLimits& limits, const LoadOptions& options) {
  TR_RETURN_IF_ERROR(ValidateDesc(desc, limits.image));
  int tile = limits.tile_size;
  if (options.max_tile_size > 0) tile = std::min(tile, options.max_tile_size);
  return PlanGrid(desc, tile, options.build_pyramid);
}
}  // namespace

namespace {

// Level 0. A contiguous source (host buffer, memory map) is uploaded tile by tile straight from its
// rows. Any other source is read once, top to bottom, in full-width bands of a few MiB (a multiple
// of its preferred rows: whole TIFF strips or tile rows), each band uploaded into every texture that
// holds its rows; two band buffers, so reading one overlaps uploading the other. The value range
// is taken on the loading thread while the render thread uploads.
Status UploadLevel0(RenderThread& thread, ImageSource& source, GpuTiles* tiles, ValueRange* range,
                    const LoadOptions& options, CpuPyramid* pyramid) {
  const auto& progress = options.progress;
  const ImageDesc desc = source.desc();
  const LevelPlan& l0 = tiles->plan().levels[0];
  const size_t bpp = desc.bytes_per_pixel();
  const int64_t total = desc.width * desc.height;
  std::future<Status> pending;
  std::vector<uint8_t> band[2];
  WaitOnExit wait_pending(pending);

  if (const uint8_t* whole = source.contiguous()) {
    // The whole image is addressable: the CPU pyramid walks it on its own thread, alongside the
    // tile uploads (render thread) and the value range (this thread).
    std::future<void> cascade;
    if (pyramid) {
      cascade = std::async(std::launch::async, [pyramid, whole, &desc] {
        pyramid->Push(whole, desc.row_bytes(), desc.height);
      });
    }
    WaitOnExit wait_cascade(cascade);
    int64_t done = 0;
    for (int64_t row = 0; row < l0.rows(); ++row) {
      for (int64_t col = 0; col < l0.columns(); ++col) {
        const TilePlan t = l0.Tile(col, row);
        const uint8_t* pixels = whole + static_cast<size_t>(t.texture.y0) * desc.row_bytes() +
                                static_cast<size_t>(t.texture.x0) * bpp;
        if (pending.valid()) TR_RETURN_IF_ERROR(pending.get());
        pending = thread.Async([tiles, col, row, pixels, w = desc.width] {
          return tiles->Upload(0, col, row, pixels, w);
        });
        // Range the core (gutters belong to neighbours).
        const uint8_t* core = whole + static_cast<size_t>(t.core.y0) * desc.row_bytes() +
                              static_cast<size_t>(t.core.x0) * bpp;
        range->Merge(ComputeRange(core, desc.row_bytes(), desc, t.core.width(), t.core.height()));
        done += t.core.width() * t.core.height();
        if (progress) progress(done, total);
      }
    }
    if (cascade.valid()) cascade.get();
    return pending.get();
  }

  TR_RETURN_IF_ERROR(thread.Call([tiles, &l0]() -> Status {
    for (int64_t row = 0; row < l0.rows(); ++row) {
      for (int64_t col = 0; col < l0.columns(); ++col) TR_RETURN_IF_ERROR(tiles->Allocate(0, col, row));
    }
    return Status::Ok();
  }));
  int64_t rows = std::max<int64_t>(1, static_cast<int64_t>(options.band_bytes / desc.row_bytes()));
  if (const int64_t p = source.preferred_band_rows(); p > 0) rows = std::max<int64_t>(1, rows / p) * p;
  // Band i goes down the CPU pyramid on a worker while band i+1 is read; its buffer is reused for
  // band i+2 only after both its upload and its pyramid rows are done.
  std::future<void> cascade;
  WaitOnExit wait_cascade(cascade);
  int turn = 0;
  for (int64_t y = 0; y < desc.height; y += rows, turn ^= 1) {
    const int64_t n = std::min(rows, desc.height - y);
    std::vector<uint8_t>& buf = band[turn];
    buf.resize(static_cast<size_t>(n) * desc.row_bytes());
    TR_RETURN_IF_ERROR(source.ReadRect(0, y, desc.width, n, buf.data(), desc.row_bytes()));
    range->Merge(ComputeRange(buf.data(), desc.row_bytes(), desc, desc.width, n));
    if (pyramid) {
      if (cascade.valid()) cascade.get();
      cascade = std::async(std::launch::async, [pyramid, p = buf.data(), stride = desc.row_bytes(), n] {
        pyramid->Push(p, stride, n);
      });
    }
    if (pending.valid()) TR_RETURN_IF_ERROR(pending.get());
    pending = thread.Async([tiles, y, n, p = buf.data(), w = desc.width] {
      return tiles->UploadRows(0, y, n, p, w);
    });
    if (progress) progress((y + n) * desc.width, total);
  }
  if (cascade.valid()) cascade.get();
  return pending.get();
}

}  // namespace

Status Engine::CheckLoad(const ImageDesc& desc, const LoadOptions& options) const {
  TR_ASSIGN_OR_RETURN(GridPlan plan, Plan(desc, state_->limits, options));
  const int64_t bytes = plan.TotalBytes();
  const int64_t free = state_->limits.gpu_budget_bytes - state_->gpu_bytes_used.load();
  if (bytes > free) {
    return ResourceExhausted("image " + desc.ToString() + " needs " + Mib(bytes) +
                             " of GPU memory; " + Mib(free) + " of the " +
                             Mib(state_->limits.gpu_budget_bytes) + " budget is free");
  }
  return Status::Ok();
}

Result<ImageHandle> Engine::LoadImage(ImageSource& source, const LoadOptions& options) {
  const ImageDesc desc = source.desc();
  TR_ASSIGN_OR_RETURN(GridPlan plan, Plan(desc, state_->limits, options));
  const int tile = plan.max_texture_size;
  std::shared_ptr<RenderThread> thread = state_->thread();
  if (!thread) return Unavailable("engine is shut down");

  const int64_t bytes = plan.TotalBytes();
  TR_RETURN_IF_ERROR(state_->Reserve(bytes, "image " + desc.ToString()));
  // From here on the handle owns the reservation and the textures: dropping it on any error frees
  // both, so a failed load leaves nothing behind.
  std::shared_ptr<GpuImage> image(new GpuImage());
  image->engine_ = state_;
  image->reserved_bytes_ = bytes;
  image->tiles_ = std::make_unique<GpuTiles>(plan);
  state_->images.fetch_add(1);
  GpuTiles* tiles = image->tiles_.get();

  ImageInfo& info = image->info_;
  info.desc = desc;
  info.tile_size = tile;
  info.levels = static_cast<int>(plan.levels.size());
  info.tiles = plan.tile_count();
  info.gpu_bytes = bytes;
  info.gpu_bytes_level0 = plan.LevelBytes(0);

  const auto load_start = Clock::now();
  // On a software renderer the pyramid is computed on the CPU from the level-0 rows as they stream
  // by (~5x faster than rasterising it through llvmpipe); on a GPU the GPU builds it afterwards.
  const bool cpu_pyramid = info.levels > 1 && (options.pyramid_mode == PyramidMode::kCpu ||
                                                (options.pyramid_mode == PyramidMode::kAuto && state_->info.software));
  std::unique_ptr<CpuPyramid> pyramid;
  std::vector<std::future<Status>> level_uploads;
  if (cpu_pyramid) {
    TR_RETURN_IF_ERROR(thread->Call([tiles, &plan]() -> Status {
      for (int level = 1; level < static_cast<int>(plan.levels.size()); ++level) {
        for (int64_t row = 0; row < plan.levels[level].rows(); ++row) {
          for (int64_t col = 0; col < plan.levels[level].columns(); ++col) {
            TR_RETURN_IF_ERROR(tiles->Allocate(level, col, row));
          }
        }
      }
      return Status::Ok();
    }));
    const int64_t band_rows = std::max<int64_t>(16, int64_t{4 << 20} / std::max<int64_t>(1, desc.row_bytes() / 2));
    pyramid = std::make_unique<CpuPyramid>(
        desc, info.levels, band_rows,
        [&level_uploads, &thread, tiles, &plan, oldest = size_t{0}](int level, int64_t y0, int64_t rows,
                                                                   std::vector<uint8_t> data) mutable {
          // Backpressure: the render thread is busy with level 0 too; without a bound, bands would
          // pile up in its queue (200 MB of level 1 for a 20000^2 uint16 image).
          constexpr size_t kInFlight = 8;
          if (level_uploads.size() - oldest >= kInFlight) level_uploads[oldest++].wait();
          level_uploads.push_back(thread->Async([tiles, level, y0, rows, data = std::move(data),
                                                 w = plan.levels[level].width] {
            return tiles->UploadRows(level, y0, rows, data.data(), w);
          }));
        });
  }
  // Pending pyramid uploads hold pointers into `tiles`, owned by `image`: wait for them on every path.
  WaitOnExit wait_uploads(level_uploads);
  TR_RETURN_IF_ERROR(UploadLevel0(*thread, source, tiles, &info.range, options, pyramid.get()));
  if (pyramid) {
    pyramid->Finish();
    for (auto& f : level_uploads) TR_RETURN_IF_ERROR(f.get());
  }
  const double level0_ms = MsSince(load_start);

  // Pyramid levels on the GPU, one job per tile so renders interleave with a long build.
  const bool is_float = desc.type == PixelType::kFloat32;
  EngineState* s = state_.get();
  for (int level = 1; level < info.levels && !cpu_pyramid; ++level) {
    const LevelPlan& lp = plan.levels[level];
    std::vector<std::future<Status>> jobs;
    for (int64_t row = 0; row < lp.rows(); ++row) {
      for (int64_t col = 0; col < lp.columns(); ++col) {
        jobs.push_back(thread->Async([s, tiles, is_float, level, col, row] {
          return s->pyramid->BuildTile(*tiles, is_float, level, col, row);
        }));
      }
    }
    Status first;
    for (auto& j : jobs) {
      Status st = j.get();  // every job waited for: none may outlive a failed load unnoticed
      if (first.ok() && !st.ok()) first = std::move(st);
    }
    TR_RETURN_IF_ERROR(first);
  }
  // Band buffers were large and short-lived: give the freed heap back to the system.
  malloc_trim(0);
  spdlog::debug("loaded {}: level 0{} in {:.1f} ms, {} pyramid levels ({}) in {:.1f} ms", desc.ToString(),
                cpu_pyramid ? " and pyramid" : "", level0_ms, info.levels - 1, cpu_pyramid ? "CPU" : "GPU",
                MsSince(load_start) - level0_ms);
  return ImageHandle(std::move(image));
}

Result<std::future<Result<Frame>>> Engine::SubmitRender(const RenderRequest& request,
                                                        CancelFn cancelled) {
  TR_ASSIGN_OR_RETURN(ResolvedRender resolved, ResolveRender(request, state_->limits));
  std::shared_ptr<RenderThread> thread = state_->thread();
  if (!thread) return Unavailable("engine is shut down");
  auto promise = std::make_shared<std::promise<Result<Frame>>>();
  std::future<Result<Frame>> future = promise->get_future();
  EngineState* s = state_.get();
  const auto queued_at = Clock::now();
  auto job = [s, promise, queued_at, cancelled = std::move(cancelled),
              resolved = std::make_shared<ResolvedRender>(std::move(resolved))]() mutable {
    const double queue_ms = MsSince(queued_at);
    Result<Frame> frame = Cancelled("render cancelled before it started");
    if (!cancelled || !cancelled()) {
      frame = s->renderer->Draw(*resolved);
      if (frame.ok()) {
        frame->timings.queue_ms = queue_ms;
        s->renders.fetch_add(1);
      }
    }
    // Let go of the request's images before answering: once Render returns, the engine holds
    // no reference to them (an unload right after frees at once).
    resolved.reset();
    promise->set_value(std::move(frame));
  };
  TR_RETURN_IF_ERROR(thread->PostBounded(std::move(job), state_->limits.max_queue_depth));
  return future;
}

Result<RenderOutput> Engine::Render(const RenderRequest& request, const CancelFn& cancelled) {
  TR_ASSIGN_OR_RETURN(std::future<Result<Frame>> future, SubmitRender(request, cancelled));
  TR_ASSIGN_OR_RETURN(Frame frame, future.get());
  return EncodeFrame(std::move(frame), request.format, request.png_level);
}

Result<RenderOutput> EncodeFrame(Frame frame, OutputFormat format, int png_level) {
  const auto t0 = Clock::now();
  RenderOutput out;
  out.format = format;
  out.width = frame.width;
  out.height = frame.height;
  out.has_alpha = frame.has_alpha;
  out.timings = frame.timings;
  uint8_t* px = frame.rgba.data();
  const size_t n = static_cast<size_t>(frame.width) * frame.height;
  if (frame.has_alpha) {
    // The framebuffer holds premultiplied color; PNG and raw output carry straight alpha.
    for (size_t i = 0; i < n; ++i) {
      uint8_t* p = px + 4 * i;
      const unsigned a = p[3];
      if (a == 0 || a == 255) continue;
      for (int c = 0; c < 3; ++c) p[c] = static_cast<uint8_t>(std::min(255u, (p[c] * 255u + a / 2) / a));
    }
  }
  const size_t stride = static_cast<size_t>(frame.width) * 4;
  if (format == OutputFormat::kPng) {
    TR_ASSIGN_OR_RETURN(out.data, EncodePng(px, frame.width, frame.height, stride,
                                            {.level = png_level,
                                             .write_alpha = frame.has_alpha,
                                             .bottom_up = true}));
  } else {
    out.data.resize(frame.rgba.size());
    for (int y = 0; y < frame.height; ++y) {
      std::copy_n(px + static_cast<size_t>(frame.height - 1 - y) * stride, stride,
                  out.data.data() + static_cast<size_t>(y) * stride);
    }
  }
  out.timings.encode_ms = MsSince(t0);
  return out;
}

EngineStats Engine::stats() const {
  EngineStats s;
  s.gpu_bytes_used = state_->gpu_bytes_used.load();
  s.gpu_budget_bytes = state_->limits.gpu_budget_bytes;
  s.images = state_->images.load();
  s.live_textures = gl::LiveTextureCount();
  s.renders = state_->renders.load();
  if (auto t = state_->thread()) s.queue_depth = t->queued_renders();
  return s;
}

void Engine::Flush() {
  if (auto t = state_->thread()) t->Call([] {});
}

}  // namespace tilerender
