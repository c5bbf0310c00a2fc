// TIFF and BigTIFF through libtiff: strips and tiles, contiguous and separate planes, any
// compression libtiff decodes. uint8/uint16/float32 scalar and 8-bit RGB(A) are read natively
// (other sample types converted, with a note); everything else libtiff can turn into RGBA
// (palette, bilevel, fax, YCbCr, LogLuv, old JPEG, gray + alpha, ...) goes through its RGBA
// interface chunk by chunk. The source never holds the whole image: each ReadRect decodes the
// strips or tiles it covers, straight from the file.

#include <tiffio.h>

#include <algorithm>
#include <cmath>
#include <cstdarg>
#include <cstring>
#include <map>

#include "core/image/image_file.h"

namespace tilerender {
namespace {

// libtiff allocations beyond this are refused (a malformed header must not make us allocate GBs).
constexpr tmsize_t kMaxChunkBytes = tmsize_t{512} << 20;

enum class SampleKind { kUint, kInt, kFloat };

enum class Mode {
  kNative,  // decode chunks with TIFFReadEncodedTile/Strip and convert samples
  kRgba,    // TIFFReadRGBATile/Strip: 8-bit RGBA, premultiplied, rows bottom-up per chunk
};

class TiffSource final : public ImageSource {
 public:
  ~TiffSource() override {
    if (tif_ != nullptr) TIFFClose(tif_);
  }

  Status Open(const std::string& path, const OpenOptions& options, OpenedImage* out);

  const ImageDesc& desc() const override { return desc_; }
  int64_t preferred_band_rows() const override { return chunk_h_; }
  Status ReadRect(int64_t x, int64_t y, int64_t w, int64_t h, uint8_t* dst, size_t stride) override;

 private:
  static int OnError(TIFF*, void* user, const char* module, const char* fmt, va_list ap) {
    auto* self = static_cast<TiffSource*>(user);
    char buf[512];
    std::vsnprintf(buf, sizeof buf, fmt, ap);
    self->error_ = (module ? std::string(module) + ": " : std::string()) + buf;
    return 1;
  }
  static int OnWarning(TIFF*, void*, const char*, const char*, va_list) { return 1; }

  Status Fail(const std::string& what) const {
    return InvalidArgument(path_ + ": " + what + (error_.empty() ? "" : " (" + error_ + ")"));
  }
  // Decodes chunk (cx, cy) into a cached buffer of chunk_w_ x chunk_h_ pixels in the output layout.
  Result<const uint8_t*> Chunk(int64_t cx, int64_t cy);
  Status DecodeNative(int64_t cx, int64_t cy, uint8_t* out);
  Status DecodeRgba(int64_t cx, int64_t cy, uint8_t* out);
  void ConvertPixels(const uint8_t* const* planes, int64_t n, uint8_t* out) const;

