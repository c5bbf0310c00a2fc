#pragma once
/// PNG encoding with libpng, off the render thread. libpng's longjmp never crosses a C++ frame that
/// owns resources: errors come back as a Status.

#include <cstdint>
#include <vector>

#include "core/status.h"

namespace tilerender {

struct PngEncodeOptions {
  int level = 1;           ///< zlib level 0..9
  bool write_alpha = true; ///< RGBA; false writes RGB and drops the fourth byte
  bool bottom_up = false;  ///< rows in GL order: handed to libpng reversed, not flipped
};

/// Encodes width x height RGBA8 pixels (rows `stride` bytes apart).
Result<std::vector<uint8_t>> EncodePng(const uint8_t* rgba, int width, int height, size_t stride,
                                       const PngEncodeOptions& options);

}  // namespace tilerender
