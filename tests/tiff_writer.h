#pragma once
// Writes TIFF/BigTIFF test files with libtiff: strips or tiles, contiguous or separate planes, any
// compression libtiff encodes. Used by tests and benchmarks.

#include <tiffio.h>

#include <cstring>
#include <string>
#include <vector>

namespace tilerender::testing {

struct TiffLayout {
  bool bigtiff = false;
  bool tiled = false;
  uint32_t tile_w = 256, tile_h = 256;
  uint32_t rows_per_strip = 16;
  bool separate = false;
  uint16_t compression = COMPRESSION_NONE;
  uint16_t predictor = 1;
  uint16_t photometric = PHOTOMETRIC_MINISBLACK;
  uint16_t sample_format = SAMPLEFORMAT_UINT;
  uint16_t bits = 8;
  uint16_t samples = 1;
  uint16_t extra_alpha = 0;  // EXTRASAMPLE_* for a 4th sample, 0 for none
  int pages = 1;             // further pages repeat the first
};

/// The tags of an 8-bit RGB page stored as JPEG in YCbCr, as slide scanners and vips write them
/// (libtiff converts from RGB while writing); the caller adds tiles or strips.
inline void SetJpegYCbCrPage(TIFF* t, uint32_t w, uint32_t h, int quality) {
  TIFFSetField(t, TIFFTAG_IMAGEWIDTH, w);
  TIFFSetField(t, TIFFTAG_IMAGELENGTH, h);
  TIFFSetField(t, TIFFTAG_BITSPERSAMPLE, 8);
  TIFFSetField(t, TIFFTAG_SAMPLESPERPIXEL, 3);
  TIFFSetField(t, TIFFTAG_PLANARCONFIG, PLANARCONFIG_CONTIG);
  TIFFSetField(t, TIFFTAG_COMPRESSION, COMPRESSION_JPEG);
  TIFFSetField(t, TIFFTAG_PHOTOMETRIC, PHOTOMETRIC_YCBCR);
  TIFFSetField(t, TIFFTAG_JPEGQUALITY, quality);
  TIFFSetField(t, TIFFTAG_JPEGCOLORMODE, JPEGCOLORMODE_RGB);
}

/// The tags of a single-channel page of `bits`-bit samples; the caller sets strips or tiles.
inline void SetGrayPage(TIFF* t, uint32_t w, uint32_t h, int bits, uint16_t compression) {
  TIFFSetField(t, TIFFTAG_IMAGEWIDTH, w);
  TIFFSetField(t, TIFFTAG_IMAGELENGTH, h);
  TIFFSetField(t, TIFFTAG_BITSPERSAMPLE, bits);
  TIFFSetField(t, TIFFTAG_SAMPLESPERPIXEL, 1);
  TIFFSetField(t, TIFFTAG_PHOTOMETRIC, PHOTOMETRIC_MINISBLACK);
  TIFFSetField(t, TIFFTAG_COMPRESSION, compression);
}

/// The tags of a tiled single-channel Deflate page: one level of a pyramid (`reduced` marks the
/// levels after the first, as SubIFDs and page pyramids do); the caller writes the tiles.
inline void SetTiledGrayPage(TIFF* t, uint32_t w, uint32_t h, int bits, uint32_t tile, bool reduced) {
  TIFFSetField(t, TIFFTAG_SUBFILETYPE, reduced ? FILETYPE_REDUCEDIMAGE : 0);
  SetGrayPage(t, w, h, bits, COMPRESSION_ADOBE_DEFLATE);
  TIFFSetField(t, TIFFTAG_TILEWIDTH, tile);
  TIFFSetField(t, TIFFTAG_TILELENGTH, tile);
}

/// `pixels`: interleaved, row-major, bits/8 bytes per sample. Returns false on a libtiff error.
inline bool WriteTiff(const std::string& path, uint32_t w, uint32_t h, const TiffLayout& l, const void* pixels) {
  TIFF* t = TIFFOpen(path.c_str(), l.bigtiff ? "w8" : "w");
  if (t == nullptr) return false;
  const size_t bps = l.bits / 8;
  const auto* px = static_cast<const uint8_t*>(pixels);
  bool ok = true;
  for (int page = 0; page < l.pages && ok; ++page) {
    TIFFSetField(t, TIFFTAG_IMAGEWIDTH, w);
    TIFFSetField(t, TIFFTAG_IMAGELENGTH, h);
    TIFFSetField(t, TIFFTAG_BITSPERSAMPLE, l.bits);
    TIFFSetField(t, TIFFTAG_SAMPLESPERPIXEL, l.samples);
    TIFFSetField(t, TIFFTAG_SAMPLEFORMAT, l.sample_format);
    TIFFSetField(t, TIFFTAG_PHOTOMETRIC, l.photometric);
    TIFFSetField(t, TIFFTAG_PLANARCONFIG, l.separate ? PLANARCONFIG_SEPARATE : PLANARCONFIG_CONTIG);
    TIFFSetField(t, TIFFTAG_COMPRESSION, l.compression);
    if (l.predictor != 1) TIFFSetField(t, TIFFTAG_PREDICTOR, l.predictor);
    if (l.extra_alpha) {
      uint16_t extra[1] = {l.extra_alpha};
      TIFFSetField(t, TIFFTAG_EXTRASAMPLES, 1, extra);
    }
    if (l.pages > 1) {
      TIFFSetField(t, TIFFTAG_SUBFILETYPE, FILETYPE_PAGE);
      TIFFSetField(t, TIFFTAG_PAGENUMBER, page, l.pages);
    }
    const int planes = l.separate ? l.samples : 1;
    const size_t pix_bytes = bps * l.samples;
    if (l.tiled) {
      TIFFSetField(t, TIFFTAG_TILEWIDTH, l.tile_w);
      TIFFSetField(t, TIFFTAG_TILELENGTH, l.tile_h);
      const size_t sample_bytes = l.separate ? bps : pix_bytes;
      std::vector<uint8_t> tile(static_cast<size_t>(l.tile_w) * l.tile_h * sample_bytes);
      for (int s = 0; s < planes && ok; ++s) {
        for (uint32_t ty = 0; ty < h && ok; ty += l.tile_h) {
          for (uint32_t tx = 0; tx < w && ok; tx += l.tile_w) {
            std::fill(tile.begin(), tile.end(), 0);
            for (uint32_t r = 0; r < l.tile_h && ty + r < h; ++r) {
              for (uint32_t c = 0; c < l.tile_w && tx + c < w; ++c) {
                const uint8_t* src = px + ((size_t(ty + r) * w + tx + c) * pix_bytes) + (l.separate ? s * bps : 0);
                std::memcpy(&tile[(size_t(r) * l.tile_w + c) * sample_bytes], src, sample_bytes);
              }
            }
            ok = TIFFWriteEncodedTile(t, TIFFComputeTile(t, tx, ty, 0, s), tile.data(), tile.size()) >= 0;
          }
        }
      }
    } else {
      TIFFSetField(t, TIFFTAG_ROWSPERSTRIP, l.rows_per_strip);
      const size_t sample_bytes = l.separate ? bps : pix_bytes;
      std::vector<uint8_t> strip;
      for (int s = 0; s < planes && ok; ++s) {
        for (uint32_t y = 0; y < h && ok; y += l.rows_per_strip) {
          const uint32_t rows = std::min(l.rows_per_strip, h - y);
          strip.assign(size_t(rows) * w * sample_bytes, 0);
          for (uint32_t r = 0; r < rows; ++r) {
            for (uint32_t c = 0; c < w; ++c) {
              const uint8_t* src = px + ((size_t(y + r) * w + c) * pix_bytes) + (l.separate ? s * bps : 0);
              std::memcpy(&strip[(size_t(r) * w + c) * sample_bytes], src, sample_bytes);
            }
          }
          ok = TIFFWriteEncodedStrip(t, TIFFComputeStrip(t, y, s), strip.data(), strip.size()) >= 0;
        }
      }
    }
    ok = ok && TIFFWriteDirectory(t);
  }
  TIFFClose(t);
  return ok;
}

}  // namespace tilerender::testing
