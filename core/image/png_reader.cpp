// PNG through libpng: every bit depth and colour type, interlaced, tRNS. Mapping to the image model:
// gray 1/2/4/8 -> uint8; gray 16 -> uint16; RGB/palette -> uint8 RGB; any alpha or tRNS -> uint8
// RGBA (gray expanded to RGB); 16-bit colour -> 8-bit (noted). libpng's longjmp only unwinds frames
// that hold plain C data: every C++ object lives outside the setjmp scopes.

#include <png.h>

#include <cerrno>
#include <csetjmp>
#include <cstdio>

#include "core/image/image_file.h"

namespace tilerender {
namespace {

struct ReadState {
  char error[256] = {};
};

void OnError(png_structp png, png_const_charp message) {
  auto* s = static_cast<ReadState*>(png_get_error_ptr(png));
  std::snprintf(s->error, sizeof s->error, "%s", message);
  png_longjmp(png, 1);
}

void OnWarning(png_structp, png_const_charp) {}

struct PngLayout {
  png_uint_32 width = 0, height = 0;
  int bit_depth = 0, color_type = 0, interlace = 0;
  bool trns = false;
  int out_channels = 0;
  bool out_16 = false;
  bool reduced_16 = false;
};

// Reads the header and sets up the transforms. Returns false on a libpng error.
bool ReadHeader(png_structp png, png_infop info, PngLayout* l) {
  if (setjmp(png_jmpbuf(png))) return false;
  png_read_info(png, info);
  png_get_IHDR(png, info, &l->width, &l->height, &l->bit_depth, &l->color_type, &l->interlace,
               nullptr, nullptr);
  l->trns = png_get_valid(png, info, PNG_INFO_tRNS) != 0;
  const bool gray = (l->color_type & PNG_COLOR_MASK_COLOR) == 0;
  const bool alpha = (l->color_type & PNG_COLOR_MASK_ALPHA) != 0 || l->trns;
  if (l->color_type == PNG_COLOR_TYPE_PALETTE) png_set_palette_to_rgb(png);
  if (gray && l->bit_depth < 8) png_set_expand_gray_1_2_4_to_8(png);
  if (l->trns) png_set_tRNS_to_alpha(png);
  if (gray && !alpha && l->bit_depth == 16) {
    l->out_channels = 1;
    l->out_16 = true;
    png_set_swap(png);  // network byte order to little-endian
  } else {
    if (l->bit_depth == 16) {
      png_set_scale_16(png);  // rounds, where strip_16 would truncate
      l->reduced_16 = true;
    }
    if (gray && alpha) png_set_gray_to_rgb(png);
    l->out_channels = gray ? (alpha ? 4 : 1) : (alpha ? 4 : 3);
  }
  png_set_interlace_handling(png);
  png_read_update_info(png, info);
  return true;
}

bool ReadRows(png_structp png, png_bytepp rows) {
  if (setjmp(png_jmpbuf(png))) return false;
  png_read_image(png, rows);
  png_read_end(png, nullptr);
  return true;
}

// RAII for the libpng structs and the FILE.
struct PngReader {
  FILE* file = nullptr;
  png_structp png = nullptr;
  png_infop info = nullptr;
  ~PngReader() {
    if (png != nullptr) png_destroy_read_struct(&png, info ? &info : nullptr, nullptr);
    if (file != nullptr) std::fclose(file);
  }
};

}  // namespace

Result<OpenedImage> OpenPng(const std::string& path, const OpenOptions& options) {
  const std::string& name = options.name.empty() ? path : options.name;
  if (options.page != 0) return InvalidArgument(name + ": PNG files have no pages");
  ReadState state;
  PngReader r;
  r.file = std::fopen(path.c_str(), "rbe");
  if (r.file == nullptr) return FileError("cannot open", name, errno);
  r.png = png_create_read_struct(PNG_LIBPNG_VER_STRING, &state, OnError, OnWarning);
  if (r.png == nullptr) return Internal("png_create_read_struct failed");
  r.info = png_create_info_struct(r.png);
  if (r.info == nullptr) return Internal("png_create_info_struct failed");
  png_init_io(r.png, r.file);
  // libpng's own limits would refuse before we can say why; ours are checked below.
  png_set_user_limits(r.png, 0x7fffffff, 0x7fffffff);
  png_set_chunk_malloc_max(r.png, 64 << 20);

  PngLayout l;
  if (!ReadHeader(r.png, r.info, &l)) {
    return InvalidArgument(name + ": corrupt PNG: " + state.error);
  }
  ImageDesc desc{l.width, l.height, l.out_16 ? PixelType::kUint16 : PixelType::kUint8, l.out_channels};
  TR_RETURN_IF_ERROR(ValidateDesc(desc, options.limits));
  if (png_get_rowbytes(r.png, r.info) != desc.row_bytes()) {
    return Internal(name + ": PNG row size " + std::to_string(png_get_rowbytes(r.png, r.info)) +
                    " does not match " + desc.ToString());
  }
  TR_ASSIGN_OR_RETURN(std::unique_ptr<BufferSource> buf, BufferSource::Allocate(desc));
  std::vector<png_bytep> rows(desc.height);
  for (int64_t y = 0; y < desc.height; ++y) rows[y] = buf->mutable_data() + y * desc.row_bytes();
  if (!ReadRows(r.png, rows.data())) {
    return InvalidArgument(name + ": corrupt PNG data: " + state.error);
  }
  OpenedImage out;
  out.format = "png";
  if (l.reduced_16) out.notes.push_back("16-bit color reduced to 8-bit");
  if (l.color_type == PNG_COLOR_TYPE_PALETTE) out.notes.push_back("palette expanded to RGB(A)");
  if ((l.color_type & PNG_COLOR_MASK_COLOR) == 0 && l.out_channels == 4) {
    out.notes.push_back("gray with alpha expanded to RGBA");
  }
  out.source = std::move(buf);
  return out;
}

}  // namespace tilerender
