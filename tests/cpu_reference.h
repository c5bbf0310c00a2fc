#pragma once
// An independent CPU implementation of DESIGN §3, written from the text of the design and not from
// the GL code: double precision, straightforward loops. Level 0 only (no pyramid), so compare it
// with renders at zoom >= 0.75.

#include <array>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <vector>

#include "core/image/image_desc.h"

namespace tilerender::testing {

struct RefImage {
  ImageDesc desc;
  const uint8_t* data = nullptr;

  double Sample(int64_t x, int64_t y, int c) const {
    const size_t i = (static_cast<size_t>(y) * desc.width + x) * desc.channels + c;
    switch (desc.type) {
      case PixelType::kUint8: return data[i];
      case PixelType::kUint16: {
        uint16_t v;
        std::memcpy(&v, data + 2 * i, 2);
        return v;
      }
      case PixelType::kFloat32: {
        float v;
        std::memcpy(&v, data + 4 * i, 4);
        return v;
      }
    }
    return 0;
  }
};

struct RefLayer {
  RefImage image;
  std::vector<std::array<double, 4>> lut;  // colormap entries, RGBA in [0, 1]; scalar images
  std::array<double, 3> lo{0, 0, 0}, hi{255, 255, 255};
  double gamma = 1;
  double opacity = 1;
  bool linear = false;
  int blend = 0;  // 0 translucent, 1 additive, 2 opaque, 3 minimum, 4 maximum
};

struct RefView {
  int width, height;
  double cx, cy, zoom, rotation_deg;
  double zoom_y = 0;    ///< 0: zoom (square pixels)
  bool mirror = false;  ///< flipped horizontally before the rotation
};

/// Straight-alpha color of one layer at world point (px, py), or nullopt-like alpha < 0 for nothing.
inline bool RefShade(const RefLayer& L, double px, double py, std::array<double, 4>* out) {
  const ImageDesc& d = L.image.desc;
  if (px < 0 || py < 0 || px >= d.width || py >= d.height) return false;
  const int nc = d.channels;
  std::array<double, 4> v{0, 0, 0, 0};
  if (!L.linear) {
    const auto x = static_cast<int64_t>(std::floor(px)), y = static_cast<int64_t>(std::floor(py));
    for (int c = 0; c < nc; ++c) v[c] = L.image.Sample(x, y, c);
    if (std::isnan(v[0])) return false;
  } else {
    const double qx = px - 0.5, qy = py - 0.5;
    const double fx = qx - std::floor(qx), fy = qy - std::floor(qy);
    const auto x0 = static_cast<int64_t>(std::floor(qx)), y0 = static_cast<int64_t>(std::floor(qy));
    auto cl = [](int64_t v, int64_t n) { return v < 0 ? 0 : v >= n ? n - 1 : v; };
    const int64_t xs[2] = {cl(x0, d.width), cl(x0 + 1, d.width)};
    const int64_t ys[2] = {cl(y0, d.height), cl(y0 + 1, d.height)};
    const double w[2][2] = {{(1 - fx) * (1 - fy), fx * (1 - fy)}, {(1 - fx) * fy, fx * fy}};
    for (int j = 0; j < 2; ++j) {
      for (int i = 0; i < 2; ++i) {
        for (int c = 0; c < nc; ++c) {
          const double s = L.image.Sample(xs[i], ys[j], c);
          if (std::isnan(s) && w[j][i] > 0) return false;  // a NaN with weight makes the sample NaN
          if (w[j][i] > 0) v[c] += w[j][i] * s;          // skipped, not times 0 (inf * 0 is NaN)
        }
      }
    }
    if (std::isnan(v[0])) return false;  // +inf and -inf both with weight
  }
  const double scale = d.type == PixelType::kUint8 ? 255.0 : 1.0;
  if (nc == 1) {
    double t = std::clamp((v[0] - L.lo[0]) / (L.hi[0] - L.lo[0]), 0.0, 1.0);
    t = std::pow(t, L.gamma);
    const size_t n = L.lut.size();
    const double x = t * (n - 1);
    const size_t i = std::min(static_cast<size_t>(x), n - 2);
    const double f = x - i;
    for (int c = 0; c < 4; ++c) (*out)[c] = L.lut[i][c] + f * (L.lut[i + 1][c] - L.lut[i][c]);
  } else {
    for (int c = 0; c < 3; ++c) {
      (*out)[c] = std::pow(std::clamp((v[c] - L.lo[c]) / (L.hi[c] - L.lo[c]), 0.0, 1.0), L.gamma);
    }
    (*out)[3] = nc == 4 ? v[3] / scale : 1.0;
  }
  return true;
}

/// Top-down straight-alpha RGBA8 render of the layers over `background` (straight RGBA).
inline std::vector<uint8_t> RefRender(const RefView& view, const std::vector<RefLayer>& layers,
                                      std::array<double, 4> background = {0, 0, 0, 1}) {
  const double th = view.rotation_deg * M_PI / 180.0;
  const double ct = std::cos(th), st = std::sin(th);
  std::vector<uint8_t> out(static_cast<size_t>(view.width) * view.height * 4);
  for (int v = 0; v < view.height; ++v) {
    for (int u = 0; u < view.width; ++u) {
      // Screen -> world: p = c + R(-theta) (s - half) / zoom.
      double px, py;
      if (view.zoom_y == 0 && !view.mirror) {
        const double dx = (u + 0.5 - view.width / 2.0) / view.zoom;
        const double dy = (v + 0.5 - view.height / 2.0) / view.zoom;
        px = view.cx + ct * dx + st * dy, py = view.cy - st * dx + ct * dy;
      } else {
        // p = c + S^-1 R(-theta) (s - half), S = diag(zoom (negative when mirrored), zoom_y).
        const double dx = u + 0.5 - view.width / 2.0, dy = v + 0.5 - view.height / 2.0;
        const double sx = view.mirror ? -view.zoom : view.zoom, sy = view.zoom_y > 0 ? view.zoom_y : view.zoom;
        px = view.cx + (ct * dx + st * dy) / sx, py = view.cy + (-st * dx + ct * dy) / sy;
      }
      // Premultiplied accumulation, as compositing is defined on premultiplied color.
      std::array<double, 4> acc{background[0] * background[3], background[1] * background[3],
                                background[2] * background[3], background[3]};
      for (const RefLayer& L : layers) {
        std::array<double, 4> c;
        if (!RefShade(L, px, py, &c)) continue;
        const double a = c[3] * L.opacity;
        switch (L.blend) {
          case 0:
            for (int k = 0; k < 3; ++k) acc[k] = c[k] * a + acc[k] * (1 - a);
            acc[3] = a + acc[3] * (1 - a);
            break;
          case 1:
            for (int k = 0; k < 3; ++k) acc[k] = std::min(1.0, acc[k] + c[k] * a);
            acc[3] = std::min(1.0, acc[3] + a);
            break;
          case 2:
            for (int k = 0; k < 3; ++k) acc[k] = c[k];
            acc[3] = 1;
            break;
          case 3:
            for (int k = 0; k < 3; ++k) acc[k] = std::min(acc[k], 1 - a * (1 - c[k]));
            acc[3] = std::max(acc[3], a);
            break;
          case 4:
            for (int k = 0; k < 3; ++k) acc[k] = std::max(acc[k], c[k] * a);
            acc[3] = std::max(acc[3], a);
            break;
        }
      }
      uint8_t* o = &out[(static_cast<size_t>(v) * view.width + u) * 4];
      for (int k = 0; k < 4; ++k) {
        const double straight = k < 3 ? (acc[3] > 0 ? acc[k] / acc[3] : 0) : acc[3];
        o[k] = static_cast<uint8_t>(std::lround(std::clamp(straight, 0.0, 1.0) * 255));
      }
    }
  }
  return out;
}

struct Diff {
  size_t pixels = 0;        ///< compared
  size_t over = 0;          ///< pixels with any channel off by more than the tolerance
  int max_abs = 0;
};

inline Diff CompareRgba(const std::vector<uint8_t>& a, const std::vector<uint8_t>& b, int tolerance) {
  Diff d;
  d.pixels = a.size() / 4;
  for (size_t i = 0; i + 3 < a.size() && i + 3 < b.size(); i += 4) {
    int worst = 0;
    for (int k = 0; k < 4; ++k) worst = std::max(worst, std::abs(int{a[i + k]} - int{b[i + k]}));
    d.max_abs = std::max(d.max_abs, worst);
    if (worst > tolerance) ++d.over;
  }
  return d;
}

}  // namespace tilerender::testing
