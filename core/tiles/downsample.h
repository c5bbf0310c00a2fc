#pragma once
/// Derived pyramid levels, computed on the CPU a rectangle at a time: the level-(k+1) pixel (x, y)
/// is the binomial [1 3 3 1] / 8 weighting of level-k pixels 2x-1 .. 2x+2 by 2y-1 .. 2y+2, clamped
/// at the level's edges, NaN-aware for float data. Separable: source rows are filtered across once,
/// then four filtered rows down. Integer sums are exact, so a pixel's value does not depend on the
/// rectangle it was computed in: tiles of any size, paged in any order, give the same level.
/// A plain 2 x 2 mean (box filter) would leave ghost patterns on fine periodic detail.

#include <cstddef>
#include <cstdint>

#include "core/image/image_desc.h"
#include "core/tiles/tile_grid.h"

namespace tilerender {

/// The level-k pixels that level-(k+1) pixels `dst` need: [2 x0 - 1, 2 x1 + 1) x [2 y0 - 1, 2 y1 + 1)
/// clipped to the level-k size (src_w x src_h).
PixelRect DownsampleSource(const PixelRect& dst, int64_t src_w, int64_t src_h);
/// The level-k pixels that level-(k+1) labels pixels `dst` need: their 2 x 2 blocks only,
/// [2 x0, 2 x1) x [2 y0, 2 y1) clipped (no filter margin: a derived tile reads exactly the
/// chunks under it, not their neighbours as well).
PixelRect LabelsSource(const PixelRect& dst, int64_t src_w, int64_t src_h);

/// Computes level-(k+1) pixels `dst` into `out` (rows `out_stride` bytes apart). `src` points at
/// level-k pixel (src_rect.x0, src_rect.y0), rows `src_stride` apart, and holds at least
/// DownsampleSource(dst, src_w, src_h) inside src_rect. `type`: pixel type and channels.
void Downsample(const ImageDesc& type, const uint8_t* src, size_t src_stride, const PixelRect& src_rect,
                int64_t src_w, int64_t src_h, const PixelRect& dst, uint8_t* out, size_t out_stride);

/// Labels images (segmentations: each value an object id): level-(k+1) pixel (x, y) is the most
/// frequent id of level-k pixels [2x, 2x+1] x [2y, 2y+1] (clipped at the edges), ties going to the
/// first of top-left, top-right, bottom-left, bottom-right. An id is never mixed with another (a
/// mean of ids is a third, unrelated object); the mode keeps what covers most of the block, and
/// where no id dominates it is plain subsampling, what nearest sampling of level k would show.
/// Each output pixel depends on its own block only: tile-size and order invariant. `src` as for
/// Downsample, holding at least LabelsSource(dst, src_w, src_h).
void DownsampleLabels(const ImageDesc& type, const uint8_t* src, size_t src_stride, const PixelRect& src_rect,
                      int64_t src_w, int64_t src_h, const PixelRect& dst, uint8_t* out, size_t out_stride);

}  // namespace tilerender
