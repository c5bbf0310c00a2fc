#include "core/tiles/tile_grid.h"

#include <algorithm>

namespace tilerender {

TexelLayout LayoutFor(const ImageDesc& d) {
  if (d.channels == 3) return TexelLayout::kRgbAsR8;
  if (d.channels == 4) return TexelLayout::kRgba8;
  switch (d.type) {
    case PixelType::kUint8: return TexelLayout::kR8;
    case PixelType::kUint16: return TexelLayout::kR16;
    case PixelType::kFloat32: return TexelLayout::kR32F;
  }
  return TexelLayout::kR8;
}

int TexelsPerPixelX(TexelLayout layout) { return layout == TexelLayout::kRgbAsR8 ? 3 : 1; }

int BytesPerTexel(TexelLayout layout) {
  switch (layout) {
    case TexelLayout::kR8:
    case TexelLayout::kRgbAsR8: return 1;
    case TexelLayout::kR16: return 2;
    case TexelLayout::kR32F:
    case TexelLayout::kRgba8: return 4;
  }
  return 0;
}

std::vector<int64_t> SplitAxis(int64_t extent, int64_t max_texels) {
  if (extent <= max_texels) return {0, extent};
  // Interior tiles carry two gutters; balanced cuts keep every core within the rest, so no sliver.
  const int64_t core_max = max_texels - 2 * kGutter;
  const int64_t n = (extent + core_max - 1) / core_max;
  std::vector<int64_t> cuts(n + 1);
  for (int64_t i = 0; i <= n; ++i) cuts[i] = i * extent / n;
  return cuts;
}

TilePlan LevelPlan::Tile(int64_t column, int64_t row) const {
  TilePlan t;
  t.core = {xs[column], ys[row], xs[column + 1], ys[row + 1]};
  t.texture = {std::max<int64_t>(t.core.x0 - kGutter, 0), std::max<int64_t>(t.core.y0 - kGutter, 0),
               std::min(t.core.x1 + kGutter, width), std::min(t.core.y1 + kGutter, height)};
  return t;
}

int64_t GridPlan::tile_count() const {
  int64_t n = 0;
  for (const LevelPlan& l : levels) n += l.columns() * l.rows();
  return n;
}

int64_t GridPlan::LevelBytes(int level) const {
  const LevelPlan& l = levels.at(level);
  int64_t bytes = 0;
  for (int64_t r = 0; r < l.rows(); ++r) {
    for (int64_t c = 0; c < l.columns(); ++c) {
      const PixelRect tex = l.Tile(c, r).texture;
      bytes += tex.width() * TexelsPerPixelX(layout) * tex.height() * BytesPerTexel(layout);
    }
  }
  return bytes;
}

int64_t GridPlan::TotalBytes() const {
  int64_t bytes = 0;
  for (size_t i = 0; i < levels.size(); ++i) bytes += LevelBytes(static_cast<int>(i));
  return bytes;
}

Result<GridPlan> PlanGrid(const ImageDesc& desc, int max_texture_size, bool pyramid) {
  if (max_texture_size < 16) {
    return InvalidArgument("tile size must be at least 16, got " + std::to_string(max_texture_size));
  }
  GridPlan plan;
  plan.layout = LayoutFor(desc);
  plan.max_texture_size = max_texture_size;
  const int64_t max_x = max_texture_size / TexelsPerPixelX(plan.layout);
  int64_t w = desc.width;
  int64_t h = desc.height;
  for (int level = 0;; ++level) {
    LevelPlan l;
    l.level = level;
    l.width = w;
    l.height = h;
    l.xs = SplitAxis(w, max_x);
    l.ys = SplitAxis(h, max_texture_size);
    plan.levels.push_back(std::move(l));
    if (!pyramid || std::max(w, h) <= kTopLevelMaxSide) break;
    w = (w + 1) / 2;
    h = (h + 1) / 2;
  }
  return plan;
}

}  // namespace tilerender
