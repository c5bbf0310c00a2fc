#include "core/engine.h"

#include <spdlog/spdlog.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <tuple>

#include "core/engine_state.h"
#include "core/gl/gl_objects.h"
#include "core/image/value_range.h"
#include "core/render/auto_contrast.h"
#include "core/render/paged_draw.h"
#include "core/render/resolve.h"

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

// The value range is exact when it can be had cheaply: a level 0 in memory up to this many pixels,
// or a coarsest file level that is level 0 itself. Otherwise it is estimated from this many
// pixels of the coarsest level the source has (or a sample of it).
constexpr int64_t kExactRangePixels = int64_t{64} << 20;
constexpr int64_t kSampledRangePixels = int64_t{4} << 20;

struct MeasuredRange {
  ValueRange range;
  bool estimated = false;
};

Status LoadCancelled() { return Cancelled("the load was cancelled (deadline, client gone, or shutdown)"); }

Result<MeasuredRange> MeasureRange(const TiledImage& image, int plane, TileFetcher& fetcher, const CancelFn& cancelled) {
  const ImageDesc& desc = image.info().desc;
  const ImagePlan& plan = image.plan();
  MeasuredRange out;
  if (const uint8_t* whole = image.source().contiguous(0, plane)) {
    const int64_t pixels = desc.width * desc.height;
    if (pixels <= kExactRangePixels) {
      out.range = ComputeRange(whole, desc.row_bytes(), desc, desc.width, desc.height);
      return out;
    }
    // Every k-th row of a large buffer.
    const int64_t step = std::max<int64_t>(1, pixels / kSampledRangePixels);
    for (int64_t y = 0; y < desc.height; y += step) {
      out.range.Merge(ComputeRange(whole + static_cast<size_t>(y) * desc.row_bytes(), desc.row_bytes(), desc, desc.width, 1));
    }
    out.estimated = true;
    return out;
  }
  int coarsest = 0;
  for (size_t i = 0; i < plan.levels.size(); ++i) {
    if (plan.levels[i].from_source()) coarsest = static_cast<int>(i);
  }
  const LevelPlan& l = plan.levels[coarsest];
  ImageDesc level_desc = desc;
  level_desc.width = l.width;
  level_desc.height = l.height;
  std::vector<uint8_t> scratch;
  out.estimated = coarsest > 0;
  if (coarsest == 0 && image.source().reads_without_decoding() && l.width * l.height <= kExactRangePixels) {
    // Cheap to read whole (a raw file): every chunk, one at a time, straight from the source.
    const size_t stride = static_cast<size_t>(l.chunk_width) * desc.bytes_per_pixel();
    scratch.resize(stride * static_cast<size_t>(l.chunk_height));
    for (int64_t cy = 0; cy * l.chunk_height < l.height; ++cy) {
      for (int64_t cx = 0; cx * l.chunk_width < l.width; ++cx) {
        if (cancelled && cancelled()) return LoadCancelled();
        const PixelRect c = l.Chunk(cx, cy);
        TR_RETURN_IF_ERROR(image.source().ReadChunk(l.source_index, plane, cx, cy, scratch.data(), stride));
        out.range.Merge(ComputeRange(scratch.data(), stride, level_desc, c.width(), c.height()));
      }
    }
    return out;
  }
  if (l.width * l.height <= kSampledRangePixels) {
    TR_ASSIGN_OR_RETURN(RectView v, fetcher.ReadRect(image, coarsest, plane, {0, 0, l.width, l.height}, &scratch));
    out.range = ComputeRange(v.pixels, v.stride, level_desc, l.width, l.height);
    return out;
  }
  // A large level without a coarser one: 16 chunks spread over it.
  const int64_t cols = (l.width + l.chunk_width - 1) / l.chunk_width;
  const int64_t rows = (l.height + l.chunk_height - 1) / l.chunk_height;
  for (int j = 0; j < 4; ++j) {
    for (int i = 0; i < 4; ++i) {
      if (cancelled && cancelled()) return LoadCancelled();
      const PixelRect c = l.Chunk((2 * i + 1) * cols / 8, (2 * j + 1) * rows / 8);
      TR_ASSIGN_OR_RETURN(RectView v, fetcher.ReadRect(image, coarsest, plane, c, &scratch));
      out.range.Merge(ComputeRange(v.pixels, v.stride, level_desc, c.width(), c.height()));
    }
  }
  out.estimated = true;
  return out;
}

