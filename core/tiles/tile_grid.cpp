#include "core/tiles/tile_grid.h"

#include <algorithm>

namespace tilerender {

PixelRect PixelRect::Intersect(const PixelRect& o) const {
  return {std::max(x0, o.x0), std::max(y0, o.y0), std::min(x1, o.x1), std::min(y1, o.y1)};
}

TexelLayout LayoutFor(const ImageDesc& d, bool labels) {
  if (d.channels == 3) return TexelLayout::kRgbAsR8;
  if (d.channels == 4) return TexelLayout::kRgba8;
  switch (d.type) {
    case PixelType::kUint8: return labels ? TexelLayout::kR8UI : TexelLayout::kR8;
    case PixelType::kUint16: return labels ? TexelLayout::kR16UI : TexelLayout::kR16;
    case PixelType::kFloat32: return TexelLayout::kR32F;
    case PixelType::kUint32: return TexelLayout::kR32UI;  // only labels are uint32
  }
  return TexelLayout::kR8;
}

bool IsIntegerLayout(TexelLayout layout) {
  return layout == TexelLayout::kR8UI || layout == TexelLayout::kR16UI || layout == TexelLayout::kR32UI;
}

int TexelsPerPixelX(TexelLayout layout) { return layout == TexelLayout::kRgbAsR8 ? 3 : 1; }

int BytesPerTexel(TexelLayout layout) {
  switch (layout) {
    case TexelLayout::kR8:
    case TexelLayout::kR8UI:
    case TexelLayout::kRgbAsR8: return 1;
    case TexelLayout::kR16:
    case TexelLayout::kR16UI: return 2;
    case TexelLayout::kR32F:
    case TexelLayout::kR32UI:
    case TexelLayout::kRgba8: return 4;
  }
  return 0;
}

PixelRect LevelPlan::Tile(int64_t column, int64_t row) const {
  return {column * tile_width, row * tile_height, std::min((column + 1) * tile_width, width),
          std::min((row + 1) * tile_height, height)};
}

PixelRect LevelPlan::Chunk(int64_t cx, int64_t cy) const {
  return {cx * chunk_width, cy * chunk_height, std::min((cx + 1) * chunk_width, width),
          std::min((cy + 1) * chunk_height, height)};
}

int64_t ImagePlan::tile_count() const {
  int64_t n = 0;
  for (const LevelPlan& l : levels) n += l.tile_count();
  return n;
}

int64_t ImagePlan::TextureWidth(const LevelPlan& l, int64_t column) const {
  return (l.Tile(column, 0).width() + (l.HasRight(column) ? 1 : 0)) * TexelsPerPixelX(layout);
}

int64_t ImagePlan::TextureHeight(const LevelPlan& l, int64_t row) const {
  return l.Tile(0, row).height() + (l.HasBelow(row) ? 1 : 0);
}

int64_t ImagePlan::TileBytes(const LevelPlan& l, int64_t column, int64_t row) const {
  return TextureWidth(l, column) * TextureHeight(l, row) * BytesPerTexel(layout);
}

int64_t ImagePlan::LevelBytes(int level) const {
  const LevelPlan& l = levels.at(level);
  // Every interior edge adds one gutter column (row) of texels.
  const int64_t texels_x = (l.width + l.columns() - 1) * TexelsPerPixelX(layout);
  const int64_t texels_y = l.height + l.rows() - 1;
  return texels_x * texels_y * BytesPerTexel(layout);
}

int64_t ImagePlan::TotalBytes() const {
  int64_t bytes = 0;
  for (size_t i = 0; i < levels.size(); ++i) bytes += LevelBytes(static_cast<int>(i));
  return bytes;
}

namespace {

// A tile side along one axis of a level the source has: whole chunks when they are smaller than
// the wanted side, so tiles never share a chunk, and no more of them than make kChunkTileSide: a
// tile is paged in with as few chunk decodes as a view needs (a cold 256 x 256 view of a file with
// 256 x 256 tiles reads one, not the four of a 512 tile). The wanted side where chunks are larger;
// never beyond the level.
constexpr int64_t kChunkTileSide = 256;

int64_t TileSide(int64_t wanted, int64_t chunk, int64_t extent) {
  int64_t side = wanted;
  if (chunk > 0 && chunk <= wanted) {
    side = std::min(wanted / chunk, std::max<int64_t>(1, (kChunkTileSide + chunk - 1) / chunk)) * chunk;
  }
  return std::max<int64_t>(1, std::min(side, extent));
}

}  // namespace

Result<ImagePlan> PlanImage(const ImageDesc& desc, const std::vector<SourceLevel>& source_levels,
                            int tile_size, int max_texture_size, bool pyramid, bool labels) {
  if (tile_size < 16) return InvalidArgument("tile size must be at least 16, got " + std::to_string(tile_size));
  if (source_levels.empty() || source_levels[0].level != 0 || source_levels[0].width != desc.width ||
      source_levels[0].height != desc.height) {
    return InvalidArgument("the source's level 0 does not match the image size");
  }
  ImagePlan plan;
  plan.layout = LayoutFor(desc, labels);
  plan.tile_size = tile_size;
  // A texture holds the tile and a one-pixel gutter.
  const int64_t max_x = std::max<int64_t>(1, std::min<int64_t>(tile_size, max_texture_size / TexelsPerPixelX(plan.layout) - 1));
  const int64_t max_y = std::min<int64_t>(tile_size, max_texture_size - 1);
  int64_t w = desc.width, h = desc.height;
  for (int k = 0;; ++k) {
    LevelPlan l;
    l.level = k;
    for (size_t i = 0; i < source_levels.size(); ++i) {
      if (source_levels[i].level == k) l.source_index = static_cast<int>(i);
    }
    if (l.source_index >= 0) {
      const SourceLevel& s = source_levels[l.source_index];
      l.width = s.width;
      l.height = s.height;
      l.chunk_width = std::max<int64_t>(1, s.chunk_width);
      l.chunk_height = std::max<int64_t>(1, s.chunk_height);
      l.tile_width = TileSide(max_x, l.chunk_width, l.width);
      l.tile_height = TileSide(max_y, l.chunk_height, l.height);
    } else {
      l.width = w;
      l.height = h;
      l.tile_width = std::min(max_x, w);
      l.tile_height = std::min(max_y, h);
      l.chunk_width = l.tile_width;
      l.chunk_height = l.tile_height;
    }
    plan.levels.push_back(l);
    if (!pyramid || std::max(l.width, l.height) <= kTopLevelMaxSide) break;
    w = (l.width + 1) / 2;
    h = (l.height + 1) / 2;
  }
  return plan;
}

}  // namespace tilerender
