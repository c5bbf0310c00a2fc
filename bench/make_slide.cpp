// make_slide: writes a whole-slide-like pyramidal TIFF of any size with bounded memory.
//
//   make_slide OUT.tif WIDTH HEIGHT [--tile 256] [--quality 85] [--threads N] [--seed S]
//
// BigTIFF, RGB as JPEG (YCbCr 4:2:0, like scanners and `vips tiffsave --compression jpeg`), square
// tiles, a page pyramid (each level half the previous, floor, marked reduced-resolution) down to
// the first level that fits one tile, as `vips tiffsave --pyramid` writes it. The content looks
// like an H&E slide: white background, tissue of a few pink shades with purple nuclei, a little
// noise, so JPEG sizes and decode times are realistic (a constant image would compress to almost
// nothing). Each level is drawn from the same scene at its own scale.
//
// Memory: one tile per thread plus the tiles waiting to be written in order. Tiles are made and
// JPEG-compressed by N threads (libjpeg-turbo's TurboJPEG API); the main thread writes them with
// TIFFWriteRawTile in tile order. A 101376 x 188160 slide (57 GB of pixels, a few GB of file) takes
// minutes on two cores.

#include <tiffio.h>
#include <turbojpeg.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace {

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

// The scene, in level-0 pixel coordinates.
class Scene {
 public:
  Scene(int64_t w, int64_t h, uint32_t seed) : w_(w), h_(h), seed_(seed) {
    gw_ = w / kCell + 3;
    gh_ = h / kCell + 3;
    field_.resize(static_cast<size_t>(gw_ * gh_));
    shade_.resize(field_.size());
    for (int64_t j = 0; j < gh_; ++j) {
      for (int64_t i = 0; i < gw_; ++i) {
        field_[j * gw_ + i] = (Hash2(i, j, seed) & 0xffff) / 65535.f;
        shade_[j * gw_ + i] = (Hash2(i, j, seed + 77) & 0xffff) / 65535.f;
      }
    }
  }

  // Tissue density in [0, 1] (smooth, bilinear between coarse random values, with a vignette so
  // the slide's edges are background), and a colour shade.
  void Field(double x, double y, float* tissue, float* shade) const {
    const double gx = x / kCell, gy = y / kCell;
    const int64_t i = std::clamp<int64_t>(static_cast<int64_t>(gx), 0, gw_ - 2);
    const int64_t j = std::clamp<int64_t>(static_cast<int64_t>(gy), 0, gh_ - 2);
    const float fx = static_cast<float>(gx - i), fy = static_cast<float>(gy - j);
    auto lerp = [&](const std::vector<float>& v) {
      const float a = v[j * gw_ + i], b = v[j * gw_ + i + 1], c = v[(j + 1) * gw_ + i], d = v[(j + 1) * gw_ + i + 1];
      return (a * (1 - fx) + b * fx) * (1 - fy) + (c * (1 - fx) + d * fx) * fy;
    };
    const double ex = std::min(x, w_ - x) / (0.08 * w_), ey = std::min(y, h_ - y) / (0.08 * h_);
    const float edge = static_cast<float>(std::clamp(std::min(ex, ey), 0.0, 1.0));
    *tissue = std::clamp((lerp(field_) - 0.35f) * 5.f, 0.f, 1.f) * edge;
    *shade = lerp(shade_);
  }

