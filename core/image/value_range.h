#pragma once
/// Minimum and maximum sample value of an image, computed at load (DESIGN §3: the default contrast
/// limits of uint16 and float32 images). NaN and infinities are counted, not ranged.

#include <cstddef>
#include <cstdint>
#include <limits>

#include "core/image/image_desc.h"

namespace tilerender {

struct ValueRange {
  double min = std::numeric_limits<double>::infinity();
  double max = -std::numeric_limits<double>::infinity();
  int64_t nan_count = 0;

  bool empty() const { return !(min <= max); }
  void Merge(const ValueRange& o);
};

/// Ranges the w x h pixels at `data` (rows `stride` bytes apart). The alpha channel of RGBA is skipped.
ValueRange ComputeRange(const uint8_t* data, size_t stride, const ImageDesc& desc, int64_t w,
                        int64_t h);

}  // namespace tilerender
