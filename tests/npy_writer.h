#pragma once
// Writes NPY files for tests, as numpy.save does (the header comes from core's NpyHeaderBytes).

#include <cstdint>
#include <fstream>
#include <string>
#include <vector>

#include "core/image/image_file.h"

namespace tilerender::testing {

/// `descr` like "<u2"; `shape` as numpy gives it, (H, W[, C]).
inline void WriteNpy(const std::string& path, const std::string& descr, const std::vector<int64_t>& shape,
                     const void* data, size_t bytes, bool fortran = false) {
  const std::string header = NpyHeaderBytes(descr, shape, fortran);
  std::ofstream f(path, std::ios::binary);
  f.write(header.data(), static_cast<std::streamsize>(header.size()));
  f.write(static_cast<const char*>(data), static_cast<std::streamsize>(bytes));
}

}  // namespace tilerender::testing
