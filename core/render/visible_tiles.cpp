#include "core/render/visible_tiles.h"

#include <algorithm>
#include <cmath>

namespace tilerender {
namespace {

// Conservative slack (level texels) against float rounding in the shader's ownership test.
constexpr double kSlack = 1.0 / 64;

}  // namespace

std::vector<NeededTile> NeededTiles(const View& view, const LevelPlan& level, double image_w, double image_h,
                                    Interpolation interpolation) {
  const double scale = std::ldexp(1.0, level.level);
  const bool linear = interpolation == Interpolation::kLinear;
  // Visible samples lie in the image and in the viewport; bound the candidates by both.
  double lo_x = INFINITY, lo_y = INFINITY, hi_x = -INFINITY, hi_y = -INFINITY;
  const Vec2 corners[4] = {view.ToWorld({0, 0}), view.ToWorld({double(view.width), 0}),
                           view.ToWorld({double(view.width), double(view.height)}),
                           view.ToWorld({0, double(view.height)})};
  for (const Vec2& c : corners) {
    lo_x = std::min(lo_x, c.x), hi_x = std::max(hi_x, c.x);
    lo_y = std::min(lo_y, c.y), hi_y = std::max(hi_y, c.y);
  }
  lo_x = std::max(lo_x, 0.0) / scale, lo_y = std::max(lo_y, 0.0) / scale;
  hi_x = std::min(hi_x, image_w) / scale, hi_y = std::min(hi_y, image_h) / scale;
  if (!(lo_x < hi_x && lo_y < hi_y)) return {};
  auto clamp_col = [&](double x) {
    return std::clamp<int64_t>(static_cast<int64_t>(std::floor(x / level.tile_width)), 0, level.columns() - 1);
  };
  auto clamp_row = [&](double y) {
    return std::clamp<int64_t>(static_cast<int64_t>(std::floor(y / level.tile_height)), 0, level.rows() - 1);
  };
  const int64_t c0 = clamp_col(lo_x - 1), c1 = clamp_col(hi_x + 1);
  const int64_t r0 = clamp_row(lo_y - 1), r1 = clamp_row(hi_y + 1);
  const int64_t cols = c1 - c0 + 1, rows = r1 - r0 + 1;

  // A rectangle in level texels, clipped to the image, against the samples (pixel centres); the
  // slack covers the shader's float rounding.
  auto visible = [&](double x0, double y0, double x1, double y1) {
    x0 = std::max(x0 - kSlack, 0.0), y0 = std::max(y0 - kSlack, 0.0);
    x1 = std::min(x1 + kSlack, image_w / scale), y1 = std::min(y1 + kSlack, image_h / scale);
    return x0 < x1 && y0 < y1 && ReachesSamples(view, x0 * scale, y0 * scale, x1 * scale, y1 * scale);
  };
  // Owned sample positions of a tile (level texels); the first and last tiles of a row or column
  // also own what the clamp sends them (samples in a partial last texel of a floor-sized level).
  const double shift = linear ? 0.5 : 0.0;
  auto owned = [&](int64_t c, int64_t r, double* x0, double* y0, double* x1, double* y1) {
    const PixelRect t = level.Tile(c, r);
    *x0 = c == 0 ? -1.0 : t.x0 + shift;
    *y0 = r == 0 ? -1.0 : t.y0 + shift;
    *x1 = c == level.columns() - 1 ? image_w / scale + 1 : t.x1 + shift;
    *y1 = r == level.rows() - 1 ? image_h / scale + 1 : t.y1 + shift;
  };

  std::vector<int> index(static_cast<size_t>(cols * rows), -1);
  std::vector<NeededTile> out;
  auto add = [&](int64_t c, int64_t r) -> int {
    int& i = index[static_cast<size_t>((r - r0) * cols + (c - c0))];
    if (i < 0) {
      i = static_cast<int>(out.size());
      out.push_back({c, r});
    }
    return i;
  };
  std::vector<std::pair<int64_t, int64_t>> drawn;
  for (int64_t r = r0; r <= r1; ++r) {
    for (int64_t c = c0; c <= c1; ++c) {
      double x0, y0, x1, y1;
      owned(c, r, &x0, &y0, &x1, &y1);
      if (visible(x0, y0, x1, y1)) drawn.push_back({c, r});
    }
  }
  for (const auto& [c, r] : drawn) out[add(c, r)].drawn = true;
  if (!linear) return out;
  // Neighbours whose first column or row a drawn tile's footprints reach: samples in the last
  // half texel before the tile's right (lower) edge, and past it up to its owned limit.
  for (const auto& [c, r] : drawn) {
    const PixelRect t = level.Tile(c, r);
    double x0, y0, x1, y1;
    owned(c, r, &x0, &y0, &x1, &y1);
    const bool has_right = c + 1 < level.columns() && c + 1 <= c1;
    const bool has_below = r + 1 < level.rows() && r + 1 <= r1;
    const int self = index[static_cast<size_t>((r - r0) * cols + (c - c0))];
    if (has_right && visible(t.x1 - 0.5, y0, x1, y1)) {
      const int i = add(c + 1, r);
      out[self].right = i;
    }
    if (has_below && visible(x0, t.y1 - 0.5, x1, y1)) {
      const int i = add(c, r + 1);
      out[self].below = i;
    }
    if (has_right && has_below && visible(t.x1 - 0.5, t.y1 - 0.5, x1, y1)) {
      const int i = add(c + 1, r + 1);
      out[self].diag = i;
    }
  }
  return out;
}

}  // namespace tilerender
