#include "core/image/zarr_array.h"

#include <blosc.h>
#include <fcntl.h>
#include <lz4.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>
#include <zstd.h>

#include <array>
#include <cerrno>
#include <cmath>
#include <cstring>
#include <fstream>
#include <limits>
#include <nlohmann/json.hpp>

namespace tilerender {
namespace {

using json = nlohmann::json;

// A decoded chunk larger than this is refused (a header must not make us allocate gigabytes).
constexpr int64_t kMaxChunkBytes = int64_t{512} << 20;
constexpr int kMaxDims = 8;

Status Bad(const std::string& name, const std::string& what) { return InvalidArgument(name + ": " + what); }

Result<json> ReadJson(const std::string& path, const std::string& name) {
  std::ifstream f(path);
  if (!f) return NotFound(name + ": cannot read " + path.substr(path.rfind('/') + 1));
  json j = json::parse(f, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) return Bad(name, "invalid JSON in " + path.substr(path.rfind('/') + 1));
  if (!j.is_object()) return Bad(name, path.substr(path.rfind('/') + 1) + " is not a JSON object");
  return j;
}

Result<std::vector<int64_t>> Ints(const json& j, const char* key, const std::string& name) {
  if (!j.contains(key) || !j[key].is_array()) return Bad(name, std::string("\"") + key + "\" must be an array of integers");
  std::vector<int64_t> v;
  for (const json& e : j[key]) {
    if (!e.is_number_integer()) return Bad(name, std::string("\"") + key + "\" must be an array of integers");
    v.push_back(e.get<int64_t>());
  }
  return v;
}

Result<double> FillValue(const json& v, const std::string& name) {
  if (v.is_null()) return 0.0;
  if (v.is_number()) return v.get<double>();
  if (v.is_boolean()) return v.get<bool>() ? 1.0 : 0.0;
  if (v.is_string()) {
    const std::string s = v.get<std::string>();
    if (s == "NaN") return std::numeric_limits<double>::quiet_NaN();
    if (s == "Infinity") return std::numeric_limits<double>::infinity();
    if (s == "-Infinity") return -std::numeric_limits<double>::infinity();
  }
  return Bad(name, "unsupported fill_value " + v.dump());
}

Result<ZarrDtype> DtypeV2(const std::string& s, const std::string& name) {
  if (s.size() < 3 || (s[0] != '<' && s[0] != '>' && s[0] != '|')) return Bad(name, "unsupported dtype \"" + s + "\"");
  ZarrDtype d;
  d.big_endian = s[0] == '>';
  const char k = s[1];
  if (k == 'u' || k == 'b') d.kind = ZarrKind::kUint;
  else if (k == 'i') d.kind = ZarrKind::kInt;
  else if (k == 'f') d.kind = ZarrKind::kFloat;
  else return Bad(name, "unsupported dtype \"" + s + "\"");
  d.size = std::atoi(s.c_str() + 2);
  const bool ok = d.kind == ZarrKind::kFloat ? (d.size == 4 || d.size == 8) : (d.size == 1 || d.size == 2 || d.size == 4);
  if (!ok) return Bad(name, "unsupported dtype \"" + s + "\"");
  return d;
}

Result<ZarrDtype> DtypeV3(const std::string& s, const std::string& name) {
  static const std::pair<const char*, ZarrDtype> kTypes[] = {
      {"uint8", {ZarrKind::kUint, 1}},   {"uint16", {ZarrKind::kUint, 2}},  {"uint32", {ZarrKind::kUint, 4}},
      {"int8", {ZarrKind::kInt, 1}},     {"int16", {ZarrKind::kInt, 2}},    {"int32", {ZarrKind::kInt, 4}},
      {"float32", {ZarrKind::kFloat, 4}}, {"float64", {ZarrKind::kFloat, 8}}, {"bool", {ZarrKind::kUint, 1}}};
  for (const auto& [n, d] : kTypes) {
    if (s == n) return d;
  }
  return Bad(name, "unsupported data_type \"" + s + "\"");
}

uint32_t Crc32c(const uint8_t* p, size_t n) {
  static const std::array<uint32_t, 256> table = [] {
    std::array<uint32_t, 256> t{};
    for (uint32_t i = 0; i < 256; ++i) {
      uint32_t c = i;
      for (int k = 0; k < 8; ++k) c = c & 1 ? 0x82F63B78u ^ (c >> 1) : c >> 1;
      t[i] = c;
    }
    return t;
  }();
  uint32_t c = 0xFFFFFFFFu;
  for (size_t i = 0; i < n; ++i) c = table[(c ^ p[i]) & 0xFF] ^ (c >> 8);
  return c ^ 0xFFFFFFFFu;
}

// One byte-to-byte decoder. `want`: the decoded size of the whole chunk (the innermost codec must
// produce exactly that; outer ones are bounded by it).
// The most bytes `in` compressed bytes of a codec can decode to: deflate 1032:1 (a 258-byte match per
// 2 bits, rounded up); LZ4 255:1 (a length byte per 255 bytes of match); zstd 32768:1 (a 128 KiB RLE
// block per 4 bytes), which blosc's inner codecs stay under too. Plus slack for headers.
size_t MaxDecodedBytes(const std::string& codec, size_t in) {
  const size_t ratio = codec == "zlib" || codec == "gzip" ? 1032 : codec == "lz4" ? 255 : 32768;
  return in > (SIZE_MAX - 4096) / ratio ? SIZE_MAX : in * ratio + 4096;
}

Status Decode(const std::string& codec, std::vector<uint8_t>* data, size_t want, const std::string& where) {
  // A file must be able to hold its chunk before the chunk costs memory (a 1 KB store may claim
  // 512 MiB chunks).
  if (MaxDecodedBytes(codec, data->size()) < want) {
    return DataLoss(where + ": " + std::to_string(data->size()) + " bytes of " + codec + " data cannot decode to its " +
                    std::to_string(want) + " bytes");
  }
  std::vector<uint8_t> out;
  if (codec == "blosc") {
    size_t nbytes = 0, cbytes = 0, blocksize = 0;
    if (data->size() < BLOSC_MIN_HEADER_LENGTH) return DataLoss(where + ": blosc data too short");
    blosc_cbuffer_sizes(data->data(), &nbytes, &cbytes, &blocksize);
    if (nbytes != want || cbytes > data->size()) return DataLoss(where + ": blosc header disagrees with the chunk size");
    out.resize(nbytes);
    if (blosc_decompress_ctx(data->data(), out.data(), out.size(), 1) != static_cast<int>(nbytes)) {
      return DataLoss(where + ": blosc cannot decode it");
    }
  } else if (codec == "zstd") {
    out.resize(want);
    const size_t got = ZSTD_decompress(out.data(), out.size(), data->data(), data->size());
    if (ZSTD_isError(got)) return DataLoss(where + ": zstd: " + ZSTD_getErrorName(got));
    out.resize(got);
  } else if (codec == "zlib" || codec == "gzip") {
    out.resize(want);
    z_stream z{};
    if (inflateInit2(&z, codec == "gzip" ? 16 + MAX_WBITS : MAX_WBITS) != Z_OK) return Internal("zlib init failed");
    z.next_in = data->data();
    z.avail_in = static_cast<uInt>(data->size());
    z.next_out = out.data();
    z.avail_out = static_cast<uInt>(out.size());
    const int rc = inflate(&z, Z_FINISH);
    const size_t got = out.size() - z.avail_out;
    inflateEnd(&z);
    if (rc != Z_STREAM_END) return DataLoss(where + ": " + codec + " cannot decode it");
    out.resize(got);
  } else if (codec == "lz4") {
    // numcodecs' LZ4: a little-endian uint32 of the decoded size, then one LZ4 block.
    if (data->size() < 4) return DataLoss(where + ": lz4 data too short");
    uint32_t n = 0;
    std::memcpy(&n, data->data(), 4);
    if (n != want) return DataLoss(where + ": lz4 header disagrees with the chunk size");
    out.resize(n);
    const int got = LZ4_decompress_safe(reinterpret_cast<const char*>(data->data()) + 4, reinterpret_cast<char*>(out.data()),
                                        static_cast<int>(data->size() - 4), static_cast<int>(n));
    if (got < 0 || static_cast<uint32_t>(got) != n) return DataLoss(where + ": lz4 cannot decode it");
  } else {
    return Internal("codec " + codec + " not handled");
  }
  data->swap(out);
  return Status::Ok();
}

// Known byte-to-byte codecs of either version ("blosc" etc.), mapped from their ids.
bool KnownCodec(const std::string& id) {
  return id == "blosc" || id == "zstd" || id == "zlib" || id == "gzip" || id == "lz4";
}

}  // namespace

std::string ZarrDtype::ToString() const {
  const char* k = kind == ZarrKind::kFloat ? "float" : kind == ZarrKind::kInt ? "int" : "uint";
  return k + std::to_string(size * 8);
}

namespace {

Result<ZarrArray> OpenArray(const std::string& dir, const std::string& name) {
  ZarrArray a;
  a.dir = dir;
  struct stat st {};
  if (::stat((dir + "/zarr.json").c_str(), &st) == 0) {
    a.format = 3;
    TR_ASSIGN_OR_RETURN(json j, ReadJson(dir + "/zarr.json", name));
    if (j.value("node_type", "") != "array") return Bad(name, "zarr.json of " + dir.substr(dir.rfind('/') + 1) + " is not an array");
    TR_ASSIGN_OR_RETURN(a.shape, Ints(j, "shape", name));
    if (!j.contains("data_type") || !j["data_type"].is_string()) return Bad(name, "\"data_type\" must be a string");
    TR_ASSIGN_OR_RETURN(a.dtype, DtypeV3(j["data_type"].get<std::string>(), name));
    const json& grid = j.value("chunk_grid", json::object());
    if (grid.value("name", "") != "regular" || !grid.contains("configuration")) {
      return Unimplemented(name + ": only regular chunk grids are read, got " + grid.dump());
    }
    TR_ASSIGN_OR_RETURN(a.chunks, Ints(grid["configuration"], "chunk_shape", name));
    const json& keys = j.value("chunk_key_encoding", json{{"name", "default"}});
    const std::string key_name = keys.value("name", "default");
    if (key_name != "default" && key_name != "v2") return Bad(name, "unknown chunk_key_encoding \"" + key_name + "\"");
    a.v3_default_keys = key_name == "default";
    const std::string sep = keys.value("configuration", json::object()).value("separator", a.v3_default_keys ? "/" : ".");
    if (sep != "/" && sep != ".") return Bad(name, "chunk key separator must be \"/\" or \".\"");
    a.separator = sep[0];
    TR_ASSIGN_OR_RETURN(a.fill_value, FillValue(j.value("fill_value", json()), name));
    if (!j.contains("codecs") || !j["codecs"].is_array()) return Bad(name, "\"codecs\" must be an array");
    bool have_bytes = false;
    for (const json& c : j["codecs"]) {
      const std::string id = c.value("name", "");
      const json conf = c.value("configuration", json::object());
      if (id == "bytes") {
        have_bytes = true;
        a.dtype.big_endian = conf.value("endian", "little") == "big";
      } else if (id == "transpose") {
        if (have_bytes) return Bad(name, "transpose must come before bytes");
        if (!conf.contains("order") || !conf["order"].is_array()) return Bad(name, "transpose needs an \"order\" array");
        for (const json& o : conf["order"]) {
          // (Integers only: get<int>() of 1e300 would be an overflowing float conversion.)
          if (!o.is_number_integer() || o.get<int64_t>() < 0 || o.get<int64_t>() >= kMaxDims) {
            return Bad(name, "transpose order must hold dimension indices");
          }
          a.transpose.push_back(static_cast<int>(o.get<int64_t>()));
        }
      } else if (id == "sharding_indexed") {
        return Unimplemented(name + ": sharded Zarr v3 arrays (sharding_indexed) are not read yet");
      } else if (id == "crc32c") {
        a.crc32c = true;
      } else if (KnownCodec(id)) {
        if (!have_bytes) return Bad(name, id + " must come after bytes");
        a.codecs.push_back(id);
      } else {
        return Bad(name, "unknown codec \"" + id + "\" (blosc, zstd, gzip, zlib, lz4, bytes, transpose, crc32c are read)");
      }
    }
    if (!have_bytes) return Bad(name, "no bytes codec");
  } else {
    TR_ASSIGN_OR_RETURN(json j, ReadJson(dir + "/.zarray", name));
    if (!j.contains("zarr_format") || j["zarr_format"] != 2) return Bad(name, ".zarray is not zarr_format 2");
    TR_ASSIGN_OR_RETURN(a.shape, Ints(j, "shape", name));
    TR_ASSIGN_OR_RETURN(a.chunks, Ints(j, "chunks", name));
    if (!j.contains("dtype") || !j["dtype"].is_string()) return Bad(name, "\"dtype\" must be a string like \"<u2\"");
    TR_ASSIGN_OR_RETURN(a.dtype, DtypeV2(j["dtype"].get<std::string>(), name));
    TR_ASSIGN_OR_RETURN(a.fill_value, FillValue(j.value("fill_value", json()), name));
    const std::string order = j.value("order", "C");
    if (order != "C" && order != "F") return Bad(name, "\"order\" must be \"C\" or \"F\"");
    a.fortran_order = order == "F";
    const std::string sep = j.value("dimension_separator", ".");
    if (sep != "/" && sep != ".") return Bad(name, "\"dimension_separator\" must be \"/\" or \".\"");
    a.separator = sep[0];
    if (j.contains("filters") && !j["filters"].is_null() && !j["filters"].empty()) {
      return Unimplemented(name + ": Zarr v2 filters are not read (" + j["filters"].dump() + ")");
    }
    if (j.contains("compressor") && !j["compressor"].is_null()) {
      const std::string id = j["compressor"].value("id", "");
      if (!KnownCodec(id)) return Bad(name, "unknown compressor \"" + id + "\" (blosc, zstd, gzip, zlib, lz4 are read)");
      a.codecs.push_back(id);
    }
  }
  if (a.shape.empty() || a.shape.size() > kMaxDims || a.shape.size() != a.chunks.size()) {
    return Bad(name, "shape and chunks must have the same 1.." + std::to_string(kMaxDims) + " dimensions");
  }
  a.chunk_elements = 1;
  for (size_t i = 0; i < a.shape.size(); ++i) {
    if (a.shape[i] <= 0 || a.chunks[i] <= 0) return Bad(name, "shape and chunk sizes must be positive");
    if (__builtin_mul_overflow(a.chunk_elements, a.chunks[i], &a.chunk_elements) ||
        a.chunk_elements > kMaxChunkBytes / a.dtype.size) {
      return Bad(name, "a chunk of this array would be larger than " + std::to_string(kMaxChunkBytes >> 20) + " MiB");
    }
  }
  if (!a.transpose.empty()) {
    std::vector<int> seen(a.shape.size(), 0);
    bool ok = a.transpose.size() == a.shape.size();
    for (int o : a.transpose) ok = ok && o >= 0 && o < static_cast<int>(seen.size()) && !seen[o]++;
    if (!ok) return Bad(name, "transpose order is not a permutation of the dimensions");
  }
  return a;
}

}  // namespace

Result<ZarrArray> ZarrArray::Open(const std::string& dir, const std::string& name) {
  // A value of the wrong JSON type where a key is read (value(), get<>()) throws: metadata that
  // is not what it claims is INVALID_ARGUMENT, like any other.
  try {
    return OpenArray(dir, name);
  } catch (const json::exception& e) {
    return Bad(name, std::string("bad array metadata: ") + e.what());
  }
}

Status ZarrArray::ReadChunk(const std::vector<int64_t>& index, std::vector<uint8_t>* out, const std::string& name) const {
  std::string key;
  if (format == 3 && v3_default_keys) key = "c";
  for (size_t i = 0; i < index.size(); ++i) {
    if (!key.empty()) key += separator;
    key += std::to_string(index[i]);
  }
  const std::string where = name + ": chunk " + key;
  const size_t want = static_cast<size_t>(chunk_elements) * dtype.size;
  const std::string path = dir + "/" + key;
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    if (errno != ENOENT) return DataLoss(where + ": " + std::strerror(errno));
    // A chunk never written holds the fill value.
    out->resize(want);
    for (int64_t i = 0; i < chunk_elements; ++i) {
      uint8_t* e = out->data() + i * dtype.size;
      if (dtype.kind == ZarrKind::kFloat) {
        if (dtype.size == 4) {
          const float f = static_cast<float>(fill_value);
          std::memcpy(e, &f, 4);
        } else {
          std::memcpy(e, &fill_value, 8);
        }
      } else {
        const int64_t v = static_cast<int64_t>(fill_value);
        std::memcpy(e, &v, dtype.size);  // little-endian host: the low bytes
      }
    }
    return Status::Ok();
  }
  struct stat st {};
  ::fstat(fd, &st);
  // Compressed data is never much larger than the decoded chunk.
  if (static_cast<size_t>(st.st_size) > want * 2 + (1 << 20)) {
    ::close(fd);
    return DataLoss(where + ": the file (" + std::to_string(st.st_size) + " bytes) is too large for its chunk");
  }
  std::vector<uint8_t> data(static_cast<size_t>(st.st_size));
  size_t off = 0;
  while (off < data.size()) {
    const ssize_t n = ::read(fd, data.data() + off, data.size() - off);
    if (n <= 0) break;
    off += static_cast<size_t>(n);
  }
  ::close(fd);
  if (off != data.size()) return DataLoss(where + ": short read");
  if (crc32c) {
    if (data.size() < 4) return DataLoss(where + ": no room for its CRC-32C");
    uint32_t stored = 0;
    std::memcpy(&stored, data.data() + data.size() - 4, 4);
    data.resize(data.size() - 4);
    if (Crc32c(data.data(), data.size()) != stored) return DataLoss(where + ": CRC-32C mismatch");
  }
  for (auto it = codecs.rbegin(); it != codecs.rend(); ++it) TR_RETURN_IF_ERROR(Decode(*it, &data, want, where));
  if (data.size() != want) {
    return DataLoss(where + ": decodes to " + std::to_string(data.size()) + " bytes, not " + std::to_string(want));
  }
  if (dtype.big_endian && dtype.size > 1) {
    for (size_t i = 0; i < data.size(); i += dtype.size) std::reverse(data.begin() + i, data.begin() + i + dtype.size);
  }
  // Stored axis order (Fortran order, or a transpose codec) to C order over `chunks`.
  std::vector<int> order = transpose;
  if (fortran_order) {
    for (int i = static_cast<int>(chunks.size()) - 1; i >= 0; --i) order.push_back(i);
  }
  bool identity = true;
  for (size_t i = 0; i < order.size(); ++i) identity = identity && order[i] == static_cast<int>(i);
  if (order.empty() || identity) {
    out->swap(data);
    return Status::Ok();
  }
  const size_t n = chunks.size();
  // Stored dimension k holds logical dimension order[k] (numpy.transpose(chunk, order) was
  // written): C-order strides of the stored array, looked up per logical dimension.
  std::vector<int64_t> stored_stride(n, 1), logical_stride_in_stored(n, 0);
  for (int k = static_cast<int>(n) - 2; k >= 0; --k) stored_stride[k] = stored_stride[k + 1] * chunks[order[k + 1]];
  for (size_t k = 0; k < n; ++k) logical_stride_in_stored[order[k]] = stored_stride[k];
  out->resize(want);
  std::vector<int64_t> idx(n, 0);
  for (int64_t e = 0; e < chunk_elements; ++e) {
    int64_t src = 0;
    for (size_t d = 0; d < n; ++d) src += idx[d] * logical_stride_in_stored[d];
    std::memcpy(out->data() + e * dtype.size, data.data() + src * dtype.size, dtype.size);
    for (int d = static_cast<int>(n) - 1; d >= 0; --d) {
      if (++idx[d] < chunks[d]) break;
      idx[d] = 0;
    }
  }
  return Status::Ok();
}

}  // namespace tilerender
