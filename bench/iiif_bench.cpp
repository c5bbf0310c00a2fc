// tilerender-iiif-bench: the IIIF Image API over HTTP, tilerender beside IIPImage (Debian's
// iipimage-server behind lighttpd + FastCGI, FILESYSTEM_PREFIX on the same data root) in the same
// run, on the same pyramidal JPEG TIFF, each through one keep-alive client.
//
//   tilerender-iiif-bench SLIDE.tif [--reps 20] [--clients 16] [--requests 200] [--iip-procs 2] [--no-iip]
//                         [--max-tile-size N]  (the daemon's GPU tile side)
//                         [--http-cache SIZE]  (the daemon's response cache; 0: every request renders)
//
//  1. 256 x 256 full-resolution JPEG tiles: the first request of each of --reps tiles (page cache
//     dropped before), then one tile again and again (warm). tilerender answers these with the
//     file's own tile (nothing transformed); the same tiles rendered (contrast, rotation) too.
//  2. 1024 x 768 full-resolution regions: first and repeated; 3. the 1024-wide fit view.
//  4. Load: --clients keep-alive clients x --requests random tile requests at every level.
// Every figure is printed as a markdown table row; the section ends with a SUMMARY line.

#include <httplib.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <random>
#include <thread>

#include "bench/bench_util.h"

extern char** environ;