ImageInfo InfoFor(const ImageDesc& desc, const ImagePlan& plan) {
  ImageInfo info;
  info.desc = desc;
  info.tile_size = plan.tile_size;
  info.levels = static_cast<int>(plan.levels.size());
  // Every plane has the same levels and tiles.
  const int planes = desc.planes;
  info.tiles = plan.tile_count() * planes;
  info.gpu_bytes = plan.TotalBytes() * planes;
  info.gpu_bytes_level0 = plan.LevelBytes(0) * planes;
  for (size_t i = 0; i < plan.levels.size(); ++i) {
    const LevelPlan& l = plan.levels[i];
    info.level_info.push_back({l.width, l.height, l.from_source(), l.tile_width, l.tile_height, l.tile_count() * planes,
                               plan.LevelBytes(static_cast<int>(i)) * planes});
  }
  return info;
}

}  // namespace

Result<std::unique_ptr<Engine>> Engine::Create(const EngineOptions& options) {
  if (options.max_tile_size < 16) {
    return InvalidArgument("max tile size must be at least 16, got " + std::to_string(options.max_tile_size));
  }
  if (options.max_output_side <= 0 || options.max_output_pixels <= 0) {
    return InvalidArgument("output limits must be positive");
  }
  if (options.gpu_budget_bytes < 0 || options.host_cache_bytes < 0) {
    return InvalidArgument("cache budgets must not be negative");
  }
  auto state = std::make_shared<EngineState>();
  EngineState* s = state.get();
  EngineLimits& l = state->limits;
  l.host_cache_bytes = options.host_cache_bytes > 0 ? options.host_cache_bytes
                                                    : std::min(int64_t{1} << 30, PhysicalMemoryBytes() / 8);
  s->host = std::make_unique<HostCache>(l.host_cache_bytes);
  s->fetcher = std::make_unique<TileFetcher>(*s->host);
  s->pool = std::make_unique<WorkerPool>(options.decode_threads);
  s->encoders = std::make_unique<WorkerPool>(std::clamp(static_cast<int>(std::thread::hardware_concurrency()), 1, 8));
  s->one_pass_composite = options.one_pass_composite;
  s->cpu_identity_views = options.cpu_identity_views;

  auto init = [s, options]() -> Status {
    s->render_thread_id = std::this_thread::get_id();
    TR_ASSIGN_OR_RETURN(s->context, EglContext::Create(options.egl));
    const bool gather = options.texture_gather.value_or(true) && Renderer::ContextHasGather();
    // On llvmpipe the "GPU" is the CPU: the compute histograms' atomics cost more than reading the
    // samples back (BENCHMARKS.md), so the default there is the readback.
    const bool histogram = options.gpu_histogram.value_or(!s->context->info().software) && Renderer::ContextHasCompute();
    TR_ASSIGN_OR_RETURN(s->renderer, Renderer::Create(options.pbo_readback.value_or(!s->context->info().software), gather, histogram));
    s->info = s->context->info();
    s->info.texture_gather = gather;
    s->info.gpu_histogram = histogram;
    const GpuInfo& info = s->info;
    EngineLimits& l = s->limits;
    l.max_texture_size = info.max_texture_size;
    l.tile_size = std::min(options.max_tile_size, info.max_texture_size);
    l.max_output_side = std::min({options.max_output_side, info.max_renderbuffer_size, info.max_viewport_width,
                                  info.max_viewport_height});
    l.max_output_pixels = options.max_output_pixels;
    l.max_queue_depth = options.max_queue_depth;
    l.max_layers = options.max_layers;
    l.image = options.image_limits;
    if (options.gpu_budget_bytes > 0) {
      l.gpu_budget_bytes = options.gpu_budget_bytes;
    } else if (info.available_memory_bytes > 0) {
      l.gpu_budget_bytes = info.available_memory_bytes / 10 * 9;
    } else {
      l.gpu_budget_bytes = PhysicalMemoryBytes() / 2;
    }
    if (l.gpu_budget_bytes < MinimumGpuBudget(l.tile_size)) {
      return InvalidArgument("a GPU budget of " + Mib(l.gpu_budget_bytes) + " cannot hold the four " +
                             std::to_string(l.tile_size) + "-pixel tiles one draw may need at once (" +
                             Mib(MinimumGpuBudget(l.tile_size)) + "); raise it or lower the tile size");
    }
    s->gpu = std::make_unique<GpuTileCache>(l.gpu_budget_bytes, options.fail_tile_allocation_for_test);
    return Status::Ok();
  };
  auto shutdown = [s] {
    // GL objects die while the context lives.
    s->renderer.reset();
    if (s->gpu) s->gpu->Clear();
    s->context.reset();
  };
  TR_ASSIGN_OR_RETURN(std::shared_ptr<RenderThread> thread, RenderThread::Start(init, shutdown));
  state->set_thread(std::move(thread));

  std::unique_ptr<Engine> engine(new Engine());
  engine->state_ = std::move(state);
  // Warm-up: a shader variant's first draw compiles it for real (llvmpipe compiles one per program,
  // texture format and power-of-two-ness of the texture's sides); pay that now, not in a client's
  // first render.
  std::vector<ImageDesc> kinds = {{2, 2, PixelType::kUint8, 1}};
  if (options.warm_up_all) {
    for (int64_t side : {2, 3}) {
      for (auto [type, channels] : {std::pair{PixelType::kUint8, 1}, std::pair{PixelType::kUint16, 1},
                                    std::pair{PixelType::kFloat32, 1}, std::pair{PixelType::kUint8, 3},
                                    std::pair{PixelType::kUint8, 4}}) {
        if (side > 2 || type != PixelType::kUint8 || channels != 1) kinds.push_back({side, side, type, channels});
      }
    }
  }
  for (const ImageDesc& kind : kinds) {
    TR_ASSIGN_OR_RETURN(std::shared_ptr<BufferSource> src, BufferSource::Allocate(kind));
    std::fill_n(src->mutable_data(), kind.byte_size(), uint8_t{0});
    TR_ASSIGN_OR_RETURN(ImageHandle warm, engine->LoadImage(std::move(src), {.build_pyramid = false}));
    for (Interpolation interp : {Interpolation::kNearest, Interpolation::kLinear}) {
      RenderRequest req;
      req.width = req.height = 4;
      req.layers.push_back({.image = warm, .interpolation = interp});
      // uint16 fluorescence: also the composite of four channels in one pass.
      const bool composite = options.warm_up_all && kind.type == PixelType::kUint16 && kind.width == 3;
      for (int n = composite ? 4 : 1; n > 1; --n) {
        req.layers.back().blending = Blending::kAdditive;
        req.layers.push_back(req.layers.back());
      }
      auto out = engine->Render(req);
      if (!out.ok()) return Internal("warm-up render failed: " + out.status().ToString());
      if (!options.warm_up_all) break;
    }
  }
  return engine;
}

