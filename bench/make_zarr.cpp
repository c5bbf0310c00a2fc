// make_zarr: writes a multi-channel fluorescence-like OME-Zarr 0.5 store (Zarr v3) of any size with
// bounded memory.
//
//   make_zarr OUT.ome.zarr WIDTH HEIGHT [--channels 4] [--chunk 1024] [--level 3] [--threads N] [--seed S]
//
// uint16, axes t c z y x (as bioformats2raw writes them) with chunks (1, 1, 1, CHUNK, CHUNK), codecs
// `bytes` (little endian) + `zstd`, a multiscale pyramid (each level half the previous, floor) down to
// the first level that fits one chunk, 0.325 µm pixels (a 20x objective) and `omero` channel labels
// and colors. The content looks like a fluorescence image of cells: a dark background with camera
// noise; channel 0 round nuclei, 1 a broader cytoplasm, 2 a ring at the cell membrane, 3 a few bright
// speckles. Each level is drawn from the same scene at its own scale.
//
// Memory: one chunk per thread. Chunks are made, compressed and written by N threads, each chunk its
// own file, so their order does not matter.

#include <zstd.h>

#include <atomic>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

namespace {

namespace fs = std::filesystem;

uint32_t Hash(uint32_t x) {
  x ^= x >> 16;
  x *= 0x7feb352du;
  x ^= x >> 15;
  x *= 0x846ca68bu;
  x ^= x >> 16;
  return x;
}

uint32_t Hash2(int64_t a, int64_t b, uint32_t seed) {
  return Hash(static_cast<uint32_t>(a) * 0x9E3779B1u ^ Hash(static_cast<uint32_t>(b) + seed));
}

constexpr int kCell = 64;  // level-0 pixels per cell; at most one cell body per grid square

// One channel's value at level-0 position (x, y); `noise` is a uniform 0..1 for this output pixel.
uint16_t Value(int channel, double x, double y, float noise, uint32_t seed) {
  const int64_t gx = static_cast<int64_t>(std::floor(x / kCell)), gy = static_cast<int64_t>(std::floor(y / kCell));
  const uint32_t h = Hash2(gx, gy, seed);
  double signal = 0;
  if ((h & 7) < 5) {  // 5 of 8 squares hold a cell
    // The cell body stays inside its square: centre within the middle, radius <= 24.
    const double cx = gx * kCell + 24 + ((h >> 3) & 15), cy = gy * kCell + 24 + ((h >> 7) & 15);
    const double r = 14 + ((h >> 11) & 7);
    const double d = std::sqrt((x - cx) * (x - cx) + (y - cy) * (y - cy));
    const double bright = 0.5 + ((h >> 14) & 255) / 510.0;
    switch (channel % 4) {
      case 0: signal = d < 0.55 * r ? 1 : d < 0.7 * r ? (0.7 * r - d) / (0.15 * r) : 0; break;  // nucleus
      case 1: signal = d < r ? 0.45 * (1 - d / r) + 0.15 : 0; break;                             // cytoplasm
      case 2: signal = std::max(0.0, 1 - std::abs(d - r) / 2.5); break;                          // membrane
      case 3: {
        const uint32_t s = Hash2(static_cast<int64_t>(x / 6), static_cast<int64_t>(y / 6), seed + 9);
        signal = d < r && (s & 31) == 0 ? 1 : 0;  // speckles
        break;
      }
    }
    signal *= bright;
  }
  const double v = 100 + 40 * noise + signal * (12000 + 4000 * channel);
  return static_cast<uint16_t>(std::min(65535.0, v));
}

struct Level {
  int64_t width, height, cols, rows;
};

struct Options {
  std::string out;
  int64_t width = 0, height = 0;
  int channels = 4, chunk = 1024, level = 3, threads = 0;
  uint32_t seed = 1;
};

bool WriteText(const fs::path& p, const std::string& text) {
  std::ofstream f(p, std::ios::binary);
  f << text;
  return static_cast<bool>(f);
}

std::string ArrayJson(const Options& o, const Level& l) {
  char buf[1024];
  std::snprintf(buf, sizeof buf,
                "{\"zarr_format\": 3, \"node_type\": \"array\", \"shape\": [1, %d, 1, %lld, %lld], \"data_type\": \"uint16\",\n"
                " \"chunk_grid\": {\"name\": \"regular\", \"configuration\": {\"chunk_shape\": [1, 1, 1, %d, %d]}},\n"
                " \"chunk_key_encoding\": {\"name\": \"default\", \"configuration\": {\"separator\": \"/\"}},\n"
                " \"fill_value\": 0, \"codecs\": [{\"name\": \"bytes\", \"configuration\": {\"endian\": \"little\"}},\n"
                " {\"name\": \"zstd\", \"configuration\": {\"level\": %d, \"checksum\": false}}],\n"
                " \"dimension_names\": [\"t\", \"c\", \"z\", \"y\", \"x\"], \"attributes\": {}}\n",
                o.channels, static_cast<long long>(l.height), static_cast<long long>(l.width), o.chunk, o.chunk, o.level);
  return buf;
}

std::string GroupJson(const Options& o, size_t levels) {
  static const char* kNames[] = {"DAPI", "Cytoplasm", "Membrane", "Speckles"};
  static const char* kColors[] = {"0000FF", "00FF00", "FF00FF", "FFFF00"};
  std::string ds;
  for (size_t i = 0; i < levels; ++i) {
    const double s = 0.325 * std::ldexp(1.0, static_cast<int>(i));
    char buf[256];
    std::snprintf(buf, sizeof buf, "%s{\"path\": \"%zu\", \"coordinateTransformations\": [{\"type\": \"scale\", \"scale\": [1, 1, 1, %g, %g]}]}",
                  i ? ", " : "", i, s, s);
    ds += buf;
  }
  std::string channels;
  for (int c = 0; c < o.channels; ++c) {
    char buf[256];
    std::snprintf(buf, sizeof buf, "%s{\"label\": \"%s%s\", \"color\": \"%s\", \"window\": {\"start\": 100, \"end\": %d}}",
                  c ? ", " : "", kNames[c % 4], c >= 4 ? std::to_string(c / 4).c_str() : "", kColors[c % 4], 12000 + 4000 * c);
    channels += buf;
  }
  return "{\"zarr_format\": 3, \"node_type\": \"group\", \"attributes\": {\"ome\": {\"version\": \"0.5\",\n"
         " \"multiscales\": [{\"name\": \"cells\", \"axes\": [{\"name\": \"t\", \"type\": \"time\"}, {\"name\": \"c\", \"type\": \"channel\"},\n"
         "  {\"name\": \"z\", \"type\": \"space\", \"unit\": \"micrometer\"}, {\"name\": \"y\", \"type\": \"space\", \"unit\": \"micrometer\"},\n"
         "  {\"name\": \"x\", \"type\": \"space\", \"unit\": \"micrometer\"}],\n  \"datasets\": [" +
         ds + "]}],\n \"omero\": {\"channels\": [" + channels + "]}}}}\n";
}

int Main(int argc, char** argv) {
  Options o;
  std::vector<std::string> pos;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    auto value = [&]() -> int { return i + 1 < argc ? std::atoi(argv[++i]) : 0; };
    if (a == "--channels") o.channels = value();
    else if (a == "--chunk") o.chunk = value();
    else if (a == "--level") o.level = value();
    else if (a == "--threads") o.threads = value();
    else if (a == "--seed") o.seed = static_cast<uint32_t>(value());
    else pos.push_back(a);
  }
  if (pos.size() != 3 || o.channels < 1 || o.chunk < 16) {
    std::fprintf(stderr, "usage: make_zarr OUT.ome.zarr WIDTH HEIGHT [--channels 4] [--chunk 1024] [--level 3] [--threads N] [--seed S]\n");
    return 2;
  }
  o.out = pos[0];
  o.width = std::atoll(pos[1].c_str());
  o.height = std::atoll(pos[2].c_str());
  if (o.width < 1 || o.height < 1) return 2;
  if (o.threads <= 0) o.threads = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));

  std::vector<Level> levels;
  for (int64_t w = o.width, h = o.height;; w /= 2, h /= 2) {
    levels.push_back({w, h, (w + o.chunk - 1) / o.chunk, (h + o.chunk - 1) / o.chunk});
    if ((w <= o.chunk && h <= o.chunk) || w < 2 || h < 2) break;
  }
  fs::remove_all(o.out);
  fs::create_directories(o.out);
  if (!WriteText(fs::path(o.out) / "zarr.json", GroupJson(o, levels.size()))) return 1;

  // Every chunk of every level and channel, in one list the threads share.
  struct Job {
    int level, channel;
    int64_t col, row;
  };
  std::vector<Job> jobs;
  for (size_t li = 0; li < levels.size(); ++li) {
    const Level& l = levels[li];
    const fs::path dir = fs::path(o.out) / std::to_string(li);
    fs::create_directories(dir);
    if (!WriteText(dir / "zarr.json", ArrayJson(o, l))) return 1;
    for (int c = 0; c < o.channels; ++c) {
      for (int64_t r = 0; r < l.rows; ++r) {
        fs::create_directories(dir / "c" / "0" / std::to_string(c) / "0" / std::to_string(r));
        for (int64_t col = 0; col < l.cols; ++col) jobs.push_back({static_cast<int>(li), c, col, r});
      }
    }
  }
  std::atomic<size_t> next{0};
  std::atomic<int64_t> bytes{0};
  std::atomic<bool> failed{false};
  auto work = [&] {
    const size_t n = static_cast<size_t>(o.chunk) * o.chunk;
    std::vector<uint16_t> px(n);
    std::vector<char> packed(ZSTD_compressBound(n * 2));
    for (size_t j; (j = next.fetch_add(1)) < jobs.size();) {
      const Job& job = jobs[j];
      const Level& l = levels[job.level];
      const double scale = std::ldexp(1.0, job.level);
      for (int y = 0; y < o.chunk; ++y) {
        const int64_t ly = job.row * o.chunk + y;
        for (int x = 0; x < o.chunk; ++x) {
          const int64_t lx = job.col * o.chunk + x;
          if (lx >= l.width || ly >= l.height) {
            px[static_cast<size_t>(y) * o.chunk + x] = 0;  // edge chunks are whole; outside is the fill
            continue;
          }
          const float noise = (Hash2(lx, ly, o.seed * 31 + job.channel * 7 + job.level) & 0xffff) / 65535.f;
          px[static_cast<size_t>(y) * o.chunk + x] = Value(job.channel, (lx + 0.5) * scale, (ly + 0.5) * scale, noise, o.seed);
        }
      }
      const size_t size = ZSTD_compress(packed.data(), packed.size(), px.data(), n * 2, o.level);
      if (ZSTD_isError(size)) {
        failed = true;
        return;
      }
      const fs::path p = fs::path(o.out) / std::to_string(job.level) / "c" / "0" / std::to_string(job.channel) / "0" /
                         std::to_string(job.row) / std::to_string(job.col);
      std::ofstream f(p, std::ios::binary);
      f.write(packed.data(), static_cast<std::streamsize>(size));
      if (!f) failed = true;
      bytes += static_cast<int64_t>(size);
    }
  };
  std::vector<std::thread> pool;
  for (int i = 0; i < o.threads; ++i) pool.emplace_back(work);
  for (auto& t : pool) t.join();
  if (failed) {
    std::fprintf(stderr, "make_zarr: cannot write %s\n", o.out.c_str());
    return 1;
  }
  std::printf("%s: %lld x %lld, %d channels uint16, %zu levels, %zu chunks, %.1f MB\n", o.out.c_str(),
              static_cast<long long>(o.width), static_cast<long long>(o.height), o.channels, levels.size(), jobs.size(),
              bytes.load() / 1e6);
  return 0;
}

}  // namespace

int main(int argc, char** argv) { return Main(argc, argv); }