  std::string path_;
  std::string error_;
  TIFF* tif_ = nullptr;
  ImageDesc desc_;
  Mode mode_ = Mode::kNative;
  bool tiled_ = false;
  int64_t chunk_w_ = 0, chunk_h_ = 0;  // tile size, or (width, rows per strip)
  uint16_t spp_ = 1, bps_ = 8, planar_ = PLANARCONFIG_CONTIG;
  SampleKind kind_ = SampleKind::kUint;
  bool assoc_alpha_ = false;   // native RGBA whose color is premultiplied
  bool rgba_to_gray_ = false;  // RGBA mode for a gray image: keep one channel
  bool rgba_drop_alpha_ = false;
  bool identity_ = false;      // file samples are already the output layout: no conversion
  std::vector<uint8_t> raw_;   // one decoded chunk in file layout (per plane when separate)
  std::map<std::pair<int64_t, int64_t>, std::vector<uint8_t>> cache_;  // a chunk row, output layout
  std::vector<std::vector<uint8_t>> spare_;  // buffers of evicted chunks, reused
  int64_t cache_row_ = -1;
};

Status TiffSource::Open(const std::string& path, const OpenOptions& options, OpenedImage* out) {
  path_ = path;
  TIFFOpenOptions* opts = TIFFOpenOptionsAlloc();
  TIFFOpenOptionsSetMaxSingleMemAlloc(opts, kMaxChunkBytes);
  TIFFOpenOptionsSetErrorHandlerExtR(opts, &TiffSource::OnError, this);
  TIFFOpenOptionsSetWarningHandlerExtR(opts, &TiffSource::OnWarning, this);
  // 'm': no memory mapping (reads only what is asked); 'h': read the header only, not the first IFD
  // twice.
  tif_ = TIFFOpenExt(path.c_str(), "rm", opts);
  TIFFOpenOptionsFree(opts);
  if (tif_ == nullptr) return Fail("not a readable TIFF");

  if (options.page > 0) {
    // TIFFNumberOfDirectories follows the IFD chain and stops at loops.
    const tdir_t pages = TIFFNumberOfDirectories(tif_);
    if (options.page >= static_cast<int>(pages) || !TIFFSetDirectory(tif_, static_cast<tdir_t>(options.page))) {
      return Fail("page " + std::to_string(options.page) + " not found (the file has " +
                  std::to_string(pages) + " readable page(s))");
    }
  }
  uint32_t w = 0, h = 0;
  uint16_t photometric = 0, compression = COMPRESSION_NONE, sample_format = SAMPLEFORMAT_UINT;
  if (!TIFFGetField(tif_, TIFFTAG_IMAGEWIDTH, &w) || !TIFFGetField(tif_, TIFFTAG_IMAGELENGTH, &h)) {
    return Fail("no image size");
  }
  TIFFGetFieldDefaulted(tif_, TIFFTAG_SAMPLESPERPIXEL, &spp_);
  TIFFGetFieldDefaulted(tif_, TIFFTAG_BITSPERSAMPLE, &bps_);
  TIFFGetFieldDefaulted(tif_, TIFFTAG_PLANARCONFIG, &planar_);
  TIFFGetFieldDefaulted(tif_, TIFFTAG_SAMPLEFORMAT, &sample_format);
  TIFFGetFieldDefaulted(tif_, TIFFTAG_COMPRESSION, &compression);
  if (!TIFFGetField(tif_, TIFFTAG_PHOTOMETRIC, &photometric)) {
    photometric = spp_ >= 3 ? PHOTOMETRIC_RGB : PHOTOMETRIC_MINISBLACK;
  }
  uint16_t extra_count = 0;
  uint16_t* extra = nullptr;
  TIFFGetField(tif_, TIFFTAG_EXTRASAMPLES, &extra_count, &extra);
  if (!TIFFIsCODECConfigured(compression)) {
    return Fail("compression scheme " + std::to_string(compression) + " is not supported by this libtiff");
  }
  kind_ = sample_format == SAMPLEFORMAT_IEEEFP ? SampleKind::kFloat
          : sample_format == SAMPLEFORMAT_INT  ? SampleKind::kInt
                                               : SampleKind::kUint;
  if (photometric == PHOTOMETRIC_YCBCR && compression == COMPRESSION_JPEG) {
    // libjpeg converts to RGB as it decodes: the usual layout of JPEG-compressed slide scans.
    TIFFSetField(tif_, TIFFTAG_JPEGCOLORMODE, JPEGCOLORMODE_RGB);
    photometric = PHOTOMETRIC_RGB;
  }

  desc_.width = w;
  desc_.height = h;
  const bool int_bits = bps_ == 8 || bps_ == 16 || bps_ == 32;
  const bool scalar = photometric == PHOTOMETRIC_MINISBLACK && spp_ == 1 &&
                      ((kind_ != SampleKind::kFloat && int_bits) || (kind_ == SampleKind::kFloat && (bps_ == 32 || bps_ == 64)));
  const bool color = photometric == PHOTOMETRIC_RGB && kind_ == SampleKind::kUint && (bps_ == 8 || bps_ == 16) &&
                     (spp_ == 3 || (spp_ == 4 && extra_count == 1));
  if (scalar) {
    desc_.channels = 1;
    if (kind_ == SampleKind::kUint && bps_ == 8) {
      desc_.type = PixelType::kUint8;
    } else if (kind_ == SampleKind::kUint && bps_ == 16) {
      desc_.type = PixelType::kUint16;
    } else {
      desc_.type = PixelType::kFloat32;
      if (!(kind_ == SampleKind::kFloat && bps_ == 32)) {
        const char* k = kind_ == SampleKind::kFloat ? "float" : kind_ == SampleKind::kInt ? "int" : "uint";
        out->notes.push_back(std::string(k) + std::to_string(bps_) + " converted to float32");
      }
    }
  } else if (color) {
    desc_.type = PixelType::kUint8;
    desc_.channels = spp_;
    assoc_alpha_ = spp_ == 4 && extra[0] == EXTRASAMPLE_ASSOCALPHA;
    if (bps_ == 16) out->notes.push_back("16-bit color reduced to 8-bit");
    if (assoc_alpha_) out->notes.push_back("associated (premultiplied) alpha converted to straight alpha");
  } else {
    char message[1024] = {};
    if (!TIFFRGBAImageOK(tif_, message)) return Fail(std::string("unsupported layout: ") + message);
    mode_ = Mode::kRgba;
    desc_.type = PixelType::kUint8;
    const bool gray = photometric == PHOTOMETRIC_MINISBLACK || photometric == PHOTOMETRIC_MINISWHITE;
    rgba_to_gray_ = gray && extra_count == 0;
    rgba_drop_alpha_ = !gray && extra_count == 0;
    desc_.channels = rgba_to_gray_ ? 1 : rgba_drop_alpha_ ? 3 : 4;
    out->notes.push_back("decoded through libtiff's RGBA interface (photometric " + std::to_string(photometric) +
                         ", " + std::to_string(bps_) + " bits x " + std::to_string(spp_) + ")");
  }
  TR_RETURN_IF_ERROR(ValidateDesc(desc_, options.limits));

  tiled_ = TIFFIsTiled(tif_);
  if (tiled_) {
    uint32_t tw = 0, th = 0;
    TIFFGetField(tif_, TIFFTAG_TILEWIDTH, &tw);
    TIFFGetField(tif_, TIFFTAG_TILELENGTH, &th);
    chunk_w_ = tw;
    chunk_h_ = th;
  } else {
    uint32_t rps = 0;
    TIFFGetFieldDefaulted(tif_, TIFFTAG_ROWSPERSTRIP, &rps);
    chunk_w_ = desc_.width;
    chunk_h_ = std::clamp<int64_t>(rps, 1, desc_.height);
  }
  if (chunk_w_ <= 0 || chunk_h_ <= 0) return Fail("bad tile or strip size");
  // Decoded chunks are bounded before anything is allocated for them; the sizes come from the file,
  // so the product is checked for overflow too.
  int64_t chunk_bytes = 0;
  const bool overflow = __builtin_mul_overflow(chunk_w_, chunk_h_, &chunk_bytes) ||
                        __builtin_mul_overflow(chunk_bytes, std::max<int64_t>(4, spp_ * ((bps_ + 7) / 8)), &chunk_bytes);
  if (overflow || chunk_bytes > kMaxChunkBytes) {
    return Fail("a " + std::string(tiled_ ? "tile" : "strip") + " of " + std::to_string(chunk_w_) + "x" +
                std::to_string(chunk_h_) + " pixels is too large to decode");
  }
  identity_ = mode_ == Mode::kNative && !assoc_alpha_ && spp_ == desc_.channels &&
              (planar_ == PLANARCONFIG_CONTIG || spp_ == 1) &&
              static_cast<size_t>(bps_ / 8) == BytesPerSample(desc_.type) &&
              (kind_ == SampleKind::kFloat) == (desc_.type == PixelType::kFloat32) && kind_ != SampleKind::kInt;
  if (mode_ == Mode::kNative) {
    const tmsize_t size = tiled_ ? TIFFTileSize(tif_) : TIFFStripSize(tif_);
    if (size <= 0) return Fail("cannot size a " + std::string(tiled_ ? "tile" : "strip"));
    raw_.resize(static_cast<size_t>(size) * (planar_ == PLANARCONFIG_SEPARATE ? spp_ : 1));
  }
  out->format = "tiff";
  return Status::Ok();
}

// Converts n pixels from file samples (one pointer per plane, or one interleaved) to the output.
void TiffSource::ConvertPixels(const uint8_t* const* planes, int64_t n, uint8_t* out) const {
  const bool separate = planar_ == PLANARCONFIG_SEPARATE;
  const int bytes = bps_ / 8;
  auto sample = [&](int64_t i, int s) -> const uint8_t* {
    return separate ? planes[s] + i * bytes : planes[0] + (i * spp_ + s) * bytes;
  };
  if (desc_.type == PixelType::kFloat32) {
    for (int64_t i = 0; i < n; ++i) {
      const uint8_t* p = sample(i, 0);
      double v = 0;
      switch (kind_) {
        case SampleKind::kFloat:
          if (bps_ == 32) { float f; std::memcpy(&f, p, 4); v = f; } else { std::memcpy(&v, p, 8); }
          break;
        case SampleKind::kInt:
          if (bps_ == 8) v = static_cast<int8_t>(*p);
          else if (bps_ == 16) { int16_t t; std::memcpy(&t, p, 2); v = t; }
          else { int32_t t; std::memcpy(&t, p, 4); v = t; }
          break;
        case SampleKind::kUint: { uint32_t t; std::memcpy(&t, p, 4); v = t; break; }
      }
      const float f = static_cast<float>(v);
      std::memcpy(out + i * 4, &f, 4);
    }
    return;
  }
  const int channels = desc_.channels;
  for (int64_t i = 0; i < n; ++i) {
    for (int c = 0; c < channels; ++c) {
      const uint8_t* p = sample(i, c);
      if (desc_.type == PixelType::kUint16) {
        std::memcpy(out + (i * channels + c) * 2, p, 2);
      } else if (bps_ == 16) {
        uint16_t t;
        std::memcpy(&t, p, 2);
        out[i * channels + c] = static_cast<uint8_t>((t * 255u + 32767u) / 65535u);
      } else {
        out[i * channels + c] = *p;
      }
    }
    if (assoc_alpha_) {
      uint8_t* px = out + i * 4;
      const unsigned a = px[3];
      for (int c = 0; c < 3; ++c) px[c] = a == 0 ? 0 : static_cast<uint8_t>(std::min(255u, (px[c] * 255u + a / 2) / a));
    }
  }
}

Status TiffSource::DecodeNative(int64_t cx, int64_t cy, uint8_t* out) {
  const bool separate = planar_ == PLANARCONFIG_SEPARATE;
  const int planes = separate ? spp_ : 1;
  const size_t plane_bytes = raw_.size() / planes;
  const int64_t x0 = cx * chunk_w_, y0 = cy * chunk_h_;
  const int64_t rows = tiled_ ? chunk_h_ : std::min(chunk_h_, desc_.height - y0);
  for (int s = 0; s < planes; ++s) {
    // Samples that need no conversion decode straight into the chunk.
    uint8_t* dst = identity_ ? out : raw_.data() + s * plane_bytes;
    const tmsize_t got =
        tiled_ ? TIFFReadEncodedTile(tif_, TIFFComputeTile(tif_, static_cast<uint32_t>(x0), static_cast<uint32_t>(y0), 0, static_cast<uint16_t>(s)),
                                     dst, static_cast<tmsize_t>(plane_bytes))
               : TIFFReadEncodedStrip(tif_, TIFFComputeStrip(tif_, static_cast<uint32_t>(y0), static_cast<uint16_t>(s)),
                                      dst, static_cast<tmsize_t>(plane_bytes));
    if (got < 0) return Fail(std::string("cannot decode ") + (tiled_ ? "tile" : "strip") + " at row " + std::to_string(y0));
    // A short strip (truncated or the last one) leaves the rest undefined: zero it.
    if (static_cast<size_t>(got) < plane_bytes) std::memset(dst + got, 0, plane_bytes - got);
  }
  if (identity_) return Status::Ok();
  const size_t in_row = static_cast<size_t>(chunk_w_) * (bps_ / 8) * (separate ? 1 : spp_);
  const size_t out_row = static_cast<size_t>(chunk_w_) * desc_.bytes_per_pixel();
  for (int64_t r = 0; r < rows; ++r) {
    const uint8_t* ptrs[8];
    for (int s = 0; s < planes && s < 8; ++s) ptrs[s] = raw_.data() + s * plane_bytes + r * in_row;
    ConvertPixels(ptrs, chunk_w_, out + r * out_row);
  }
  return Status::Ok();
}

Status TiffSource::DecodeRgba(int64_t cx, int64_t cy, uint8_t* out) {
  std::vector<uint32_t> raster(static_cast<size_t>(chunk_w_ * chunk_h_));
  const int64_t x0 = cx * chunk_w_, y0 = cy * chunk_h_;
  const int ok = tiled_ ? TIFFReadRGBATile(tif_, static_cast<uint32_t>(x0), static_cast<uint32_t>(y0), raster.data())
                        : TIFFReadRGBAStrip(tif_, static_cast<uint32_t>(y0), raster.data());
  if (!ok) return Fail("cannot decode chunk at row " + std::to_string(y0));
  // The raster's origin is its lower-left corner; its height is the rows present in this chunk.
  const int64_t rows = std::min(chunk_h_, desc_.height - y0);
  const int64_t cols = tiled_ ? chunk_w_ : desc_.width;
  const int ch = desc_.channels;
  for (int64_t r = 0; r < rows; ++r) {
    const uint32_t* src = raster.data() + (tiled_ ? (chunk_h_ - 1 - r) : (rows - 1 - r)) * cols;
    uint8_t* dst = out + r * chunk_w_ * ch;
    for (int64_t i = 0; i < cols; ++i) {
      const uint32_t p = src[i];
      uint8_t rgba[4] = {static_cast<uint8_t>(TIFFGetR(p)), static_cast<uint8_t>(TIFFGetG(p)),
                         static_cast<uint8_t>(TIFFGetB(p)), static_cast<uint8_t>(TIFFGetA(p))};
      // libtiff hands out premultiplied color; the image model is straight alpha.
      const unsigned a = rgba[3];
      if (a != 255) {
        for (int c = 0; c < 3; ++c) rgba[c] = a == 0 ? 0 : static_cast<uint8_t>(std::min(255u, (rgba[c] * 255u + a / 2) / a));
      }
      std::memcpy(dst + i * ch, rgba, ch);
    }
  }
  return Status::Ok();
}

Result<const uint8_t*> TiffSource::Chunk(int64_t cx, int64_t cy) {
  // Reads go top to bottom: keep one row of decoded chunks, so a band that ends inside a chunk row
  // (or a neighbour's gutter) does not decode it again.
  if (cy != cache_row_) {
    for (auto& [key, buf] : cache_) spare_.push_back(std::move(buf));
    cache_.clear();
    cache_row_ = cy;
  }
  auto it = cache_.find({cx, cy});
  if (it != cache_.end()) return it->second.data();
  // Sized for the file's own chunk too: an identity decode writes the whole chunk there.
  const size_t bytes = std::max(static_cast<size_t>(chunk_w_ * chunk_h_) * desc_.bytes_per_pixel(),
                                identity_ ? raw_.size() : size_t{0});
  std::vector<uint8_t> buf;
  if (!spare_.empty()) {
    buf = std::move(spare_.back());
    spare_.pop_back();
  }
  buf.resize(bytes);
  TR_RETURN_IF_ERROR(mode_ == Mode::kNative ? DecodeNative(cx, cy, buf.data()) : DecodeRgba(cx, cy, buf.data()));
  return cache_.emplace(std::make_pair(cx, cy), std::move(buf)).first->second.data();
}

Status TiffSource::ReadRect(int64_t x, int64_t y, int64_t w, int64_t h, uint8_t* dst, size_t stride) {
  const size_t bpp = desc_.bytes_per_pixel();
  for (int64_t cy = y / chunk_h_; cy * chunk_h_ < y + h; ++cy) {
    const int64_t strip_y0 = cy * chunk_h_, strip_y1 = std::min((cy + 1) * chunk_h_, desc_.height);
    if (identity_ && !tiled_ && x == 0 && w == desc_.width && stride == desc_.row_bytes() &&
        strip_y0 >= y && strip_y1 <= y + h) {
      // A whole strip inside a full-width band: libtiff decodes it straight into the band.
      const tmsize_t want = static_cast<tmsize_t>((strip_y1 - strip_y0) * stride);
      const tmsize_t got = TIFFReadEncodedStrip(tif_, TIFFComputeStrip(tif_, static_cast<uint32_t>(strip_y0), 0),
                                                dst + (strip_y0 - y) * stride, want);
      if (got < 0) return Fail("cannot decode strip at row " + std::to_string(strip_y0));
      if (got < want) std::memset(dst + (strip_y0 - y) * stride + got, 0, static_cast<size_t>(want - got));
      continue;
    }
    for (int64_t cx = x / chunk_w_; cx * chunk_w_ < x + w; ++cx) {
      TR_ASSIGN_OR_RETURN(const uint8_t* chunk, Chunk(cx, cy));
      const int64_t ax = std::max(x, cx * chunk_w_), bx = std::min({x + w, (cx + 1) * chunk_w_, desc_.width});
      const int64_t ay = std::max(y, cy * chunk_h_), by = std::min({y + h, (cy + 1) * chunk_h_, desc_.height});
      for (int64_t r = ay; r < by; ++r) {
        std::memcpy(dst + (r - y) * stride + (ax - x) * bpp,
                    chunk + ((r - cy * chunk_h_) * chunk_w_ + (ax - cx * chunk_w_)) * bpp,
                    static_cast<size_t>(bx - ax) * bpp);
      }
    }
  }
  return Status::Ok();
}

}  // namespace

Result<OpenedImage> OpenTiff(const std::string& path, const OpenOptions& options) {
  auto source = std::make_unique<TiffSource>();
  OpenedImage out;
  TR_RETURN_IF_ERROR(source->Open(path, options, &out));
  out.source = std::move(source);
  return out;
}

}  // namespace tilerender