Engine::~Engine() {
  // Joins the render thread after it has run every pending job (tile drops included).
  if (state_) state_->set_thread(nullptr);
}

const GpuInfo& Engine::gpu_info() const { return state_->info; }
const EngineLimits& Engine::limits() const { return state_->limits; }

Status Engine::CheckLoad(const ImageDesc& desc) const { return ValidateDesc(desc, state_->limits.image); }

Result<ImageHandle> Engine::LoadImage(std::shared_ptr<ImageSource> source, const LoadOptions& options) {
  if (!source) return InvalidArgument("no image source");
  const auto start = Clock::now();
  const ImageDesc desc = source->desc();
  // The engine never holds an image whole (the source does, if anyone): sides and pixels only.
  TR_RETURN_IF_ERROR(ValidateDesc(desc, state_->limits.image.Paged()));
  int tile = state_->limits.tile_size;
  if (options.max_tile_size > 0) tile = std::min(tile, options.max_tile_size);
  if (options.labels && desc.channels != 1) {
    return InvalidArgument("labels images have one channel of object ids, not " + std::to_string(desc.channels));
  }
  if (!options.labels && desc.type == PixelType::kUint32) {
    return InvalidArgument("uint32 pixels are object ids: load or upload them as labels (or send float32)");
  }
  TR_ASSIGN_OR_RETURN(ImagePlan plan, PlanImage(desc, source->levels(), tile, state_->limits.max_texture_size,
                                                options.build_pyramid, options.labels));
  ImageInfo info = InfoFor(desc, plan);
  std::tie(info.pixel_size_x_um, info.pixel_size_y_um) = source->pixel_size_um();
  info.labels = options.labels;
  const uint64_t id = state_->next_image_id.fetch_add(1);
  // When the image dies, its tiles leave both caches (GPU textures on the render thread).
  auto on_release = [weak = std::weak_ptr<EngineState>(state_)](uint64_t image) {
    std::shared_ptr<EngineState> s = weak.lock();
    if (!s) return;
    s->images.fetch_sub(1);
    s->host->EraseImage(image);
    s->gpu->DropImage(image);  // its bytes are free now; the textures go on the render thread
    if (s->render_thread_id.load() == std::this_thread::get_id()) {
      s->gpu->Collect();  // a render held the last handle: this is the render thread
    } else if (std::shared_ptr<RenderThread> t = s->thread()) {
      GpuTileCache* gpu = s->gpu.get();
      t->Post([gpu] { gpu->Collect(); });
    }
  };
  auto image = std::make_shared<TiledImage>(id, std::move(source), std::move(plan), std::move(info), on_release);
  state_->images.fetch_add(1);
  const std::vector<PlaneInfo> named = image->source().plane_info();
  std::vector<ChannelInfo> channels;
  for (int plane = 0; plane < desc.planes; ++plane) {
    Result<MeasuredRange> range = MeasureRange(*image, plane, *state_->fetcher, options.cancelled);
    if (!range.ok()) {
      // The load reads the file's data here for the first time: a file that cannot be decoded is a
      // bad argument to LoadImage (DATA_LOSS is for a file that breaks later, while rendering).
      const Status& st = range.status();
      return st.code() == StatusCode::kDataLoss ? InvalidArgument(st.message()) : st;
    }
    ChannelInfo c;
    if (plane < static_cast<int>(named.size())) {
      const PlaneInfo& n = named[plane];
      c.name = n.name;
      c.color = n.color;
      if (std::isfinite(n.window_lo) && std::isfinite(n.window_hi) && n.window_lo < n.window_hi) {
        c.window_lo = n.window_lo;
        c.window_hi = n.window_hi;
      }
    }
    c.range = range->range;
    c.range_estimated = range->estimated;
    channels.push_back(std::move(c));
  }
  image->set_channels(std::move(channels));
  spdlog::debug("loaded {} as {} levels ({} from the source), {} tiles, in {:.1f} ms", desc.ToString(),
                image->info().levels,
                std::count_if(image->plan().levels.begin(), image->plan().levels.end(),
                              [](const LevelPlan& l) { return l.from_source(); }),
                image->info().tiles, MsSince(start));
  return ImageHandle(std::move(image));
}

