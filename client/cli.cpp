// tilerender: the command-line client (DESIGN §5). Exit codes: 0 success, 1 failure (the gRPC
// status on stderr), 2 usage error.

#include <CLI/CLI.hpp>
#include <cmath>
#include <cstdlib>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <unistd.h>

#include "client/batch.h"
#include "client/client.h"
#include "client/commands.h"
#include "client/compare.h"
#include "core/image/image_file.h"

namespace tilerender::client {
namespace {

int Fail(const Status& s) {
  std::cerr << "tilerender: " << s.ToString() << "\n";
  return 1;
}

int Usage(const char* command, const Status& s) {
  std::cerr << "tilerender " << command << ": " << s.message() << "\n";
  return 2;
}

struct XY {
  double x = 0, y = 0;
};
// "X,Y": two finite numbers.
Result<XY> ParsePoint(const std::string& text) {
  const size_t comma = text.find(',');
  XY p;
  try {
    size_t a = 0, b = 0;
    if (comma == std::string::npos) throw std::invalid_argument("");
    const std::string xs = text.substr(0, comma), ys = text.substr(comma + 1);
    p.x = std::stod(xs, &a);
    p.y = std::stod(ys, &b);
    if (a != xs.size() || b != ys.size() || !std::isfinite(p.x) || !std::isfinite(p.y)) throw std::invalid_argument("");
  } catch (const std::exception&) {
    return InvalidArgument("a point is X,Y (two numbers), got \"" + text + "\"");
  }
  return p;
}

// A number in as few digits as give it back exactly (doubles holding uint16 or float32 values).
std::string Number(double v) {
  char buf[40];
  for (int digits = 6; digits <= 17; ++digits) {
    std::snprintf(buf, sizeof buf, "%.*g", digits, v);
    if (std::isnan(v) || std::strtod(buf, nullptr) == v) break;
  }
  return buf;
}

// A sample's values ("v" or "r,g,b"), "nan" as stored, "-" outside the image.
std::string SampleText(const v1::Sample& s) {
  if (!s.inside()) return "-";
  std::string out;
  for (double v : s.values()) out += (out.empty() ? "" : ",") + Number(v);
  return out;
}

std::string Mib(int64_t bytes) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f MiB", bytes / 1048576.0);
  return buf;
}

void PrintImage(const v1::ImageInfo& i) {
  const char* types[] = {"?", "uint8", "uint16", "float32", "uint32"};
  int from_file = 0;
  for (const v1::LevelInfo& l : i.level_info()) from_file += l.from_file();
  std::printf("%-24s %7ldx%-7ld %-7s x%d%s  tiles %-6ld levels %-2d (%d from file)  all tiles %s  range%s [%g, %g]  %s\n",
              i.image_id().c_str(), static_cast<long>(i.width()), static_cast<long>(i.height()),
              types[i.pixel_type() >= 0 && i.pixel_type() <= 4 ? i.pixel_type() : 0], i.channels(),
              (i.planes() > 1 ? " " + std::to_string(i.planes()) + " planes" : std::string(i.labels() ? " labels" : "")).c_str(),
              static_cast<long>(i.tiles()), i.levels(), from_file,
              Mib(i.gpu_bytes()).c_str(), i.value_range_estimated() ? " (estimated)" : "", i.value_min(), i.value_max(),
              i.source().c_str());
  for (const std::string& n : i.notes()) std::printf("%24s note: %s\n", "", n.c_str());
  const auto& props = i.properties();
  std::string slide;
  for (const char* key : {"openslide.vendor", "openslide.objective-power"}) {
    if (auto it = props.find(key); it != props.end()) slide += std::string(slide.empty() ? "" : ", ") + key + " " + it->second;
  }
  if (!slide.empty()) std::printf("%24s %s\n", "", slide.c_str());
  if (i.associated_images_size() > 0) {
    std::string names;
    for (const std::string& a : i.associated_images()) names += (names.empty() ? "" : ", ") + a;
    std::printf("%24s associated images: %s\n", "", names.c_str());
  }
  if (i.pixel_size_x_um() > 0) {
    std::printf("%24s pixel size %g x %g um\n", "", i.pixel_size_x_um(), i.pixel_size_y_um());
  }
  if (i.planes() > 1) {
    for (int c = 0; c < i.channel_info_size(); ++c) {
      const v1::ChannelInfo& ch = i.channel_info(c);
      std::printf("%24s channel %d%s%s  range%s [%g, %g]", "", c, ch.name().empty() ? "" : " ", ch.name().c_str(),
                  ch.value_range_estimated() ? " (estimated)" : "", ch.value_min(), ch.value_max());
      if (ch.color() != 0) std::printf("  color #%08x", ch.color());
      if (ch.has_window_min()) std::printf("  window [%g, %g]", ch.window_min(), ch.window_max());
      std::printf("\n");
    }
  }
}

void PrintCache(const char* name, const v1::CacheStats& c) {
  std::printf("%s %s of %s, %ld entries, %ld hits, %ld misses, %ld evictions, %s in\n", name, Mib(c.bytes()).c_str(),
              Mib(c.budget_bytes()).c_str(), static_cast<long>(c.entries()), static_cast<long>(c.hits()),
              static_cast<long>(c.misses()), static_cast<long>(c.evictions()), Mib(c.bytes_in()).c_str());
}

}  // namespace

