#pragma once
/// The core engine: a headless GL context on its own render thread, images resident on the GPU as
/// tiles, and viewport snapshots. Thread-safe: call it from any number of threads. No gRPC here.

#include <cstdint>
#include <functional>
#include <future>
#include <memory>
#include <optional>
#include <string>

#include "core/egl/egl_context.h"
#include "core/image/image_desc.h"
#include "core/image/image_source.h"
#include "core/image/value_range.h"
#include "core/render/render_request.h"
#include "core/status.h"

namespace tilerender {

struct EngineOptions {
  EglOptions egl;
  /// T: the side of a tile texture, gutters included; clamped to GL_MAX_TEXTURE_SIZE.
  int max_tile_size = 4096;
  /// GPU memory for images. 0: 90% of free video memory where the driver tells (NVIDIA, AMD), else
  /// half the machine's RAM (llvmpipe keeps textures in RAM).
  int64_t gpu_budget_bytes = 0;
  int max_output_side = 16384;               ///< clamped to the GL viewport/renderbuffer limits
  int64_t max_output_pixels = int64_t{64} << 20;
  int max_queue_depth = 64;                  ///< renders waiting; beyond: RESOURCE_EXHAUSTED
  ImageLimits image_limits;
  /// Read frames back through a pixel-pack buffer and a mapping instead of straight into host
  /// memory. Unset: on for hardware renderers (a DMA into driver memory), off for llvmpipe (where
  /// it only adds a copy).
  std::optional<bool> pbo_readback;
};

/// The limits in force after the driver's maxima were applied (reported by GetServerInfo).
struct EngineLimits {
  int tile_size = 0;
  int64_t gpu_budget_bytes = 0;
  int max_output_side = 0;
  int64_t max_output_pixels = 0;
  int max_queue_depth = 0;
  ImageLimits image;
};

/// Where pyramid levels are computed: kAuto is the CPU on a software renderer (where the "GPU" is
/// the CPU and plain loops are faster), the GPU otherwise. Both give the same levels.
enum class PyramidMode : uint8_t { kAuto, kCpu, kGpu };

struct LoadOptions {
  int max_tile_size = 0;      ///< 0: the engine's; else min(this, engine's)
  bool build_pyramid = true;  ///< levels of detail for alias-free zoomed-out views
  PyramidMode pyramid_mode = PyramidMode::kAuto;
  /// Sources without contiguous rows are read in full-width bands of about this many bytes.
  size_t band_bytes = size_t{16} << 20;
  /// Called on the loading thread as level 0 fills: (pixels done, pixels total).
  std::function<void(int64_t, int64_t)> progress;
};

struct ImageInfo {
  ImageDesc desc;
  int tile_size = 0;  ///< T used
  int levels = 0;     ///< 1 + pyramid levels
  int64_t tiles = 0;  ///< over all levels
  int64_t gpu_bytes = 0;         ///< exact bytes of every texture, all levels
  int64_t gpu_bytes_level0 = 0;  ///< full resolution only (raw bytes + gutters)
  ValueRange range;              ///< of the color channels, NaN/inf excluded
};

class GpuTiles;    // core/tiles/gpu_tiles.h
struct EngineState;

class GpuImage {
 public:
  ~GpuImage();
  GpuImage(const GpuImage&) = delete;
  GpuImage& operator=(const GpuImage&) = delete;
  const ImageInfo& info() const { return info_; }
  const GpuTiles& tiles() const { return *tiles_; }  ///< render thread only

 private:
  friend class Engine;
  GpuImage() = default;
  ImageInfo info_;
  std::unique_ptr<GpuTiles> tiles_;
  std::weak_ptr<EngineState> engine_;
  int64_t reserved_bytes_ = 0;
};

struct EngineStats {
  int64_t gpu_bytes_used = 0;  ///< reserved by loaded (and loading) images
  int64_t gpu_budget_bytes = 0;
  int64_t images = 0;          ///< alive GpuImage objects
  int64_t live_textures = 0;   ///< GL textures of this process, image tiles and renderer's own
  int64_t renders = 0;         ///< completed
  int queue_depth = 0;         ///< renders waiting
};

class Engine {
 public:
  /// Starts the render thread, creates the context, compiles shaders and runs a warm-up render (the
  /// first draw on llvmpipe costs ~50 ms of shader compilation).
  static Result<std::unique_ptr<Engine>> Create(const EngineOptions& options);
  ~Engine();

  const GpuInfo& gpu_info() const;
  const EngineLimits& limits() const;

  /// Reads the source tile by tile and uploads each tile in its native format. Fails, leaving
  /// nothing behind, with INVALID_ARGUMENT (bad size), RESOURCE_EXHAUSTED (budget, GPU memory) or the
  /// source's error.
  Result<ImageHandle> LoadImage(ImageSource& source, const LoadOptions& options = {});

  /// Whether an image of `desc` would be accepted now (limits, GPU budget), before any pixel is read:
  /// INVALID_ARGUMENT or RESOURCE_EXHAUSTED with what it needs and what is free.
  Status CheckLoad(const ImageDesc& desc, const LoadOptions& options = {}) const;

  /// Validates, queues, draws, reads back and encodes (on the calling thread).
  Result<RenderOutput> Render(const RenderRequest& request, const CancelFn& cancelled = {});

  /// The first half of Render: validation errors come back at once; the future yields the frame.
  /// Several may be in flight (pipelining).
  Result<std::future<Result<Frame>>> SubmitRender(const RenderRequest& request,
                                                  CancelFn cancelled = {});

  EngineStats stats() const;
  /// Returns once every job posted before it (uploads, frees) has run.
  void Flush();

 private:
  Engine() = default;
  std::shared_ptr<EngineState> state_;
};

/// The second half of Render: PNG or raw RGBA from a frame. Runs on any thread.
Result<RenderOutput> EncodeFrame(Frame frame, OutputFormat format, int png_level);

}  // namespace tilerender