namespace {

// The level texels an identity view samples (its grid map's corners), or nothing if it is not one:
// one RGB layer drawn as it is (default contrast, gamma 1, opacity 1, over or opaque), every output
// pixel on a texel centre of its level (turned by quarter turns or mirrored or not) and inside the
// image. The drawn frame would be exactly those pixels with alpha 1 (the shader's contrast is the
// identity on 8-bit values), so it is copied instead.
std::optional<PixelRect> IdentityCopyArea(const ResolvedRender& r, TexelGridMap* map) {
  if (r.layers.size() != 1) return std::nullopt;
  const ResolvedLayer& l = r.layers[0];
  const ImageDesc& d = l.image->info().desc;
  if (d.type != PixelType::kUint8 || d.channels != 3 || d.planes != 1 || l.opacity != 1.f ||
      (l.blending != Blending::kTranslucent && l.blending != Blending::kOpaque)) {
    return std::nullopt;
  }
  for (int c = 0; c < 3; ++c) {
    if (l.lo[c] != 0.f || l.range[c] != 255.f || l.gamma[c] != 1.f) return std::nullopt;
  }
  const std::optional<TexelGridMap> m = TexelGrid(r.view, l.level);
  if (!m) return std::nullopt;
  const int64_t du = r.view.width - 1, dw = r.view.height - 1;
  const int64_t xa = m->x0 + m->ax * du, xb = m->x0 + m->bx * dw, ya = m->y0 + m->ay * du, yb = m->y0 + m->by * dw;
  const PixelRect area{std::min({m->x0, xa, xb}), std::min({m->y0, ya, yb}), std::max({m->x0, xa, xb}) + 1,
                       std::max({m->y0, ya, yb}) + 1};
  // Within the level, and every sample (a texel centre) inside the image.
  const double scale = std::ldexp(1.0, l.level);
  const LevelPlan& level = l.image->plan().levels[l.level];
  if (area.x0 < 0 || area.y0 < 0 || area.x1 > level.width || area.y1 > level.height || area.x1 - 0.5 >= d.width / scale ||
      area.y1 - 0.5 >= d.height / scale) {
    return std::nullopt;
  }
  *map = *m;
  return area;
}

Result<Frame> CopyIdentityView(const ResolvedRender& r, const TexelGridMap& m, const PixelRect& area, TileFetcher& fetcher,
                               WorkerPool& pool) {
  const ResolvedLayer& l = r.layers[0];
  const View& v = r.view;
  std::vector<ChunkRef> keep;  // decoded in parallel, held until copied
  TR_RETURN_IF_ERROR(fetcher.Prefetch(*l.image, l.level, l.channel, area, pool, &keep));
  std::vector<uint8_t> scratch;
  TR_ASSIGN_OR_RETURN(RectView rect, fetcher.ReadRect(*l.image, l.level, l.channel, area, &scratch));
  Frame frame;
  frame.width = v.width;
  frame.height = v.height;
  frame.has_alpha = r.background.a < 1.f;
  frame.rgba.resize(static_cast<size_t>(v.width) * v.height * 4);
  // Output pixel (u, w) reads texel (x0 + ax u + bx w, y0 + ay u + by w): steps through the rect.
  const ptrdiff_t stride = static_cast<ptrdiff_t>(rect.stride);
  const ptrdiff_t step_u = m.ax * 3 + m.ay * stride, step_w = m.bx * 3 + m.by * stride;
  const uint8_t* first = rect.pixels + (m.y0 - area.y0) * stride + (m.x0 - area.x0) * 3;
  for (int w = 0; w < v.height; ++w) {
    const uint8_t* in = first + w * step_w;
    uint8_t* out = frame.rgba.data() + static_cast<size_t>(v.height - 1 - w) * v.width * 4;  // rows bottom-up, as read back
    for (int u = 0; u < v.width; ++u, in += step_u) {
      out[4 * u] = in[0], out[4 * u + 1] = in[1], out[4 * u + 2] = in[2], out[4 * u + 3] = 255;
    }
  }
  return frame;
}

}  // namespace

