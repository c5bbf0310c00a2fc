// NPY (numpy's .npy format, versions 1-3). Little-endian C-order uint8/uint16/float32 files are read
// in place, a chunk at a time with pread (never memory-mapped: a file truncated under a map would
// kill the daemon with SIGBUS); everything else (big-endian, Fortran order, other dtypes) is
// converted once into host memory, with a note.

#include <algorithm>
#include <bit>
#include <cstring>
#include <regex>

#include "core/image/image_file.h"

namespace tilerender {
namespace {

struct NpyHeader {
  char byte_order = '<';  // '<', '>', '|'
  char kind = 'u';        // 'u', 'i', 'f', 'b'
  int item_size = 1;
  bool fortran = false;
  std::vector<int64_t> shape;
  size_t data_offset = 0;
};

Result<NpyHeader> ParseHeader(const uint8_t* p, size_t size, const std::string& path) {
  auto bad = [&](const std::string& why) { return InvalidArgument(path + ": bad NPY header: " + why); };
  if (size < 10) return bad("file too short");
  const int major = p[6];
  size_t header_len, start;
  if (major == 1) {
    header_len = p[8] | (p[9] << 8);
    start = 10;
  } else if (major == 2 || major == 3) {
    if (size < 12) return bad("file too short");
    header_len = p[8] | (p[9] << 8) | (size_t{p[10]} << 16) | (size_t{p[11]} << 24);
    start = 12;
  } else {
    return bad("unsupported version " + std::to_string(major));
  }
  if (header_len > 1 << 20 || start + header_len > size) return bad("header runs past the end of the file");
  const std::string dict(reinterpret_cast<const char*>(p + start), header_len);
  NpyHeader h;
  h.data_offset = start + header_len;

  std::smatch m;
  static const std::regex descr_re(R"('descr'\s*:\s*'([<>|=])([a-zA-Z])(\d+)')");
  static const std::regex fortran_re(R"('fortran_order'\s*:\s*(True|False))");
  static const std::regex shape_re(R"('shape'\s*:\s*\(([^)]*)\))");
  if (!std::regex_search(dict, m, descr_re)) return bad("no simple 'descr' (structured dtypes are not images)");
  h.byte_order = m[1].str()[0];
  h.kind = m[2].str()[0];
  if (m[3].str().size() > 2) return bad("item size " + m[3].str() + " is not a supported dtype");
  h.item_size = std::stoi(m[3].str());
  if (h.byte_order == '=') h.byte_order = '<';  // numpy writes '=' only for native; we run little-endian
  if (!std::regex_search(dict, m, fortran_re)) return bad("no 'fortran_order'");
  h.fortran = m[1] == "True";
  if (!std::regex_search(dict, m, shape_re)) return bad("no 'shape'");
  const std::string dims = m[1];
  static const std::regex dim_re(R"(\d+)");
  for (auto it = std::sregex_iterator(dims.begin(), dims.end(), dim_re); it != std::sregex_iterator(); ++it) {
    const std::string d = it->str();
    if (d.size() > 12) return bad("dimension too large");
    h.shape.push_back(std::stoll(d));
  }
  return h;
}

template <typename T>
T Load(const uint8_t* p, bool swap) {
  T v;
  if (!swap) {
    std::memcpy(&v, p, sizeof(T));
    return v;
  }
  uint8_t b[sizeof(T)];
  for (size_t i = 0; i < sizeof(T); ++i) b[i] = p[sizeof(T) - 1 - i];
  std::memcpy(&v, b, sizeof(T));
  return v;
}

// One element of any supported dtype as float (for conversions).
double Element(const uint8_t* p, const NpyHeader& h) {
  const bool swap = h.byte_order == '>' && h.item_size > 1;
  switch (h.kind) {
    case 'b': return p[0] != 0;
    case 'u':
      switch (h.item_size) {
        case 1: return p[0];
        case 2: return Load<uint16_t>(p, swap);
        case 4: return Load<uint32_t>(p, swap);
        case 8: return static_cast<double>(Load<uint64_t>(p, swap));
      }
      break;
    case 'i':
      switch (h.item_size) {
        case 1: return static_cast<int8_t>(p[0]);
        case 2: return Load<int16_t>(p, swap);
        case 4: return Load<int32_t>(p, swap);
        case 8: return static_cast<double>(Load<int64_t>(p, swap));
      }
      break;
    case 'f':
      switch (h.item_size) {
        case 4: return Load<float>(p, swap);
        case 8: return Load<double>(p, swap);
      }
      break;
  }
  return 0;
}

// Packed rows of a file read in place, never a whole image: rows of up to kBandRowBytes come in bands
// of whole rows, about kBandBytes each, one pread per band (a first view that derives the levels reads
// a 16000-wide uint16 file in 250 preads, not 262,000 row pieces); longer rows in kChunkSide x
// kChunkSide chunks, one pread per row piece (a tile never reads a 100,000-pixel row whole).
constexpr int64_t kChunkSide = 1024;
constexpr int64_t kBandRowBytes = 64 << 10;
constexpr int64_t kBandBytes = 2 << 20;

class NpyFileSource final : public ImageSource {
 public:
  NpyFileSource(std::shared_ptr<ReadOnlyFile> file, uint64_t offset, const ImageDesc& desc)
      : file_(std::move(file)), offset_(offset), desc_(desc) {}
  const ImageDesc& desc() const override { return desc_; }
  std::vector<SourceLevel> levels() const override {
    const int64_t row = static_cast<int64_t>(desc_.row_bytes());
    if (row <= kBandRowBytes) {
      const int64_t band = std::clamp<int64_t>(kBandBytes / row, 1, kChunkSide);
      return {{0, desc_.width, desc_.height, desc_.width, std::min(desc_.height, band)}};
    }
    return {{0, desc_.width, desc_.height, kChunkSide, std::min(desc_.height, kChunkSide)}};
  }
  bool reads_without_decoding() const override { return true; }
  Status ReadChunk(int index, int plane, int64_t cx, int64_t cy, uint8_t* dst, size_t dst_stride) override {
    const SourceLevel l = levels().front();
    if (index != 0 || plane != 0 || cx < 0 || cy < 0 || cx * l.chunk_width >= l.width || cy * l.chunk_height >= l.height) {
      return InvalidArgument("no such chunk in " + file_->name());
    }
    const size_t bpp = desc_.bytes_per_pixel(), row = desc_.row_bytes();
    const int64_t x0 = cx * l.chunk_width, y0 = cy * l.chunk_height;
    const int64_t w = std::min(l.chunk_width, l.width - x0), h = std::min(l.chunk_height, l.height - y0);
    const uint64_t at = offset_ + static_cast<uint64_t>(y0) * row + static_cast<uint64_t>(x0) * bpp;
    if (w == desc_.width && dst_stride == row) return file_->ReadAt(at, dst, row * static_cast<size_t>(h));
    for (int64_t r = 0; r < h; ++r) {
      TR_RETURN_IF_ERROR(file_->ReadAt(at + static_cast<uint64_t>(r) * row, dst + static_cast<size_t>(r) * dst_stride,
                                       static_cast<size_t>(w) * bpp));
    }
    return Status::Ok();
  }

