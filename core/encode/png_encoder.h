#pragma once
/// PNG encoding, off the render thread. libpng writes the file's structure (signature, IHDR, IDAT,
/// IEND); the default path filters ("up") and deflates the rows itself, in row bands on several cores
/// at once: each band is an independent raw-deflate stream ended by a full flush, so the bands join
/// into one valid zlib stream (adler32 combined), the way pigz does. A 1080p frame encodes ~N times
/// faster on N cores, which matters on a GPU, where the encode is most of a render. An explicit
/// filter choice uses libpng's own serial writer (the benchmarks compare filters with it). libpng's
/// longjmp never crosses a C++ frame that owns resources: errors come back as a Status.

#include <cstdint>
#include <vector>

#include "core/status.h"

namespace tilerender {

struct PngEncodeOptions {
  int level = 1;           ///< zlib level 0..9
  bool write_alpha = true; ///< RGBA; false writes RGB and drops the fourth byte
  bool bottom_up = false;  ///< rows in GL order: handed to libpng reversed, not flipped
  /// libpng filter mask (PNG_FILTER_NONE = 0x08, SUB 0x10, UP 0x20, AVG 0x40, PAETH 0x80, ALL
  /// 0xf8) for libpng's serial writer; 0: the banded encoder with "up" ("none" at level 0).
  int filters = 0;
  /// Bands compressed at once; 0: one per core, at most 8, and one for small images.
  int threads = 0;
};

/// Encodes width x height RGBA8 pixels (rows `stride` bytes apart).
Result<std::vector<uint8_t>> EncodePng(const uint8_t* rgba, int width, int height, size_t stride,
                                       const PngEncodeOptions& options);

}  // namespace tilerender
