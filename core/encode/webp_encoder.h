#pragma once
/// WebP encoding through libwebp, off the render thread: lossy with a quality, or lossless; alpha
/// is kept when the frame has any.

#include <cstddef>
#include <cstdint>
#include <vector>

#include "core/status.h"

namespace tilerender {

struct WebpEncodeOptions {
  int quality = 80;       ///< lossy: 0..100
  bool lossless = false;  ///< exact pixels (alpha included)
  bool write_alpha = true;
  /// Effort: lossy, libwebp's method 0 (fastest) .. 6; lossless, its preset level 0 .. 9. -1: ours
  /// (lossy 0, lossless 0: a render is encoded per request; BENCHMARKS.md has the trade).
  int effort = -1;
};

/// Encodes width x height straight-alpha RGBA8 pixels; `top` is the top row, the next row
/// `stride` bytes on (negative for frames stored bottom-up, as GL reads them back).
Result<std::vector<uint8_t>> EncodeWebp(const uint8_t* top, int width, int height, std::ptrdiff_t stride,
                                        const WebpEncodeOptions& options);

}  // namespace tilerender
