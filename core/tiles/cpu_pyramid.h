#pragma once
/// Pyramid levels computed on the CPU from level-0 rows as they stream in (top to bottom), for
/// software renderers: there the "GPU" is the CPU, and plain loops beat rasterising the 2x2 means
/// through llvmpipe by ~5x. Same arithmetic as shaders/downsample.frag: each level-(L+1) pixel is the
/// mean of the 2x2 block at (2x, 2y) of level L, the second row/column clamped to the level's edge,
/// NaN-aware for float data. Memory: one pending row and one output band per level.

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
    std::vector<uint8_t> pending;   // the even row of the level below, waiting for its pair
    bool has_pending = false;
    int64_t next_row = 0;           // next output row of this level
    std::vector<uint8_t> band;      // output rows not yet sent
    int64_t band_y0 = 0;
  };
  // Feeds one row of level `level - 1` to level `level`.
  void Feed(int level, const uint8_t* row);
  void Emit(int level, const uint8_t* a, const uint8_t* b);
  void Flush(int level);

  ImageDesc desc_;
  size_t bpp_;
  int64_t band_rows_;
  Sink sink_;
  std::vector<Level> levels_;  // index = level; [0] holds only sizes
  std::vector<uint8_t> row_;   // scratch output row
};

}  // namespace tilerender
