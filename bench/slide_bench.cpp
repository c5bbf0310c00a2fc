// tilerender-slide-bench: a whole-slide file served out of core, side by side with libvips.
//
//   tilerender-slide-bench SLIDE.tif [--reps 5] [--images 10] [--walk 200] [--jumps 600] [--gpu-budget 2G]
//                          [--host-cache 1G] [--small-budgets 512M,256M] [--no-vips] [--only walk|first]
//                          [--composite N]
//
// Runs the real daemon (built next to this program) on the slide's directory and measures through
// the C++ client, and the CLI where a process is compared with a process:
//  1. First view: LoadImage + the first fit view (1024 x 768 PNG), page cache dropped, against a
//     cold `vipsthumbnail SLIDE --size 1024x768 -o tn.png`.
//  2. First 1:1 view (1024 x 768) at a random place, page cache dropped, against a cold
//     `vips crop SLIDE out.png x y 1024 768`; then the same views again, warm (tiles cached).
//  3. Many images at once: the slide loaded under `--images` ids, a fit view and twelve 1:1 or 1:2
//     views of each, with small budgets: the daemon's peak RSS against the budgets.
//  4. A pan/zoom walk of `--walk` views from the fit view down to 1:1 and back along a path,
//     cold then warm, then `--jumps` views at random places (more tiles than the budgets hold),
//     with --gpu-budget and --host-cache: latency percentiles, peak RSS.
// With --composite N (a multi-channel image, e.g. an OME-Zarr store from bench/make_zarr), every
// view is the additive composite of channels 0..N-1 (green, magenta, cyan, yellow, ...), the CLI
// renders with --channels; the slide may be a directory (OME-Zarr); warm views are also measured
// against a daemon drawing the composite one pass per layer (--layer-by-layer).
// Every figure is printed as a markdown table row; each section ends with a SUMMARY line.

#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <random>
#include <string>

#include "bench/bench_util.h"

