#pragma once
// Writes Zarr v2 / v3 arrays and OME-Zarr groups for tests, with the codecs' own libraries
// (blosc, zstd, zlib, lz4): an encoder independent of the reader under test.

#include <blosc.h>
#include <lz4.h>
#include <zlib.h>
#include <zstd.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <vector>

namespace tilerender::testing {

struct ZarrSpec {
  int version = 2;
  std::vector<int64_t> shape, chunks;
  std::string dtype = "uint16";  ///< uint8 uint16 int16 uint32 float32 float64
  bool big_endian = false;
  std::string codec = "none";    ///< none blosc-lz4 blosc-zstd zstd zlib gzip lz4
  char separator = '/';
  bool fortran = false;          ///< v2 order "F"
  std::vector<int> transpose;    ///< v3 transpose order
  bool crc32c = false;           ///< v3
  double fill = 0;
  /// Chunks (by their index) left unwritten: the reader must give the fill value there.
  std::set<std::vector<int64_t>> missing;
};

inline int DtypeSize(const std::string& d) {
  return d == "uint8" ? 1 : d == "uint16" || d == "int16" ? 2 : d == "float64" ? 8 : 4;
}

inline void PutElement(const std::string& d, double v, uint8_t* p) {
  if (d == "uint8") *p = static_cast<uint8_t>(static_cast<int64_t>(v));
  else if (d == "uint16") { const uint16_t x = static_cast<uint16_t>(static_cast<int64_t>(v)); std::memcpy(p, &x, 2); }
  else if (d == "int16") { const int16_t x = static_cast<int16_t>(static_cast<int64_t>(v)); std::memcpy(p, &x, 2); }
  else if (d == "uint32") { const uint32_t x = static_cast<uint32_t>(static_cast<int64_t>(v)); std::memcpy(p, &x, 4); }
  else if (d == "float32") { const float x = static_cast<float>(v); std::memcpy(p, &x, 4); }
  else { std::memcpy(p, &v, 8); }
}

inline uint32_t TestCrc32c(const uint8_t* p, size_t n) {
  uint32_t c = 0xFFFFFFFFu;
  for (size_t i = 0; i < n; ++i) {
    c ^= p[i];
    for (int k = 0; k < 8; ++k) c = c & 1 ? 0x82F63B78u ^ (c >> 1) : c >> 1;
  }
  return c ^ 0xFFFFFFFFu;
}

inline std::vector<uint8_t> Encode(const std::string& codec, const std::vector<uint8_t>& raw, int typesize) {
  std::vector<uint8_t> out;
  if (codec == "none") return raw;
  if (codec == "blosc-lz4" || codec == "blosc-zstd") {
    out.resize(raw.size() + BLOSC_MAX_OVERHEAD);
    blosc_set_compressor(codec == "blosc-lz4" ? "lz4" : "zstd");
    const int n = blosc_compress(5, 1, typesize, raw.size(), raw.data(), out.data(), out.size());
    out.resize(n > 0 ? n : 0);
  } else if (codec == "zstd") {
    out.resize(ZSTD_compressBound(raw.size()));
    out.resize(ZSTD_compress(out.data(), out.size(), raw.data(), raw.size(), 3));
  } else if (codec == "zlib" || codec == "gzip") {
    z_stream z{};
    deflateInit2(&z, 6, Z_DEFLATED, codec == "gzip" ? 16 + MAX_WBITS : MAX_WBITS, 8, Z_DEFAULT_STRATEGY);
    out.resize(deflateBound(&z, raw.size()) + 32);
    z.next_in = const_cast<uint8_t*>(raw.data());
    z.avail_in = static_cast<uInt>(raw.size());
    z.next_out = out.data();
    z.avail_out = static_cast<uInt>(out.size());
    deflate(&z, Z_FINISH);
    out.resize(out.size() - z.avail_out);
    deflateEnd(&z);
  } else if (codec == "lz4") {
    out.resize(4 + LZ4_compressBound(static_cast<int>(raw.size())));
    const uint32_t n = static_cast<uint32_t>(raw.size());
    std::memcpy(out.data(), &n, 4);
    const int c = LZ4_compress_default(reinterpret_cast<const char*>(raw.data()), reinterpret_cast<char*>(out.data()) + 4,
                                       static_cast<int>(raw.size()), static_cast<int>(out.size() - 4));
    out.resize(4 + c);
  }
  return out;
}

inline nlohmann::json CodecJsonV2(const std::string& codec) {
  if (codec == "none") return nullptr;
  if (codec == "blosc-lz4") return {{"id", "blosc"}, {"cname", "lz4"}, {"clevel", 5}, {"shuffle", 1}, {"blocksize", 0}};
  if (codec == "blosc-zstd") return {{"id", "blosc"}, {"cname", "zstd"}, {"clevel", 5}, {"shuffle", 1}, {"blocksize", 0}};
  if (codec == "lz4") return {{"id", "lz4"}, {"acceleration", 1}};
  return {{"id", codec}, {"level", 5}};
}

inline nlohmann::json CodecJsonV3(const std::string& codec, int typesize) {
  if (codec == "blosc-lz4" || codec == "blosc-zstd") {
    return {{"name", "blosc"}, {"configuration", {{"cname", codec == "blosc-lz4" ? "lz4" : "zstd"}, {"clevel", 5},
                                                   {"shuffle", "shuffle"}, {"typesize", typesize}, {"blocksize", 0}}}};
  }
  return {{"name", codec}, {"configuration", {{"level", 5}}}};
}

/// Writes the array at `dir` with element values value(logical index).
inline void WriteZarrArray(const std::string& dir, const ZarrSpec& s, const std::function<double(const std::vector<int64_t>&)>& value) {
  namespace fs = std::filesystem;
  fs::create_directories(dir);
  const int es = DtypeSize(s.dtype);
  const size_t n = s.shape.size();
  nlohmann::json meta;
  if (s.version == 2) {
    const char kind = s.dtype[0] == 'u' ? 'u' : s.dtype[0] == 'i' ? 'i' : 'f';
    meta = {{"zarr_format", 2}, {"shape", s.shape}, {"chunks", s.chunks},
            {"dtype", std::string(es == 1 ? "|" : s.big_endian ? ">" : "<") + kind + std::to_string(es)},
            {"compressor", CodecJsonV2(s.codec)}, {"fill_value", s.fill}, {"order", s.fortran ? "F" : "C"},
            {"filters", nullptr}, {"dimension_separator", std::string(1, s.separator)}};
    std::ofstream(dir + "/.zarray") << meta.dump(2);
  } else {
    nlohmann::json codecs = nlohmann::json::array();
    if (!s.transpose.empty()) codecs.push_back({{"name", "transpose"}, {"configuration", {{"order", s.transpose}}}});
    codecs.push_back({{"name", "bytes"}, {"configuration", {{"endian", s.big_endian ? "big" : "little"}}}});
    if (s.codec != "none") codecs.push_back(CodecJsonV3(s.codec, es));
    if (s.crc32c) codecs.push_back({{"name", "crc32c"}});
    meta = {{"zarr_format", 3}, {"node_type", "array"}, {"shape", s.shape}, {"data_type", s.dtype},
            {"chunk_grid", {{"name", "regular"}, {"configuration", {{"chunk_shape", s.chunks}}}}},
            {"chunk_key_encoding", {{"name", "default"}, {"configuration", {{"separator", std::string(1, s.separator)}}}}},
            {"fill_value", s.fill}, {"codecs", codecs}};
    std::ofstream(dir + "/zarr.json") << meta.dump(2);
  }
  std::vector<int64_t> grid(n);
  int64_t chunk_count = 1, chunk_elems = 1;
  for (size_t d = 0; d < n; ++d) {
    grid[d] = (s.shape[d] + s.chunks[d] - 1) / s.chunks[d];
    chunk_count *= grid[d];
    chunk_elems *= s.chunks[d];
  }
  // The stored axis order: Fortran order is the reversed one; a transpose stores dims in its order.
  std::vector<int> order(n);
  for (size_t d = 0; d < n; ++d) order[d] = static_cast<int>(d);
  if (s.fortran) std::reverse(order.begin(), order.end());
  if (!s.transpose.empty()) order = s.transpose;
  for (int64_t ci = 0; ci < chunk_count; ++ci) {
    std::vector<int64_t> cidx(n);
    for (int64_t r = ci, d = static_cast<int64_t>(n) - 1; d >= 0; --d) cidx[d] = r % grid[d], r /= grid[d];
    if (s.missing.count(cidx)) continue;
    std::vector<uint8_t> raw(static_cast<size_t>(chunk_elems) * es);
    // Walk stored positions (C order over the stored dims), mapping back to logical indices.
    std::vector<int64_t> st(n, 0);
    for (int64_t e = 0; e < chunk_elems; ++e) {
      std::vector<int64_t> logical(n);
      bool inside = true;
      for (size_t k = 0; k < n; ++k) {
        logical[order[k]] = cidx[order[k]] * s.chunks[order[k]] + st[k];
        inside = inside && logical[order[k]] < s.shape[order[k]];
      }
      PutElement(s.dtype, inside ? value(logical) : s.fill, raw.data() + e * es);
      if (s.big_endian) std::reverse(raw.begin() + e * es, raw.begin() + (e + 1) * es);
      for (int k = static_cast<int>(n) - 1; k >= 0; --k) {
        if (++st[k] < s.chunks[order[k]]) break;
        st[k] = 0;
      }
    }
    std::vector<uint8_t> enc = Encode(s.codec, raw, es);
    if (s.version == 3 && s.crc32c) {
      const uint32_t c = TestCrc32c(enc.data(), enc.size());
      enc.insert(enc.end(), reinterpret_cast<const uint8_t*>(&c), reinterpret_cast<const uint8_t*>(&c) + 4);
    }
    std::string key = s.version == 3 ? "c" : "";
    for (size_t d = 0; d < n; ++d) key += (key.empty() ? "" : std::string(1, s.separator)) + std::to_string(cidx[d]);
    const fs::path path = fs::path(dir) / key;
    fs::create_directories(path.parent_path());
    std::ofstream(path, std::ios::binary).write(reinterpret_cast<const char*>(enc.data()), static_cast<std::streamsize>(enc.size()));
  }
}

/// An OME-Zarr group at `dir` with `axes` (e.g. "tczyx") and datasets "0", "1", ... .
inline void WriteOmeGroup(const std::string& dir, int version, const std::string& axes, int datasets,
                          const nlohmann::json& omero = nullptr) {
  nlohmann::json ax = nlohmann::json::array(), ds = nlohmann::json::array();
  for (char a : axes) {
    const std::string name(1, a);
    ax.push_back({{"name", name}, {"type", a == 'c' ? "channel" : a == 't' ? "time" : "space"}});
  }
  for (int i = 0; i < datasets; ++i) {
    std::vector<double> scale(axes.size(), 1.0);
    for (size_t k = 0; k < axes.size(); ++k) {
      if (axes[k] == 'x' || axes[k] == 'y') scale[k] = std::ldexp(1.0, i);
    }
    ds.push_back({{"path", std::to_string(i)}, {"coordinateTransformations", {{{"type", "scale"}, {"scale", scale}}}}});
  }
  nlohmann::json ms = {{"axes", ax}, {"datasets", ds}, {"version", version == 2 ? "0.4" : "0.5"}};
  nlohmann::json attrs = {{"multiscales", {ms}}};
  if (!omero.is_null()) attrs["omero"] = omero;
  std::filesystem::create_directories(dir);
  if (version == 2) {
    std::ofstream(dir + "/.zgroup") << R"({"zarr_format": 2})";
    std::ofstream(dir + "/.zattrs") << attrs.dump(2);
  } else {
    nlohmann::json g = {{"zarr_format", 3}, {"node_type", "group"}, {"attributes", {{"ome", attrs}}}};
    std::ofstream(dir + "/zarr.json") << g.dump(2);
  }
}

}  // namespace tilerender::testing
