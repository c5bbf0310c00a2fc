#pragma once
/// The core engine: a headless GL context on its own render thread, images paged onto the GPU as
/// tiles from their sources, and viewport snapshots. Thread-safe: call it from any number of
/// threads. No gRPC here.
///
/// Dependencies run one way: engine -> render (requests, views, the paged draw, the renderer) ->
/// tiles (plans, the GPU and host caches, fetching, derived levels) -> image (sources, readers) and
/// gl. Types live in the lowest layer that needs them: ImageInfo and the image handle in tiles/,
/// limits in limits.h.

#include <cstdint>
#include <functional>
#include <future>
#include <memory>
#include <optional>

#include "core/egl/egl_context.h"
#include "core/encode/frame_encoder.h"
#include "core/image/image_desc.h"
#include "core/image/image_source.h"
#include "core/limits.h"
#include "core/render/probe.h"
#include "core/render/render_request.h"
#include "core/status.h"
#include "core/tiles/gpu_cache.h"
#include "core/tiles/host_cache.h"
#include "core/tiles/tiled_image.h"

namespace tilerender {

struct EngineOptions {
  EglOptions egl;
  /// GPU tile side in pixels (a tile's texture holds exactly its pixels); clamped to
  /// GL_MAX_TEXTURE_SIZE. Tiles of a level a tiled file has are whole multiples of the file's
  /// tiles, the fewest that reach 256 pixels (a file's 256 x 256 tiles: 256).
  int max_tile_size = 512;
  /// GPU tile cache. 0: 90% of free video memory where the driver tells (NVIDIA, AMD), else half
  /// the machine's RAM (llvmpipe keeps textures in RAM). At least four tiles.
  int64_t gpu_budget_bytes = 0;
  /// Host cache of decoded tiles. 0: 1 GiB or an eighth of the RAM, whichever is less.
  int64_t host_cache_bytes = 0;
  /// Threads that read and decode tiles. 0: one per core (at most 16).
  int decode_threads = 0;
  int max_output_side = 16384;               ///< clamped to the GL viewport/renderbuffer limits
  int64_t max_output_pixels = int64_t{64} << 20;
  int max_queue_depth = 64;                  ///< renders waiting; beyond: RESOURCE_EXHAUSTED
  /// Layers of one render (each is a full-screen pass; 500 took 7.7 s of render thread on llvmpipe).
  int max_layers = 128;
  ImageLimits image_limits;
  /// Warm up every shader variant at start (pixel type x channels x nearest/linear: llvmpipe
  /// compiles each on first use, ~50-150 ms apiece); false: the uint8 one only (tests).
  bool warm_up_all = true;
  /// Read frames back through a pixel-pack buffer and a mapping instead of straight into host
  /// memory. Unset: on for hardware renderers (a DMA into driver memory), off for llvmpipe (where
  /// it only adds a copy).
  std::optional<bool> pbo_readback;
  /// Sample linear footprints with textureGather: one gather per scalar footprint instead of four
  /// texel fetches, three per RGB one instead of twelve. Unset: where the context has it (GL 4.0 or
  /// ARB_texture_gather); false: fetches. The pixels are the same (tests).
  std::optional<bool> texture_gather;
  /// Viewport auto-contrast's percentiles from compute-shader histograms (exact radix selection,
  /// 256 KiB to 1 MiB read back). Unset: on a hardware GPU with compute shaders (GL 4.3), not on
  /// llvmpipe, whose atomics cost more than the readback; false: the value pass read back whole
  /// (8 bytes a pixel) and selected on the CPU. The limits are the same.
  std::optional<bool> gpu_histogram;
  /// Draw additive layers of one image's planes (a channel composite) in one pass, up to four at a
  /// time; false: one pass per layer. Either way the pixels are the same (tests compare them).
  bool one_pass_composite = true;
  /// Copy identity views of RGB images on the CPU (one layer, default contrast, gamma 1, opacity 1,
  /// on the texel grid of its level and inside the image: the output is exactly the level's
  /// pixels) instead of drawing them; false: always draw. The pixels are the same (tests).
  bool cpu_identity_views = true;
  /// Test hook: called after each GPU tile texture allocation; true makes that allocation fail as
  /// GL_OUT_OF_MEMORY would (the fault tests). Unset outside tests.
  std::function<bool()> fail_tile_allocation_for_test;
};

struct LoadOptions {
  int max_tile_size = 0;      ///< 0: the engine's; else min(this, engine's)
  bool build_pyramid = true;  ///< levels of detail (the source's, and derived ones) for zoomed-out views
  /// Asked between the chunks a load reads to measure value ranges: true stops it with CANCELLED.
  CancelFn cancelled;
  /// A labels image: single-channel uint8/uint16/uint32 ids (stored as integer textures: R8UI,
  /// R16UI, R32UI, exact), or float32 holding whole numbers (exact up to 2^24); levels by the
  /// 2 x 2 mode; drawn as labels. The only kind of image that may be uint32.
  bool labels = false;
};

struct EngineStats {
  int64_t gpu_bytes_used = 0;  ///< tiles resident in the GPU cache
  int64_t gpu_budget_bytes = 0;
  int64_t images = 0;          ///< alive images
  int64_t live_textures = 0;   ///< GL textures of this process, tiles and renderer's own
  int64_t renders = 0;         ///< completed
  int queue_depth = 0;         ///< renders waiting
  GpuCacheStats gpu;
  HostCacheStats host;
};

struct EngineState;

class Engine {
 public:
  /// Starts the render thread, creates the context, compiles shaders and runs warm-up renders (a
  /// shader variant's first draw on llvmpipe costs 50-150 ms of compilation).
  static Result<std::unique_ptr<Engine>> Create(const EngineOptions& options);
  ~Engine();