int Main(int argc, char** argv) {
  CLI::App app{"tilerender: client for the tilerenderd GPU tile-rendering daemon"};
  app.require_subcommand(1);
  std::string server = DefaultServer();
  double timeout_s = 0;
  app.add_option("--server", server, "daemon address (default: $TILERENDER_SERVER or 127.0.0.1:50051)");
  ConnectOptions connect;
  if (const char* t = std::getenv("TILERENDER_TOKEN")) connect.token = t;
  app.add_option("--token", connect.token, "bearer token (default: $TILERENDER_TOKEN)");
  app.add_flag("--tls", connect.tls, "connect over TLS, trusting the system's CAs");
  app.add_option("--tls-ca", connect.tls_ca, "PEM CA of the daemon's certificate (implies --tls)");
  app.add_option("--tls-cert", connect.tls_cert, "PEM client certificate, for mutual TLS");
  app.add_option("--tls-key", connect.tls_key, "PEM key of --tls-cert");

  auto* info = app.add_subcommand("info", "server version, GPU and limits");
  auto* health = app.add_subcommand("health", "exit 0 when the daemon is serving");
  double wait_s = 0;
  health->add_option("--wait", wait_s, "wait up to this many seconds for SERVING");

  auto* load = app.add_subcommand("load", "load a file under the daemon's data root");
  std::string load_path, load_id;
  int page = 0;
  load->add_option("PATH", load_path, "path relative to the data root")->required();
  load->add_option("--id", load_id, "image id (default: the file name)");
  load->add_option("--page", page, "TIFF page")->check(CLI::NonNegativeNumber);
  int64_t plane_z = 0, plane_t = 0;
  load->add_option("--z", plane_z, "z plane of an OME-Zarr or OME-TIFF image")->check(CLI::NonNegativeNumber);
  load->add_option("--t", plane_t, "time point of an OME-Zarr or OME-TIFF image")->check(CLI::NonNegativeNumber);
  std::string reader, associated;
  load->add_option("--reader", reader, "openslide or libtiff (default: OpenSlide for whole-slide formats)")
      ->check(CLI::IsMember({"", "openslide", "libtiff"}));
  load->add_option("--associated", associated, "a slide's associated image (label, macro, thumbnail, ...)");
  bool labels = false;
  load->add_flag("--labels", labels, "a labels image (segmentation: one object id per pixel, 0 none)");

  auto* upload = app.add_subcommand("upload", "read a PNG/TIFF/NPY here and stream it to the daemon");
  std::string upload_file, upload_id;
  upload->add_option("FILE", upload_file, "local image file (or OME-Zarr directory)")->required()->check(CLI::ExistingPath);
  upload->add_option("--id", upload_id, "image id (default: the file name)");
  upload->add_option("--page", page, "TIFF page")->check(CLI::NonNegativeNumber);
  upload->add_option("--z", plane_z, "z plane of an OME-Zarr or OME-TIFF image")->check(CLI::NonNegativeNumber);
  upload->add_option("--t", plane_t, "time point of an OME-Zarr or OME-TIFF image")->check(CLI::NonNegativeNumber);
  upload->add_flag("--labels", labels, "a labels image (segmentation: one object id per pixel, 0 none)");

  auto* ls = app.add_subcommand("ls", "list loaded images");
  auto* unload = app.add_subcommand("unload", "free an image");
  std::string unload_id;
  unload->add_option("ID", unload_id, "image id")->required();
  auto* stats = app.add_subcommand("stats", "GPU memory, renders, latency, queue");

  auto* render = app.add_subcommand("render", "render one snapshot to a PNG (or raw RGBA)");
  RenderArgs args;
  AddRenderOptions(render, &args);
  std::string out_path;
  render->add_option("-o,--output", out_path, "output file")->required();
  render->add_option("--timeout", timeout_s, "seconds before giving up");

  auto* probe = app.add_subcommand("probe", "raw values of images at world points (image pixel coordinates)");
  std::vector<std::string> probe_points, probe_images;
  std::string probe_interp = "nearest";
  int probe_level = 0;
  probe->add_option("POINTS", probe_points, "world points X,Y, e.g. 120.5,33")->required();
  probe->add_option("-i,--image", probe_images, "an image to read, ID or ID:CHANNEL (repeat for several)")->required();
  probe->add_option("--interp", probe_interp, "nearest or linear")->check(CLI::IsMember({"nearest", "linear"}));
  probe->add_option("--level", probe_level, "pyramid level (0: full resolution)")->check(CLI::NonNegativeNumber);

  auto* profile = app.add_subcommand("profile", "raw values of an image along a line in world space");
  std::string profile_id, profile_from, profile_to, profile_interp = "nearest";
  int profile_samples = 0, profile_channel = 0, profile_level = 0;
  profile->add_option("ID", profile_id, "image id")->required();
  profile->add_option("FROM", profile_from, "start X,Y")->required();
  profile->add_option("TO", profile_to, "end X,Y")->required();
  profile->add_option("-n,--samples", profile_samples, "samples, both ends included (default: one per level pixel)")
      ->check(CLI::Range(0, 65536));
  profile->add_option("--channel", profile_channel, "plane of an image of several")->check(CLI::NonNegativeNumber);
  profile->add_option("--interp", profile_interp, "nearest or linear")->check(CLI::IsMember({"nearest", "linear"}));
  profile->add_option("--level", profile_level, "pyramid level (0: full resolution)")->check(CLI::NonNegativeNumber);

  auto* batch = app.add_subcommand("batch", "render the views of a JSON manifest, streamed, several in flight");
  BatchOptions batch_options;
  batch->add_option("MANIFEST", batch_options.manifest, "manifest JSON (see client/batch.h or README)")->required();
  batch->add_option("--out-dir", batch_options.out_dir, "directory for the rendered files")->required();
  batch->add_option("--jobs", batch_options.jobs, "render streams at once")->capture_default_str()->check(CLI::Range(1, 64));
  batch->add_flag("--keep-images", batch_options.keep_images, "leave the manifest's images loaded on the daemon");

  auto* compare = app.add_subcommand("compare", "compare PNGs (visual regression; no daemon needed)");
  std::vector<std::string> pair;
  std::string goldens, actual;
  CompareOptions compare_options;
  compare->add_option("A B", pair, "two PNG files")->expected(0, 2);
  compare->add_option("--tolerance", compare_options.tolerance, "per-channel difference allowed")->check(CLI::Range(0, 255));
  compare->add_option("--max-pixels", compare_options.max_pixels, "pixels allowed beyond the tolerance")->check(CLI::NonNegativeNumber);
  compare->add_option("--diff", compare_options.diff_path, "write a diff image (changed pixels in red over a dimmed A)");
  compare->add_option("--goldens", goldens, "directory of golden PNGs");
  compare->add_option("--actual", actual, "directory of actual PNGs, compared file by file with --goldens");
  compare->add_option("--diff-dir", compare_options.diff_dir, "with --goldens: write NAME.diff.png for failures here");
  compare->add_flag("--update", compare_options.update, "with --goldens: replace differing or new goldens with the actual files");

  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    app.exit(e);
    return 2;
  }
  if (*compare) {
    if (!goldens.empty() || !actual.empty()) {
      if (goldens.empty() || actual.empty() || !pair.empty()) {
        std::cerr << "tilerender compare: give A B, or --goldens DIR --actual DIR\n";
        return 2;
      }
      return CompareDirs(goldens, actual, compare_options);
    }
    if (pair.size() != 2) {
      std::cerr << "tilerender compare: give two PNG files (or --goldens/--actual)\n";
      return 2;
    }
    return ComparePair(pair[0], pair[1], compare_options);
  }

  auto connected = Client::Connect(server, connect);
  if (!connected.ok()) return Fail(connected.status());
  std::unique_ptr<Client> client = std::move(connected).value();
  if (*health) {
    const Status s = wait_s > 0 ? client->WaitForServing(std::chrono::milliseconds(static_cast<int64_t>(wait_s * 1000)))
                                : client->Health();
    if (!s.ok()) return Fail(s);
    std::printf("SERVING\n");
    return 0;
  }
  if (*batch) {
    batch_options.progress_bar = isatty(fileno(stderr));
    return RunBatch(*client, batch_options);
  }
  if (*info) {
    auto r = client->Info();
    if (!r.ok()) return Fail(r.status());
    const v1::ServerInfo& i = *r;
    std::printf("version:          %s\n", i.version().c_str());
    std::printf("gl renderer:      %s%s\n", i.gl_renderer().c_str(), i.software_renderer() ? " (software)" : "");
    std::printf("gl vendor:        %s\n", i.gl_vendor().c_str());
    std::printf("gl version:       %s\n", i.gl_version().c_str());
    std::printf("egl:              %s, %s\n", i.egl_platform().c_str(), i.egl_device().c_str());
    std::printf("max texture size: %d\n", i.max_texture_size());
    std::printf("tile size:        %d\n", i.tile_size());
    std::printf("gpu budget:       %s\n", Mib(i.gpu_budget_bytes()).c_str());
    const v1::Limits& l = i.limits();
    std::printf("max output:       %d px per side, %ld px\n", l.max_output_side(), static_cast<long>(l.max_output_pixels()));
    std::printf("max image:        %ld px per side, %ld px, %s\n", static_cast<long>(l.max_image_side()),
                static_cast<long>(l.max_image_pixels()), Mib(l.max_image_bytes()).c_str());
    std::printf("max upload:       %s\n", Mib(l.max_upload_bytes()).c_str());
    std::printf("queue depth:      %d\n", l.max_queue_depth());
    std::printf("layers/render:    %d\n", l.max_layers());
    std::printf("data root:        %s\n", i.data_root().c_str());
    std::string names;
    for (const std::string& n : i.colormaps()) names += (names.empty() ? "" : " ") + n;
    std::printf("colormaps:        %s\n", names.c_str());
    return 0;
  }
  if (*load) {
    v1::LoadImageRequest req;
    req.set_path(load_path);
    req.set_image_id(load_id);
    req.set_page(page);
    req.set_z(plane_z);
    req.set_t(plane_t);
    req.set_reader(reader);
    req.set_associated_image(associated);
    req.set_labels(labels);
    auto r = client->Load(req);
    if (!r.ok()) return Fail(r.status());
    PrintImage(*r);
    return 0;
  }
  if (*upload) {
    OpenOptions open;
    open.page = page;
    open.z = plane_z;
    open.t = plane_t;
    open.labels = labels;  // uint32 ids stay uint32
    auto file = OpenImageFile(upload_file, open);
    if (!file.ok()) return Fail(file.status());
    std::string id = upload_id.empty() ? std::filesystem::path(upload_file).filename().string() : upload_id;
    UploadOptions options;
    options.labels = labels;
    const bool tty = isatty(fileno(stderr));
    options.progress = [tty](size_t sent, size_t total) {
      if (tty) std::fprintf(stderr, "\rupload %5.1f%%", 100.0 * sent / std::max<size_t>(total, 1));
      return true;
    };
    auto r = client->Upload(id, *file->source, options);
    if (tty) std::fprintf(stderr, "\n");
    if (!r.ok()) return Fail(r.status());
    PrintImage(*r);
    return 0;
  }
  if (*ls) {
    auto r = client->List();
    if (!r.ok()) return Fail(r.status());
    for (const v1::ImageInfo& i : *r) PrintImage(i);
    return 0;
  }
  if (*unload) {
    auto r = client->Unload(unload_id);
    if (!r.ok()) return Fail(r.status());
    std::printf("unloaded %s, freed %s\n", unload_id.c_str(), Mib(*r).c_str());
    return 0;
  }
  if (*stats) {
    auto r = client->Stats();
    if (!r.ok()) return Fail(r.status());
    const v1::Stats& s = *r;
    PrintCache("gpu cache:  ", s.gpu_cache());
    PrintCache("host cache: ", s.host_cache());
    std::printf("images:      %d\n", s.images());
    std::printf("renders:     %ld served, %ld failed\n", static_cast<long>(s.renders_served()), static_cast<long>(s.render_errors()));
    std::printf("latency:     p50 %.1f ms, p90 %.1f ms, p99 %.1f ms\n", s.latency_p50_ms(), s.latency_p90_ms(), s.latency_p99_ms());
    std::printf("queue depth: %d\n", s.queue_depth());
    std::printf("uptime:      %.0f s\n", s.uptime_s());
    return 0;
  }
  if (*probe) {
    v1::ProbeRequest req;
    for (const std::string& p : probe_points) {
      auto xy = ParsePoint(p);
      if (!xy.ok()) return Usage("probe", xy.status());
      v1::Point* o = req.add_points();
      o->set_x(xy->x);
      o->set_y(xy->y);
    }
    for (const std::string& spec : probe_images) {
      v1::ProbeLayer* l = req.add_layers();
      const size_t colon = spec.rfind(':');
      const std::string channel = colon == std::string::npos ? "" : spec.substr(colon + 1);
      if (!channel.empty() && channel.find_first_not_of("0123456789") == std::string::npos && channel.size() < 7) {
        l->set_image_id(spec.substr(0, colon));
        l->set_channel(static_cast<uint32_t>(std::stoul(channel)));
      } else {
        l->set_image_id(spec);  // "path:..." ids keep their colon
      }
    }
    req.set_interpolation(probe_interp == "linear" ? v1::LINEAR : v1::NEAREST);
    req.set_level(static_cast<uint32_t>(probe_level));
    auto r = client->Probe(req);
    if (!r.ok()) return Fail(r.status());
    std::printf("%-24s", "x,y");
    for (const v1::LayerSamples& l : r->layers()) std::printf("  %s:%u", l.image_id().c_str(), l.channel());
    std::printf("\n");
    for (int i = 0; i < req.points_size(); ++i) {
      std::printf("%-24s", (Number(req.points(i).x()) + "," + Number(req.points(i).y())).c_str());
      for (const v1::LayerSamples& l : r->layers()) std::printf("  %s", SampleText(l.samples(i)).c_str());
      std::printf("\n");
    }
    return 0;
  }
  if (*profile) {
    v1::ProfileRequest req;
    auto from = ParsePoint(profile_from), to = ParsePoint(profile_to);
    if (!from.ok()) return Usage("profile", from.status());
    if (!to.ok()) return Usage("profile", to.status());
    req.set_image_id(profile_id);
    req.set_channel(static_cast<uint32_t>(profile_channel));
    req.mutable_from()->set_x(from->x);
    req.mutable_from()->set_y(from->y);
    req.mutable_to()->set_x(to->x);
    req.mutable_to()->set_y(to->y);
    req.set_samples(static_cast<uint32_t>(profile_samples));
    req.set_interpolation(profile_interp == "linear" ? v1::LINEAR : v1::NEAREST);
    req.set_level(static_cast<uint32_t>(profile_level));
    auto r = client->Profile(req);
    if (!r.ok()) return Fail(r.status());
    std::printf("# %s channel %d, level %u, length %s, %d samples (%s)\n", profile_id.c_str(), profile_channel, r->level(),
                Number(r->length()).c_str(), r->samples_size(), profile_interp.c_str());
    std::printf("# i x y value\n");
    for (int i = 0; i < r->samples_size(); ++i) {
      std::printf("%d %s %s %s\n", i, Number(r->points(i).x()).c_str(), Number(r->points(i).y()).c_str(),
                  SampleText(r->samples(i)).c_str());
    }
    return 0;
  }
  if (*render) {
    auto req = BuildRenderRequest(args);
    if (!req.ok()) {
      std::cerr << "tilerender render: " << req.status().message() << "\n";
      return 2;
    }
    auto r = client->Render(*req, std::chrono::milliseconds(static_cast<int64_t>(timeout_s * 1000)));
    if (!r.ok()) return Fail(r.status());
    std::ofstream f(out_path, std::ios::binary);
    f.write(r->data().data(), static_cast<std::streamsize>(r->data().size()));
    if (!f) return Fail(Internal("cannot write " + out_path));
    const v1::Timings& t = r->timings();
    std::printf("%s %ux%u %zu bytes (fetch %.1f, queue %.1f, draw %.1f, readback %.1f, encode %.1f, total %.1f ms; "
                "%d tiles drawn, %d paged in)\n",
                out_path.c_str(), r->width(), r->height(), r->data().size(), t.fetch_ms(), t.queue_ms(), t.draw_ms(),
                t.readback_ms(), t.encode_ms(), t.total_ms(), t.tiles_drawn(), t.tiles_paged_in());
    if (r->scale_bar_um() > 0) std::printf("scale bar: %g um\n", r->scale_bar_um());
    for (const v1::ContrastUsed& c : r->contrasts()) {
      if (c.automatic()) {
        std::printf("layer %u auto-contrast: %s,%s (%lld values)\n", c.layer(), Number(c.lo()).c_str(), Number(c.hi()).c_str(),
                    static_cast<long long>(c.samples()));
      }
    }
    return 0;
  }
  return 2;
}

}  // namespace tilerender::client

int main(int argc, char** argv) { return tilerender::client::Main(argc, argv); }
