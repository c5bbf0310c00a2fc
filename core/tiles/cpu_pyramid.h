#pragma once
/// Pyramid levels computed on the CPU from level-0 rows as they stream in (top to bottom), for
/// software renderers: there the "GPU" is the CPU, and plain loops beat rasterising the levels
/// through llvmpipe. Same arithmetic as shaders/downsample.frag: the level-(L+1) pixel (x, y) is the
/// binomial [1 3 3 1] / 8 weighting of level-L pixels 2x-1 .. 2x+2 by 2y-1 .. 2y+2, clamped at the
/// edges, NaN-aware for float data; computed separably (rows filtered across as they arrive, then
/// four filtered rows down). Memory per level: four filtered rows and one output band.

#include <cstdint>
#include <functional>
#include <vector>

#include "core/image/image_desc.h"

namespace tilerender {

class CpuPyramid {
 public:
  /// Receives finished rows of a level (>= 1): `rows` rows from `y0`, packed, level width.
  using Sink = std::function<void(int level, int64_t y0, int64_t rows, std::vector<uint8_t> data)>;

  /// `levels` counts level 0; `band_rows` rows are collected per level before they go to the sink.
  CpuPyramid(const ImageDesc& level0, int levels, int64_t band_rows, Sink sink);

  /// Feeds level-0 rows [y0, y0 + rows) (packed, stride `stride` bytes); rows must come in order.
  void Push(const uint8_t* data, size_t stride, int64_t rows);
  /// Flushes partial bands (and an odd last row, paired with itself). Call after the last row.
  void Finish();

 private:
  struct Level {
    int64_t width = 0, height = 0;  // of this level
    // The last four input rows (of the level below) filtered across: weighted sums per output
    // column and channel, and for float data the weights of the non-NaN samples. Slot = row % 4.
    // Floats are exact here: integer sums stay below 2^24 (64 x 65535).
    std::vector<float> across[4];
    std::vector<float> weight[4];  // float data only
    int64_t rows_in = 0;   // input rows received
    int64_t next_row = 0;  // next output row of this level
    std::vector<uint8_t> band;  // output rows not yet sent
    int64_t band_y0 = 0;
  };
  // Feeds one row of level `level - 1` to level `level`.
  void Feed(int level, const uint8_t* row);
  // Makes output row `y` of `level` from its four filtered input rows.
  void Emit(int level, int64_t y);
  void Flush(int level);

  ImageDesc desc_;
  size_t bpp_;
  int64_t band_rows_;
  Sink sink_;
  std::vector<Level> levels_;  // index = level; [0] holds only sizes
  std::vector<uint8_t> row_;   // scratch output row
};

}  // namespace tilerender
