#include "core/encode/png_encoder.h"

#include <png.h>

#include <csetjmp>
#include <string>

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

}  // namespace

Result<std::vector<uint8_t>> EncodePng(const uint8_t* rgba, int width, int height, size_t stride,
                                       const PngEncodeOptions& options) {
  if (width <= 0 || height <= 0) return InvalidArgument("PNG size must be positive");
  if (options.level < 0 || options.level > 9) {
    return InvalidArgument("PNG compression level must be 0..9, got " + std::to_string(options.level));
  }
  std::vector<uint8_t> out;
  out.reserve(static_cast<size_t>(width) * height / 2 + 1024);
  WriteState state{&out, {}};
  std::vector<png_bytep> rows(height);
  for (int y = 0; y < height; ++y) {
    const int src = options.bottom_up ? height - 1 - y : y;
    rows[y] = const_cast<png_bytep>(rgba + static_cast<size_t>(src) * stride);
  }
  png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, &state, OnError, OnWarning);
  if (png == nullptr) return Internal("png_create_write_struct failed");
  png_infop info = png_create_info_struct(png);
  if (info == nullptr) {
    png_destroy_write_struct(&png, nullptr);
    return Internal("png_create_info_struct failed");
  }
  png_set_write_fn(png, &state, WriteData, Flush);
  const bool ok = Encode(png, info, rows.data(), width, height, options);
  png_destroy_write_struct(&png, &info);
  if (!ok) return Internal("libpng: " + state.error);
  return out;
}

}  // namespace tilerender
