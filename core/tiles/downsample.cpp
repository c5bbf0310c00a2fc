#include "core/tiles/downsample.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <type_traits>
#include <vector>

namespace tilerender {
namespace {

constexpr float kTap[4] = {1, 3, 3, 1};

template <typename T>
float Sample(const uint8_t* row, int64_t i) {
  T v;
  std::memcpy(&v, row + i * sizeof(T), sizeof(T));
  return static_cast<float>(v);
}

// Filters one source row across for output columns [x0, x1): sum[(x - x0) * ch + c] = sum over i of
// kTap[i] * in[clamp(2x - 1 + i)]; for float data also the weight of the non-NaN taps. `row` points
// at source column sx0.
template <typename T>
void Across(const uint8_t* row, int64_t sx0, int64_t src_w, int64_t x0, int64_t x1, int ch, float* sum,
            float* weight) {
  constexpr bool kFloat = std::is_same_v<T, float>;
  auto tap = [&](int64_t x, int c) {
    float s = 0, w = 0;
    for (int i = 0; i < 4; ++i) {
      const int64_t xi = std::clamp<int64_t>(2 * x - 1 + i, 0, src_w - 1) - sx0;
      const float v = Sample<T>(row, xi * ch + c);
      if (kFloat && std::isnan(v)) continue;
      s += kTap[i] * v;
      w += kTap[i];
    }
    sum[(x - x0) * ch + c] = s;
    if (kFloat) weight[(x - x0) * ch + c] = w;
  };
  // Interior columns (2x - 1 >= 0, 2x + 2 <= src_w - 1) need no clamp, and integer data no NaN
  // test: the loop the compiler vectorises.
  const int64_t lo = std::max<int64_t>(x0, 1);
  const int64_t hi = std::max(lo, std::min<int64_t>(x1, (src_w - 2) / 2));
  for (int64_t x = x0; x < std::min(lo, x1); ++x) {
    for (int c = 0; c < ch; ++c) tap(x, c);
  }
  if constexpr (!kFloat) {
    const T* p = reinterpret_cast<const T*>(row);
    // Integer sums (exact), one conversion per output.
    if (ch == 1) {
      for (int64_t x = lo; x < hi; ++x) {
        const T* q = p + 2 * x - 1 - sx0;
        const uint32_t mid = uint32_t{q[1]} + q[2];
        sum[x - x0] = static_cast<float>(uint32_t{q[0]} + q[3] + mid + 2 * mid);
      }
    } else {
      for (int64_t x = lo; x < hi; ++x) {
        const T* q = p + (2 * x - 1 - sx0) * ch;
        for (int c = 0; c < ch; ++c) {
          const uint32_t mid = uint32_t{q[ch + c]} + q[2 * ch + c];
          sum[(x - x0) * ch + c] = static_cast<float>(uint32_t{q[c]} + q[3 * ch + c] + mid + 2 * mid);
        }
      }
    }
  } else {
    for (int64_t x = lo; x < hi; ++x) {
      for (int c = 0; c < ch; ++c) tap(x, c);
    }
  }
  for (int64_t x = std::max(lo, hi); x < x1; ++x) {
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
      // The weights sum to 64; round half up, as a GPU's unorm conversion rounds to nearest.
      out[i] = static_cast<T>((static_cast<uint32_t>(s) + 32) >> 6);
    }
  }
}

template <typename T>
void DownsampleTyped(int ch, const uint8_t* src, size_t src_stride, const PixelRect& sr, int64_t src_w,
                     int64_t src_h, const PixelRect& dst, uint8_t* out, size_t out_stride) {
  constexpr bool kFloat = std::is_same_v<T, float>;
  const int64_t n = dst.width() * ch;
  // Filtered source rows, four slots keyed by source row (consecutive output rows share two).
  std::vector<float> sums(4 * n), weights(kFloat ? 4 * n : 0);
  int64_t slot_row[4] = {-1, -1, -1, -1};
  auto across = [&](int64_t r) -> int {
    const int slot = static_cast<int>(((r % 4) + 4) % 4);
    if (slot_row[slot] != r) {
      Across<T>(src + static_cast<size_t>(r - sr.y0) * src_stride, sr.x0, src_w, dst.x0, dst.x1, ch,
                sums.data() + slot * n, kFloat ? weights.data() + slot * n : nullptr);
      slot_row[slot] = r;
    }
    return slot;
  };
  for (int64_t y = dst.y0; y < dst.y1; ++y) {
    const float* sum[4];
    const float* weight[4];
    for (int j = 0; j < 4; ++j) {
      const int64_t r = std::clamp<int64_t>(2 * y - 1 + j, 0, src_h - 1);
      // Clamped rows repeat a row already filtered: same slot, no aliasing of distinct rows since a
      // window holds at most four distinct rows.
      const int slot = across(r);
      sum[j] = sums.data() + slot * n;
      weight[j] = kFloat ? weights.data() + slot * n : nullptr;
    }
    Down<T>(sum, weight, n, out + static_cast<size_t>(y - dst.y0) * out_stride);
  }
}

}  // namespace