Result<std::future<Result<Frame>>> Engine::SubmitRender(const RenderRequest& request, CancelFn cancelled) {
  auto promise = std::make_shared<std::promise<Result<Frame>>>();
  std::future<Result<Frame>> future = promise->get_future();
  TR_RETURN_IF_ERROR(Submit(request, std::move(cancelled), [promise](Result<Frame> frame) { promise->set_value(std::move(frame)); }));
  return future;
}

Result<std::future<Result<RenderOutput>>> Engine::SubmitEncoded(const RenderRequest& request, CancelFn cancelled,
                                                                 std::function<void(Result<RenderOutput>&)> finish) {
  auto promise = std::make_shared<std::promise<Result<RenderOutput>>>();
  std::future<Result<RenderOutput>> future = promise->get_future();
  EngineState* s = state_.get();
  TR_RETURN_IF_ERROR(Submit(request, std::move(cancelled),
                            [s, promise, spec = EncodeSpecOf(request), finish = std::move(finish)](Result<Frame> frame) mutable {
                              // From the render thread to an encoder: the next render draws meanwhile.
                              s->encoders->Submit([promise, spec, finish = std::move(finish), frame = std::move(frame)]() mutable {
                                Result<RenderOutput> out =
                                    frame.ok() ? EncodeFrame(std::move(frame).value(), spec) : Result<RenderOutput>(frame.status());
                                if (finish) finish(out);
                                promise->set_value(std::move(out));
                              });
                            }));
  return future;
}