namespace tilerender::bench {
namespace {

namespace fs = std::filesystem;

struct Config {
  std::string slide;
  int reps = 20;
  int clients = 16;
  int requests = 200;
  int iip_procs = 2;
  bool iip = true;
  std::string tile_size;   // the daemon's --max-tile-size, when given
  std::string http_cache;  // the daemon's --http-cache, when given
};

// lighttpd serving iipsrv.fcgi on a free port, with its own configuration in a temporary folder.
class IipImage {
 public:
  IipImage(const std::string& data_root, int procs) {
    dir_ = fs::temp_directory_path() / ("tilerender-iip-" + std::to_string(::getpid()));
    fs::create_directories(dir_ + "/www");
    port_ = 20000 + static_cast<int>(::getpid() % 20000);
    std::ofstream conf(dir_ + "/lighttpd.conf");
    conf << "server.document-root = \"" << dir_ << "/www\"\n"
         << "server.bind = \"127.0.0.1\"\nserver.port = " << port_ << "\n"
         << "server.modules = (\"mod_fastcgi\")\n"
         << "server.errorlog = \"" << dir_ << "/error.log\"\n"
         << "server.max-keep-alive-requests = 1000\n"
         << "fastcgi.server = ( \"/fcgi-bin/iipsrv.fcgi\" => (( \"socket\" => \"" << dir_ << "/iipsrv.sock\",\n"
         << "  \"check-local\" => \"disable\", \"min-procs\" => " << procs << ", \"max-procs\" => " << procs << ",\n"
         << "  \"bin-path\" => \"/usr/lib/iipimage-server/iipsrv.fcgi\",\n"
         << "  \"bin-environment\" => ( \"FILESYSTEM_PREFIX\" => \"" << data_root << "/\", \"LOGFILE\" => \"" << dir_
         << "/iipsrv.log\", \"VERBOSITY\" => \"0\", \"JPEG_QUALITY\" => \"85\", \"MAX_CVT\" => \"8192\" ) )) )\n";
    conf.close();
    std::vector<std::string> args = {"/usr/sbin/lighttpd", "-D", "-f", dir_ + "/lighttpd.conf"};
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    if (posix_spawn(&pid_, argv[0], nullptr, nullptr, argv.data(), environ) != 0) pid_ = -1;
    for (int i = 0; i < 100 && pid_ > 0; ++i) {
      httplib::Client c("127.0.0.1", port_);
      if (auto r = c.Get("/fcgi-bin/iipsrv.fcgi?IIIF=")) {
        ok_ = true;
        break;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
  }
  ~IipImage() {
    if (pid_ > 0) {
      ::kill(pid_, SIGTERM);
      ::waitpid(pid_, nullptr, 0);
    }
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }
  bool ok() const { return ok_; }
  int port() const { return port_; }

 private:
  std::string dir_;
  int port_ = 0;
  pid_t pid_ = -1;
  bool ok_ = false;
};

// One keep-alive client and the URL prefix of one server's IIIF service for the slide.
struct Side {
  std::string name;
  std::string host;
  int port = 0;
  std::string prefix;  // + "/region/size/rotation/quality.format"
};

double GetMs(httplib::Client& c, const std::string& url, int* status, size_t* bytes = nullptr) {
  const auto t0 = Clock::now();
  auto r = c.Get(url);
  const double ms = Ms(t0, Clock::now());
  *status = r ? r->status : -1;
  if (bytes) *bytes = r ? r->body.size() : 0;
  return ms;
}

void Measure(const Config& c, const std::vector<Side>& sides, int64_t W, int64_t H, int levels) {
  std::printf("\n## IIIF over HTTP, %s (%lld x %lld, %d levels): keep-alive client, median of %d\n\n",
              fs::path(c.slide).filename().c_str(), static_cast<long long>(W), static_cast<long long>(H), levels, c.reps);
  std::printf("| request | %s |\n| --- |%s\n", [&] {
    std::string h;
    for (size_t i = 0; i < sides.size(); ++i) h += (i ? " | " : "") + sides[i].name;
    return h;
  }().c_str(), [&] {
    std::string h;
    for (size_t i = 0; i < sides.size(); ++i) h += " ---: |";
    return h;
  }().c_str());
  std::mt19937 rng(3);
  std::vector<std::pair<int64_t, int64_t>> tiles, tiles2, regions;
  for (int i = 0; i < c.reps; ++i) {
    tiles.push_back({std::uniform_int_distribution<int64_t>(0, W / 256 - 2)(rng) * 256,
                     std::uniform_int_distribution<int64_t>(0, H / 256 - 2)(rng) * 256});
    tiles2.push_back({std::uniform_int_distribution<int64_t>(0, W / 256 - 2)(rng) * 256,
                      std::uniform_int_distribution<int64_t>(0, H / 256 - 2)(rng) * 256});
    regions.push_back({std::uniform_int_distribution<int64_t>(0, W - 1025)(rng), std::uniform_int_distribution<int64_t>(0, H - 769)(rng)});
  }
  struct Row {
    std::string what;
    std::vector<std::string> cells;
  };
  std::vector<Row> rows;
  auto tile_url = [](const Side& s, int64_t x, int64_t y, const std::string& rot = "0", const std::string& q = "") {
    return s.prefix + "/" + std::to_string(x) + "," + std::to_string(y) + ",256,256/256,/" + rot + "/default.jpg" + q;
  };
  auto run = [&](const std::string& what, auto make_url, bool cold, bool tilerender_only = false) {
    Row row{what, {}};
    for (const Side& s : sides) {
      if (tilerender_only && s.name != "tilerender") {
        row.cells.push_back("");
        continue;
      }
      httplib::Client cl(s.host, s.port);
      cl.set_keep_alive(true);
      int st = 0;
      (void)GetMs(cl, s.prefix + "/full/64,/0/default.jpg", &st);  // connection and image opened
      std::vector<double> ms;
      size_t bytes = 0;
      for (int i = 0; i < c.reps; ++i) {
        if (cold) DropFromPageCache(c.slide);
        const std::string url = make_url(s, cold ? i : 0);
        if (!cold && i == 0) (void)GetMs(cl, url, &st);
        ms.push_back(GetMs(cl, url, &st, &bytes));
        if (st != 200) {
          row.cells.push_back("HTTP " + std::to_string(st));
          ms.clear();
          break;
        }
      }
      if (!ms.empty()) row.cells.push_back(Fmt("%.1f ms (%zu KB)", Median(ms), bytes / 1024));
    }
    rows.push_back(row);
  };
  run("256² full-resolution tile, first request (page cache dropped)", [&](const Side& s, int i) {
    return tile_url(s, tiles[i].first, tiles[i].second);
  }, true);
  run("the same tile again (warm)", [&](const Side& s, int) { return tile_url(s, tiles[0].first, tiles[0].second); }, false);
  run("256² tile rendered: contrast 20..235, first request", [&](const Side& s, int i) {
    return tile_url(s, tiles[i].first, tiles[i].second, "0", "?contrast=20,235");
  }, true, true);
  run("256² tile rendered: contrast, again", [&](const Side& s, int) {
    return tile_url(s, tiles[0].first, tiles[0].second, "0", "?contrast=20,235");
  }, false, true);
  run("256² tile rendered: rotated 90°, first request (other tiles)", [&](const Side& s, int i) {
    return tile_url(s, tiles2[i].first, tiles2[i].second, "90");
  }, true);
  run("1024 x 768 full-resolution region, first request", [&](const Side& s, int i) {
    return s.prefix + "/" + std::to_string(regions[i].first) + "," + std::to_string(regions[i].second) + ",1024,768/1024,/0/default.jpg";
  }, true);
  run("the same region again", [&](const Side& s, int) {
    return s.prefix + "/" + std::to_string(regions[0].first) + "," + std::to_string(regions[0].second) + ",1024,768/1024,/0/default.jpg";
  }, false);
  // First requests of the fit view at 20 widths (1024, 1023, ...): not one a response cache holds.
  run("fit view full/1024,, first request", [&](const Side& s, int i) { return s.prefix + "/full/" + std::to_string(1024 - i) + ",/0/default.jpg"; }, true);
  run("fit view again", [&](const Side& s, int) { return s.prefix + "/full/1024,/0/default.jpg"; }, false);
  for (const Row& r : rows) {
    std::printf("| %s |", r.what.c_str());
    for (const auto& cell : r.cells) std::printf(" %s |", cell.c_str());
    std::printf("\n");
  }

  // Load: clients x requests random tiles at every level (the view a viewer pans through).
  std::printf("\n| load: %d keep-alive clients x %d random tiles (every level) | served | p50 | p99 | max | requests/s |\n",
              c.clients, c.requests);
  std::printf("| --- | ---: | ---: | ---: | ---: | ---: |\n");
  std::string summary;
  for (const Side& s : sides) {
    std::vector<std::vector<double>> lat(c.clients);
    std::atomic<int> ok{0};
    const auto t0 = Clock::now();
    std::vector<std::thread> threads;
    for (int k = 0; k < c.clients; ++k) {
      threads.emplace_back([&, k] {
        httplib::Client cl(s.host, s.port);
        cl.set_keep_alive(true);
        cl.set_read_timeout(60);
        std::mt19937 r(100 + k);
        for (int i = 0; i < c.requests; ++i) {
          const int level = std::uniform_int_distribution<int>(0, std::max(0, levels - 3))(r);
          const int64_t span = int64_t{256} << level;
          const int64_t cols = std::max<int64_t>(1, W / span), rowsn = std::max<int64_t>(1, H / span);
          const int64_t x = std::uniform_int_distribution<int64_t>(0, cols - 1)(r) * span;
          const int64_t y = std::uniform_int_distribution<int64_t>(0, rowsn - 1)(r) * span;
          const int64_t w = std::min(span, W - x), h = std::min(span, H - y);
          const std::string url = s.prefix + "/" + std::to_string(x) + "," + std::to_string(y) + "," + std::to_string(w) + "," +
                                  std::to_string(h) + "/" + std::to_string((w + (1 << level) - 1) >> level) + ",/0/default.jpg";
          int st = 0;
          lat[k].push_back(GetMs(cl, url, &st));
          ok += st == 200;
        }
      });
    }
    for (auto& t : threads) t.join();
    const double wall = Ms(t0, Clock::now());
    std::vector<double> all;
    for (auto& v : lat) all.insert(all.end(), v.begin(), v.end());
    std::printf("| %s | %d / %zu | %.1f ms | %.1f ms | %.1f ms | %.0f |\n", s.name.c_str(), ok.load(), all.size(),
                Percentile(all, 0.5), Percentile(all, 0.99), Percentile(all, 1), all.size() / (wall / 1000));
    summary += Fmt("%s%s load p50 %.1f p99 %.1f ms (%d/%zu ok)", summary.empty() ? "" : "; ", s.name.c_str(),
                   Percentile(all, 0.5), Percentile(all, 0.99), ok.load(), all.size());
  }
  std::string tiles_summary;
  for (size_t i = 0; i < sides.size(); ++i) {
    tiles_summary += Fmt("%s%s tile cold %s warm %s", i ? "; " : "", sides[i].name.c_str(), rows[0].cells[i].c_str(),
                         rows[1].cells[i].c_str());
  }
  Summary("iiif", tiles_summary + "; " + summary);
}

int Main(int argc, char** argv) {
  Config c;
  std::vector<std::string> pos;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    auto value = [&]() -> std::string { return i + 1 < argc ? argv[++i] : ""; };
    if (a == "--reps") c.reps = std::stoi(value());
    else if (a == "--clients") c.clients = std::stoi(value());
    else if (a == "--requests") c.requests = std::stoi(value());
    else if (a == "--iip-procs") c.iip_procs = std::stoi(value());
    else if (a == "--no-iip") c.iip = false;
    else if (a == "--max-tile-size") c.tile_size = value();
    else if (a == "--http-cache") c.http_cache = value();
    else pos.push_back(a);
  }
  if (pos.size() != 1 || c.reps < 1) {
    std::fprintf(stderr, "usage: tilerender-iiif-bench SLIDE.tif [--reps 20] [--clients 16] [--requests 200] [--iip-procs 2] [--no-iip] [--max-tile-size N] [--http-cache SIZE]\n");
    return 2;
  }
  c.slide = fs::absolute(pos[0]).lexically_normal().string();
  const std::string root = fs::path(c.slide).parent_path().string(), name = fs::path(c.slide).filename().string();
  std::vector<std::string> flags = {"--http-listen", "127.0.0.1:0"};
  if (!c.tile_size.empty()) flags.insert(flags.end(), {"--max-tile-size", c.tile_size});
  if (!c.http_cache.empty()) flags.insert(flags.end(), {"--http-cache", c.http_cache});
  DaemonProcess d(TILERENDERD_PATH, root, flags);
  if (!d.ok() || d.http_address().empty()) {
    std::fprintf(stderr, "the daemon did not start\n");
    return 1;
  }
  auto info = d.client().Load(name, "slide");
  if (!info.ok()) {
    std::fprintf(stderr, "cannot load %s: %s\n", c.slide.c_str(), info.status().ToString().c_str());
    return 1;
  }
  const std::string& a = d.http_address();
  std::vector<Side> sides = {{"tilerender", a.substr(0, a.rfind(':')), std::stoi(a.substr(a.rfind(':') + 1)), "/iiif/3/slide"}};
  std::unique_ptr<IipImage> iip;
  if (c.iip) {
    iip = std::make_unique<IipImage>(root, c.iip_procs);
    if (!iip->ok()) {
      std::fprintf(stderr, "IIPImage (lighttpd + iipsrv.fcgi) did not start; --no-iip to go without\n");
      return 1;
    }
    sides.push_back({"IIPImage " + std::to_string(c.iip_procs) + " procs", "127.0.0.1", iip->port(),
                     "/fcgi-bin/iipsrv.fcgi?IIIF=" + name});
  }
  std::printf("# %s: %lld x %lld\n", c.slide.c_str(), static_cast<long long>(info->width()), static_cast<long long>(info->height()));
  Measure(c, sides, info->width(), info->height(), info->levels());
  return 0;
}

}  // namespace
}  // namespace tilerender::bench

int main(int argc, char** argv) { return tilerender::bench::Main(argc, argv); }