  // One RGB tile of level k: pixels [x0, x0 + tw) x [y0, y0 + th) of that level.
  void Tile(int k, int64_t x0, int64_t y0, int tw, int th, int64_t level_w, int64_t level_h, uint8_t* rgb) const {
    const double s = std::ldexp(1.0, k);
    const double nucleus_r = 5.0 / s;  // nuclei shrink with the level
    for (int y = 0; y < th; ++y) {
      for (int x = 0; x < tw; ++x) {
        uint8_t* p = rgb + (static_cast<size_t>(y) * tw + x) * 3;
        const int64_t lx = x0 + x, ly = y0 + y;
        if (lx >= level_w || ly >= level_h) {
          p[0] = p[1] = p[2] = 255;
          continue;
        }
        const double wx = (lx + 0.5) * s, wy = (ly + 0.5) * s;
        float tissue, shade;
        // The field varies over thousands of pixels: evaluate it every 8 level pixels.
        if ((x & 7) == 0 || cached_row_ != ly) {
          Field(wx, wy, &tissue_, &shade_v_);
          cached_row_ = ly;
        }
        tissue = tissue_;
        shade = shade_v_;
        const uint32_t n = Hash2(lx, ly, seed_ + static_cast<uint32_t>(k));
        const int noise = static_cast<int>(n & 15) - 8;
        double r = 242, g = 240, b = 244;  // glass
        if (tissue > 0) {
          // Eosin pink, a few shades.
          const double pr = 220 - 35 * shade, pg = 120 + 45 * shade, pb = 175 - 10 * shade;
          r += (pr - r) * tissue, g += (pg - g) * tissue, b += (pb - b) * tissue;
          // Haematoxylin nuclei on a jittered 24-pixel lattice (level-0 units).
          const int64_t ci = static_cast<int64_t>(wx / 24), cj = static_cast<int64_t>(wy / 24);
          const uint32_t h = Hash2(ci, cj, seed_ + 1000);
          if ((h & 3) != 0 && tissue > 0.3f) {
            const double cx = ci * 24 + 4 + (h >> 8 & 15), cy = cj * 24 + 4 + (h >> 16 & 15);
            const double d2 = ((wx - cx) * (wx - cx) + (wy - cy) * (wy - cy)) / (s * s);
            const double rr = nucleus_r * (0.7 + (h >> 24 & 7) / 10.0);
            if (d2 < rr * rr) r = 95, g = 55, b = 140;
          }
        }
        p[0] = static_cast<uint8_t>(std::clamp<int>(static_cast<int>(r) + noise, 0, 255));
        p[1] = static_cast<uint8_t>(std::clamp<int>(static_cast<int>(g) + noise, 0, 255));
        p[2] = static_cast<uint8_t>(std::clamp<int>(static_cast<int>(b) + noise, 0, 255));
      }
    }
  }

 private:
  static constexpr int64_t kCell = 3000;
  int64_t w_, h_;
  uint32_t seed_;
  int64_t gw_, gh_;
  std::vector<float> field_, shade_;
  // Per-thread scratch lives in the Scene copy each thread makes.
  mutable int64_t cached_row_ = -1;
  mutable float tissue_ = 0, shade_v_ = 0;
};

struct Options {
  std::string out;
  int64_t width = 0, height = 0;
  int tile = 256;
  int quality = 85;
  int threads = 0;
  uint32_t seed = 1;
};