namespace {

// The value pass of one auto-contrast layer (render thread): its tiles drawn as data values, the
// percentiles of those it shows become its limits. Nothing finite visible: it keeps its contrast.
Status ApplyAutoContrast(EngineState& s, const View& view, ResolvedLayer* layer, PreparedLayer* prepared,
                         RenderTimings* timings) {
  TR_RETURN_IF_ERROR(s.renderer->BeginValues(view, *layer));
  RenderTimings pass;
  const Status drawn = DrawLayersPaged(*s.renderer, *s.gpu, *s.fetcher, view, {layer}, {prepared}, &pass);
  s.gpu->UnpinAll();
  Result<std::optional<AutoLimits>> found =
      s.renderer->FinishValues(view, layer->auto_contrast->lo_percentile, layer->auto_contrast->hi_percentile);
  TR_RETURN_IF_ERROR(drawn);
  TR_RETURN_IF_ERROR(found.status());
  timings->tiles_paged_in += pass.tiles_paged_in;
  const std::optional<AutoLimits>& limits = *found;
  if (!limits) return Status::Ok();
  double lo = limits->lo, hi = limits->hi;
  // One value everywhere: a ramp one unit wide from it (integers: that value black, the next white).
  if (!(hi > lo) || static_cast<float>(hi - lo) == 0.f) hi = lo + std::max(1.0, std::abs(lo) * 1e-6);
  layer->lo.fill(static_cast<float>(lo));
  layer->range.fill(static_cast<float>(hi - lo));
  layer->contrast.lo = lo;
  layer->contrast.hi = hi;
  layer->contrast.automatic = true;
  layer->contrast.samples = limits->samples;
  return Status::Ok();
}

}  // namespace

