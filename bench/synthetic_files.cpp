#include "bench/synthetic_files.h"

#include "core/image/image_file.h"

#include <tiffio.h>

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <vector>

namespace tilerender::bench {
namespace {

uint16_t Value(uint32_t x, uint32_t y) {
  const uint32_t hash = (x * 2654435761u) ^ (y * 40503u);
  return static_cast<uint16_t>(20000 + 15000 * std::sin(x * 0.001) * std::cos(y * 0.0013) + (hash >> 24) * 8);
}

bool WriteTiff(uint32_t w, uint32_t h, uint32_t tile, const std::string& path) {
  TIFF* t = TIFFOpen(path.c_str(), "w8");
  if (!t) return false;
  TIFFSetField(t, TIFFTAG_IMAGEWIDTH, w);
  TIFFSetField(t, TIFFTAG_IMAGELENGTH, h);
  TIFFSetField(t, TIFFTAG_BITSPERSAMPLE, 16);
  TIFFSetField(t, TIFFTAG_SAMPLESPERPIXEL, 1);
  TIFFSetField(t, TIFFTAG_PHOTOMETRIC, PHOTOMETRIC_MINISBLACK);
  TIFFSetField(t, TIFFTAG_COMPRESSION, COMPRESSION_NONE);
  TIFFSetField(t, TIFFTAG_TILEWIDTH, tile);
  TIFFSetField(t, TIFFTAG_TILELENGTH, tile);
  std::vector<uint16_t> buf(size_t(tile) * tile);
  bool ok = true;
  for (uint32_t ty = 0; ty < h && ok; ty += tile) {
    for (uint32_t tx = 0; tx < w && ok; tx += tile) {
      for (uint32_t r = 0; r < tile; ++r) {
        for (uint32_t c = 0; c < tile; ++c) buf[r * tile + c] = (tx + c < w && ty + r < h) ? Value(tx + c, ty + r) : 0;
      }
      ok = TIFFWriteEncodedTile(t, TIFFComputeTile(t, tx, ty, 0, 0), buf.data(), buf.size() * 2) >= 0;
    }
  }
  TIFFClose(t);
  return ok;
}

bool WriteNpy(uint32_t w, uint32_t h, const std::string& path) {
  FILE* f = std::fopen(path.c_str(), "wb");
  if (!f) return false;
  const std::string header = NpyHeaderBytes("<u2", {h, w});
  std::fwrite(header.data(), 1, header.size(), f);
  std::vector<uint16_t> row(w);
  for (uint32_t y = 0; y < h; ++y) {
    for (uint32_t x = 0; x < w; ++x) row[x] = Value(x, y);
    std::fwrite(row.data(), 2, w, f);
  }
  return std::fclose(f) == 0;
}

bool Stale(const std::string& path, uint64_t min_bytes) {
  std::error_code ec;
  return !std::filesystem::exists(path, ec) || std::filesystem::file_size(path, ec) < min_bytes;
}

}  // namespace

bool WriteSyntheticFiles(int64_t width, int64_t height, const std::string& tif, const std::string& npy,
                         uint32_t tile) {
  const uint64_t bytes = static_cast<uint64_t>(width) * height * 2;
  if (!tif.empty() && Stale(tif, bytes) && !WriteTiff(width, height, tile, tif)) return false;
  if (!npy.empty() && Stale(npy, bytes) && !WriteNpy(width, height, npy)) return false;
  return true;
}

bool WriteSyntheticFiles(int64_t side, const std::string& tif, const std::string& npy, uint32_t tile) {
  return WriteSyntheticFiles(side, side, tif, npy, tile);
}

}  // namespace tilerender::bench
