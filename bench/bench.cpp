// tilerender-bench: where the time and the memory go, side by side with a CPU peer (libvips).
//
//   tilerender-bench [--quick] [--size N] [--data-dir DIR] [--reps R] [--egl-device D]
//
// Every figure is the median of R repetitions (default 5; --quick: 3) after one warm-up. Full mode
// prints markdown tables (BENCHMARKS.md is made from them); both modes end each measure with one
// "SUMMARY" line. --quick uses a 4000 x 4000 image and a subset of cases and runs in well under a
// minute on 2 cores.

#include <unistd.h>
#ifdef TILERENDER_HAVE_VIPS
#include <vips/vips.h>
#endif

#include <CLI/CLI.hpp>
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <thread>

#include "bench/bench_util.h"
#include "bench/synthetic_files.h"
#include "client/client.h"
#include "core/encode/jpeg_encoder.h"
#include "core/encode/png_encoder.h"
#include "core/encode/webp_encoder.h"
#include "core/engine.h"
#include "core/image/image_file.h"
#include "core/render/colormap.h"

namespace tilerender::bench {
namespace {

namespace fs = std::filesystem;
namespace v1 = ::tilerender::v1;

struct Config {
  bool quick = false;
  int64_t size = 16000;
  std::string data_dir = "/tmp/tilerender-bench";
  int reps = 5;
  std::string egl_device = "auto";
  std::string daemon = TILERENDERD_PATH;
  std::string pbo = "auto";  // readback through a pixel-pack buffer: auto, on, off
  std::string only;          // "encode": the output encoders only; "load": the load figures only
};

// ---- 1. load ----

void BenchLoad(Engine& engine, const Config& c, const std::string& npy, const std::string& tif) {
  const double mb = static_cast<double>(c.size * c.size * 2) / 1e6;
  std::printf("\n## 1. Load: %lld x %lld uint16 (%.0f MB) to renderable\n\n", static_cast<long long>(c.size),
              static_cast<long long>(c.size), mb);
  std::vector<uint8_t> a(static_cast<size_t>(c.size * c.size * 2), 1), b(a.size());
  const double memcpy_ms = TimeMs(c.reps, [&] { std::memcpy(b.data(), a.data(), a.size()); });
  std::vector<uint8_t> buf;
  std::vector<double> warm, cold;
  for (int i = 0; i < c.reps + 1; ++i) {
    const double w = ReadFileMs(npy, buf);
    if (i) warm.push_back(w);
    DropFromPageCache(npy);
    const double cl = ReadFileMs(npy, buf);
    if (i) cold.push_back(cl);
  }
  buf = {};
  a = {};
  b = {};
  std::printf("| what | median ms | MB/s | peak RSS growth |\n| --- | ---: | ---: | ---: |\n");
  std::printf("| memcpy of the same bytes | %.1f | %.0f | |\n", memcpy_ms, mb / memcpy_ms * 1e3);
  std::printf("| read() of the NPY file, warm page cache | %.1f | %.0f | |\n", Median(warm), mb / Median(warm) * 1e3);
  std::printf("| read() of the NPY file, cold (fadvise DONTNEED) | %.1f | %.0f | |\n", Median(cold), mb / Median(cold) * 1e3);
  // LoadImage reads metadata (and a value range); the first fit view then reads the whole image
  // once to derive the levels the file lacks, the first 1:1 view only its own tiles.
  double npy_warm_ms = 0, tif_warm_ms = 0;
  for (const auto& [label, path] : {std::pair{"NPY (read in place)", npy}, std::pair{"TIFF (tiled 256, uncompressed)", tif}}) {
    for (bool is_cold : {false, true}) {
      std::vector<double> load_t, fit_t, one_t;
      int64_t peak = 0;
      for (int i = 0; i < c.reps + 1; ++i) {
        if (is_cold) DropFromPageCache(path);
        ResetPeakRss();
        const int64_t base = ProcStatusKib(0, "VmRSS:");
        const auto t0 = Clock::now();
        auto file = OpenImageFile(path);
        auto img = file.ok() ? engine.LoadImage(file->source) : Result<ImageHandle>(file.status());
        const auto t1 = Clock::now();
        if (!img.ok()) {
          std::printf("| %s: %s |\n", label, img.status().ToString().c_str());
          return;
        }
        RenderRequest req{.width = 1024, .height = 768};
        req.layers.push_back({.image = *img, .contrast = Contrast{5000, 40000}});
        auto fit = engine.Render(req);
        const auto t2 = Clock::now();
        req.camera = {.center_x = c.size * 0.37, .center_y = c.size * 0.61, .zoom = 1};
        auto one = engine.Render(req);
        const auto t3 = Clock::now();
        peak = std::max(peak, ProcStatusKib(0, "VmHWM:") - base);
        if (!fit.ok() || !one.ok()) {
          std::printf("| %s: render failed |\n", label);
          return;
        }
        if (i) {
          load_t.push_back(Ms(t0, t1));
          fit_t.push_back(Ms(t0, t2));
          one_t.push_back(Ms(t2, t3));
        }
        img = Result<ImageHandle>(Internal("released"));
        engine.Flush();
      }
      const double med = Median(fit_t);
      if (!is_cold) (std::string(label).rfind("NPY", 0) == 0 ? npy_warm_ms : tif_warm_ms) = med;
      const char* temp = is_cold ? "cold" : "warm";
      std::printf("| LoadImage %s, %s | %.1f | | |\n", label, temp, Median(load_t));
      std::printf("| LoadImage + first fit view 1024 x 768 (all levels derived), %s, %s | %.1f | %.0f | %.0f MB |\n", label,
                  temp, med, mb / med * 1e3, peak / 1024.0);
      std::printf("| then a first 1:1 view 1024 x 768, %s, %s | %.1f | | |\n", label, temp, Median(one_t));
    }
  }
  Summary("load", Fmt("%.0f MB uint16, LoadImage + first fit view: NPY %.0f ms (%.0f MB/s), TIFF %.0f ms (%.0f MB/s); memcpy %.0f MB/s, warm read %.0f MB/s",
                      mb, npy_warm_ms, mb / npy_warm_ms * 1e3, tif_warm_ms, mb / tif_warm_ms * 1e3,
                      mb / memcpy_ms * 1e3, mb / Median(warm) * 1e3));
}

// ---- 2. GPU memory ----

void BenchMemory(Engine& engine, const Config& c) {
  const int64_t w = c.quick ? 1000 : 4000, h = c.quick ? 750 : 3000;
  std::printf("\n## 2. GPU bytes per raw byte (%lld x %lld, default tile size %d)\n\n", static_cast<long long>(w),
              static_cast<long long>(h), engine.limits().tile_size);
  std::printf("| type | raw bytes | level 0 bytes | level 0 / raw | all levels / raw |\n| --- | ---: | ---: | ---: | ---: |\n");
  std::string summary;
  for (auto [name, type, ch] : {std::tuple{"uint8", PixelType::kUint8, 1}, std::tuple{"uint16", PixelType::kUint16, 1},
                               std::tuple{"float32", PixelType::kFloat32, 1}, std::tuple{"RGB uint8", PixelType::kUint8, 3},
                               std::tuple{"RGBA uint8", PixelType::kUint8, 4}}) {
    auto src = BufferSource::Allocate({w, h, type, ch});
    std::memset((*src)->mutable_data(), 0, (*src)->desc().byte_size());
    const double raw_bytes = static_cast<double>((*src)->desc().byte_size());
    auto img = engine.LoadImage(std::move(src).value());
    const double raw = raw_bytes;
    const ImageInfo& info = (*img)->info();
    std::printf("| %s | %.0f | %lld | %.4f | %.4f |\n", name, raw, static_cast<long long>(info.gpu_bytes_level0),
                info.gpu_bytes_level0 / raw, info.gpu_bytes / raw);
    summary += Fmt("%s %.3f ", name, info.gpu_bytes_level0 / raw);
  }
  Summary("memory", "level-0 GPU bytes per raw byte: " + summary + "(all levels add <= 1/3)");
}

// ---- 3. render latency ----

struct Case {
  int w, h;
  std::string camera;  // "zoom2", "1:1", "fit", "rot30"
  bool linear;
  int layers;
};

RenderRequest CoreRequest(const Case& k, const ImageHandle& img, int64_t n) {
  RenderRequest r{.width = k.w, .height = k.h};
  const double cx = n / 2.0 + 0.3, cy = n / 2.0 - 0.2;
  if (k.camera == "zoom2") r.camera = {.center_x = cx, .center_y = cy, .zoom = 2.0};
  if (k.camera == "1:1") r.camera = {.center_x = cx, .center_y = cy, .zoom = 1.0};
  if (k.camera == "rot30") r.camera = {.center_x = cx, .center_y = cy, .zoom = 1.0, .rotation_deg = 30};
  const char* maps[3] = {"viridis", "magenta", "green"};
  for (int i = 0; i < k.layers; ++i) {
    Layer l{.image = img, .colormap = {.name = maps[i]}, .contrast = Contrast{5000, 40000}};
    l.interpolation = k.linear ? Interpolation::kLinear : Interpolation::kNearest;
    l.blending = k.layers > 1 ? Blending::kAdditive : Blending::kTranslucent;
    r.layers.push_back(l);
  }
  return r;
}

v1::RenderRequest ProtoRequest(const Case& k, const std::string& id, int64_t n) {
  v1::RenderRequest r;
  r.set_width(k.w);
  r.set_height(k.h);
  const double cx = n / 2.0 + 0.3, cy = n / 2.0 - 0.2;
  if (k.camera != "fit") {
    r.mutable_camera()->set_center_x(cx);
    r.mutable_camera()->set_center_y(cy);
    r.mutable_camera()->set_zoom(k.camera == "zoom2" ? 2.0 : 1.0);
    if (k.camera == "rot30") r.mutable_camera()->set_rotation_deg(30);
  }
  const char* maps[3] = {"viridis", "magenta", "green"};
  for (int i = 0; i < k.layers; ++i) {
    v1::Layer* l = r.add_layers();
    l->set_image_id(id);
    l->mutable_colormap()->set_name(maps[i]);
    l->mutable_contrast()->set_lo(5000);
    l->mutable_contrast()->set_hi(40000);
    l->set_interpolation(k.linear ? v1::LINEAR : v1::NEAREST);
    l->set_blending(k.layers > 1 ? v1::ADDITIVE : v1::TRANSLUCENT);
  }
  return r;
}

std::vector<Case> Cases(bool quick) {
  std::vector<Case> out;
  const std::vector<std::pair<int, int>> sizes = quick ? std::vector<std::pair<int, int>>{{512, 512}, {1920, 1080}}
                                                       : std::vector<std::pair<int, int>>{{512, 512}, {1024, 1024}, {1920, 1080}};
  const std::vector<std::string> cams = quick ? std::vector<std::string>{"1:1", "fit"}
                                              : std::vector<std::string>{"zoom2", "1:1", "fit", "rot30"};
  for (auto [w, h] : sizes) {
    for (const auto& cam : cams) {
      for (bool linear : quick ? std::vector<bool>{true} : std::vector<bool>{false, true}) {
        for (int layers : quick ? std::vector<int>{1} : std::vector<int>{1, 3}) out.push_back({w, h, cam, linear, layers});
      }
    }
  }
  if (quick) out.push_back({1920, 1080, "rot30", true, 3});
  return out;
}

struct CoreTiming {
  double queue, draw, readback, encode, total;
};

CoreTiming TimeCore(Engine& engine, const RenderRequest& req, int reps) {
  std::vector<double> q, d, r, e, t;
  for (int i = 0; i < reps + 1; ++i) {
    const auto a = Clock::now();
    auto out = engine.Render(req);
    const double total = Ms(a, Clock::now());
    if (!out.ok() || i == 0) continue;
    q.push_back(out->timings.queue_ms);
    d.push_back(out->timings.draw_ms);
    r.push_back(out->timings.readback_ms);
    e.push_back(out->timings.encode_ms);
    t.push_back(total);
  }
  return {Median(q), Median(d), Median(r), Median(e), Median(t)};
}

std::string CaseName(const Case& k) {
  return Fmt("%dx%d %s %s %dL", k.w, k.h, k.camera.c_str(), k.linear ? "linear" : "nearest", k.layers);
}

#ifdef TILERENDER_HAVE_VIPS
// The same viewport made by libvips from the same pixels in memory: affine (rotation + zoom) with
// the same interpolation, contrast, colormap LUT, PNG at the same zlib level and filter.
double TimeVips(const Case& k, const uint16_t* pixels, int64_t n, VipsImage* const* luts, int reps) {
  double zoom = k.camera == "zoom2" ? 2.0 : k.camera == "fit" ? std::min(k.w, k.h) / static_cast<double>(n) : 1.0;
  const double th = k.camera == "rot30" ? 30 * M_PI / 180 : 0;
  const double cx = n / 2.0 + 0.3, cy = n / 2.0 - 0.2;
  const double a = zoom * std::cos(th), b = -zoom * std::sin(th), c = zoom * std::sin(th), d = zoom * std::cos(th);
  const double odx = k.w / 2.0 - (a * cx + b * cy), ody = k.h / 2.0 - (c * cx + d * cy);
  VipsInterpolate* interp = k.linear ? vips_interpolate_bilinear_static() : vips_interpolate_nearest_static();
  return TimeMs(reps, [&] {
    VipsImage* in = vips_image_new_from_memory(pixels, static_cast<size_t>(n * n * 2), static_cast<int>(n), static_cast<int>(n), 1, VIPS_FORMAT_USHORT);
    VipsImage *warped = nullptr, *scaled = nullptr, *u8 = nullptr, *rgb = nullptr;
    VipsArrayInt* area = vips_array_int_newv(4, 0, 0, k.w, k.h);
    vips_affine(in, &warped, a, b, c, d, "odx", odx, "ody", ody, "oarea", area, "interpolate", interp, nullptr);
    // Several layers: vips composites them with vips_add per extra layer (additive).
    vips_linear1(warped, &scaled, 255.0 / 35000.0, -5000.0 * 255.0 / 35000.0, nullptr);
    vips_cast_uchar(scaled, &u8, nullptr);
    vips_maplut(u8, &rgb, luts[0], nullptr);
    VipsImage* out = rgb;
    std::vector<VipsImage*> extra;
    for (int i = 1; i < k.layers; ++i) {
      // Each further layer: its own colormap over the same resampled values, summed and clipped.
      VipsImage *mapped = nullptr, *sum = nullptr;
      vips_maplut(u8, &mapped, luts[i], nullptr);
      vips_add(out, mapped, &sum, nullptr);
      extra.push_back(mapped);
      VipsImage* clipped = nullptr;
      vips_cast_uchar(sum, &clipped, nullptr);
      extra.push_back(sum);
      extra.push_back(clipped);
      out = clipped;
    }
    void* buf = nullptr;
    size_t len = 0;
    if (vips_pngsave_buffer(out, &buf, &len, "compression", 1, "filter", VIPS_FOREIGN_PNG_FILTER_UP, nullptr) != 0) {
      std::fprintf(stderr, "vips: %s\n", vips_error_buffer());
      vips_error_clear();
    }
    g_free(buf);
    for (VipsImage* im : extra) g_object_unref(im);
    vips_area_unref(VIPS_AREA(area));
    for (VipsImage* im : {rgb, u8, scaled, warped, in}) if (im) g_object_unref(im);
  });
}

#endif

void BenchRender(Engine& engine, DaemonProcess* daemon, const Config& c, const ImageHandle& img,
                 const uint16_t* pixels) {
  std::printf("\n## 3. Render latency, and 6. the same viewport with libvips (%lld x %lld uint16 image)\n\n",
              static_cast<long long>(c.size), static_cast<long long>(c.size));
  std::printf("Core: stages of `Engine::Render` (queue, draw incl. GPU finish, readback, PNG encode, level 1 + up filter).\n"
              "Daemon: the client's wall time for one `Render` RPC (same request, PNG bytes back), median.\n"
              "libvips: affine + linear + cast + maplut + pngsave (compression 1, filter up), image in memory.\n\n");
  std::printf("| case | queue | draw | readback | encode | core total | daemon total | gRPC overhead | libvips | core / libvips |\n"
              "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |\n");
#ifdef TILERENDER_HAVE_VIPS
  // The layers' colormaps as 256 x 1 RGB uchar LUTs for vips_maplut.
  std::vector<uint8_t> lut_px[3];
  VipsImage* luts[3];
  const char* names[3] = {"viridis", "magenta", "green"};
  for (int l = 0; l < 3; ++l) {
    auto map = ResolveColormap({.name = names[l]});
    lut_px[l].resize(256 * 3);
    for (int i = 0; i < 256; ++i) {
      // Sampled at t = i / 255 with linear interpolation, as the renderer does.
      const double x = i / 255.0 * (map->entries.size() - 1);
      const size_t j = std::min(static_cast<size_t>(x), map->entries.size() - 2);
      const double f = x - j;
      const Rgba& a = map->entries[j];
      const Rgba& b = map->entries[j + 1];
      lut_px[l][i * 3] = static_cast<uint8_t>(std::lround((a.r + f * (b.r - a.r)) * 255));
      lut_px[l][i * 3 + 1] = static_cast<uint8_t>(std::lround((a.g + f * (b.g - a.g)) * 255));
      lut_px[l][i * 3 + 2] = static_cast<uint8_t>(std::lround((a.b + f * (b.b - a.b)) * 255));
    }
    luts[l] = vips_image_new_from_memory(lut_px[l].data(), lut_px[l].size(), 256, 1, 3, VIPS_FORMAT_UCHAR);
  }
#endif
  std::vector<double> ratios, overheads;
  std::string worst_case;
  double worst_encode_share = 0;
  for (const Case& k : Cases(c.quick)) {
    const CoreTiming t = TimeCore(engine, CoreRequest(k, img, c.size), c.reps);
    double daemon_ms = 0;
    if (daemon && daemon->ok()) {
      const v1::RenderRequest pr = ProtoRequest(k, "img", c.size);
      daemon_ms = TimeMs(c.reps, [&] { (void)daemon->client().Render(pr).ok(); });
    }
#ifdef TILERENDER_HAVE_VIPS
    const double vips_ms = TimeVips(k, pixels, c.size, luts, c.reps);
#else
    const double vips_ms = NAN;  // built without libvips
    (void)pixels;
#endif
    ratios.push_back(t.total / vips_ms);
    overheads.push_back(daemon_ms - t.total);
    const double share = t.encode / t.total;
    if (share > worst_encode_share) worst_encode_share = share, worst_case = CaseName(k);
    std::printf("| %s | %.2f | %.2f | %.2f | %.2f | %.2f | %.2f | %.2f | %.2f | %.2f |\n", CaseName(k).c_str(), t.queue, t.draw,
                t.readback, t.encode, t.total, daemon_ms, daemon_ms - t.total, vips_ms, t.total / vips_ms);
  }
#ifdef TILERENDER_HAVE_VIPS
  for (VipsImage* l : luts) g_object_unref(l);
#endif
  Summary("render", Fmt("%zu cases: median core/libvips %.2f (min %.2f, max %.2f), median gRPC overhead %.2f ms; encode is %.0f%% of %s",
                        ratios.size(), Median(ratios), *std::min_element(ratios.begin(), ratios.end()),
                        *std::max_element(ratios.begin(), ratios.end()), Median(overheads), worst_encode_share * 100,
                        worst_case.c_str()));
}

// ---- 4. throughput ----

void BenchThroughput(DaemonProcess& daemon, const Config& c) {
  std::printf("\n## 4. Throughput: renders per second against one daemon (1024 x 768, fit, linear, PNG)\n\n");
  std::printf("| clients | renders/s | errors |\n| ---: | ---: | ---: |\n");
  const v1::RenderRequest req = ProtoRequest({1024, 768, "fit", true, 1}, "img", c.size);
  const double seconds = c.quick ? 1.0 : 3.0;
  std::string summary;
  for (int clients : {1, 2, 4, 8}) {
    std::atomic<int64_t> done{0}, errors{0};
    std::atomic<bool> stop{false};
    std::vector<std::thread> workers;
    for (int i = 0; i < clients; ++i) {
      workers.emplace_back([&] {
        auto cl = client::Client::Connect(daemon.address());
        (void)cl->Render(req).ok();  // warm the channel
        while (!stop) {
          if (cl->Render(req).ok()) ++done; else ++errors;
        }
      });
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    const int64_t start = done;
    const auto a = Clock::now();
    std::this_thread::sleep_for(std::chrono::duration<double>(seconds));
    const int64_t n = done - start;
    const double s = Ms(a, Clock::now()) / 1e3;
    stop = true;
    for (auto& w : workers) w.join();
    std::printf("| %d | %.1f | %lld |\n", clients, n / s, static_cast<long long>(errors.load()));
    summary += Fmt("%d:%.1f ", clients, n / s);
  }
  Summary("throughput", "renders/s by clients " + summary);
}

// ---- 5. PNG encode ----

// The two real 1920 x 1080 frames the encoders are measured on, as raw RGBA.
std::vector<std::pair<std::string, Result<RenderOutput>>> Frames1080(Engine& engine, const Config& c, const ImageHandle& img) {
  std::vector<std::pair<std::string, Result<RenderOutput>>> frames;
  for (const auto& [fname, cam, cmap] : {std::tuple{"fit, viridis", "fit", "viridis"}, std::tuple{"1:1 rotated, magma", "rot30", "magma"}}) {
    RenderRequest req = CoreRequest({1920, 1080, cam, true, 1}, img, c.size);
    req.layers[0].colormap.name = cmap;
    req.format = OutputFormat::kRawRgba8;
    frames.emplace_back(fname, engine.Render(req));
  }
  return frames;
}

void BenchPng(Engine& engine, const Config& c, const ImageHandle& img) {
  std::printf("\n## 5. PNG encode of real 1920 x 1080 renders (RGB)\n\n");
  std::printf("| frame | settings | ms | MB/s (raw RGB) | size KB |\n| --- | --- | ---: | ---: | ---: |\n");
  std::string summary;
  for (const auto& [fname, raw] : Frames1080(engine, c, img)) {
    const double mb = 1920.0 * 1080 * 3 / 1e6;
    // filters 0: the shipped banded encoder ("up", `threads` bands at once); else libpng's writer.
    struct Setting {
      const char* name;
      int level, filters, threads;
    };
    const int cores = static_cast<int>(std::min(8u, std::max(1u, std::thread::hardware_concurrency())));
    const std::string shipped = Fmt("shipped: level 1, up, banded on %d cores", cores);
    for (const Setting& s : {Setting{shipped.c_str(), 1, 0, 0}, Setting{"level 1, up, banded, 1 core", 1, 0, 1},
                             Setting{"libpng: level 1, up", 1, 0x20, 1}, Setting{"libpng: level 1, none", 1, 0x08, 1},
                             Setting{"libpng: level 1, sub", 1, 0x10, 1}, Setting{"libpng: level 1, paeth", 1, 0x80, 1},
                             Setting{"libpng: level 6, up", 6, 0x20, 1}, Setting{"libpng: level 6, all (its default)", 6, 0xf8, 1},
                             Setting{"stored (level 0), banded", 0, 0, 0}}) {
      size_t size = 0;
      const double ms = TimeMs(c.reps, [&] {
        auto png = EncodePng(raw->data.data(), 1920, 1080, 1920 * 4,
                             {.level = s.level, .write_alpha = false, .filters = s.filters, .threads = s.threads});
        size = png->size();
      });
      std::printf("| %s | %s | %.1f | %.0f | %.0f |\n", fname.c_str(), s.name, ms, mb / ms * 1e3, size / 1024.0);
      if (fname == "fit, viridis" && s.filters == 0 && s.level == 1) {
        summary += Fmt("%s %.1f ms %.0f KB; ", s.threads ? "1 core" : "shipped", ms, size / 1024.0);
      }
      if (fname == "fit, viridis" && s.filters == 0xf8) summary += Fmt("libpng default %.1f ms %.0f KB", ms, size / 1024.0);
    }
  }
  Summary("png", "1080p viridis frame: " + summary);
}

// ---- 5b. JPEG and WebP beside PNG ----

void BenchEncoders(Engine& engine, const Config& c, const ImageHandle& img) {
  std::printf("\n## 5b. Output formats: 1920 x 1080 renders (RGB) as PNG, JPEG and WebP\n\n");
  std::printf("| frame | format | encode ms | size KB |\n| --- | --- | ---: | ---: |\n");
  std::string summary;
  for (const auto& [fname, raw] : Frames1080(engine, c, img)) {
    const uint8_t* px = raw->data.data();
    const size_t stride = 1920 * 4;
    struct Row {
      std::string name;
      std::function<size_t()> encode;
    };
    const std::vector<Row> rows = {
        {"PNG level 1 (default)", [&] { return EncodePng(px, 1920, 1080, stride, {.level = 1, .write_alpha = false})->size(); }},
        {"JPEG Q85 (default), 4:2:0", [&] { return EncodeJpeg(px, 1920, 1080, stride, {.quality = 85})->size(); }},
        {"JPEG Q95, 4:4:4", [&] { return EncodeJpeg(px, 1920, 1080, stride, {.quality = 95})->size(); }},
        {"WebP lossy Q80, method 0 (default)", [&] { return EncodeWebp(px, 1920, 1080, stride, {.quality = 80, .write_alpha = false})->size(); }},
        {"WebP lossy Q80, method 2", [&] { return EncodeWebp(px, 1920, 1080, stride, {.quality = 80, .write_alpha = false, .effort = 2})->size(); }},
        {"WebP lossy Q80, method 4 (libwebp's default)", [&] { return EncodeWebp(px, 1920, 1080, stride, {.quality = 80, .write_alpha = false, .effort = 4})->size(); }},
        {"WebP lossless, level 0 (default)", [&] { return EncodeWebp(px, 1920, 1080, stride, {.lossless = true, .write_alpha = false})->size(); }},
        {"WebP lossless, level 3", [&] { return EncodeWebp(px, 1920, 1080, stride, {.lossless = true, .write_alpha = false, .effort = 3})->size(); }},
    };
    for (const Row& r : rows) {
      size_t size = 0;
      const double ms = TimeMs(c.reps, [&] { size = r.encode(); });
      std::printf("| %s | %s | %.1f | %.0f |\n", fname.c_str(), r.name.c_str(), ms, size / 1024.0);
      if (fname == "fit, viridis") summary += Fmt("%s %.1f ms %.0f KB; ", r.name.c_str(), ms, size / 1024.0);
    }
  }
  Summary("encode", "1080p viridis frame: " + summary);
}

}  // namespace
}  // namespace tilerender::bench

int main(int argc, char** argv) {
  using namespace tilerender;
  using namespace tilerender::bench;
  Config c;
  CLI::App app{"tilerender-bench: load, GPU memory, render latency, throughput, PNG encode, libvips peer"};
  app.add_flag("--quick", c.quick, "small sizes, few cases: under a minute");
  app.add_option("--only", c.only, "encode: the output encoders only; load: the load figures only")
      ->check(CLI::IsMember({"", "encode", "load"}));
  app.add_option("--size", c.size, "side of the square uint16 test image (default 16000; --quick 4000)");
  app.add_option("--data-dir", c.data_dir, "where the test files are written")->capture_default_str();
  app.add_option("--reps", c.reps, "timed repetitions per figure (median reported)");
  app.add_option("--egl-device", c.egl_device, "auto, surfaceless or a GPU index")->capture_default_str();
  app.add_option("--daemon", c.daemon, "tilerenderd binary for the gRPC measures")->capture_default_str();
  app.add_option("--pbo", c.pbo, "in-process readback through a pixel-pack buffer: auto, on, off")
      ->check(CLI::IsMember({"auto", "on", "off"}))->capture_default_str();
  CLI11_PARSE(app, argc, argv);
  if (c.quick) {
    if (app.count("--size") == 0) c.size = 4000;
    if (app.count("--reps") == 0) c.reps = 3;
  }
#ifdef TILERENDER_HAVE_VIPS
  if (VIPS_INIT(argv[0])) {
    std::fprintf(stderr, "libvips failed to start\n");
    return 1;
  }
#endif
  const auto start = std::chrono::steady_clock::now();
  fs::create_directories(c.data_dir);
  const std::string stem = c.data_dir + "/img" + std::to_string(c.size);
  const std::string npy = stem + ".npy", tif = stem + ".tif";
  if (!WriteSyntheticFiles(c.size, tif, npy)) {
    std::fprintf(stderr, "cannot write test files in %s\n", c.data_dir.c_str());
    return 1;
  }
  EngineOptions eo;
  eo.egl.device = c.egl_device;
  if (c.pbo != "auto") eo.pbo_readback = c.pbo == "on";
  auto engine = Engine::Create(eo);
  if (!engine.ok()) {
    std::fprintf(stderr, "engine: %s\n", engine.status().ToString().c_str());
    return 1;
  }
  const GpuInfo& g = (*engine)->gpu_info();
  std::printf("# tilerender-bench%s\n\nGL: %s | %s | EGL %s (%s) | %u CPU threads | image %lld x %lld uint16 | median of %d after a warm-up\n",
              c.quick ? " --quick" : "", g.gl_renderer.c_str(), g.gl_version.c_str(), g.egl_platform.c_str(),
              g.egl_device.c_str(), std::thread::hardware_concurrency(), static_cast<long long>(c.size),
              static_cast<long long>(c.size), c.reps);

  if (c.only == "encode") {
    auto file = OpenImageFile(npy);
    auto img = (*engine)->LoadImage(file->source);
    BenchEncoders(**engine, c, *img);
    return 0;
  }
  BenchLoad(**engine, c, npy, tif);
  if (c.only == "load") return 0;
  BenchMemory(**engine, c);
  auto file = OpenImageFile(npy);
  auto img = (*engine)->LoadImage(file->source);
  // The CPU-side measures read the pixels from memory (the NPY source reads its file a chunk at a time).
  std::vector<uint16_t> pixel_copy(static_cast<size_t>(c.size) * c.size);
  if (!file->source->ReadRect(0, 0, 0, c.size, c.size, reinterpret_cast<uint8_t*>(pixel_copy.data()), c.size * 2).ok()) {
    std::fprintf(stderr, "cannot read %s\n", npy.c_str());
    return 1;
  }
  const uint16_t* pixels = pixel_copy.data();
  DaemonProcess daemon(c.daemon, c.data_dir, {"--egl-device", c.egl_device});
  if (!daemon.ok() || !daemon.client().Load(fs::path(npy).filename().string(), "img").ok()) std::fprintf(stderr, "daemon did not start; daemon columns are 0\n");
  BenchRender(**engine, &daemon, c, *img, pixels);
  if (daemon.ok()) BenchThroughput(daemon, c);
  BenchPng(**engine, c, *img);
  BenchEncoders(**engine, c, *img);
  std::printf("\nbench wall time %.1f s\n", std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
#ifdef TILERENDER_HAVE_VIPS
  vips_shutdown();
#endif
  return 0;
}
