// PNG through libpng: every bit depth and colour type, interlaced, tRNS. Mapping to the image model:
// gray 1/2/4/8 -> uint8; gray 16 -> uint16; RGB/palette -> uint8 RGB; any alpha or tRNS -> uint8
// RGBA (gray expanded to RGB); 16-bit colour -> 8-bit (noted). libpng's longjmp only unwinds frames
// that hold plain C data: every C++ object lives outside the setjmp scopes.

#include <png.h>
#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <csetjmp>
#include <cstdio>
#include <cstring>

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

// Reads the chunks up to the first IDAT and the header's fields; nothing the size of a row is
// allocated yet. Returns false on a libpng error.
bool ReadInfo(png_structp png, png_infop info, PngLayout* l) {
  if (setjmp(png_jmpbuf(png))) return false;
  png_read_info(png, info);
  png_get_IHDR(png, info, &l->width, &l->height, &l->bit_depth, &l->color_type, &l->interlace,
               nullptr, nullptr);
  l->trns = png_get_valid(png, info, PNG_INFO_tRNS) != 0;
  const bool gray = (l->color_type & PNG_COLOR_MASK_COLOR) == 0;
  const bool alpha = (l->color_type & PNG_COLOR_MASK_ALPHA) != 0 || l->trns;
  l->out_16 = gray && !alpha && l->bit_depth == 16;
  l->reduced_16 = !l->out_16 && l->bit_depth == 16;
  l->out_channels = gray ? (alpha ? 4 : 1) : (alpha ? 4 : 3);
  return true;
}

// Sets up the transforms to our layout; this allocates libpng's row buffers. The number of passes,
// 0 on an error.
int SetTransforms(png_structp png, png_infop info, const PngLayout& l) {
  if (setjmp(png_jmpbuf(png))) return 0;
  const bool gray = (l.color_type & PNG_COLOR_MASK_COLOR) == 0;
  if (l.color_type == PNG_COLOR_TYPE_PALETTE) png_set_palette_to_rgb(png);
  if (gray && l.bit_depth < 8) png_set_expand_gray_1_2_4_to_8(png);
  if (l.trns) png_set_tRNS_to_alpha(png);
  if (l.out_16) png_set_swap(png);          // network byte order to little-endian
  if (l.reduced_16) png_set_scale_16(png);  // rounds, where strip_16 would truncate
  if (gray && l.out_channels == 4) png_set_gray_to_rgb(png);
  const int passes = png_set_interlace_handling(png);
  png_read_update_info(png, info);
  return passes;
}

// Deflate cannot expand data more than about 1032 : 1 (258-byte matches in 2 bits at best). A file
// smaller than its scanlines over that cannot hold them: refused before a row is allocated.
constexpr uint64_t kMaxDeflateRatio = 1040;

uint64_t ScanlineBytes(const PngLayout& l) {
  const int samples = l.color_type == PNG_COLOR_TYPE_PALETTE ? 1
                      : (l.color_type & PNG_COLOR_MASK_COLOR) ? ((l.color_type & PNG_COLOR_MASK_ALPHA) ? 4 : 3)
                                                             : ((l.color_type & PNG_COLOR_MASK_ALPHA) ? 2 : 1);
  const uint64_t row_bits = uint64_t{l.width} * samples * l.bit_depth;
  return uint64_t{l.height} * (1 + (row_bits + 7) / 8);  // a filter byte per row
}

enum class RowsRead { kOk, kError, kCancelled };

