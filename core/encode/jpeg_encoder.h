#pragma once
/// JPEG encoding through TurboJPEG (libjpeg-turbo), off the render thread. JPEG has no alpha: the
/// caller composites first (EncodeFrame puts a translucent frame over its background made opaque).

#include <cstdint>
#include <vector>

#include "core/status.h"

namespace tilerender {

struct JpegEncodeOptions {
  int quality = 85;        ///< 1..100
  bool bottom_up = false;  ///< rows in GL order
};

/// Encodes width x height RGBX8 pixels (the fourth byte ignored; rows `stride` bytes apart),
/// 4:2:0 chroma below quality 90, 4:4:4 from 90 on.
Result<std::vector<uint8_t>> EncodeJpeg(const uint8_t* rgbx, int width, int height, size_t stride,
                                        const JpegEncodeOptions& options);

}  // namespace tilerender
