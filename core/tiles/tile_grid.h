#pragma once
/// The tile plan of an image: levels of detail (level 0 = full resolution, each next level half the
/// size, rounded up), each cut into balanced tiles whose textures overlap their neighbours by a
/// gutter, so sampling never depends on where the cuts fall. Pure arithmetic, no GL.

#include <cstdint>
#include <vector>

#include "core/image/image_desc.h"
#include "core/status.h"

namespace tilerender {

/// Half-open pixel rectangle [x0, x1) x [y0, y1) in one level's pixel coordinates.
struct PixelRect {
  int64_t x0 = 0, y0 = 0, x1 = 0, y1 = 0;
  int64_t width() const { return x1 - x0; }
  int64_t height() const { return y1 - y0; }
  bool operator==(const PixelRect&) const = default;
};

/// Texels each tile texture overlaps its neighbours by: bilinear sampling needs 1; the pyramid's
/// 4 x 4 downsampling kernel needs 2.
inline constexpr int64_t kGutter = 2;

struct TilePlan {
  PixelRect core;     ///< pixels this tile owns (the tiles of a level partition it)
  PixelRect texture;  ///< core plus a kGutter-pixel gutter on every side that has a neighbour
};

/// How pixels of a given image type are stored in one texture.
enum class TexelLayout : uint8_t {
  kR8,       ///< uint8 scalar
  kR16,      ///< uint16 scalar, normalised
  kR32F,     ///< float32 scalar
  kRgbAsR8,  ///< uint8 RGB as an R8 texture three texels wide per pixel: exactly 3 bytes a pixel
  kRgba8,    ///< uint8 RGBA
};
TexelLayout LayoutFor(const ImageDesc& desc);
int TexelsPerPixelX(TexelLayout layout);  ///< 3 for kRgbAsR8, else 1
int BytesPerTexel(TexelLayout layout);

struct LevelPlan {
  int level = 0;
  int64_t width = 0;   ///< ceil(image width / 2^level)
  int64_t height = 0;
  std::vector<int64_t> xs;  ///< tile column boundaries: xs.front() == 0, xs.back() == width
  std::vector<int64_t> ys;
  int64_t columns() const { return static_cast<int64_t>(xs.size()) - 1; }
  int64_t rows() const { return static_cast<int64_t>(ys.size()) - 1; }
  TilePlan Tile(int64_t column, int64_t row) const;
};

struct GridPlan {
  TexelLayout layout = TexelLayout::kR8;
  int max_texture_size = 0;  ///< the T the plan was made for (texture side, gutters included)
  std::vector<LevelPlan> levels;
  int64_t tile_count() const;
  /// Exact GPU bytes of every texture of one level / of all levels.
  int64_t LevelBytes(int level) const;
  int64_t TotalBytes() const;
};

/// Cuts [0, extent) into the fewest near-equal pieces whose size plus two gutters fits in
/// `max_texels` (one piece, without gutters, when the whole extent fits). Returns boundaries.
std::vector<int64_t> SplitAxis(int64_t extent, int64_t max_texels);

/// Levels continue halving while the larger side exceeds this: even a thumbnail samples a level
/// whose texels are about one output pixel.
inline constexpr int64_t kTopLevelMaxSide = 16;

/// Plans every level. `max_texture_size` is T (>= 16); `pyramid` false plans level 0 only.
Result<GridPlan> PlanGrid(const ImageDesc& desc, int max_texture_size, bool pyramid);

}  // namespace tilerender
