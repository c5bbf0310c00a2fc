#pragma once
/// The tile plan of an image: levels of detail (level 0 = full resolution, level k = 2^k level-0
/// pixels per texel), each cut into a regular grid of GPU tiles. A tile's texture holds its own
/// pixels plus a one-texel gutter on the right and at the bottom where a neighbour exists: bilinear
/// sampling reaches one texel into the next tile there (the tile owning a sample holds the top-left
/// of its 2 x 2 footprint), and the gutter is copied from the neighbour's texture on the GPU when a
/// linear render first needs it. Each level comes from the source (a file's own pyramid level, or
/// the image in memory) or is derived from the level below with the binomial filter. Pure
/// arithmetic, no GL.

#include <cstdint>
#include <vector>

#include "core/image/image_desc.h"
#include "core/image/image_source.h"
#include "core/status.h"

namespace tilerender {

/// Half-open pixel rectangle [x0, x1) x [y0, y1) in one level's pixel coordinates.
struct PixelRect {
  int64_t x0 = 0, y0 = 0, x1 = 0, y1 = 0;
  int64_t width() const { return x1 - x0; }
  int64_t height() const { return y1 - y0; }
  bool empty() const { return x1 <= x0 || y1 <= y0; }
  PixelRect Intersect(const PixelRect& o) const;
  bool operator==(const PixelRect&) const = default;
};

/// How pixels of a given image type are stored in one texture.
enum class TexelLayout : uint8_t {
  kR8,       ///< uint8 scalar
  kR16,      ///< uint16 scalar, normalised
  kR32F,     ///< float32 scalar
  kRgbAsR8,  ///< uint8 RGB as an R8 texture three texels wide per pixel: exactly 3 bytes a pixel
  kRgba8,    ///< uint8 RGBA
  kR8UI,     ///< labels: uint8 ids, unnormalised integers (read exactly through a usampler)
  kR16UI,    ///< labels: uint16 ids
  kR32UI,    ///< labels: uint32 ids
};
/// `labels`: an integer image of object ids is stored as integers (kR8UI, kR16UI, kR32UI); float32
/// labels stay kR32F.
TexelLayout LayoutFor(const ImageDesc& desc, bool labels = false);
/// Whether shaders read `layout` through a usampler (unnormalised integers).
bool IsIntegerLayout(TexelLayout layout);
int TexelsPerPixelX(TexelLayout layout);  ///< 3 for kRgbAsR8, else 1
int BytesPerTexel(TexelLayout layout);

struct LevelPlan {
  int level = 0;  ///< k: one texel covers 2^k x 2^k level-0 pixels
  int64_t width = 0;
  int64_t height = 0;
  /// GPU tile size in pixels; tile (c, r) covers [c tw, (c + 1) tw) x [r th, (r + 1) th), clipped.
  int64_t tile_width = 0;
  int64_t tile_height = 0;
  /// Index of this level in the source's levels(), or -1: derived from level k - 1.
  int source_index = -1;
  /// Host chunks: the source's decode unit, or for derived levels one chunk per tile.
  int64_t chunk_width = 0;
  int64_t chunk_height = 0;

  bool from_source() const { return source_index >= 0; }
  int64_t columns() const { return (width + tile_width - 1) / tile_width; }
  int64_t rows() const { return (height + tile_height - 1) / tile_height; }
  int64_t tile_count() const { return columns() * rows(); }
  PixelRect Tile(int64_t column, int64_t row) const;
  PixelRect Chunk(int64_t cx, int64_t cy) const;
  /// Whether tile (column, row) has a neighbour to its right / below (and so a gutter there).
  bool HasRight(int64_t column) const { return column + 1 < columns(); }
  bool HasBelow(int64_t row) const { return row + 1 < rows(); }
};

struct ImagePlan {
  TexelLayout layout = TexelLayout::kR8;
  int tile_size = 0;  ///< the tile side (pixels) the plan was made for
  std::vector<LevelPlan> levels;
  int64_t tile_count() const;
  /// Texture size of tile (column, row) of a level in texels: its pixels (three texels each for
  /// RGB), plus the gutters.
  int64_t TextureWidth(const LevelPlan& l, int64_t column) const;
  int64_t TextureHeight(const LevelPlan& l, int64_t row) const;
  /// Exact GPU bytes of one tile's texture, of one level's tiles, of every tile of every level.
  int64_t TileBytes(const LevelPlan& l, int64_t column, int64_t row) const;
  int64_t LevelBytes(int level) const;
  int64_t TotalBytes() const;
};

/// Levels continue halving while the larger side exceeds this: even a thumbnail samples a level
/// whose texels are about one output pixel.
inline constexpr int64_t kTopLevelMaxSide = 16;

/// Plans every level of an image read from `source_levels` (ImageSource::levels()). `tile_size`
/// (>= 16) is the GPU tile side in pixels; a tile's texture, gutters included, is also kept within
/// `max_texture_size` texels wide (RGB takes three per pixel). Tiles of a source level are whole
/// multiples of its chunks where chunks are smaller than a tile, so a tile decodes no chunk
/// another tile also needs. `pyramid` false plans level 0 only.
Result<ImagePlan> PlanImage(const ImageDesc& desc, const std::vector<SourceLevel>& source_levels,
                            int tile_size, int max_texture_size, bool pyramid, bool labels = false);

}  // namespace tilerender
