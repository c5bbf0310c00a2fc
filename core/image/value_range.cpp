#include "core/image/value_range.h"

#include <algorithm>
#include <cmath>
#include <cstring>

namespace tilerender {

void ValueRange::Merge(const ValueRange& o) {
  min = std::min(min, o.min);
  max = std::max(max, o.max);
  nan_count += o.nan_count;
}

namespace {

template <typename T>
void RangeRows(const uint8_t* data, size_t stride, int64_t w, int64_t h, int channels,
               int ranged_channels, ValueRange* r) {
  T lo = std::numeric_limits<T>::max();
  T hi = std::numeric_limits<T>::lowest();
  for (int64_t y = 0; y < h; ++y) {
    const T* row = reinterpret_cast<const T*>(data + static_cast<size_t>(y) * stride);
    if (channels == ranged_channels) {
      // Tight loop the compiler vectorises.
      for (int64_t i = 0; i < w * channels; ++i) {
        lo = std::min(lo, row[i]);
        hi = std::max(hi, row[i]);
      }
    } else {
      for (int64_t x = 0; x < w; ++x) {
        for (int c = 0; c < ranged_channels; ++c) {
          lo = std::min(lo, row[x * channels + c]);
          hi = std::max(hi, row[x * channels + c]);
        }
      }
    }
  }
  if (w > 0 && h > 0) {
    r->min = std::min(r->min, static_cast<double>(lo));
    r->max = std::max(r->max, static_cast<double>(hi));
  }
}

// Scalar integers read with memcpy (any alignment).
template <typename T>
void RangeUnaligned(const uint8_t* data, size_t stride, int64_t w, int64_t h, ValueRange* r) {
  for (int64_t y = 0; y < h; ++y) {
    for (int64_t x = 0; x < w; ++x) {
      T v;
      std::memcpy(&v, data + static_cast<size_t>(y) * stride + static_cast<size_t>(x) * sizeof(T), sizeof(T));
      r->min = std::min(r->min, static_cast<double>(v));
      r->max = std::max(r->max, static_cast<double>(v));
    }
  }
}

void RangeFloatRows(const uint8_t* data, size_t stride, int64_t w, int64_t h, ValueRange* r) {
  for (int64_t y = 0; y < h; ++y) {
    const uint8_t* row = data + static_cast<size_t>(y) * stride;
    for (int64_t x = 0; x < w; ++x) {
      float v;
      std::memcpy(&v, row + x * 4, 4);  // rows of a memory map need not be 4-byte aligned
      if (std::isnan(v)) {
        ++r->nan_count;
      } else if (std::isfinite(v)) {
        r->min = std::min(r->min, static_cast<double>(v));
        r->max = std::max(r->max, static_cast<double>(v));
      }
    }
  }
}

}  // namespace

ValueRange ComputeRange(const uint8_t* data, size_t stride, const ImageDesc& desc, int64_t w,
                        int64_t h) {
  ValueRange r;
  const int ranged = desc.channels == 4 ? 3 : desc.channels;
  switch (desc.type) {
    case PixelType::kUint8:
      RangeRows<uint8_t>(data, stride, w, h, desc.channels, ranged, &r);
      break;
    case PixelType::kUint16:
      if (reinterpret_cast<uintptr_t>(data) % 2 == 0 && stride % 2 == 0) {
        RangeRows<uint16_t>(data, stride, w, h, 1, 1, &r);
      } else {
        RangeUnaligned<uint16_t>(data, stride, w, h, &r);
      }
      break;
    case PixelType::kFloat32:
      RangeFloatRows(data, stride, w, h, &r);
      break;
    case PixelType::kUint32:
      RangeUnaligned<uint32_t>(data, stride, w, h, &r);
      break;
  }
  return r;
}

}  // namespace tilerender
