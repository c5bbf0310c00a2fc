#pragma once
/// Headless OpenGL through EGL: no display server, no window, no pbuffer where
/// EGL_KHR_surfaceless_context exists. The context is current on the thread that created it, which
/// must be the render thread (core/render_thread.h).

#include <cstdint>
#include <memory>
#include <string>

#include "core/status.h"

namespace tilerender {

struct EglOptions {
  /// "auto": the first GPU under EGL_EXT_platform_device that gives a context, else Mesa's surfaceless
  /// platform (llvmpipe on machines without a GPU). "surfaceless": that platform only.
  /// "N": the N-th hardware device (0-based, software devices skipped) and nothing else.
  std::string device = "auto";
  /// Refuse a software renderer (llvmpipe, softpipe): saves GPU users from a silent 100x slowdown.
  bool require_hardware = false;
};

/// What the context turned out to be; logged at start and reported by GetServerInfo.
struct GpuInfo {
  std::string egl_platform;  ///< "device" or "surfaceless"
  std::string egl_device;    ///< e.g. "device 0 (/dev/dri/renderD128, CUDA 0)" or "Mesa surfaceless"
  std::string egl_version;   ///< EGL_VERSION string of the display
  std::string gl_vendor;
  std::string gl_renderer;
  std::string gl_version;
  std::string glsl_version;
  int gl_major = 0;
  int gl_minor = 0;
  int max_texture_size = 0;
  int max_renderbuffer_size = 0;
  int max_viewport_width = 0;
  int max_viewport_height = 0;
  bool software = false;                ///< llvmpipe / softpipe / swrast
  bool texture_gather = false;          ///< linear footprints are sampled with textureGather (the engine's choice)
  bool gpu_histogram = false;           ///< auto-contrast percentiles from compute histograms (the engine's choice)
  int64_t dedicated_memory_bytes = -1;  ///< from NVX_gpu_memory_info / ATI_meminfo; -1 if unknown
  int64_t available_memory_bytes = -1;  ///< free GPU memory at start; -1 if unknown
};

class EglContext {
 public:
  /// Creates the context and makes it current on the calling thread. Every failure carries the
  /// eglGetError() name of the call that failed, for every candidate device tried.
  static Result<std::unique_ptr<EglContext>> Create(const EglOptions& options);

  ~EglContext();
  EglContext(const EglContext&) = delete;
  EglContext& operator=(const EglContext&) = delete;

  const GpuInfo& info() const { return info_; }

 private:
  EglContext() = default;

  void* display_ = nullptr;
  void* context_ = nullptr;
  void* surface_ = nullptr;
  GpuInfo info_;
};

}  // namespace tilerender
