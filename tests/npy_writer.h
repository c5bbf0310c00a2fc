#pragma once
// Writes NPY files (format version 1) for tests, as numpy.save does.

#include <cstdint>
#include <fstream>
#include <string>
#include <vector>

namespace tilerender::testing {

/// `descr` like "<u2"; `shape` as numpy gives it, (H, W[, C]).
inline void WriteNpy(const std::string& path, const std::string& descr, const std::vector<int64_t>& shape,
              const void* data, size_t bytes, bool fortran = false) {
  std::string s;
  for (int64_t d : shape) s += std::to_string(d) + ", ";
  if (shape.size() > 1) s.resize(s.size() - 2);
  std::string dict = "{'descr': '" + descr + "', 'fortran_order': " + (fortran ? "True" : "False") +
                     ", 'shape': (" + s + "), }";
  // numpy pads the header with spaces to a multiple of 64 bytes, ending in '\n'.
  const size_t total = 10 + dict.size() + 1;
  dict.append((64 - total % 64) % 64, ' ');
  dict += '\n';
  std::ofstream f(path, std::ios::binary);
  f.write("\x93NUMPY\x01\x00", 8);
  const uint16_t len = static_cast<uint16_t>(dict.size());
  f.put(static_cast<char>(len & 255));
  f.put(static_cast<char>(len >> 8));
  f.write(dict.data(), static_cast<std::streamsize>(dict.size()));
  f.write(static_cast<const char*>(data), static_cast<std::streamsize>(bytes));
}

}  // namespace tilerender::testing
