#pragma once
// Large uint16 test files for load measurements: an uncompressed tiled (256) BigTIFF and an NPY with
// the same pixels (a smooth pattern plus noise).

#include <cstdint>
#include <string>

namespace tilerender::bench {

/// Writes whichever of the two files (empty path: skip) is missing or of the wrong size.
bool WriteSyntheticFiles(int64_t side, const std::string& tif, const std::string& npy, uint32_t tile = 256);
bool WriteSyntheticFiles(int64_t width, int64_t height, const std::string& tif, const std::string& npy,
                         uint32_t tile = 256);

}  // namespace tilerender::bench
