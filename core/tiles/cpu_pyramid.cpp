#include "core/tiles/cpu_pyramid.h"

#include <cmath>
#include <algorithm>
#include <cstring>
#include <limits>
#include <type_traits>

namespace tilerender {
namespace {

constexpr float kTap[4] = {1, 3, 3, 1};

template <typename T>
float Sample(const uint8_t* row, int64_t i) {
  T v;
  std::memcpy(&v, row + i * sizeof(T), sizeof(T));
  return static_cast<float>(v);
}

// Filters one input row across: sum[x * ch + c] = sum over i of kTap[i] * in[clamp(2x - 1 + i)];
// for float data also the weight of the non-NaN taps.
template <typename T>
void Across(const uint8_t* in, int64_t in_w, int64_t out_w, int ch, float* sum, float* weight) {
  constexpr bool kFloat = std::is_same_v<T, float>;
  auto tap = [&](int64_t x, int c) {
    float s = 0, w = 0;
    for (int i = 0; i < 4; ++i) {
      const int64_t xi = std::clamp<int64_t>(2 * x - 1 + i, 0, in_w - 1);
      const float v = Sample<T>(in, xi * ch + c);
      if (kFloat && std::isnan(v)) continue;
      s += kTap[i] * v;
      w += kTap[i];
    }
    sum[x * ch + c] = s;
    if (kFloat) weight[x * ch + c] = w;
  };
  // Interior columns need no clamp (and integer data no NaN test): the loop the compiler vectorises.
  const int64_t lo = 1, hi = std::max<int64_t>(lo, (in_w - 2) / 2);  // 2x - 1 >= 0, 2x + 2 <= in_w - 1
  for (int64_t x = 0; x < std::min(lo, out_w); ++x) {
    for (int c = 0; c < ch; ++c) tap(x, c);
  }
  if constexpr (!kFloat) {
    const T* p = reinterpret_cast<const T*>(in);
    // Integer sums (exact), one conversion per output.
    if (ch == 1) {
      for (int64_t x = lo; x < std::min(hi, out_w); ++x) {
        const T* q = p + 2 * x - 1;
        const uint32_t mid = uint32_t{q[1]} + q[2];
        sum[x] = static_cast<float>(uint32_t{q[0]} + q[3] + mid + 2 * mid);
      }
    } else {
      for (int64_t x = lo; x < std::min(hi, out_w); ++x) {
        const T* q = p + (2 * x - 1) * ch;
        for (int c = 0; c < ch; ++c) {
          const uint32_t mid = uint32_t{q[ch + c]} + q[2 * ch + c];
          sum[x * ch + c] = static_cast<float>(uint32_t{q[c]} + q[3 * ch + c] + mid + 2 * mid);
        }
      }
    }
  } else {
    for (int64_t x = lo; x < std::min(hi, out_w); ++x) {
      for (int c = 0; c < ch; ++c) tap(x, c);
    }
  }
  for (int64_t x = std::max(lo, hi); x < out_w; ++x) {
    for (int c = 0; c < ch; ++c) tap(x, c);
  }
}

template <typename T>
void Down(const float* const* sum, const float* const* weight, int64_t n, uint8_t* out8) {
  T* out = reinterpret_cast<T*>(out8);
  for (int64_t i = 0; i < n; ++i) {
    const float s = sum[0][i] + 3.f * sum[1][i] + 3.f * sum[2][i] + sum[3][i];
    if constexpr (std::is_same_v<T, float>) {
      const float w = weight[0][i] + 3.f * weight[1][i] + 3.f * weight[2][i] + weight[3][i];
      out[i] = w > 0 ? s / w : std::numeric_limits<float>::quiet_NaN();
    } else {
      // The weights sum to 64; round half up, as the GPU's unorm conversion rounds to nearest.
      out[i] = static_cast<T>((static_cast<uint32_t>(s) + 32) >> 6);
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
    if (l > 0) {
      for (int k = 0; k < 4; ++k) {
        levels_[l].across[k].resize(static_cast<size_t>(w) * level0.channels);
        if (level0.type == PixelType::kFloat32) levels_[l].weight[k].resize(static_cast<size_t>(w) * level0.channels);
      }
    }
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
  const int64_t k = L.rows_in++;
  const int64_t in_w = levels_[level - 1].width;
  float* sum = L.across[k % 4].data();
  float* weight = L.weight[k % 4].data();
  switch (desc_.type) {
    case PixelType::kUint8: Across<uint8_t>(row, in_w, L.width, desc_.channels, sum, weight); break;
    case PixelType::kUint16: Across<uint16_t>(row, in_w, L.width, desc_.channels, sum, weight); break;
    case PixelType::kFloat32: Across<float>(row, in_w, L.width, desc_.channels, sum, weight); break;
  }
  // Output row y needs input rows 2y-1 .. 2y+2: row k = 2y + 2 completes row y = k / 2 - 1.
  if (k >= 2 && k % 2 == 0) Emit(level, k / 2 - 1);
}

void CpuPyramid::Emit(int level, int64_t y) {
  Level& L = levels_[level];
  const int64_t in_h = levels_[level - 1].height;
  const float* sum[4];
  const float* weight[4];
  for (int j = 0; j < 4; ++j) {
    const int64_t r = std::clamp<int64_t>(2 * y - 1 + j, 0, in_h - 1);
    sum[j] = L.across[r % 4].data();
    weight[j] = L.weight[r % 4].data();
  }
  const size_t out_bytes = static_cast<size_t>(L.width) * bpp_;
  const size_t at = L.band.size();
  L.band.resize(at + out_bytes);
  uint8_t* out = L.band.data() + at;
  const int64_t n = L.width * desc_.channels;
  switch (desc_.type) {
    case PixelType::kUint8: Down<uint8_t>(sum, weight, n, out); break;
    case PixelType::kUint16: Down<uint16_t>(sum, weight, n, out); break;
    case PixelType::kFloat32: Down<float>(sum, weight, n, out); break;
  }
  ++L.next_row;
  const bool has_next = level + 1 < static_cast<int>(levels_.size());
  // The row feeds the next level; copy it out first, the band may be handed over below.
  if (has_next) row_.assign(out, out + out_bytes);
  if (static_cast<int64_t>(L.band.size() / out_bytes) >= band_rows_) Flush(level);
  if (has_next) Feed(level + 1, row_.data());
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
    // The last rows have no input row 2y + 2: they use the edge row instead (the clamp).
    while (L.next_row < L.height) Emit(level, L.next_row);
    Flush(level);
  }
}

}  // namespace tilerender
