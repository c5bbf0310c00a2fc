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

  /// Allocates every texture of `level` (> 0), uninitialised, for the pyramid builder to render into.
  Status Allocate(int level, int64_t column, int64_t row);

  /// Forgets every texture without deleting it: for when the context died first.
  void Abandon();

 private:
  GridPlan plan_;
  std::vector<std::vector<gl::Texture>> textures_;  // [level][row * columns + column]
};

}  // namespace tilerender
