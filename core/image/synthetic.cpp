#include "core/image/synthetic.h"

#include <algorithm>
#include <cmath>
#include <thread>
#include <vector>

namespace tilerender {

Result<std::unique_ptr<BufferSource>> MakeDemoImage(int64_t width, int64_t height) {
  TR_ASSIGN_OR_RETURN(std::unique_ptr<BufferSource> src,
                      BufferSource::Allocate({width, height, PixelType::kUint16, 1}));
  auto* px = reinterpret_cast<uint16_t*>(src->mutable_data());
  const double cx = width / 2.0, cy = height / 2.0;
  const double r_max = std::hypot(cx, cy);
  const double l = r_max / 0.3;  // 0.3 cycles per pixel at the corners: aliases below zoom ~0.6
  struct Cell {
    double x, y, r, a;
  };
  std::vector<Cell> cells;
  uint32_t seed = 12345;
  auto rnd = [&] { return (seed = seed * 1664525u + 1013904223u) / 4294967296.0; };
  for (int i = 0; i < 60; ++i) {
    cells.push_back({rnd() * width, rnd() * height, 20 + rnd() * 120, 8000 + rnd() * 20000});
  }
  auto rows = [&](int64_t y0, int64_t y1) {
    for (int64_t y = y0; y < y1; ++y) {
      for (int64_t x = 0; x < width; ++x) {
        const double dx = x + 0.5 - cx, dy = y + 0.5 - cy;
        double v = 18000 + 12000 * std::cos(M_PI * (dx * dx + dy * dy) / l);
        for (const Cell& c : cells) {
          const double ex = x - c.x, ey = y - c.y;
          const double d2 = ex * ex + ey * ey;
          if (d2 < 9 * c.r * c.r) v += c.a * std::exp(-d2 / (2 * c.r * c.r));
        }
        px[y * width + x] = static_cast<uint16_t>(std::clamp(v, 0.0, 65535.0));
      }
    }
  };
  const int64_t n = std::max(1u, std::thread::hardware_concurrency());
  std::vector<std::thread> workers;
  for (int64_t t = 0; t < n; ++t) workers.emplace_back(rows, height * t / n, height * (t + 1) / n);
  for (auto& w : workers) w.join();
  return src;
}

}  // namespace tilerender
