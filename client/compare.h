#pragma once
// Visual regression: compare two PNGs per channel with a tolerance, and a directory of goldens with a
// directory of actual renders. Local, no daemon.

#include <cstdint>
#include <string>
#include <vector>

#include "core/status.h"

namespace tilerender::client {

struct RgbaImage {
  int width = 0;
  int height = 0;
  std::vector<uint8_t> px;  // straight RGBA8, rows top-down
};

/// Any PNG, decoded to RGBA8 by libpng's simplified API. INVALID_ARGUMENT / NOT_FOUND when unreadable.
Result<RgbaImage> ReadPngRgba(const std::string& path);
Status WritePngRgba(const std::string& path, const RgbaImage& image);

struct CompareResult {
  int64_t pixels = 0;
  int64_t differing = 0;  ///< pixels with some channel off by more than the tolerance
  int max_diff = 0;       ///< largest channel difference anywhere
};

/// Same size required (the caller checks).
CompareResult ComparePixels(const RgbaImage& a, const RgbaImage& b, int tolerance);

/// A dimmed, gray copy of `a` with every pixel outside the tolerance marked in red.
RgbaImage DiffImage(const RgbaImage& a, const RgbaImage& b, int tolerance);

struct CompareOptions {
  int tolerance = 0;      ///< per channel, 0..255
  int64_t max_pixels = 0; ///< differing pixels allowed
  std::string diff_path;  ///< write the diff image here (pair mode)
  std::string diff_dir;   ///< goldens mode: write NAME.diff.png here for failures
  bool update = false;    ///< goldens mode: copy actual over differing or new goldens
};

/// `tilerender compare A B`: prints one summary line; 0 within bounds, 1 outside, 2 unreadable or
/// different sizes.
int ComparePair(const std::string& a, const std::string& b, const CompareOptions& options);

/// `tilerender compare --goldens G --actual A`: one line per file; 0 when all match (or were
/// updated), 1 otherwise, 2 when a directory cannot be read.
int CompareDirs(const std::string& goldens, const std::string& actual, const CompareOptions& options);

}  // namespace tilerender::client
