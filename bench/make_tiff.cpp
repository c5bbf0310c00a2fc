// Writes large test files for load measurements:
//   make_tiff OUT.tif WIDTH HEIGHT [TILE] [--npy OUT.npy]
// uint16, tiled (default 256 x 256) uncompressed BigTIFF; with --npy also an NPY of the same pixels.
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include "bench/synthetic_files.h"

int main(int argc, char** argv) {
  if (argc < 4) {
    std::fprintf(stderr, "usage: make_tiff OUT.tif WIDTH HEIGHT [TILE] [--npy OUT.npy]\n");
    return 2;
  }
  const uint32_t tile = argc > 4 && argv[4][0] != '-' ? std::atoi(argv[4]) : 256;
  std::string npy;
  for (int i = 4; i + 1 < argc; ++i) {
    if (std::strcmp(argv[i], "--npy") == 0) npy = argv[i + 1];
  }
  return tilerender::bench::WriteSyntheticFiles(std::atoll(argv[2]), std::atoll(argv[3]), argv[1], npy, tile) ? 0 : 1;
}