  const GpuInfo& gpu_info() const;
  const EngineLimits& limits() const;

  /// Registers an image: plans its levels and tiles and measures its value range (from memory, or
  /// from the source's coarsest level, or a sample of chunks: see ImageInfo::range_estimated).
  /// Reads no more than that: tiles are paged in when renders need them. INVALID_ARGUMENT for a
  /// bad size or a source whose data cannot be read.
  Result<ImageHandle> LoadImage(std::shared_ptr<ImageSource> source, const LoadOptions& options = {});

  /// Whether an image of `desc` would be accepted (limits), before any pixel is read.
  Status CheckLoad(const ImageDesc& desc) const;

  /// Validates, fetches the tiles not resident, queues, draws, reads back and encodes (on the
  /// calling thread).
  Result<RenderOutput> Render(const RenderRequest& request, const CancelFn& cancelled = {});

  /// The first half of Render: validation errors and tiles that cannot be decoded come back at
  /// once; the future yields the frame. Several may be in flight (pipelining).
  Result<std::future<Result<Frame>>> SubmitRender(const RenderRequest& request, CancelFn cancelled = {});

  /// The whole render as a pipeline: the frame goes from the render thread to one of the engine's
  /// encoder threads, which runs `finish` (if any) on the result and fulfils the future. Many may
  /// be in flight; their encodes run in parallel while the render thread draws the next ones.
  Result<std::future<Result<RenderOutput>>> SubmitEncoded(const RenderRequest& request, CancelFn cancelled = {},
                                                          std::function<void(Result<RenderOutput>&)> finish = {});

  /// Raw values of an image at world points (a probe, a profile), read through the host cache on
  /// the calling thread: no GL, no render queue.
  Result<std::vector<ValueSample>> Sample(const TiledImage& image, const SampleOptions& options,
                                          const std::vector<WorldPoint>& points, const CancelFn& cancelled = {});

  EngineStats stats() const;
  /// Bytes of an image's tiles on the GPU now.
  int64_t ResidentGpuBytes(const TiledImage& image) const;
  /// Returns once every job posted before it (frees, evictions) has run.
  void Flush();

 private:
  Engine() = default;
  /// Validates, fetches, queues; `done` gets the frame on the render thread (or, for an identity
  /// view copied on the CPU, on the calling thread).
  Status Submit(const RenderRequest& request, CancelFn cancelled, std::function<void(Result<Frame>)> done);
  std::shared_ptr<EngineState> state_;
};

}  // namespace tilerender
