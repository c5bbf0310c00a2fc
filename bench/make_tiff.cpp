// Writes a large test image for load measurements: make_tiff OUT.tif WIDTH HEIGHT [tile]
// uint16, tiled (default 256 x 256), uncompressed BigTIFF, a smooth pattern plus noise. Also
// writes OUT.npy beside it with the same pixels when --npy is given.
#include <tiffio.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

int main(int argc, char** argv) {
  if (argc < 4) {
    std::fprintf(stderr, "usage: make_tiff OUT.tif WIDTH HEIGHT [TILE] [--npy OUT.npy]\n");
    return 2;
  }
  const std::string path = argv[1];
  const uint32_t w = std::atoi(argv[2]), h = std::atoi(argv[3]);
  const uint32_t tile = argc > 4 && argv[4][0] != '-' ? std::atoi(argv[4]) : 256;
  std::string npy;
  for (int i = 4; i + 1 < argc; ++i) {
    if (std::strcmp(argv[i], "--npy") == 0) npy = argv[i + 1];
  }
  auto value = [](uint32_t x, uint32_t y) {
    const uint32_t hash = (x * 2654435761u) ^ (y * 40503u);
    return static_cast<uint16_t>(20000 + 15000 * std::sin(x * 0.001) * std::cos(y * 0.0013) + (hash >> 24) * 8);
  };
  TIFF* t = TIFFOpen(path.c_str(), "w8");
  if (!t) return 1;
  TIFFSetField(t, TIFFTAG_IMAGEWIDTH, w);
  TIFFSetField(t, TIFFTAG_IMAGELENGTH, h);
  TIFFSetField(t, TIFFTAG_BITSPERSAMPLE, 16);
  TIFFSetField(t, TIFFTAG_SAMPLESPERPIXEL, 1);
  TIFFSetField(t, TIFFTAG_PHOTOMETRIC, PHOTOMETRIC_MINISBLACK);
  TIFFSetField(t, TIFFTAG_COMPRESSION, COMPRESSION_NONE);
  TIFFSetField(t, TIFFTAG_TILEWIDTH, tile);
  TIFFSetField(t, TIFFTAG_TILELENGTH, tile);
  std::vector<uint16_t> buf(size_t(tile) * tile);
  for (uint32_t ty = 0; ty < h; ty += tile) {
    for (uint32_t tx = 0; tx < w; tx += tile) {
      for (uint32_t r = 0; r < tile; ++r) {
        for (uint32_t c = 0; c < tile; ++c) {
          buf[r * tile + c] = (tx + c < w && ty + r < h) ? value(tx + c, ty + r) : 0;
        }
      }
      if (TIFFWriteEncodedTile(t, TIFFComputeTile(t, tx, ty, 0, 0), buf.data(), buf.size() * 2) < 0) return 1;
    }
  }
  TIFFClose(t);
  if (!npy.empty()) {
    FILE* f = std::fopen(npy.c_str(), "wb");
    std::string dict = "{'descr': '<u2', 'fortran_order': False, 'shape': (" + std::to_string(h) + ", " +
                       std::to_string(w) + "), }";
    dict.append((64 - (10 + dict.size() + 1) % 64) % 64, ' ');
    dict += '\n';
    const uint16_t len = static_cast<uint16_t>(dict.size());
    std::fwrite("\x93NUMPY\x01\x00", 1, 8, f);
    std::fwrite(&len, 2, 1, f);
    std::fwrite(dict.data(), 1, dict.size(), f);
    std::vector<uint16_t> row(w);
    for (uint32_t y = 0; y < h; ++y) {
      for (uint32_t x = 0; x < w; ++x) row[x] = value(x, y);
      std::fwrite(row.data(), 2, w, f);
    }
    std::fclose(f);
  }
  return 0;
}
