#pragma once
/// The textures of one image: one per tile per level, laid out as GridPlan says. Render thread only.

#include <cstdint>
#include <vector>

#include "core/gl/gl_objects.h"
#include "core/status.h"
#include "core/tiles/tile_grid.h"

namespace tilerender {

/// GL formats of a texel layout.
struct GlFormat {
  unsigned internal_format;
  unsigned format;
  unsigned type;
};
GlFormat GlFormatFor(TexelLayout layout);

class GpuTiles {
 public:
  explicit GpuTiles(GridPlan plan);

  const GridPlan& plan() const { return plan_; }
  const gl::Texture& texture(int level, int64_t column, int64_t row) const {
    return textures_[level][row * plan_.levels[level].columns() + column];
  }

  /// Allocates the tile's texture and fills it from host rows: `pixels` points at the first pixel of
  /// the tile's texture rect, `row_pixels` pixels apart per row (GL_UNPACK_ROW_LENGTH, no copy).
  /// RESOURCE_EXHAUSTED on GL_OUT_OF_MEMORY.
  Status Upload(int level, int64_t column, int64_t row, const uint8_t* pixels, int64_t row_pixels);

  /// Allocates one texture, uninitialised (filled later by UploadRows or the pyramid builder).
  Status Allocate(int level, int64_t column, int64_t row);

  /// Fills the part of every allocated texture of `level` that lies in image rows [y0, y0 + rows),
  /// from a full-width band: `pixels` points at row y0, column 0, rows `row_pixels` pixels apart.
  /// Each row of the band is read once per texture that holds it (gutter rows: twice).
  Status UploadRows(int level, int64_t y0, int64_t rows, const uint8_t* pixels, int64_t row_pixels);

  /// Forgets every texture without deleting it: for when the context died first.
  void Abandon();

 private:
  Status SubImage(int level, int64_t column, int64_t row, int64_t y_offset, int64_t rows,
                  const uint8_t* pixels, int64_t row_pixels);

  GridPlan plan_;
  std::vector<std::vector<gl::Texture>> textures_;  // [level][row * columns + column]
};

}  // namespace tilerender
