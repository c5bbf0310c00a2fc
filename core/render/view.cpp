#include "core/render/view.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

namespace tilerender {

std::string ShortNumber(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.9g", v);
  return buf;
}

Vec2 View::ToScreen(Vec2 p) const {
  const double dx = (mirror ? -zoom : zoom) * (p.x - cx), dy = zoom_y * (p.y - cy);
  return {width / 2.0 + cos_t * dx - sin_t * dy, height / 2.0 + sin_t * dx + cos_t * dy};
}

void View::InverseMatrix(double m[4]) const {
  // (R S)^-1 = S^-1 R^T, R^T = R(-theta).
  const double sx = mirror ? -zoom : zoom;
  m[0] = cos_t / sx, m[1] = sin_t / sx;
  m[2] = -sin_t / zoom_y, m[3] = cos_t / zoom_y;
}

Vec2 View::ToWorld(Vec2 s) const {
  double m[4];
  InverseMatrix(m);
  const double dx = s.x - width / 2.0, dy = s.y - height / 2.0;
  return {cx + m[0] * dx + m[1] * dy, cy + m[2] * dx + m[3] * dy};
}

Result<View> ResolveView(const Camera& camera, int width, int height, double world_w,
                         double world_h) {
  auto finite = [](const std::optional<double>& v) { return !v || std::isfinite(*v); };
  if (!finite(camera.center_x) || !finite(camera.center_y) || !finite(camera.zoom) || !finite(camera.zoom_y) ||
      !std::isfinite(camera.rotation_deg)) {
    return InvalidArgument("camera values must be finite (center, zoom, rotation)");
  }
  if (camera.zoom && *camera.zoom <= 0) {
    return InvalidArgument("zoom must be > 0, got " + ShortNumber(*camera.zoom));
  }
  if (camera.zoom_y && *camera.zoom_y <= 0) {
    return InvalidArgument("zoom_y must be > 0, got " + ShortNumber(*camera.zoom_y));
  }
  View v;
  v.width = width;
  v.height = height;
  v.cx = camera.center_x.value_or(world_w / 2.0);
  v.cy = camera.center_y.value_or(world_h / 2.0);
  v.zoom = camera.zoom.value_or(std::min(width / world_w, height / world_h));
  v.zoom_y = camera.zoom_y.value_or(v.zoom);
  v.mirror = camera.mirror;
  // The shader splits the center into an int and a fraction: keep it well inside int range.
  if (!(v.zoom > 0) || !std::isfinite(v.zoom) || std::abs(v.cx) > 1e9 || std::abs(v.cy) > 1e9 ||
      v.zoom > 1e9 || v.zoom < 1e-9 || v.zoom_y > 1e9 || v.zoom_y < 1e-9) {
    return InvalidArgument("camera out of range (|center| <= 1e9, zoom in [1e-9, 1e9])");
  }
  // Quarter turns get exact sines so a 90-degree view is an exact transpose/flip of the image.
  double deg = std::fmod(camera.rotation_deg, 360.0);
  if (deg < 0) deg += 360.0;
  if (deg == 0) {
    v.cos_t = 1, v.sin_t = 0;
  } else if (deg == 90) {
    v.cos_t = 0, v.sin_t = 1;
  } else if (deg == 180) {
    v.cos_t = -1, v.sin_t = 0;
  } else if (deg == 270) {
    v.cos_t = 0, v.sin_t = -1;
  } else {
    const double rad = deg * M_PI / 180.0;
    v.cos_t = std::cos(rad);
    v.sin_t = std::sin(rad);
  }
  return v;
}

int SelectLevel(double zoom, int level_count) {
  const int level = static_cast<int>(std::floor(std::log2(1.0 / zoom) + 0.5));
  return std::clamp(level, 0, std::max(level_count - 1, 0));
}

namespace {

// Separating-axis test of two convex quads given by corners in order.
bool Separated(const Vec2 (&a)[4], const Vec2 (&b)[4]) {
  for (const auto* poly : {&a, &b}) {
    for (int i = 0; i < 4; ++i) {
      const Vec2 p = (*poly)[i], q = (*poly)[(i + 1) % 4];
      const Vec2 axis{q.y - p.y, p.x - q.x};
      if (axis.x == 0 && axis.y == 0) continue;  // a degenerate quad (the pixel centres of a 1-pixel-wide view)
      double amin = INFINITY, amax = -INFINITY, bmin = INFINITY, bmax = -INFINITY;
      for (int k = 0; k < 4; ++k) {
        const double da = a[k].x * axis.x + a[k].y * axis.y;
        const double db = b[k].x * axis.x + b[k].y * axis.y;
        amin = std::min(amin, da), amax = std::max(amax, da);
        bmin = std::min(bmin, db), bmax = std::max(bmax, db);
      }
      if (amax <= bmin || bmax <= amin) return true;
    }
  }
  return false;
}

}  // namespace

bool ReachesSamples(const View& view, double x0, double y0, double x1, double y1) {
  const Vec2 rect[4] = {view.ToScreen({x0, y0}), view.ToScreen({x1, y0}), view.ToScreen({x1, y1}),
                        view.ToScreen({x0, y1})};
  const double w = view.width - 0.5, h = view.height - 0.5;
  const Vec2 screen[4] = {{0.5, 0.5}, {w, 0.5}, {w, h}, {0.5, h}};
  return !Separated(rect, screen);
}

}  // namespace tilerender
