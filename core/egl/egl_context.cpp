#include "core/egl/egl_context.h"

#include <glad/egl.h>
#include <glad/gl.h>
#include <spdlog/spdlog.h>

#include <cstring>
#include <mutex>
#include <vector>

#if defined(__has_feature)
#if __has_feature(address_sanitizer)
#define TILERENDER_ASAN 1
#endif
#endif
#if defined(__SANITIZE_ADDRESS__) || defined(TILERENDER_ASAN)
#include <dlfcn.h>
#include <link.h>
#endif

namespace tilerender {
namespace {

// Not in glad's registry subset: plain enums of NVX_gpu_memory_info and ATI_meminfo.
constexpr GLenum kGpuMemoryInfoDedicatedVidmemNvx = 0x9047;
constexpr GLenum kGpuMemoryInfoCurrentAvailableVidmemNvx = 0x9049;
constexpr GLenum kTextureFreeMemoryAti = 0x87FC;

const char* EglErrorName(EGLint e) {
  switch (e) {
    case EGL_SUCCESS: return "EGL_SUCCESS";
    case EGL_NOT_INITIALIZED: return "EGL_NOT_INITIALIZED";
    case EGL_BAD_ACCESS: return "EGL_BAD_ACCESS";
    case EGL_BAD_ALLOC: return "EGL_BAD_ALLOC";
    case EGL_BAD_ATTRIBUTE: return "EGL_BAD_ATTRIBUTE";
    case EGL_BAD_CONTEXT: return "EGL_BAD_CONTEXT";
    case EGL_BAD_CONFIG: return "EGL_BAD_CONFIG";
    case EGL_BAD_CURRENT_SURFACE: return "EGL_BAD_CURRENT_SURFACE";
    case EGL_BAD_DISPLAY: return "EGL_BAD_DISPLAY";
    case EGL_BAD_SURFACE: return "EGL_BAD_SURFACE";
    case EGL_BAD_MATCH: return "EGL_BAD_MATCH";
    case EGL_BAD_PARAMETER: return "EGL_BAD_PARAMETER";
    case EGL_BAD_NATIVE_PIXMAP: return "EGL_BAD_NATIVE_PIXMAP";
    case EGL_BAD_NATIVE_WINDOW: return "EGL_BAD_NATIVE_WINDOW";
    case EGL_CONTEXT_LOST: return "EGL_CONTEXT_LOST";
    default: return "unknown EGL error";
  }
}

std::string EglFailure(const char* call) {
  return std::string(call) + " failed: " + EglErrorName(eglGetError());
}

bool HasExtension(const char* list, const char* name) {
  if (list == nullptr) return false;
  const size_t n = std::strlen(name);
  for (const char* p = list; (p = std::strstr(p, name)) != nullptr; p += n) {
    const bool starts = p == list || p[-1] == ' ';
    const bool ends = p[n] == '\0' || p[n] == ' ';
    if (starts && ends) return true;
  }
  return false;
}

// Displays are per-process singletons in EGL: eglTerminate would kill every context on that display,
// including another Engine's. Count users and terminate with the last one.
std::mutex g_display_mutex;
std::vector<std::pair<EGLDisplay, int>> g_display_users;

void RetainDisplay(EGLDisplay d) {
  std::lock_guard lock(g_display_mutex);
  for (auto& [display, users] : g_display_users) {
    if (display == d) {
      ++users;
      return;
    }
  }
  g_display_users.emplace_back(d, 1);
}

void ReleaseDisplay(EGLDisplay d) {
  std::lock_guard lock(g_display_mutex);
  for (auto it = g_display_users.begin(); it != g_display_users.end(); ++it) {
    if (it->first == d && --it->second == 0) {
      eglTerminate(d);
      g_display_users.erase(it);
      return;
    }
  }
}

#if defined(__SANITIZE_ADDRESS__) || defined(TILERENDER_ASAN)
// Sanitizer builds only: eglTerminate unloads the GL driver (Mesa's swrast_dri.so), so LeakSanitizer,
// which runs at exit, no longer scans the driver's globals nor can name its frames: what the driver
// still holds from its globals is reported as leaked from an "unknown module", which no suppression
// can match. Keep every library loaded so far (the driver and what it pulled in) until exit.
void PinLoadedLibraries() {
  std::vector<std::string> names;
  dl_iterate_phdr(
      [](dl_phdr_info* info, size_t, void* out) {
        if (info->dlpi_name != nullptr && info->dlpi_name[0] != '\0') {
          static_cast<std::vector<std::string>*>(out)->push_back(info->dlpi_name);
        }
        return 0;
      },
      &names);
  // Not inside the callback: dlopen takes the loader's lock.
  for (const std::string& name : names) dlopen(name.c_str(), RTLD_NOW | RTLD_NOLOAD | RTLD_NODELETE);
}
#else
void PinLoadedLibraries() {}
#endif

struct Candidate {
  EGLenum platform;
  void* native;  // EGLDeviceEXT or EGL_DEFAULT_DISPLAY
  std::string description;
};

// Hardware devices under EGL_EXT_platform_device, software ones (Mesa's, marked
// EGL_MESA_device_software) skipped: those are reached through the surfaceless platform.
std::vector<Candidate> HardwareDevices(const char* client_extensions, std::string* log) {
  std::vector<Candidate> out;
  const bool can_enumerate = HasExtension(client_extensions, "EGL_EXT_device_enumeration") ||
                             HasExtension(client_extensions, "EGL_EXT_device_base");
  if (!HasExtension(client_extensions, "EGL_EXT_platform_device") || !can_enumerate ||
      eglQueryDevicesEXT == nullptr) {
    *log += "EGL_EXT_platform_device not offered; ";
    return out;
  }
  EGLint count = 0;
  if (!eglQueryDevicesEXT(0, nullptr, &count) || count <= 0) {
    *log += "eglQueryDevicesEXT found no device; ";
    return out;
  }
  std::vector<EGLDeviceEXT> devices(count);
  eglQueryDevicesEXT(count, devices.data(), &count);
  int hardware_index = 0;
  for (EGLint i = 0; i < count; ++i) {
    // Query the extension string before any attribute: some drivers crash on hidden GPUs otherwise.
    const char* ext = eglQueryDeviceStringEXT(devices[i], EGL_EXTENSIONS);
    if (HasExtension(ext, "EGL_MESA_device_software")) continue;
    std::string desc = "device " + std::to_string(hardware_index);
    std::string details;
    if (HasExtension(ext, "EGL_EXT_device_drm")) {
      if (const char* file = eglQueryDeviceStringEXT(devices[i], EGL_DRM_DEVICE_FILE_EXT)) {
        details += file;
      }
    }
    if (HasExtension(ext, "EGL_NV_device_cuda")) {
      EGLAttrib cuda = -1;
      if (eglQueryDeviceAttribEXT(devices[i], EGL_CUDA_DEVICE_NV, &cuda)) {
        details += (details.empty() ? "" : ", ") + std::string("CUDA ") + std::to_string(cuda);
      }
    }
    if (!details.empty()) desc += " (" + details + ")";
    out.push_back({EGL_PLATFORM_DEVICE_EXT, devices[i], desc});
    ++hardware_index;
  }
  return out;
}

std::string GlString(GLenum name) {
  const GLubyte* s = glGetString(name);
  return s ? reinterpret_cast<const char*>(s) : "";
}

bool IsSoftwareRenderer(const std::string& renderer) {
  for (const char* name : {"llvmpipe", "softpipe", "swrast", "SwiftShader"}) {
    if (renderer.find(name) != std::string::npos) return true;
  }
  return false;
}

}  // namespace

Result<std::unique_ptr<EglContext>> EglContext::Create(const EglOptions& options) {
  if (gladLoaderLoadEGL(EGL_NO_DISPLAY) == 0) {
    return Unavailable("cannot load libEGL.so.1 (install libegl1 and a vendor: Mesa or NVIDIA)");
  }
  const char* client_ext = eglQueryString(EGL_NO_DISPLAY, EGL_EXTENSIONS);

  std::string log;
  std::vector<Candidate> candidates;
  const std::string& dev = options.device;
  if (dev != "surfaceless") {
    std::vector<Candidate> hw = HardwareDevices(client_ext, &log);
    if (dev == "auto") {
      candidates = std::move(hw);
    } else {
      char* end = nullptr;
      const long index = std::strtol(dev.c_str(), &end, 10);
      if (dev.empty() || *end != '\0' || index < 0) {
        return InvalidArgument("EGL device must be auto, surfaceless or an index, got '" + dev + "'");
      }
      if (index >= static_cast<long>(hw.size())) {
        return NotFound("EGL device " + dev + " requested but " + std::to_string(hw.size()) +
                        " hardware device(s) found; " + log);
      }
      candidates.push_back(hw[index]);
    }
  }
  if ((dev == "auto" || dev == "surfaceless") && !options.require_hardware) {
    if (HasExtension(client_ext, "EGL_MESA_platform_surfaceless")) {
      candidates.push_back({EGL_PLATFORM_SURFACELESS_MESA, EGL_DEFAULT_DISPLAY, "Mesa surfaceless"});
    } else {
      log += "EGL_MESA_platform_surfaceless not offered; ";
    }
  }
  if (candidates.empty()) return Unavailable("no EGL platform to try: " + log);

  for (const Candidate& c : candidates) {
    std::unique_ptr<EglContext> ctx(new EglContext());
    // Before a display exists glad knows only the client's 1.4 entry points: use the EXT form.
    EGLDisplay display = EGL_NO_DISPLAY;
    if (eglGetPlatformDisplayEXT != nullptr) {
      display = eglGetPlatformDisplayEXT(c.platform, c.native, nullptr);
    } else if (eglGetPlatformDisplay != nullptr) {
      display = eglGetPlatformDisplay(c.platform, c.native, nullptr);
    }
    if (display == EGL_NO_DISPLAY) {
      log += c.description + ": " + EglFailure("eglGetPlatformDisplay") + "; ";
      continue;
    }
    EGLint major = 0, minor = 0;
    if (!eglInitialize(display, &major, &minor)) {
      log += c.description + ": " + EglFailure("eglInitialize") + "; ";
      continue;
    }
    PinLoadedLibraries();
    RetainDisplay(display);
    ctx->display_ = display;
    gladLoaderLoadEGL(display);  // again, now that display extensions are known
    const char* display_ext = eglQueryString(display, EGL_EXTENSIONS);

    // Per thread: a thread that skips it gets EGL_BAD_MATCH.
    if (!eglBindAPI(EGL_OPENGL_API)) {
      log += c.description + ": " + EglFailure("eglBindAPI(EGL_OPENGL_API)") + "; ";
      continue;  // ~EglContext releases the display
    }
    const EGLint config_attribs[] = {EGL_SURFACE_TYPE, EGL_PBUFFER_BIT, EGL_RENDERABLE_TYPE,
                                     EGL_OPENGL_BIT, EGL_NONE};
    EGLConfig config = nullptr;
    EGLint num_configs = 0;
    if (!eglChooseConfig(display, config_attribs, &config, 1, &num_configs) || num_configs < 1) {
      if (!HasExtension(display_ext, "EGL_KHR_no_config_context")) {
        log += c.description + ": " + EglFailure("eglChooseConfig") + "; ";
        continue;
      }
      config = EGL_NO_CONFIG_KHR;
    }
    // llvmpipe answers any 3.2-4.5 core request with 4.5; NVIDIA/AMD give exactly what is asked.
    EGLContext context = EGL_NO_CONTEXT;
    for (auto [gl_major, gl_minor] : {std::pair{4, 5}, {4, 3}, {4, 1}, {3, 3}}) {
      const EGLint attribs[] = {EGL_CONTEXT_MAJOR_VERSION, gl_major, EGL_CONTEXT_MINOR_VERSION,
                                gl_minor, EGL_CONTEXT_OPENGL_PROFILE_MASK,
                                EGL_CONTEXT_OPENGL_CORE_PROFILE_BIT, EGL_NONE};
      context = eglCreateContext(display, config, EGL_NO_CONTEXT, attribs);
      if (context != EGL_NO_CONTEXT) break;
    }
    if (context == EGL_NO_CONTEXT) {
      log += c.description + ": " + EglFailure("eglCreateContext (GL 4.5..3.3 core)") + "; ";
      continue;
    }
    ctx->context_ = context;
    EGLSurface surface = EGL_NO_SURFACE;
    if (!HasExtension(display_ext, "EGL_KHR_surfaceless_context")) {
      const EGLint pbuffer_attribs[] = {EGL_WIDTH, 1, EGL_HEIGHT, 1, EGL_NONE};
      surface = eglCreatePbufferSurface(display, config, pbuffer_attribs);
      if (surface == EGL_NO_SURFACE) {
        log += c.description + ": " + EglFailure("eglCreatePbufferSurface") + "; ";
        continue;
      }
      ctx->surface_ = surface;
    }
    if (!eglMakeCurrent(display, surface, surface, context)) {
      log += c.description + ": " + EglFailure("eglMakeCurrent") + "; ";
      continue;
    }
    if (gladLoadGL(reinterpret_cast<GLADloadfunc>(eglGetProcAddress)) == 0) {
      log += c.description + ": gladLoadGL failed to load GL entry points; ";
      continue;
    }
    GpuInfo& info = ctx->info_;
    info.egl_platform = c.platform == EGL_PLATFORM_DEVICE_EXT ? "device" : "surfaceless";
    info.egl_device = c.description;
    info.egl_version = std::to_string(major) + "." + std::to_string(minor);
    if (const char* v = eglQueryString(display, EGL_VENDOR)) info.egl_version += std::string(" ") + v;
    info.gl_vendor = GlString(GL_VENDOR);
    info.gl_renderer = GlString(GL_RENDERER);
    info.gl_version = GlString(GL_VERSION);
    info.glsl_version = GlString(GL_SHADING_LANGUAGE_VERSION);
    glGetIntegerv(GL_MAJOR_VERSION, &info.gl_major);
    glGetIntegerv(GL_MINOR_VERSION, &info.gl_minor);
    glGetIntegerv(GL_MAX_TEXTURE_SIZE, &info.max_texture_size);
    glGetIntegerv(GL_MAX_RENDERBUFFER_SIZE, &info.max_renderbuffer_size);
    GLint dims[2] = {0, 0};
    glGetIntegerv(GL_MAX_VIEWPORT_DIMS, dims);
    info.max_viewport_width = dims[0];
    info.max_viewport_height = dims[1];
    info.software = IsSoftwareRenderer(info.gl_renderer);
    // Memory queries: vendor extensions that llvmpipe lacks. Values are in KiB.
    GLint n_ext = 0;
    glGetIntegerv(GL_NUM_EXTENSIONS, &n_ext);
    for (GLint i = 0; i < n_ext; ++i) {
      const char* e = reinterpret_cast<const char*>(glGetStringi(GL_EXTENSIONS, i));
      if (e && std::strcmp(e, "GL_NVX_gpu_memory_info") == 0) {
        GLint kib = 0;
        glGetIntegerv(kGpuMemoryInfoDedicatedVidmemNvx, &kib);
        info.dedicated_memory_bytes = int64_t{kib} * 1024;
        glGetIntegerv(kGpuMemoryInfoCurrentAvailableVidmemNvx, &kib);
        info.available_memory_bytes = int64_t{kib} * 1024;
      } else if (e && std::strcmp(e, "GL_ATI_meminfo") == 0) {
        GLint kib[4] = {0, 0, 0, 0};
        glGetIntegerv(kTextureFreeMemoryAti, kib);
        info.available_memory_bytes = int64_t{kib[0]} * 1024;
      }
    }
    while (glGetError() != GL_NO_ERROR) {
    }
    if (info.gl_major < 3 || (info.gl_major == 3 && info.gl_minor < 3)) {
      log += c.description + ": GL " + info.gl_version + " is older than 3.3 core; ";
      continue;
    }
    if (options.require_hardware && info.software) {
      log += c.description + ": software renderer " + info.gl_renderer + " refused; ";
      continue;
    }
    return ctx;
  }
  return Unavailable("no usable headless EGL context: " + log);
}

EglContext::~EglContext() {
  if (display_ == nullptr) return;
  eglMakeCurrent(display_, EGL_NO_SURFACE, EGL_NO_SURFACE, EGL_NO_CONTEXT);
  if (surface_ != nullptr) eglDestroySurface(display_, surface_);
  if (context_ != nullptr) eglDestroyContext(display_, context_);
  ReleaseDisplay(display_);
}

}  // namespace tilerender
