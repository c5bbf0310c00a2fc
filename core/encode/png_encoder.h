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
  /// libpng filter mask (PNG_FILTER_NONE = 0x08, SUB 0x10, UP 0x20, AVG 0x40, PAETH 0x80, ALL
  /// 0xf8); 0 picks the default: "up" (none at level 0).
  int filters = 0;
};

/// Encodes width x height RGBA8 pixels (rows `stride` bytes apart).
Result<std::vector<uint8_t>> EncodePng(const uint8_t* rgba, int width, int height, size_t stride,
                                       const PngEncodeOptions& options);

}  // namespace tilerender