PixelRect DownsampleSource(const PixelRect& dst, int64_t src_w, int64_t src_h) {
  return {std::max<int64_t>(2 * dst.x0 - 1, 0), std::max<int64_t>(2 * dst.y0 - 1, 0),
          std::min<int64_t>(2 * dst.x1 + 1, src_w), std::min<int64_t>(2 * dst.y1 + 1, src_h)};
}

PixelRect LabelsSource(const PixelRect& dst, int64_t src_w, int64_t src_h) {
  return {2 * dst.x0, 2 * dst.y0, std::min<int64_t>(2 * dst.x1, src_w), std::min<int64_t>(2 * dst.y1, src_h)};
}

void Downsample(const ImageDesc& type, const uint8_t* src, size_t src_stride, const PixelRect& src_rect,
                int64_t src_w, int64_t src_h, const PixelRect& dst, uint8_t* out, size_t out_stride) {
  switch (type.type) {
    case PixelType::kUint8:
      DownsampleTyped<uint8_t>(type.channels, src, src_stride, src_rect, src_w, src_h, dst, out, out_stride);
      break;
    case PixelType::kUint16:
      DownsampleTyped<uint16_t>(type.channels, src, src_stride, src_rect, src_w, src_h, dst, out, out_stride);
      break;
    case PixelType::kFloat32:
      DownsampleTyped<float>(type.channels, src, src_stride, src_rect, src_w, src_h, dst, out, out_stride);
      break;
    case PixelType::kUint32:  // only labels are uint32: never a mean of ids
      DownsampleLabels(type, src, src_stride, src_rect, src_w, src_h, dst, out, out_stride);
      break;
  }
}

namespace {

template <typename T>
void LabelsMode(const uint8_t* src, size_t src_stride, const PixelRect& src_rect, int64_t src_w, int64_t src_h,
                const PixelRect& dst, uint8_t* out, size_t out_stride) {
  auto at = [&](int64_t x, int64_t y) {
    T v;
    std::memcpy(&v, src + static_cast<size_t>(y - src_rect.y0) * src_stride + static_cast<size_t>(x - src_rect.x0) * sizeof(T),
                sizeof(T));
    return v;
  };
  for (int64_t y = dst.y0; y < dst.y1; ++y) {
    T* row = reinterpret_cast<T*>(out + static_cast<size_t>(y - dst.y0) * out_stride);
    const int64_t y0 = 2 * y, y1 = std::min<int64_t>(2 * y + 1, src_h - 1);
    for (int64_t x = dst.x0; x < dst.x1; ++x) {
      const int64_t x0 = 2 * x, x1 = std::min<int64_t>(2 * x + 1, src_w - 1);
      // The block in order: top-left, top-right, bottom-left, bottom-right (clipped ones repeat
      // an edge pixel: they count only once).
      T v[4];
      int n = 0;
      v[n++] = at(x0, y0);
      if (x1 != x0) v[n++] = at(x1, y0);
      if (y1 != y0) {
        v[n++] = at(x0, y1);
        if (x1 != x0) v[n++] = at(x1, y1);
      }
      T best = v[0];
      int best_count = 0;
      for (int i = 0; i < n; ++i) {
        int count = 0;
        for (int j = 0; j < n; ++j) count += std::memcmp(&v[i], &v[j], sizeof(T)) == 0;
        if (count > best_count) best = v[i], best_count = count;  // strictly more: ties keep the first
      }
      std::memcpy(&row[x - dst.x0], &best, sizeof(T));
    }
  }
}

}  // namespace

void DownsampleLabels(const ImageDesc& type, const uint8_t* src, size_t src_stride, const PixelRect& src_rect,
                      int64_t src_w, int64_t src_h, const PixelRect& dst, uint8_t* out, size_t out_stride) {
  switch (type.type) {
    case PixelType::kUint8: return LabelsMode<uint8_t>(src, src_stride, src_rect, src_w, src_h, dst, out, out_stride);
    case PixelType::kUint16: return LabelsMode<uint16_t>(src, src_stride, src_rect, src_w, src_h, dst, out, out_stride);
    case PixelType::kFloat32: return LabelsMode<float>(src, src_stride, src_rect, src_w, src_h, dst, out, out_stride);
    case PixelType::kUint32: return LabelsMode<uint32_t>(src, src_stride, src_rect, src_w, src_h, dst, out, out_stride);
  }
}

}  // namespace tilerender
