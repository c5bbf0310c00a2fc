#pragma once
/// Which tiles of a level a render reads (pure arithmetic, no GL). A tile *owns* the output
/// samples whose texel it holds: with nearest sampling the texel under the sample, with linear the
/// top-left texel of the 2 x 2 footprint (clamped to the level), so bilinear sampling reaches at
/// most one texel into the right, lower and diagonal neighbours, whose first column, row and texel
/// are copied into the tile's gutters. The same test runs in the fragment shader; here it decides
/// which tiles to page in, draw, and fill gutters from.

#include <cstdint>
#include <vector>

#include "core/render/render_request.h"
#include "core/render/view.h"
#include "core/tiles/tile_grid.h"

namespace tilerender {

struct NeededTile {
  int64_t column = 0;
  int64_t row = 0;
  bool drawn = false;  ///< owns visible samples (else only a drawn neighbour's footprint reaches it)
  /// Indices in the list of the neighbours whose texels this tile's samples read (linear), or -1.
  int right = -1, below = -1, diag = -1;
};

/// The tiles of `level` (texels of 2^level.level world units) that a render of `view` reads from an
/// image of image_w x image_h world units, drawn tiles in row-major order.
std::vector<NeededTile> NeededTiles(const View& view, const LevelPlan& level, double image_w, double image_h,
                                    Interpolation interpolation);

}  // namespace tilerender