namespace tilerender::bench {
namespace {

namespace fs = std::filesystem;
namespace v1 = ::tilerender::v1;

struct Config {
  std::string slide;
  int reps = 5;
  int images = 10;
  int walk = 200;
  int jumps = 600;
  std::string gpu_budget = "2G";
  std::string host_cache = "1G";
  std::string small_gpu = "512M", small_host = "256M";
  bool vips = true;
  std::string only;
  int composite = 0;  // > 0: views are the additive composite of channels 0..composite-1
  std::string daemon = TILERENDERD_PATH;
  std::string cli = TILERENDER_CLI_PATH;
};

const char* const kChannelColors[] = {"green", "magenta", "cyan", "yellow", "red", "blue", "gray", "green"};
int g_composite = 0;  // Config::composite, read by View()

v1::RenderRequest View(const std::string& id, double cx, double cy, double zoom) {
  v1::RenderRequest r;
  r.set_width(1024);
  r.set_height(768);
  if (g_composite == 0) r.add_layers()->set_image_id(id);
  for (int ch = 0; ch < g_composite; ++ch) {
    v1::Layer* l = r.add_layers();
    l->set_image_id(id);
    l->set_channel(ch);
    l->mutable_colormap()->set_name(kChannelColors[ch % 8]);
    l->set_blending(v1::ADDITIVE);
  }
  if (zoom > 0) {
    r.mutable_camera()->set_center_x(cx);
    r.mutable_camera()->set_center_y(cy);
    r.mutable_camera()->set_zoom(zoom);
  }
  return r;
}

double MiB(int64_t kib) { return kib / 1024.0; }

int64_t ParseBytes(const std::string& s) {
  char* end = nullptr;
  const double v = std::strtod(s.c_str(), &end);
  const std::string u(end);
  const double m = u == "K" ? 1024.0 : u == "M" ? 1048576.0 : u == "G" ? 1073741824.0 : 1.0;
  return static_cast<int64_t>(v * m);
}

struct Slide {
  int64_t width = 0, height = 0;
};

// ---- 1 and 2: first views, cold, against libvips ----

void FirstViews(const Config& c, DaemonProcess& d, const Slide& s) {
  const std::string name = fs::path(c.slide).filename().string();
  const std::string tmp = fs::temp_directory_path() / "tilerender-slide-bench";
  fs::create_directories(tmp);
  std::mt19937 rng(42);
  std::vector<double> load_ms, fit_ms, fit_cli_ms, vips_thumb_ms, one_ms, one_cli_ms, vips_crop_ms, warm_ms, warm_raw_ms,
      warm_stored_ms, warm_draw_ms, warm_encode_ms, warm_total_ms;
  std::printf("\n## First views of %s (%lld x %lld), page cache dropped before each\n\n", name.c_str(),
              static_cast<long long>(s.width), static_cast<long long>(s.height));
  std::vector<std::pair<double, double>> places;
  for (int i = 0; i < c.reps + 1; ++i) {
    std::uniform_real_distribution<double> ux(0, s.width - 1024), uy(0, s.height - 768);
    places.push_back({ux(rng), uy(rng)});
  }
  for (int i = 0; i < c.reps + 1; ++i) {  // the first round warms the programs' own code
    const std::string id = "first" + std::to_string(i);
    // tilerender through the client library: LoadImage + fit view.
    DropFromPageCache(c.slide);
    auto t0 = Clock::now();
    auto loaded = d.client().Load(name, id);
    auto t1 = Clock::now();
    auto fit = d.client().Render(View(id, 0, 0, 0));
    auto t2 = Clock::now();
    if (!loaded.ok() || !fit.ok()) {
      std::printf("tilerender failed: %s %s\n", loaded.status().ToString().c_str(), fit.status().ToString().c_str());
      return;
    }
    // A first 1:1 view at a random place (tiles never read before).
    const auto [x, y] = places[i];
    DropFromPageCache(c.slide);
    auto t3 = Clock::now();
    auto one = d.client().Render(View(id, x + 512, y + 384, 1));
    auto t4 = Clock::now();
    if (!one.ok()) return;
    // The same through the CLI, a process per step like vips (another id: nothing cached).
    DropFromPageCache(c.slide);
    const std::string cli_id = "cli" + std::to_string(i);
    const double cli_load = RunMs({c.cli, "--server", d.address(), "load", name, "--id", cli_id});
    std::vector<std::string> fit_cmd = {c.cli, "--server", d.address(), "render", "--id", cli_id, "--size", "1024x768", "-o", tmp + "/fit.png"};
    std::vector<std::string> one_cmd = {c.cli, "--server", d.address(), "render", "--id", cli_id, "--size", "1024x768", "--zoom", "1",
                                        "--center", Fmt("%.3f,%.3f", x + 512, y + 384), "-o", tmp + "/one.png"};
    if (c.composite > 0) {
      std::string channels;
      for (int ch = 0; ch < c.composite; ++ch) channels += (ch ? "," : "") + std::to_string(ch) + ":" + kChannelColors[ch % 8];
      for (auto* cmd : {&fit_cmd, &one_cmd}) cmd->insert(cmd->end(), {"--channels", channels});
    }
    const double cli_fit = RunMs(fit_cmd);
    DropFromPageCache(c.slide);
    const double cli_one = RunMs(one_cmd);
    double thumb = 0, crop = 0;
    if (c.vips) {
      DropFromPageCache(c.slide);
      thumb = RunMs({"vipsthumbnail", c.slide, "--size", "1024x768", "-o", tmp + "/tn.png"});
      DropFromPageCache(c.slide);
      crop = RunMs({"vips", "crop", c.slide, tmp + "/crop.png", std::to_string(static_cast<int64_t>(x)),
                    std::to_string(static_cast<int64_t>(y)), "1024", "768"});
    }
    // Warm: the same 1:1 view again, as PNG and as raw RGBA.
    v1::Timings timings;
    auto t5 = Clock::now();
    auto again = d.client().Render(View(id, x + 512, y + 384, 1));
    auto t6 = Clock::now();
    if (again.ok()) timings = again->timings();
    v1::RenderRequest raw = View(id, x + 512, y + 384, 1);
    raw.set_format(v1::RAW_RGBA8);
    auto t7 = Clock::now();
    const bool raw_ok = d.client().Render(raw).ok();
    auto t8 = Clock::now();
    v1::RenderRequest stored = View(id, x + 512, y + 384, 1);
    stored.set_png_level(0);
    auto t9 = Clock::now();
    const bool stored_ok = d.client().Render(stored).ok();
    auto t10 = Clock::now();
    if (i == 0) continue;
    load_ms.push_back(Ms(t0, t1));
    fit_ms.push_back(Ms(t0, t2));
    one_ms.push_back(Ms(t3, t4));
    fit_cli_ms.push_back(cli_load + cli_fit);
    one_cli_ms.push_back(cli_one);
    vips_thumb_ms.push_back(thumb);
    vips_crop_ms.push_back(crop);
    warm_ms.push_back(Ms(t5, t6));
    if (raw_ok) warm_raw_ms.push_back(Ms(t7, t8));
    if (stored_ok) warm_stored_ms.push_back(Ms(t9, t10));
    warm_draw_ms.push_back(timings.draw_ms() + timings.readback_ms());
    warm_encode_ms.push_back(timings.encode_ms());
    warm_total_ms.push_back(timings.total_ms());
    (void)d.client().Unload(id);
    (void)d.client().Unload(cli_id);
  }
  std::printf("| measure (median of %d) | tilerender, client library | tilerender, CLI processes | libvips, cold process |\n", c.reps);
  std::printf("| --- | ---: | ---: | ---: |\n");
  std::printf("| LoadImage (metadata) | %.1f ms | | |\n", Median(load_ms));
  std::printf("| LoadImage + first fit view 1024 x 768 PNG | %.1f ms | %.1f ms (load + render) | %.1f ms (vipsthumbnail) |\n",
              Median(fit_ms), Median(fit_cli_ms), Median(vips_thumb_ms));
  std::printf("| first 1:1 view 1024 x 768 PNG at a random place | %.1f ms | %.1f ms | %.1f ms (vips crop) |\n", Median(one_ms),
              Median(one_cli_ms), Median(vips_crop_ms));
  std::printf("| the same 1:1 view again, warm (RPC; in the daemon: draw + readback %.1f, PNG %.1f, total %.1f) | %.1f ms | | |\n",
              Median(warm_draw_ms), Median(warm_encode_ms), Median(warm_total_ms), Median(warm_ms));
  std::printf("| the same 1:1 view again, warm, RAW_RGBA8 (no encode) | %.1f ms | | |\n", Median(warm_raw_ms));
  std::printf("| the same 1:1 view again, warm, PNG level 0 (stored) | %.1f ms | | |\n", Median(warm_stored_ms));
  Summary("first", Fmt("%s: load+fit %.0f ms (CLI %.0f) vs vipsthumbnail %.0f ms; first 1:1 %.0f ms (CLI %.0f) vs vips crop %.0f ms; "
                       "warm 1:1 %.1f ms PNG (draw+readback %.1f, encode %.1f), %.1f ms raw, %.1f ms PNG level 0",
                       name.c_str(), Median(fit_ms), Median(fit_cli_ms), Median(vips_thumb_ms), Median(one_ms),
                       Median(one_cli_ms), Median(vips_crop_ms), Median(warm_ms), Median(warm_draw_ms), Median(warm_encode_ms),
                       Median(warm_raw_ms), Median(warm_stored_ms)));
}

// ---- composites: one pass against one pass per layer ----

void CompositePasses(const Config& c, const Slide& s) {
  const std::string name = fs::path(c.slide).filename().string();
  std::mt19937 rng(5);
  std::uniform_real_distribution<double> ux(512, s.width - 512), uy(384, s.height - 384);
  std::vector<std::pair<double, double>> places;
  for (int i = 0; i < c.reps; ++i) places.push_back({ux(rng), uy(rng)});
  std::printf("\n## Warm views of the %d-channel additive composite: one pass against one pass per layer (same run)\n\n",
              c.composite);
  std::printf("| daemon | 1:1 view, RPC (median of %d) | draw + readback in the daemon | fit view, RPC | its draw + readback |\n",
              c.reps);
  std::printf("| --- | ---: | ---: | ---: | ---: |\n");
  double draw[2] = {0, 0};
  for (int mode = 0; mode < 2; ++mode) {
    DaemonProcess d(c.daemon, fs::path(c.slide).parent_path().string(),
                    mode == 0 ? std::vector<std::string>{} : std::vector<std::string>{"--layer-by-layer"});
    if (!d.ok() || !d.client().Load(name, "c").ok()) return;
    std::vector<double> one_ms, one_draw, fit_ms, fit_draw;
    for (const auto& [x, y] : places) {
      (void)d.client().Render(View("c", x, y, 1));  // tiles cached
      auto a = Clock::now();
      auto r = d.client().Render(View("c", x, y, 1));
      if (!r.ok()) return;
      one_ms.push_back(Ms(a, Clock::now()));
      one_draw.push_back(r->timings().draw_ms() + r->timings().readback_ms());
      (void)d.client().Render(View("c", 0, 0, 0));
      a = Clock::now();
      r = d.client().Render(View("c", 0, 0, 0));
      if (!r.ok()) return;
      fit_ms.push_back(Ms(a, Clock::now()));
      fit_draw.push_back(r->timings().draw_ms() + r->timings().readback_ms());
    }
    draw[mode] = Median(one_draw);
    std::printf("| %s | %.1f ms | %.1f ms | %.1f ms | %.1f ms |\n", mode == 0 ? "one pass (default)" : "--layer-by-layer",
                Median(one_ms), Median(one_draw), Median(fit_ms), Median(fit_draw));
  }
  Summary("composite", Fmt("%s %d channels: warm 1:1 draw+readback %.1f ms in one pass, %.1f ms layer by layer", name.c_str(),
                           c.composite, draw[0], draw[1]));
}

// ---- 3: many images at once ----

void ManyImages(const Config& c, const Slide& s) {
  const std::string name = fs::path(c.slide).filename().string();
  DaemonProcess d(c.daemon, fs::path(c.slide).parent_path().string(),
                  {"--gpu-budget", c.small_gpu, "--host-cache", c.small_host});
  if (!d.ok()) return;
  const int64_t base_kib = ProcStatusKib(d.pid(), "VmRSS:");
  std::mt19937 rng(7);
  std::uniform_real_distribution<double> ux(512, s.width - 512), uy(384, s.height - 384);
  std::vector<double> ms;
  for (int i = 0; i < c.images; ++i) {
    const std::string id = "img" + std::to_string(i);
    if (!d.client().Load(name, id).ok()) return;
    auto t0 = Clock::now();
    if (!d.client().Render(View(id, 0, 0, 0)).ok()) return;
    ms.push_back(Ms(t0, Clock::now()));
  }
  // Enough 1:1 and 1:2 views that the caches fill and evict.
  for (int round = 0; round < 12; ++round) {
    for (int i = 0; i < c.images; ++i) {
      auto t0 = Clock::now();
      if (!d.client().Render(View("img" + std::to_string(i), ux(rng), uy(rng), round % 3 == 2 ? 0.5 : 1)).ok()) return;
      ms.push_back(Ms(t0, Clock::now()));
    }
  }
  auto stats = d.client().Stats();
  const int64_t peak_kib = ProcStatusKib(d.pid(), "VmHWM:");
  const double budgets = (ParseBytes(c.small_gpu) + ParseBytes(c.small_host)) / 1048576.0;
  std::printf("\n## %d images of %s at once, --gpu-budget %s --host-cache %s\n\n", c.images, name.c_str(), c.small_gpu.c_str(),
              c.small_host.c_str());
  std::printf("| daemon RSS at start | peak RSS | budgets | peak - budgets | GPU cache | host cache | renders (median, p90) |\n");
  std::printf("| ---: | ---: | ---: | ---: | ---: | ---: | ---: |\n");
  std::printf("| %.0f MiB | %.0f MiB | %.0f MiB | %.0f MiB | %.0f MiB, %lld evictions | %.0f MiB, %lld evictions | %.0f, %.0f ms |\n",
              MiB(base_kib), MiB(peak_kib), budgets, MiB(peak_kib) - budgets, stats->gpu_cache().bytes() / 1048576.0,
              static_cast<long long>(stats->gpu_cache().evictions()), stats->host_cache().bytes() / 1048576.0,
              static_cast<long long>(stats->host_cache().evictions()), Median(ms), Percentile(ms, 0.9));
  Summary("images", Fmt("%d x %s: peak RSS %.0f MiB with budgets %.0f MiB (+%.0f MiB)", c.images, name.c_str(), MiB(peak_kib),
                        budgets, MiB(peak_kib) - budgets));
}

// ---- 4: a pan/zoom walk ----

void Walk(const Config& c, const Slide& s) {
  const std::string name = fs::path(c.slide).filename().string();
  DaemonProcess d(c.daemon, fs::path(c.slide).parent_path().string(),
                  {"--gpu-budget", c.gpu_budget, "--host-cache", c.host_cache});
  if (!d.ok()) return;
  const double fit = std::min(1024.0 / s.width, 768.0 / s.height);
  // From the fit view to 1:1 while drifting across the slide, then back out: every zoom level, a
  // new place at each step (a user exploring), views overlapping their predecessors.
  std::vector<std::tuple<double, double, double>> views;
  const int half = c.walk / 2;
  for (int i = 0; i < c.walk; ++i) {
    const double t = i < half ? static_cast<double>(i) / (half - 1) : static_cast<double>(c.walk - 1 - i) / (c.walk - half - 1);
    const double zoom = fit * std::pow(1.0 / fit, t);
    const double u = static_cast<double>(i) / c.walk;
    const double cx = s.width * (0.3 + 0.4 * u), cy = s.height * (0.5 + 0.3 * std::sin(6.283 * u));
    views.push_back({cx, cy, zoom});
  }
  DropFromPageCache(c.slide);
  auto t0 = Clock::now();
  if (!d.client().Load(name, "walk").ok()) return;
  const double load_ms = Ms(t0, Clock::now());
  std::vector<double> cold, warm;
  int64_t paged = 0;
  for (int pass = 0; pass < 2; ++pass) {
    for (const auto& [cx, cy, zoom] : views) {
      auto a = Clock::now();
      auto r = d.client().Render(View("walk", cx, cy, zoom));
      if (!r.ok()) {
        std::printf("walk render failed: %s\n", r.status().ToString().c_str());
        return;
      }
      (pass == 0 ? cold : warm).push_back(Ms(a, Clock::now()));
      if (pass == 0) paged += r->timings().tiles_paged_in();
    }
  }
  // Then jumps: random places at 1:1 and 1:2, more tiles than both budgets hold together.
  std::mt19937 rng(11);
  std::uniform_real_distribution<double> ux(512, s.width - 512), uy(384, s.height - 384);
  std::vector<double> jumps;
  for (int i = 0; i < c.jumps; ++i) {
    auto a = Clock::now();
    if (!d.client().Render(View("walk", ux(rng), uy(rng), i % 2 ? 0.5 : 1)).ok()) return;
    jumps.push_back(Ms(a, Clock::now()));
  }
  auto stats = d.client().Stats();
  const int64_t peak_kib = ProcStatusKib(d.pid(), "VmHWM:");
  std::printf("\n## Pan/zoom walk: %d views 1024 x 768 of %s (%lld x %lld), fit to 1:1 and back, --gpu-budget %s --host-cache %s\n\n",
              c.walk, name.c_str(), static_cast<long long>(s.width), static_cast<long long>(s.height), c.gpu_budget.c_str(),
              c.host_cache.c_str());
  std::printf("| pass | p50 | p90 | p99 | max | tiles paged in |\n| --- | ---: | ---: | ---: | ---: | ---: |\n");
  std::printf("| cold (page cache dropped, nothing cached) | %.0f ms | %.0f ms | %.0f ms | %.0f ms | %lld |\n", Percentile(cold, 0.5),
              Percentile(cold, 0.9), Percentile(cold, 0.99), Percentile(cold, 1), static_cast<long long>(paged));
  std::printf("| warm (the same walk again) | %.0f ms | %.0f ms | %.0f ms | %.0f ms | |\n", Percentile(warm, 0.5),
              Percentile(warm, 0.9), Percentile(warm, 0.99), Percentile(warm, 1));
  std::printf("| then %d jumps to random places at 1:1 and 1:2 (cold) | %.0f ms | %.0f ms | %.0f ms | %.0f ms | |\n", c.jumps,
              Percentile(jumps, 0.5), Percentile(jumps, 0.9), Percentile(jumps, 0.99), Percentile(jumps, 1));
  std::printf("\nLoadImage %.1f ms; daemon peak RSS %.0f MiB; GPU cache %.0f MiB (%lld evictions), host cache %.0f MiB (%lld evictions, %.0f MiB decoded)\n",
              load_ms, MiB(peak_kib), stats->gpu_cache().bytes() / 1048576.0, static_cast<long long>(stats->gpu_cache().evictions()),
              stats->host_cache().bytes() / 1048576.0, static_cast<long long>(stats->host_cache().evictions()),
              stats->host_cache().bytes_in() / 1048576.0);
  Summary("walk", Fmt("%s %d views: cold p50 %.0f p90 %.0f p99 %.0f ms, warm p50 %.0f p90 %.0f p99 %.0f ms; %d jumps p50 %.0f "
                      "p99 %.0f ms; peak RSS %.0f MiB (budgets %s + %s)",
                      name.c_str(), c.walk, Percentile(cold, 0.5), Percentile(cold, 0.9), Percentile(cold, 0.99),
                      Percentile(warm, 0.5), Percentile(warm, 0.9), Percentile(warm, 0.99), c.jumps, Percentile(jumps, 0.5),
                      Percentile(jumps, 0.99), MiB(peak_kib), c.gpu_budget.c_str(), c.host_cache.c_str()));
}

int Main(int argc, char** argv) {
  Config c;
  std::vector<std::string> pos;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    auto value = [&]() -> std::string { return i + 1 < argc ? argv[++i] : ""; };
    if (a == "--reps") c.reps = std::stoi(value());
    else if (a == "--images") c.images = std::stoi(value());
    else if (a == "--walk") c.walk = std::stoi(value());
    else if (a == "--jumps") c.jumps = std::stoi(value());
    else if (a == "--gpu-budget") c.gpu_budget = value();
    else if (a == "--host-cache") c.host_cache = value();
    else if (a == "--small-budgets") {
      const std::string v = value();
      c.small_gpu = v.substr(0, v.find(','));
      c.small_host = v.substr(v.find(',') + 1);
    } else if (a == "--no-vips") c.vips = false;
    else if (a == "--only") c.only = value();
    else if (a == "--composite") c.composite = std::stoi(value());
    else pos.push_back(a);
  }
  if (pos.size() != 1 || c.reps < 1 || c.walk < 4) {
    std::fprintf(stderr, "usage: tilerender-slide-bench SLIDE.tif [--reps 5] [--images 10] [--walk 200] [--jumps 600] [--gpu-budget 2G] "
                         "[--host-cache 1G] [--small-budgets 512M,256M] [--no-vips] [--only first|composite|images|walk] [--composite N]\n");
    return 2;
  }
  c.slide = fs::absolute(pos[0]).lexically_normal().string();
  if (!c.slide.empty() && c.slide.back() == '/') c.slide.pop_back();
  g_composite = c.composite;
  DaemonProcess d(c.daemon, fs::path(c.slide).parent_path().string(), {});
  if (!d.ok()) {
    std::fprintf(stderr, "the daemon did not start\n");
    return 1;
  }
  auto info = d.client().Load(fs::path(c.slide).filename().string(), "probe");
  if (!info.ok()) {
    std::fprintf(stderr, "cannot load %s: %s\n", c.slide.c_str(), info.status().ToString().c_str());
    return 1;
  }
  const Slide s{info->width(), info->height()};
  int from_file = 0;
  for (const auto& l : info->level_info()) from_file += l.from_file();
  std::printf("# %s: %lld x %lld, %d levels (%d from the file), %d channel(s)%s\n", c.slide.c_str(),
              static_cast<long long>(s.width), static_cast<long long>(s.height), info->levels(), from_file,
              std::max(1, info->channel_info_size()),
              c.composite > 0 ? Fmt(", every view the additive composite of %d channels", c.composite).c_str() : "");
  (void)d.client().Unload("probe");
  if (c.only.empty() || c.only == "first") FirstViews(c, d, s);
  if (c.composite > 1 && (c.only.empty() || c.only == "composite")) CompositePasses(c, s);
  if (c.only.empty() || c.only == "images") ManyImages(c, s);
  if (c.only.empty() || c.only == "walk") Walk(c, s);
  return 0;
}

}  // namespace
}  // namespace tilerender::bench

int main(int argc, char** argv) { return tilerender::bench::Main(argc, argv); }
