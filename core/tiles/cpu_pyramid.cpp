#include "core/tiles/cpu_pyramid.h"

#include <cmath>
#include <algorithm>
#include <cstring>
#include <limits>
#include <type_traits>

namespace tilerender {
namespace {

// out[x] = mean of a[2x], a[2x+1], b[2x], b[2x+1] per channel; the odd column clamps to the edge.
template <typename T>
void MeanRow(const uint8_t* a8, const uint8_t* b8, int64_t in_w, int64_t out_w, int channels, uint8_t* out8) {
  const T* a = reinterpret_cast<const T*>(a8);
  const T* b = reinterpret_cast<const T*>(b8);
  T* out = reinterpret_cast<T*>(out8);
  for (int64_t x = 0; x < out_w; ++x) {
    const int64_t x0 = 2 * x, x1 = std::min(2 * x + 1, in_w - 1);
    for (int c = 0; c < channels; ++c) {
      const T p = a[x0 * channels + c], q = a[x1 * channels + c], r = b[x0 * channels + c], s = b[x1 * channels + c];
      if constexpr (std::is_same_v<T, float>) {
        float sum = 0;
        int n = 0;
        for (float v : {p, q, r, s}) {
          if (!std::isnan(v)) sum += v, ++n;
        }
        out[x * channels + c] = n ? sum / n : std::numeric_limits<float>::quiet_NaN();
      } else {
        // Round half up, as the unorm conversion of the GPU path rounds to nearest.
        out[x * channels + c] = static_cast<T>((uint32_t{p} + q + r + s + 2) / 4);
      }
    }
  }
}

}  // namespace

CpuPyramid::CpuPyramid(const ImageDesc& level0, int levels, int64_t band_rows, Sink sink)
    : desc_(level0), bpp_(level0.bytes_per_pixel()), band_rows_(std::max<int64_t>(1, band_rows)), sink_(std::move(sink)) {
  levels_.resize(levels);
  int64_t w = level0.width, h = level0.height;
  for (int l = 0; l < levels; ++l) {
    levels_[l].width = w;
    levels_[l].height = h;
    w = (w + 1) / 2;
    h = (h + 1) / 2;
  }
}

void CpuPyramid::Push(const uint8_t* data, size_t stride, int64_t rows) {
  if (levels_.size() < 2) return;
  for (int64_t r = 0; r < rows; ++r) Feed(1, data + static_cast<size_t>(r) * stride);
}

void CpuPyramid::Feed(int level, const uint8_t* row) {
  Level& L = levels_[level];
  const size_t in_bytes = static_cast<size_t>(levels_[level - 1].width) * bpp_;
  if (!L.has_pending) {
    L.pending.assign(row, row + in_bytes);
    L.has_pending = true;
    return;
  }
  L.has_pending = false;
  Emit(level, L.pending.data(), row);
}

void CpuPyramid::Emit(int level, const uint8_t* a, const uint8_t* b) {
  Level& L = levels_[level];
  const int64_t in_w = levels_[level - 1].width;
  const size_t out_bytes = static_cast<size_t>(L.width) * bpp_;
  const size_t at = L.band.size();
  L.band.resize(at + out_bytes);
  uint8_t* out = L.band.data() + at;
  switch (desc_.type) {
    case PixelType::kUint8: MeanRow<uint8_t>(a, b, in_w, L.width, desc_.channels, out); break;
    case PixelType::kUint16: MeanRow<uint16_t>(a, b, in_w, L.width, desc_.channels, out); break;
    case PixelType::kFloat32: MeanRow<float>(a, b, in_w, L.width, desc_.channels, out); break;
  }
  ++L.next_row;
  if (level + 1 < static_cast<int>(levels_.size())) {
    // The row feeds the next level now; copy it out first, the band may be handed over below.
    row_.assign(out, out + out_bytes);
  }
  if (static_cast<int64_t>(L.band.size() / out_bytes) >= band_rows_) Flush(level);
  if (level + 1 < static_cast<int>(levels_.size())) Feed(level + 1, row_.data());
}

void CpuPyramid::Flush(int level) {
  Level& L = levels_[level];
  if (L.band.empty()) return;
  const int64_t rows = static_cast<int64_t>(L.band.size() / (static_cast<size_t>(L.width) * bpp_));
  sink_(level, L.band_y0, rows, std::move(L.band));
  L.band = {};
  L.band_y0 += rows;
}

void CpuPyramid::Finish() {
  for (int level = 1; level < static_cast<int>(levels_.size()); ++level) {
    Level& L = levels_[level];
    if (L.has_pending) {
      // An odd last row pairs with itself (the edge clamp).
      L.has_pending = false;
      std::vector<uint8_t> last = std::move(L.pending);
      Emit(level, last.data(), last.data());
    }
    Flush(level);
  }
}

}  // namespace tilerender
