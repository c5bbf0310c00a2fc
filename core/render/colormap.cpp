#include "core/render/colormap.h"

#include <algorithm>
#include <cmath>

#include "core/render/colormap_data.h"

namespace tilerender {
namespace {

struct Ramp {
  const char* name;
  Rgba from;
  Rgba to;
};

// Linear ramps need only their two end points: interpolating a 2-entry LUT is exactly the ramp.
constexpr Ramp kRamps[] = {
    {"gray", {0, 0, 0, 1}, {1, 1, 1, 1}},    {"gray_r", {1, 1, 1, 1}, {0, 0, 0, 1}},
    {"red", {0, 0, 0, 1}, {1, 0, 0, 1}},     {"green", {0, 0, 0, 1}, {0, 1, 0, 1}},
    {"blue", {0, 0, 0, 1}, {0, 0, 1, 1}},    {"cyan", {0, 0, 0, 1}, {0, 1, 1, 1}},
    {"magenta", {0, 0, 0, 1}, {1, 0, 1, 1}}, {"yellow", {0, 0, 0, 1}, {1, 1, 0, 1}},
};

bool ValidColor(const Rgba& c) {
  for (float v : {c.r, c.g, c.b, c.a}) {
    if (!std::isfinite(v) || v < 0.f || v > 1.f) return false;
  }
  return true;
}

std::string KnownNames() {
  std::string s;
  for (const std::string& n : ColormapNames()) s += (s.empty() ? "" : ", ") + n;
  return s;
}

Result<Lut> FromControlPoints(const std::vector<ControlPoint>& points) {
  for (size_t i = 0; i < points.size(); ++i) {
    const ControlPoint& p = points[i];
    if (!std::isfinite(p.position) || p.position < 0 || p.position > 1) {
      return InvalidArgument("colormap control point " + std::to_string(i) +
                             ": position must be in [0, 1]");
    }
    if (i > 0 && p.position < points[i - 1].position) {
      return InvalidArgument("colormap control points must be sorted by position (point " +
                             std::to_string(i) + ")");
    }
    if (!ValidColor(p.color)) {
      return InvalidArgument("colormap control point " + std::to_string(i) +
                             ": color components must be in [0, 1]");
    }
  }
  Lut lut;
  lut.entries.resize(kControlPointLutSize);
  for (size_t i = 0; i < kControlPointLutSize; ++i) {
    const double t = static_cast<double>(i) / (kControlPointLutSize - 1);
    // First point at or after t; colors hold constant outside the first and last points.
    auto hi = std::lower_bound(points.begin(), points.end(), t,
                               [](const ControlPoint& p, double v) { return p.position < v; });
    if (hi == points.begin()) {
      lut.entries[i] = points.front().color;
    } else if (hi == points.end()) {
      lut.entries[i] = points.back().color;
    } else {
      const ControlPoint& a = *(hi - 1);
      const ControlPoint& b = *hi;
      const double span = b.position - a.position;
      const float f = span > 0 ? static_cast<float>((t - a.position) / span) : 1.f;
      lut.entries[i] = {a.color.r + f * (b.color.r - a.color.r), a.color.g + f * (b.color.g - a.color.g),
                        a.color.b + f * (b.color.b - a.color.b), a.color.a + f * (b.color.a - a.color.a)};
    }
  }
  return lut;
}

}  // namespace

const std::vector<std::string>& ColormapNames() {
  static const std::vector<std::string> names = [] {
    std::vector<std::string> n;
    for (const Ramp& r : kRamps) n.emplace_back(r.name);
    for (size_t i = 0; i < colormap_data::kListedCount; ++i) {
      n.emplace_back(colormap_data::kListed[i].name);
    }
    return n;
  }();
  return names;
}

Result<Lut> ResolveColormap(const ColormapSpec& spec) {
  const int given = !spec.name.empty() + !spec.points.empty() + !spec.lut.empty();
  if (given > 1) {
    return InvalidArgument("a colormap is a name, control points or a LUT: give only one");
  }
  if (!spec.points.empty()) return FromControlPoints(spec.points);
  if (!spec.lut.empty()) {
    if (spec.lut.size() != kRawLutSize) {
      return InvalidArgument("a colormap LUT must have " + std::to_string(kRawLutSize) +
                             " RGBA entries, got " + std::to_string(spec.lut.size()));
    }
    for (const Rgba& c : spec.lut) {
      if (!ValidColor(c)) return InvalidArgument("colormap LUT components must be in [0, 1]");
    }
    return Lut{spec.lut, ""};
  }
  const std::string name = spec.name.empty() ? "gray" : spec.name;
  for (const Ramp& r : kRamps) {
    if (name == r.name) return Lut{{r.from, r.to}, name};
  }
  for (size_t i = 0; i < colormap_data::kListedCount; ++i) {
    const colormap_data::ListedMap& m = colormap_data::kListed[i];
    if (name == m.name) {
      Lut lut;
      lut.cache_key = name;
      lut.entries.reserve(m.size);
      for (size_t j = 0; j < m.size; ++j) lut.entries.push_back({m.rgb[j][0], m.rgb[j][1], m.rgb[j][2], 1});
      return lut;
    }
  }
  return InvalidArgument("unknown colormap '" + name + "'; known: " + KnownNames());
}

}  // namespace tilerender
