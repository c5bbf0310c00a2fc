#include "core/encode/png_encoder.h"

#include <png.h>
#include <zlib.h>

#include <algorithm>
#include <csetjmp>
#include <cstring>
#include <future>
#include <string>
#include <thread>

namespace tilerender {
namespace {

struct WriteState {
  std::vector<uint8_t>* out;
  std::string error;
};

void WriteData(png_structp png, png_bytep data, png_size_t length) {
  auto* s = static_cast<WriteState*>(png_get_io_ptr(png));
  s->out->insert(s->out->end(), data, data + length);
}

void Flush(png_structp) {}

void OnError(png_structp png, png_const_charp message) {
  auto* s = static_cast<WriteState*>(png_get_error_ptr(png));
  s->error = message;
  png_longjmp(png, 1);
}

void OnWarning(png_structp, png_const_charp) {}

// Everything between setjmp and the longjmp target lives in plain C objects (or is owned by the
// caller), so a libpng error unwinds nothing that has a destructor.
bool Encode(png_structp png, png_infop info, const png_bytep* rows, int width, int height,
            const PngEncodeOptions& o) {
  if (setjmp(png_jmpbuf(png))) return false;
  png_set_IHDR(png, info, width, height, 8, o.write_alpha ? PNG_COLOR_TYPE_RGBA : PNG_COLOR_TYPE_RGB,
               PNG_INTERLACE_NONE, PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
  png_set_compression_level(png, o.level);
  // One cheap filter: "up" suits smooth renders; level 0 stores, so filtering is wasted there.
  const int filters = o.filters != 0 ? o.filters : o.level == 0 ? PNG_FILTER_NONE : PNG_FILTER_UP;
  png_set_filter(png, PNG_FILTER_TYPE_BASE, filters);
  png_write_info(png, info);
  if (!o.write_alpha) png_set_filler(png, 0, PNG_FILLER_AFTER);  // input rows keep 4 bytes
  png_write_rows(png, const_cast<png_bytepp>(rows), height);
  png_write_end(png, nullptr);
  return true;
}

// A libpng writer into memory around `write` (which does the setjmp); frees it on every path.
template <typename F>
Result<std::vector<uint8_t>> WithLibpng(size_t reserve, F write) {
  std::vector<uint8_t> out;
  out.reserve(reserve);
  WriteState state{&out, {}};
  png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, &state, OnError, OnWarning);
  if (png == nullptr) return Internal("png_create_write_struct failed");
  png_infop info = png_create_info_struct(png);
  if (info == nullptr) {
    png_destroy_write_struct(&png, nullptr);
    return Internal("png_create_info_struct failed");
  }
  png_set_write_fn(png, &state, WriteData, Flush);
  const bool ok = write(png, info);
  png_destroy_write_struct(&png, &info);
  if (!ok) return Internal("libpng: " + state.error);
  return out;
}

// Banded encoder: libpng writes IHDR and frames our IDAT; everything between setjmp and the
// longjmp target is plain C data, as above.
bool WriteFramed(png_structp png, png_infop info, int width, int height, bool alpha, const uint8_t* idat,
                 size_t idat_size) {
  if (setjmp(png_jmpbuf(png))) return false;
  png_set_IHDR(png, info, width, height, 8, alpha ? PNG_COLOR_TYPE_RGBA : PNG_COLOR_TYPE_RGB,
               PNG_INTERLACE_NONE, PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
  png_write_info(png, info);
  // IDAT chunks stay below 2^31 bytes; readers concatenate them.
  constexpr size_t kMaxChunk = size_t{1} << 30;
  for (size_t at = 0; at < idat_size; at += kMaxChunk) {
    png_write_chunk(png, reinterpret_cast<png_const_bytep>("IDAT"), idat + at, std::min(kMaxChunk, idat_size - at));
  }
  png_write_chunk(png, reinterpret_cast<png_const_bytep>("IEND"), nullptr, 0);
  return true;
}

struct Band {
  std::vector<uint8_t> deflated;
  uLong adler = 0;
  size_t raw_bytes = 0;
  bool ok = false;
};

// Filters rows [y0, y1) ("up", or "none" at level 0) and deflates them as raw deflate ending with a
// full flush (or with the final block for the last band).
Band CompressBand(const uint8_t* rgba, size_t stride, int width, int height, int y0, int y1, bool alpha, bool bottom_up,
                  int level, bool last) {
  Band band;
  const int channels = alpha ? 4 : 3;
  const size_t row_bytes = static_cast<size_t>(width) * channels;
  auto source_row = [&](int y) { return rgba + static_cast<size_t>(bottom_up ? height - 1 - y : y) * stride; };
  std::vector<uint8_t> filtered(static_cast<size_t>(y1 - y0) * (row_bytes + 1));
  std::vector<uint8_t> prev(row_bytes, 0), cur(row_bytes);
  if (y0 > 0 && level > 0) {
    const uint8_t* p = source_row(y0 - 1);
    for (int x = 0; x < width; ++x) std::memcpy(&prev[x * channels], p + x * 4, channels);
  }
  for (int y = y0; y < y1; ++y) {
    const uint8_t* p = source_row(y);
    if (alpha) {
      std::memcpy(cur.data(), p, row_bytes);
    } else {
      for (int x = 0; x < width; ++x) std::memcpy(&cur[x * 3], p + x * 4, 3);
    }
    uint8_t* out = &filtered[static_cast<size_t>(y - y0) * (row_bytes + 1)];
    if (level == 0) {
      out[0] = 0;  // none
      std::memcpy(out + 1, cur.data(), row_bytes);
    } else {
      out[0] = 2;  // up
      for (size_t i = 0; i < row_bytes; ++i) out[1 + i] = static_cast<uint8_t>(cur[i] - prev[i]);
    }
    std::swap(prev, cur);
  }
  band.raw_bytes = filtered.size();
  band.adler = adler32(adler32(0L, Z_NULL, 0), filtered.data(), static_cast<uInt>(filtered.size()));
  z_stream z{};
  if (deflateInit2(&z, level, Z_DEFLATED, -15, 8, Z_DEFAULT_STRATEGY) != Z_OK) return band;
  band.deflated.resize(deflateBound(&z, static_cast<uLong>(filtered.size())) + 64);
  z.next_in = filtered.data();
  z.avail_in = static_cast<uInt>(filtered.size());
  z.next_out = band.deflated.data();
  z.avail_out = static_cast<uInt>(band.deflated.size());
  const int rc = deflate(&z, last ? Z_FINISH : Z_FULL_FLUSH);
  band.ok = last ? rc == Z_STREAM_END : rc == Z_OK;
  band.deflated.resize(band.deflated.size() - z.avail_out);
  deflateEnd(&z);
  return band;
}

Result<std::vector<uint8_t>> EncodeBanded(const uint8_t* rgba, int width, int height, size_t stride,
                                          const PngEncodeOptions& o) {
  int bands = o.threads > 0 ? o.threads : std::clamp(static_cast<int>(std::thread::hardware_concurrency()), 1, 8);
  // Bands of fewer than ~64K pixels cost more in thread start and lost context than they save.
  bands = std::clamp(static_cast<int>(static_cast<int64_t>(width) * height / 65536), 1, bands);
  auto band = [&](int b) {
    const int y0 = static_cast<int>(static_cast<int64_t>(height) * b / bands);
    const int y1 = static_cast<int>(static_cast<int64_t>(height) * (b + 1) / bands);
    return CompressBand(rgba, stride, width, height, y0, y1, o.write_alpha, o.bottom_up, o.level, b == bands - 1);
  };
  std::vector<std::future<Band>> others;
  for (int b = 0; b + 1 < bands; ++b) others.push_back(std::async(std::launch::async, band, b));
  Band last = band(bands - 1);  // this thread takes the last band meanwhile
  // One zlib stream: header, the bands' deflate data, adler32 of all of it.
  std::vector<uint8_t> idat = {0x78, 0x01};
  uLong adler = adler32(0L, Z_NULL, 0);
  for (int i = 0; i < bands; ++i) {
    Band b = i + 1 < bands ? others[i].get() : std::move(last);
    if (!b.ok) return Internal("zlib deflate failed");
    idat.insert(idat.end(), b.deflated.begin(), b.deflated.end());
    adler = adler32_combine(adler, b.adler, static_cast<z_off_t>(b.raw_bytes));
  }
  for (int shift : {24, 16, 8, 0}) idat.push_back(static_cast<uint8_t>(adler >> shift));

  return WithLibpng(idat.size() + 128, [&](png_structp png, png_infop info) {
    return WriteFramed(png, info, width, height, o.write_alpha, idat.data(), idat.size());
  });
}

}  // namespace

Result<std::vector<uint8_t>> EncodePng(const uint8_t* rgba, int width, int height, size_t stride,
                                       const PngEncodeOptions& options) {
  if (width <= 0 || height <= 0) return InvalidArgument("PNG size must be positive");
  if (options.level < 0 || options.level > 9) {
    return InvalidArgument("PNG compression level must be 0..9, got " + std::to_string(options.level));
  }
  if (options.filters == 0) return EncodeBanded(rgba, width, height, stride, options);
  std::vector<png_bytep> rows(height);
  for (int y = 0; y < height; ++y) {
    const int src = options.bottom_up ? height - 1 - y : y;
    rows[y] = const_cast<png_bytep>(rgba + static_cast<size_t>(src) * stride);
  }
  return WithLibpng(static_cast<size_t>(width) * height / 2 + 1024, [&](png_structp png, png_infop info) {
    return Encode(png, info, rows.data(), width, height, options);
  });
}

}  // namespace tilerender
