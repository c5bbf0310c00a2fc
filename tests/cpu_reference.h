#pragma once
// An independent CPU implementation of DESIGN §3, written from the text of the design and not from
// the GL code: double precision, straightforward loops. Level 0 only (no pyramid), so compare it
// with renders at zoom >= 0.75.

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <string>
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
      case PixelType::kUint32: {
        uint32_t v;
        std::memcpy(&v, data + 4 * i, 4);
        return v;
      }
    }
    return 0;
  }
};

// Colormaps, written down here and not taken from core (DESIGN §3: matplotlib/napari values).
//
// Linear ramps are their two end points (a 2-entry LUT interpolated is exactly the ramp): `gray`
// and `gray_r` as matplotlib 3.6.3 defines them (`_cm.py`, `_gray_data`: 0 -> 1 on every channel;
// `gray_r` its reverse), the single-color ramps as napari defines them (black to the pure color:
// `napari.utils.colormaps` SIMPLE_COLORMAPS; matplotlib has no `magenta` or `green` map).
inline std::vector<std::array<double, 4>> RefRamp(const std::string& name) {
  struct R {
    const char* name;
    double r, g, b;  // the color at t = 1 (black at t = 0), or white to black for gray_r
  };
  static const R kRamps[] = {{"gray", 1, 1, 1}, {"red", 1, 0, 0},  {"green", 0, 1, 0},   {"blue", 0, 0, 1},
                             {"cyan", 0, 1, 1}, {"magenta", 1, 0, 1}, {"yellow", 1, 1, 0}};
  if (name == "gray_r") return {{1, 1, 1, 1}, {0, 0, 0, 1}};
  for (const R& r : kRamps) {
    if (name == r.name) return {{0, 0, 0, 1}, {r.r, r.g, r.b, 1}};
  }
  return {};
}

// matplotlib's listed maps (`lib/matplotlib/_cm_listed.py`, matplotlib 3.6.3, Debian
// python3-matplotlib): the table size, five entries copied from the file (index, r, g, b), and
// per channel the sum of all entries and the sum of index x entry, computed once from the file
// with Python. A table that differs in any entry by more than 1e-5, is shifted, reversed, truncated
// or has its channels swapped fails these.
struct PublishedMap {
  const char* name;
  size_t size;
  struct Entry {
    size_t index;
    double rgb[3];
  } entries[5];
  double sum[3];
  double index_sum[3];
};

inline const std::vector<PublishedMap>& PublishedListedMaps() {
  static const std::vector<PublishedMap> maps = {
      {"viridis", 256,
       {{0, {0.267004, 0.004874, 0.329415}}, {64, {0.229739, 0.322361, 0.545706}},
        {128, {0.127568, 0.566949, 0.550556}}, {192, {0.369214, 0.788888, 0.382914}},
        {255, {0.993248, 0.906157, 0.143936}}},
       {83.743425, 137.734004, 110.223089},
       {13462.024718, 22576.055958, 12265.991824}},
      {"magma", 256,
       {{0, {0.001462, 0.000466, 0.013866}}, {64, {0.316654, 0.071690, 0.485380}},
        {128, {0.716387, 0.214982, 0.475290}}, {192, {0.986700, 0.535582, 0.382210}},
        {255, {0.987053, 0.991438, 0.749504}}},
       {160.920924, 82.924139, 109.556377},
       {26948.625390, 15715.256575, 15729.524338}},
      {"inferno", 256,
       {{0, {0.001462, 0.000466, 0.013866}}, {64, {0.341500, 0.062325, 0.429425}},
        {128, {0.735683, 0.215906, 0.330245}}, {192, {0.978422, 0.557937, 0.034931}},
        {255, {0.988362, 0.998364, 0.644924}}},
       {161.922869, 84.604374, 70.622141},
       {26786.327894, 16235.195771, 8731.045650}},
      {"plasma", 256,
       {{0, {0.050383, 0.029803, 0.527975}}, {64, {0.494877, 0.011990, 0.657865}},
        {128, {0.798216, 0.280197, 0.469538}}, {192, {0.973416, 0.585761, 0.251540}},
        {255, {0.940015, 0.975158, 0.131326}}},
       {180.594634, 86.231843, 110.994049},
       {28052.991203, 16585.774088, 10840.009919}},
      {"cividis", 256,
       {{0, {0.000000, 0.135112, 0.304751}}, {64, {0.263738, 0.307831, 0.422789}},
        {128, {0.488697, 0.485318, 0.471008}}, {192, {0.736488, 0.680629, 0.424028}},
        {255, {0.995737, 0.909344, 0.217772}}},
       {125.288995, 126.916879, 105.051286},
       {21526.219289, 20323.667853, 12895.291220}},
      {"turbo", 256,
       {{0, {0.18995, 0.07176, 0.23217}}, {64, {0.15844, 0.73551, 0.92305}}, {128, {0.64362, 0.98999, 0.23356}},
        {192, {0.98360, 0.49291, 0.12849}}, {255, {0.47960, 0.01583, 0.01055}}},
       {140.241830, 149.425350, 102.907820},
       {22638.775100, 17553.260520, 7697.250030}},
      {"twilight", 510,
       {{0, {0.8857501584075443, 0.8500092494306783, 0.8879736506427196}},
        {127, {0.38407269378943537, 0.46139018782416635, 0.7309466543290268}},
        {255, {0.18488035509396164, 0.07942573027972388, 0.21307651648984993}},
        {382, {0.6980608153581771, 0.3382897632604862, 0.3220747885521809}},
        {509, {0.8857115512284565, 0.8500218611585632, 0.8857253899008712}}},
       {277.352006, 213.403048, 276.430211},
       {76334.070398, 52188.774156, 62947.974472}},
  };
  return maps;
}

inline const PublishedMap* FindPublishedMap(const std::string& name) {
  for (const PublishedMap& m : PublishedListedMaps()) {
    if (name == m.name) return &m;
  }
  return nullptr;
}

/// Empty when `table` (RGBA entries in [0, 1]) is the published listed map `name`, else what differs.
inline std::string CheckPublishedMap(const std::string& name, const std::vector<std::array<double, 4>>& table) {
  const PublishedMap* m = FindPublishedMap(name);
  if (!m) return "no published table for " + name;
  if (table.size() != m->size) {
    return name + ": " + std::to_string(table.size()) + " entries, published " + std::to_string(m->size);
  }
  std::string err;
  for (const auto& e : m->entries) {
    for (int c = 0; c < 3; ++c) {
      if (std::abs(table[e.index][c] - e.rgb[c]) > 1e-6) {
        err += name + "[" + std::to_string(e.index) + "][" + std::to_string(c) + "] = " +
               std::to_string(table[e.index][c]) + ", published " + std::to_string(e.rgb[c]) + "\n";
      }
    }
  }
  for (int c = 0; c < 3; ++c) {
    double sum = 0, index_sum = 0;
    for (size_t i = 0; i < table.size(); ++i) sum += table[i][c], index_sum += i * table[i][c];
    if (std::abs(sum - m->sum[c]) > 1e-5 || std::abs(index_sum - m->index_sum[c]) > 1e-3) {
      err += name + " channel " + std::to_string(c) + ": sums " + std::to_string(sum) + ", " +
             std::to_string(index_sum) + ", published " + std::to_string(m->sum[c]) + ", " +
             std::to_string(m->index_sum[c]) + "\n";
    }
  }
  for (const auto& e : table) {
    if (e[3] != 1) return err + name + ": an entry with alpha " + std::to_string(e[3]);
  }
  return err;
}

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