Status Engine::Submit(const RenderRequest& request, CancelFn cancelled, std::function<void(Result<Frame>)> done) {
  TR_ASSIGN_OR_RETURN(ResolvedRender resolved, ResolveRender(request, state_->limits));
  std::shared_ptr<RenderThread> thread = state_->thread();
  if (!thread) return Unavailable("engine is shut down");
  EngineState* s = state_.get();
  const int limit = s->limits.max_queue_depth;
  if (limit > 0 && thread->queued_renders() >= limit) {
    // Refused before any tile is read for it.
    return ResourceExhausted("render queue is full (" + std::to_string(limit) + " waiting); retry later");
  }
  TexelGridMap grid;
  std::optional<PixelRect> copy_area;
  if (s->cpu_identity_views) copy_area = IdentityCopyArea(resolved, &grid);
  if (copy_area) {
    // No drawing: the level's pixels are the frame (read through the host cache, here).
    const auto start = Clock::now();
    Result<Frame> frame = CopyIdentityView(resolved, grid, *copy_area, *s->fetcher, *s->pool);
    if (frame.ok()) {
      if (resolved.scale_bar) DrawScaleBar(resolved.scale_bar_plan, *resolved.scale_bar, &*frame);
      frame->timings.fetch_ms = MsSince(start);
      s->renders.fetch_add(1);
    }
    if (!frame.ok() && frame.status().code() != StatusCode::kDataLoss) return frame.status();
    done(std::move(frame));
    return Status::Ok();
  }
  // Tiles not on the GPU are read and decoded now, in parallel on the workers, so the render
  // thread only uploads and draws.
  // What a render may hold while it waits in the queue is bounded: half the host cache spread over
  // a full queue, at least 64 MiB (beyond it, tiles are fetched as their batch is drawn).
  const auto fetch_start = Clock::now();
  auto prepared = std::make_shared<std::vector<PreparedLayer>>();
  int64_t prefetch = std::max<int64_t>(int64_t{64} << 20, s->limits.host_cache_bytes / 2 / std::max(1, limit));
  for (const ResolvedLayer& layer : resolved.layers) {
    TR_ASSIGN_OR_RETURN(PreparedLayer p, PrepareLayer(resolved.view, layer, *s->gpu, *s->fetcher, *s->pool, &prefetch));
    prepared->push_back(std::move(p));
  }
  const double fetch_ms = MsSince(fetch_start);

  const auto queued_at = Clock::now();
  auto job = [s, done = std::move(done), queued_at, fetch_ms, prepared, cancelled = std::move(cancelled),
              resolved = std::make_shared<ResolvedRender>(std::move(resolved))]() mutable {
    const double queue_ms = MsSince(queued_at);
    Result<Frame> frame = Cancelled("render cancelled before it started");
    if (!cancelled || !cancelled()) {
      RenderTimings timings;
      // Viewport auto-contrast first: each such layer drawn as values, its limits from them.
      Status st;
      for (size_t i = 0; i < resolved->layers.size() && st.ok(); ++i) {
        ResolvedLayer& l = resolved->layers[i];
        st = s->renderer->PrepareLayerProgram(l);
        if (st.ok() && l.auto_contrast) st = ApplyAutoContrast(*s, resolved->view, &l, &(*prepared)[i], &timings);
      }
      if (st.ok()) st = s->renderer->Begin(resolved->view, resolved->background);
      const std::vector<ResolvedLayer>& layers = resolved->layers;
      for (size_t i = 0; i < layers.size() && st.ok();) {
        // Additive layers of one image's planes: one pass (unless disabled), byte-identical.
        const int n = s->one_pass_composite ? CompositeRunLength(layers, i, s->gpu->budget()) : 1;
        std::vector<const ResolvedLayer*> run;
        std::vector<PreparedLayer*> run_prepared;
        for (int j = 0; j < n; ++j) {
          run.push_back(&layers[i + j]);
          run_prepared.push_back(&(*prepared)[i + j]);
        }
        const bool contour = n == 1 && layers[i].labels && layers[i].labels->contour > 0;
        // Contour mode: the layer's ids first, then its borders from them.
        if (contour) st = s->renderer->BeginIds(resolved->view);
        if (st.ok()) st = DrawLayersPaged(*s->renderer, *s->gpu, *s->fetcher, resolved->view, run, run_prepared, &timings);
        if (contour && st.ok()) st = s->renderer->DrawContours(resolved->view, layers[i]);
        i += n;
      }
      s->gpu->UnpinAll();
      frame = st.ok() ? s->renderer->Finish(resolved->view, resolved->background.a < 1.f) : Result<Frame>(st);
      if (frame.ok() && resolved->scale_bar) DrawScaleBar(resolved->scale_bar_plan, *resolved->scale_bar, &*frame);
      if (frame.ok()) {
        for (const ResolvedLayer& l : layers) {
          if (l.image->info().desc.channels == 1 && !l.labels) frame->contrasts.push_back(l.contrast);
        }
        frame->timings.fetch_ms = fetch_ms;
        frame->timings.queue_ms = queue_ms;
        frame->timings.tiles_drawn = timings.tiles_drawn;
        frame->timings.tiles_paged_in = timings.tiles_paged_in;
        s->renders.fetch_add(1);
      }
    }
    // Let go of the request's images and tile pixels before answering: once Render returns, the
    // engine holds no reference to them (an unload right after frees at once).
    resolved.reset();
    prepared.reset();
    done(std::move(frame));
  };
  return thread->PostBounded(std::move(job), limit);
}

Result<RenderOutput> Engine::Render(const RenderRequest& request, const CancelFn& cancelled) {
  TR_ASSIGN_OR_RETURN(std::future<Result<Frame>> future, SubmitRender(request, cancelled));
  TR_ASSIGN_OR_RETURN(Frame frame, future.get());
  return EncodeFrame(std::move(frame), EncodeSpecOf(request));
}

Result<std::vector<ValueSample>> Engine::Sample(const TiledImage& image, const SampleOptions& options,
                                                const std::vector<WorldPoint>& points, const CancelFn& cancelled) {
  return SampleValues(*state_->fetcher, image, options, points, cancelled);
}

EngineStats Engine::stats() const {
  EngineStats s;
  s.gpu = state_->gpu->stats();
  s.host = state_->host->stats();
  s.gpu_bytes_used = s.gpu.bytes;
  s.gpu_budget_bytes = state_->limits.gpu_budget_bytes;
  s.images = state_->images.load();
  s.live_textures = gl::LiveTextureCount();
  s.renders = state_->renders.load();
  if (auto t = state_->thread()) s.queue_depth = t->queued_renders();
  return s;
}

int64_t Engine::ResidentGpuBytes(const TiledImage& image) const { return state_->gpu->ImageBytes(image.id()); }

void Engine::Flush() {
  if (auto t = state_->thread()) t->Call([] {});
}

}  // namespace tilerender