bool WriteLevel(TIFF* t, const Options& o, const Scene& scene, int k, int64_t w, int64_t h, uint64_t* total_bytes) {
  TIFFSetField(t, TIFFTAG_SUBFILETYPE, k == 0 ? 0 : FILETYPE_REDUCEDIMAGE);
  TIFFSetField(t, TIFFTAG_IMAGEWIDTH, static_cast<uint32_t>(w));
  TIFFSetField(t, TIFFTAG_IMAGELENGTH, static_cast<uint32_t>(h));
  TIFFSetField(t, TIFFTAG_BITSPERSAMPLE, 8);
  TIFFSetField(t, TIFFTAG_SAMPLESPERPIXEL, 3);
  TIFFSetField(t, TIFFTAG_PLANARCONFIG, PLANARCONFIG_CONTIG);
  TIFFSetField(t, TIFFTAG_PHOTOMETRIC, PHOTOMETRIC_YCBCR);
  TIFFSetField(t, TIFFTAG_YCBCRSUBSAMPLING, 2, 2);
  TIFFSetField(t, TIFFTAG_COMPRESSION, COMPRESSION_JPEG);
  TIFFSetField(t, TIFFTAG_TILEWIDTH, static_cast<uint32_t>(o.tile));
  TIFFSetField(t, TIFFTAG_TILELENGTH, static_cast<uint32_t>(o.tile));
  TIFFSetField(t, TIFFTAG_SOFTWARE, "tilerender make_slide");
  const int64_t cols = (w + o.tile - 1) / o.tile, rows = (h + o.tile - 1) / o.tile, n = cols * rows;

  // Workers make and compress tiles; finished ones wait here until their turn to be written.
  std::mutex mu;
  std::condition_variable cv;
  std::map<int64_t, std::vector<uint8_t>> done;
  std::atomic<int64_t> next{0};
  int64_t written = 0;
  const int64_t max_waiting = 4 * o.threads + 16;  // bounds memory if the writer falls behind
  std::atomic<bool> failed{false};
  std::vector<std::thread> workers;
  for (int i = 0; i < o.threads; ++i) {
    workers.emplace_back([&, scene_copy = scene]() {
      tjhandle tj = tjInitCompress();
      std::vector<uint8_t> rgb(static_cast<size_t>(o.tile) * o.tile * 3);
      for (int64_t idx; (idx = next.fetch_add(1)) < n && !failed;) {
        {
          std::unique_lock lock(mu);
          cv.wait(lock, [&] { return idx - written < max_waiting || failed; });
        }
        const int64_t c = idx % cols, r = idx / cols;
        scene_copy.Tile(k, c * o.tile, r * o.tile, o.tile, o.tile, w, h, rgb.data());
        unsigned char* jpeg = nullptr;
        unsigned long size = 0;
        if (tjCompress2(tj, rgb.data(), o.tile, 0, o.tile, TJPF_RGB, &jpeg, &size, TJSAMP_420, o.quality, 0) != 0) {
          std::fprintf(stderr, "make_slide: JPEG: %s\n", tjGetErrorStr2(tj));
          failed = true;
        }
        std::vector<uint8_t> bytes(jpeg, jpeg + size);
        tjFree(jpeg);
        {
          std::lock_guard lock(mu);
          done.emplace(idx, std::move(bytes));
        }
        cv.notify_all();
      }
      tjDestroy(tj);
    });
  }
  bool ok = true;
  for (int64_t idx = 0; idx < n && ok; ++idx) {
    std::vector<uint8_t> bytes;
    {
      std::unique_lock lock(mu);
      cv.wait(lock, [&] { return done.count(idx) || failed; });
      if (failed) break;
      bytes = std::move(done[idx]);
      done.erase(idx);
    }
    ok = TIFFWriteRawTile(t, static_cast<uint32_t>(idx), bytes.data(), static_cast<tmsize_t>(bytes.size())) >= 0;
    *total_bytes += bytes.size();
    {
      std::lock_guard lock(mu);
      written = idx + 1;
    }
    cv.notify_all();
  }
  if (!ok) failed = true;
  cv.notify_all();
  for (auto& th : workers) th.join();
  return ok && !failed && TIFFWriteDirectory(t);
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  std::vector<std::string> pos;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    auto value = [&]() -> const char* { return i + 1 < argc ? argv[++i] : "0"; };
    if (a == "--tile") o.tile = std::atoi(value());
    else if (a == "--quality") o.quality = std::atoi(value());
    else if (a == "--threads") o.threads = std::atoi(value());
    else if (a == "--seed") o.seed = static_cast<uint32_t>(std::atoll(value()));
    else pos.push_back(a);
  }
  if (pos.size() != 3 || o.tile < 16 || o.tile % 16 != 0 || o.quality < 1 || o.quality > 100) {
    std::fprintf(stderr, "usage: make_slide OUT.tif WIDTH HEIGHT [--tile 256] [--quality 85] [--threads N] [--seed S]\n"
                         "  (tile a multiple of 16)\n");
    return 2;
  }
  o.out = pos[0];
  o.width = std::atoll(pos[1].c_str());
  o.height = std::atoll(pos[2].c_str());
  if (o.width <= 0 || o.height <= 0 || o.width > (int64_t{1} << 31) || o.height > (int64_t{1} << 31)) {
    std::fprintf(stderr, "make_slide: bad size\n");
    return 2;
  }
  if (o.threads <= 0) o.threads = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  const auto start = std::chrono::steady_clock::now();
  TIFF* t = TIFFOpen(o.out.c_str(), "w8");
  if (t == nullptr) return 1;
  const Scene scene(o.width, o.height, o.seed);
  uint64_t bytes = 0;
  int64_t w = o.width, h = o.height;
  int levels = 0;
  for (int k = 0;; ++k) {
    if (!WriteLevel(t, o, scene, k, w, h, &bytes)) {
      std::fprintf(stderr, "make_slide: writing level %d failed\n", k);
      TIFFClose(t);
      return 1;
    }
    ++levels;
    std::fprintf(stderr, "make_slide: level %d (%lld x %lld) written, %.1f s\n", k, static_cast<long long>(w),
                 static_cast<long long>(h),
                 std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
    if (w <= o.tile && h <= o.tile) break;
    w = std::max<int64_t>(1, w / 2);
    h = std::max<int64_t>(1, h / 2);
  }
  TIFFClose(t);
  std::printf("%s: %lld x %lld RGB, %d levels, %.1f MB of JPEG tiles, %.1f s\n", o.out.c_str(),
              static_cast<long long>(o.width), static_cast<long long>(o.height), levels, bytes / 1e6,
              std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
  return 0;
}