 private:
  std::shared_ptr<ReadOnlyFile> file_;
  uint64_t offset_;
  ImageDesc desc_;
};

// Element `e` (any supported dtype) stored as element `di` of dst, in desc's pixel type.
void StoreConverted(const uint8_t* e, const NpyHeader& h, PixelType type, uint8_t* dst, size_t di) {
  const bool swap = h.byte_order == '>' && h.item_size > 1;
  switch (type) {
    case PixelType::kUint8: dst[di] = static_cast<uint8_t>(Element(e, h)); break;
    case PixelType::kUint16: {
      const uint16_t v = Load<uint16_t>(e, swap);
      std::memcpy(dst + 2 * di, &v, 2);
      break;
    }
    case PixelType::kFloat32: {
      const float v = h.kind == 'f' && h.item_size == 4 ? Load<float>(e, swap) : static_cast<float>(Element(e, h));
      std::memcpy(dst + 4 * di, &v, 4);
      break;
    }
    case PixelType::kUint32: {
      const uint32_t v = Load<uint32_t>(e, swap);
      std::memcpy(dst + 4 * di, &v, 4);
      break;
    }
  }
}

}  // namespace

std::string NpyHeaderBytes(const std::string& descr, const std::vector<int64_t>& shape, bool fortran) {
  std::string dims;
  for (int64_t d : shape) dims += std::to_string(d) + ", ";
  if (shape.size() > 1) dims.resize(dims.size() - 2);  // a 1-tuple keeps its comma
  std::string dict = "{'descr': '" + descr + "', 'fortran_order': " + (fortran ? "True" : "False") +
                     ", 'shape': (" + dims + "), }";
  // numpy pads the header with spaces so the data starts at a multiple of 64, ending in '\n'.
  dict.append((64 - (10 + dict.size() + 1) % 64) % 64, ' ');
  dict += '\n';
  const uint16_t len = static_cast<uint16_t>(dict.size());
  return std::string("\x93NUMPY\x01\x00", 8) + static_cast<char>(len & 255) + static_cast<char>(len >> 8) + dict;
}

Result<OpenedImage> OpenNpy(const std::string& path, const OpenOptions& options) {
  const std::string& name = options.name.empty() ? path : options.name;
  if (options.page != 0) return InvalidArgument(name + ": NPY files have no pages");
  TR_ASSIGN_OR_RETURN(std::shared_ptr<ReadOnlyFile> file, ReadOnlyFile::Open(path, name));
  // The header: at most 12 + 1 MiB bytes (ParseHeader refuses longer ones).
  std::vector<uint8_t> head(static_cast<size_t>(std::min<uint64_t>(file->size(), 12 + (1 << 20))));
  TR_RETURN_IF_ERROR(file->ReadAt(0, head.data(), head.size()));
  TR_ASSIGN_OR_RETURN(NpyHeader h, ParseHeader(head.data(), head.size(), name));
  head = {};

  OpenedImage out;
  out.format = "npy";
  const std::string dtype = std::string(1, h.byte_order) + h.kind + std::to_string(h.item_size);
  const bool supported_kind = (h.kind == 'u' && (h.item_size == 1 || h.item_size == 2 || h.item_size == 4)) ||
                              (h.kind == 'i' && (h.item_size == 1 || h.item_size == 2 || h.item_size == 4)) ||
                              (h.kind == 'f' && (h.item_size == 4 || h.item_size == 8)) ||
                              (h.kind == 'b' && h.item_size == 1);
  if (!supported_kind) return InvalidArgument(name + ": unsupported NPY dtype '" + dtype + "'");

  ImageDesc desc;
  if (h.shape.size() == 2 || (h.shape.size() == 3 && h.shape[2] == 1)) {
    desc.channels = 1;
  } else if (h.shape.size() == 3 && (h.shape[2] == 3 || h.shape[2] == 4)) {
    desc.channels = static_cast<int>(h.shape[2]);
  } else {
    std::string s;
    for (int64_t d : h.shape) s += (s.empty() ? "" : ", ") + std::to_string(d);
    return InvalidArgument(name + ": NPY shape (" + s + ") is not an image: need (H, W) or (H, W, 3|4)");
  }
  desc.height = h.shape[0];
  desc.width = h.shape[1];
  if (h.kind == 'u' && h.item_size == 1) {
    desc.type = PixelType::kUint8;
  } else if (h.kind == 'b') {
    desc.type = PixelType::kUint8;
    out.notes.push_back("bool converted to uint8 (0, 1)");
  } else if (h.kind == 'u' && h.item_size == 2) {
    desc.type = PixelType::kUint16;
  } else if (h.kind == 'u' && h.item_size == 4 && options.labels) {
    desc.type = PixelType::kUint32;
  } else {
    desc.type = PixelType::kFloat32;
    if (!(h.kind == 'f' && h.item_size == 4)) {
      const char* kind = h.kind == 'f' ? "float" : h.kind == 'i' ? "int" : "uint";
      out.notes.push_back(kind + std::to_string(h.item_size * 8) + " converted to float32");
    }
  }
  if (desc.channels != 1 && desc.type != PixelType::kUint8) {
    return InvalidArgument(name + ": RGB(A) NPY arrays must be uint8, got " + dtype);
  }
  TR_RETURN_IF_ERROR(ValidateDesc(desc, options.limits.Paged()));
  const size_t elements = static_cast<size_t>(desc.width) * desc.height * desc.channels;
  const size_t data_bytes = elements * h.item_size;
  if (file->size() < h.data_offset || file->size() - h.data_offset < data_bytes) {
    return InvalidArgument(name + ": NPY data truncated: header promises " + std::to_string(data_bytes) +
                           " bytes, file has " + std::to_string(file->size() - std::min(file->size(), h.data_offset)));
  }

  const bool native_type = (desc.type == PixelType::kUint8 && h.kind == 'u') ||
                           (desc.type == PixelType::kUint16) || (desc.type == PixelType::kUint32) ||
                           (h.kind == 'f' && h.item_size == 4);
  const bool native_order = h.byte_order != '>' || h.item_size == 1;
  if (native_type && native_order && !h.fortran) {
    out.source = std::make_unique<NpyFileSource>(std::move(file), h.data_offset, desc);
    return out;
  }

  // Convert once into host memory: byte order, Fortran order and dtype in one pass, reading bands
  // of at most 4 MiB. Only this copy is bounded by the byte limit (a file read in place is read a
  // chunk at a time).
  TR_RETURN_IF_ERROR(ValidateDesc(desc, options.limits));
  if (h.byte_order == '>' && h.item_size > 1) out.notes.push_back("big-endian data converted");
  if (h.fortran) out.notes.push_back("Fortran-order data transposed to row-major");
  TR_ASSIGN_OR_RETURN(std::unique_ptr<BufferSource> buf, BufferSource::Allocate(desc));
  uint8_t* dst = buf->mutable_data();
  const int64_t W = desc.width, H = desc.height, C = desc.channels;
  const size_t item = static_cast<size_t>(h.item_size);
  std::vector<uint8_t> band;
  if (h.fortran) {
    // Fortran order: the first index varies fastest, so each (x, c) column of H items is contiguous.
    band.resize(static_cast<size_t>(H) * item);
    for (int64_t c = 0; c < C; ++c) {
      for (int64_t x = 0; x < W; ++x) {
        if (x % 64 == 0 && OpenCancelled(options)) return Cancelled(name + ": the load was cancelled while converting");
        TR_RETURN_IF_ERROR(file->ReadAt(h.data_offset + static_cast<uint64_t>(c * W + x) * H * item, band.data(), band.size()));
        for (int64_t y = 0; y < H; ++y) {
          StoreConverted(band.data() + static_cast<size_t>(y) * item, h, desc.type, dst, static_cast<size_t>((y * W + x) * C + c));
        }
      }
    }
  } else {
    const size_t row_items = static_cast<size_t>(W * C);
    const int64_t rows = std::max<int64_t>(1, static_cast<int64_t>((size_t{4} << 20) / (row_items * item)));
    for (int64_t y0 = 0; y0 < H; y0 += rows) {
      if (OpenCancelled(options)) return Cancelled(name + ": the load was cancelled while converting");
      const int64_t n = std::min(rows, H - y0);
      band.resize(static_cast<size_t>(n) * row_items * item);
      TR_RETURN_IF_ERROR(file->ReadAt(h.data_offset + static_cast<uint64_t>(y0) * row_items * item, band.data(), band.size()));
      for (size_t i = 0; i < static_cast<size_t>(n) * row_items; ++i) {
        StoreConverted(band.data() + i * item, h, desc.type, dst, static_cast<size_t>(y0) * row_items + i);
      }
    }
  }
  out.source = std::move(buf);
  return out;
}

}  // namespace tilerender