// Every pass (7 when interlaced) over every row, asking `cancelled` every 64 rows. The callback is
// a C++ object, but it lives in the caller's frame, outside this setjmp scope.
RowsRead ReadRows(png_structp png, png_bytepp rows, png_uint_32 height, int passes, const OpenOptions& options) {
  if (setjmp(png_jmpbuf(png))) return RowsRead::kError;
  for (int pass = 0; pass < passes; ++pass) {
    for (png_uint_32 y = 0; y < height; ++y) {
      if (y % 64 == 0 && OpenCancelled(options)) return RowsRead::kCancelled;
      png_read_row(png, rows[y], nullptr);
    }
  }
  png_read_end(png, nullptr);
  return RowsRead::kOk;
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
  // The size in IHDR against our limits first, in our words (libpng's user limits, below, refuse
  // the same sizes as "Invalid IHDR data").
  uint8_t head[24] = {};
  if (std::fread(head, 1, sizeof head, r.file) == sizeof head && std::memcmp(head + 12, "IHDR", 4) == 0) {
    auto be32 = [](const uint8_t* p) { return int64_t{p[0]} << 24 | int64_t{p[1]} << 16 | int64_t{p[2]} << 8 | p[3]; };
    const ImageDesc claimed{be32(head + 16), be32(head + 20), PixelType::kUint8, 1};
    if (claimed.width > 0 && claimed.height > 0) TR_RETURN_IF_ERROR(ValidateDesc(claimed, options.limits.Paged()));
  }
  std::rewind(r.file);
  r.png = png_create_read_struct(PNG_LIBPNG_VER_STRING, &state, OnError, OnWarning);
  if (r.png == nullptr) return Internal("png_create_read_struct failed");
  r.info = png_create_info_struct(r.png);
  if (r.info == nullptr) return Internal("png_create_info_struct failed");
  png_init_io(r.png, r.file);
  // libpng's limits stay on: dimensions (ours), ancillary chunks (how many, and how large).
  const auto side = static_cast<png_uint_32>(std::clamp<int64_t>(options.limits.max_side, 1, 0x7fffffff));
  png_set_user_limits(r.png, side, side);
  png_set_chunk_cache_max(r.png, 1000);
  png_set_chunk_malloc_max(r.png, 8 << 20);

  PngLayout l;
  if (!ReadInfo(r.png, r.info, &l)) {
    if (std::strstr(state.error, "exceeds user limit") != nullptr) {
      return InvalidArgument(name + ": PNG " + state.error + " of " + std::to_string(side) + " pixels per side");
    }
    return InvalidArgument(name + ": corrupt PNG: " + state.error);
  }
  ImageDesc desc{l.width, l.height, l.out_16 ? PixelType::kUint16 : PixelType::kUint8, l.out_channels};
  TR_RETURN_IF_ERROR(ValidateDesc(desc, options.limits));
  struct stat st {};
  if (::fstat(fileno(r.file), &st) != 0) return FileError("cannot stat", name, errno);
  if (static_cast<uint64_t>(st.st_size) * kMaxDeflateRatio < ScanlineBytes(l)) {
    return InvalidArgument(name + ": PNG of " + std::to_string(st.st_size) + " bytes cannot hold the " +
                           std::to_string(ScanlineBytes(l)) + " bytes of scanlines its header claims (" +
                           std::to_string(l.width) + "x" + std::to_string(l.height) + ")");
  }
  const int passes = SetTransforms(r.png, r.info, l);
  if (passes == 0) {
    return InvalidArgument(name + ": corrupt PNG: " + state.error);
  }
  if (png_get_rowbytes(r.png, r.info) != desc.row_bytes()) {
    return Internal(name + ": PNG row size " + std::to_string(png_get_rowbytes(r.png, r.info)) +
                    " does not match " + desc.ToString());
  }
  TR_ASSIGN_OR_RETURN(std::unique_ptr<BufferSource> buf, BufferSource::Allocate(desc));
  std::vector<png_bytep> rows(desc.height);
  for (int64_t y = 0; y < desc.height; ++y) rows[y] = buf->mutable_data() + y * desc.row_bytes();
  switch (ReadRows(r.png, rows.data(), l.height, passes, options)) {
    case RowsRead::kOk: break;
    case RowsRead::kError: return InvalidArgument(name + ": corrupt PNG data: " + state.error);
    case RowsRead::kCancelled: return Cancelled(name + ": the load was cancelled while decoding");
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
