#pragma once
/// One Zarr array on disk (v2: `.zarray`; v3: `zarr.json`), read a chunk at a time: its metadata,
/// and a chunk's bytes decoded through its codecs (blosc, zstd, zlib, gzip, lz4, none; v3 `bytes`
/// endianness, `transpose`, `crc32c`) into a C-order array of the chunk's shape, native-endian, in the
/// array's own dtype. A chunk file that does not exist is the fill value. Thread-safe (no state).

#include <cstdint>
#include <string>
#include <vector>

#include "core/status.h"

namespace tilerender {

enum class ZarrKind : uint8_t { kUint, kInt, kFloat };

struct ZarrDtype {
  ZarrKind kind = ZarrKind::kUint;
  int size = 1;  ///< bytes per element
  bool big_endian = false;
  std::string ToString() const;  ///< "uint16", "float64", ...
};

struct ZarrArray {
  std::string dir;  ///< the array's directory
  int format = 2;
  std::vector<int64_t> shape;
  std::vector<int64_t> chunks;
  ZarrDtype dtype;
  double fill_value = 0;
  bool fortran_order = false;       ///< v2 "order": "F"
  std::vector<int> transpose;       ///< v3 transpose codec: the chunk's stored axis order
  char separator = '.';             ///< between chunk indices in a key
  bool v3_default_keys = false;     ///< v3 "default" key encoding: "c" + separator + indices
  std::vector<std::string> codecs;  ///< byte-to-byte decoders, applied last to first ("blosc", ...)
  bool crc32c = false;              ///< v3: a 4-byte CRC-32C after the data
  int64_t chunk_elements = 0;

  /// Reads the metadata of the array in `dir` (either version). INVALID_ARGUMENT saying what is
  /// wrong for bad JSON, shapes, chunk sizes, dtypes or unknown codecs; UNIMPLEMENTED for v3
  /// sharding and v2 filters.
  static Result<ZarrArray> Open(const std::string& dir, const std::string& name);

  /// Chunk `index` (one entry per dimension) decoded into `out` (chunk_elements x dtype.size bytes,
  /// C order over `chunks`, native-endian). DATA_LOSS when it cannot be decoded.
  Status ReadChunk(const std::vector<int64_t>& index, std::vector<uint8_t>* out, const std::string& name) const;
};

}  // namespace tilerender
