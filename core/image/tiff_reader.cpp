// TIFF and BigTIFF through libtiff: strips and tiles, contiguous and separate planes, any
// compression libtiff decodes (JPEG in YCbCr is decoded to RGB by libjpeg). uint8/uint16/float32
// scalar and 8-bit RGB(A) are read natively (other sample types converted, with a note);
// everything else libtiff can turn into RGBA (palette, bilevel, fax, YCbCr, LogLuv, old JPEG,
// gray + alpha, ...) goes through its RGBA interface chunk by chunk.
//
// The file's own pyramid is used: reduced-resolution images in SubIFDs (OME-TIFF, `vips tiffsave
// --subifd`) or as pages after the chosen one (`vips tiffsave --pyramid`, most slide scanners),
// each taken as level k when its size is the full size over 2^k (within rounding) and its samples
// are laid out like level 0's. Nothing is read whole: ReadChunk decodes one tile or strip.
//
// Thread safety: a TIFF handle is not thread-safe, so the source keeps a small pool of handles,
// each positioned on one level's directory; a decode takes one (opening another if all are busy).

#include <sys/stat.h>
#include <tiffio.h>

#include <algorithm>
#include <cmath>
#include <cstdarg>
#include <cstring>
#include <mutex>

#include "core/image/image_file.h"
#include "core/image/ome_xml.h"

namespace tilerender {
namespace {

// libtiff allocations beyond this are refused (a malformed header must not make us allocate GBs).
constexpr tmsize_t kMaxChunkBytes = tmsize_t{512} << 20;
// Pages after the chosen one examined as pyramid levels (an OME-TIFF may have thousands of planes).
constexpr int kMaxPagesScanned = 64;
// Strips or tiles of a level whose place in the file is checked at open (CheckStriles).
constexpr uint32_t kMaxStrilesChecked = 4096;
// Idle handles kept per source (the engine decodes on up to 16 workers, plus the render thread and
// callers); more are closed when they come back.
constexpr size_t kMaxIdleHandles = 20;

enum class SampleKind { kUint, kInt, kFloat };

enum class Mode {
  kNative,  // decode chunks with TIFFReadEncodedTile/Strip and convert samples
  kRgba,    // TIFFReadRGBATile/Strip: 8-bit RGBA, premultiplied, rows bottom-up per chunk
};

// Where a level's directory is: a page of the main chain, or a SubIFD offset.
struct DirectoryRef {
  bool sub = false;
  tdir_t page = 0;
  toff_t offset = 0;
};

// What every level shares (a reduced image with other samples is not a level of this image).
struct SampleFormat {
  uint16_t spp = 1, bps = 8;
  SampleKind kind = SampleKind::kUint;
  uint16_t photometric = 0;  // after JPEG YCbCr became RGB
  bool operator==(const SampleFormat&) const = default;
};

// One pyramid level of the file.
struct TiffLevel {
  DirectoryRef dir;
  SourceLevel level;
  bool tiled = false;
  uint16_t planar = PLANARCONFIG_CONTIG;
  bool jpeg_rgb = false;  // JPEG-compressed YCbCr: ask libjpeg for RGB
  bool identity = false;  // file samples are already the output layout: decode straight into place
  tmsize_t chunk_bytes = 0;  // TIFFTileSize / TIFFStripSize (one plane)
};

struct Handle {
  TIFF* tif = nullptr;
  int level = -1;
  std::string error;
  std::vector<uint8_t> raw;  // one decoded chunk in file layout (per plane when separate)
  std::vector<uint32_t> raster;
  ~Handle() {
    if (tif != nullptr) TIFFClose(tif);
  }
};

int OnError(TIFF*, void* user, const char* module, const char* fmt, va_list ap) {
  auto* h = static_cast<Handle*>(user);
  char buf[512];
  std::vsnprintf(buf, sizeof buf, fmt, ap);
  h->error = (module ? std::string(module) + ": " : std::string()) + buf;
  return 1;
}
int OnWarning(TIFF*, void*, const char*, const char*, va_list) { return 1; }

class TiffSource final : public ImageSource {
 public:
  /// `reduced_pages`: look for pyramid levels among the pages after the chosen one (not in an
  /// OME-TIFF, whose other pages are other planes).
  Status Open(const std::string& path, const OpenOptions& options, OpenedImage* out, bool reduced_pages = true);

  const ImageDesc& desc() const override { return desc_; }
  std::vector<SourceLevel> levels() const override {
    std::vector<SourceLevel> v;
    for (const TiffLevel& l : levels_) v.push_back(l.level);
    return v;
  }
  Status ReadChunk(int index, int plane, int64_t cx, int64_t cy, uint8_t* dst, size_t dst_stride) override;
  Result<std::vector<uint8_t>> StoredJpegChunk(int index, int64_t cx, int64_t cy) override;

 private:
  // The file must hold what a level claims before anything is decoded: every strip or tile (up to
  // kMaxStrilesChecked of them, spread evenly, first and last included) has bytes, inside the file,
  // and as many as its pixels need when stored uncompressed. The handle is on the level's directory.
  Status CheckStriles(const Handle& h, const TiffLevel& l) const;
  Status Fail(const Handle& h, const std::string& what) const {
    return InvalidArgument(name_ + ": " + what + (h.error.empty() ? "" : " (" + h.error + ")"));
  }
  Result<std::unique_ptr<Handle>> OpenHandle() const;
  bool SetDirectory(Handle& h, const DirectoryRef& dir) const;
  // Reads the directory the handle is on as a candidate level; false if it cannot be one.
  bool ReadLevel(Handle& h, const DirectoryRef& dir, TiffLevel* level, SampleFormat* format) const;
  Result<std::unique_ptr<Handle>> Acquire(int index);
  void Release(std::unique_ptr<Handle> h);

  Status DecodeNative(Handle& h, const TiffLevel& l, int64_t cx, int64_t cy, uint8_t* dst, size_t stride);
  Status DecodeRgba(Handle& h, const TiffLevel& l, int64_t cx, int64_t cy, uint8_t* dst, size_t stride);
  void ConvertPixels(const TiffLevel& l, const uint8_t* const* planes, int64_t n, uint8_t* out) const;

  std::string path_;
  std::string name_;  // in messages
  ImageDesc desc_;
  SampleFormat format_;
  Mode mode_ = Mode::kNative;
  bool assoc_alpha_ = false;   // native RGBA whose color is premultiplied
  bool rgba_to_gray_ = false;  // RGBA mode for a gray image: keep one channel
  bool rgba_drop_alpha_ = false;
  std::vector<TiffLevel> levels_;

  std::mutex mu_;
  std::vector<std::unique_ptr<Handle>> idle_;
};

Result<std::unique_ptr<Handle>> TiffSource::OpenHandle() const {
  auto h = std::make_unique<Handle>();
  TIFFOpenOptions* opts = TIFFOpenOptionsAlloc();
  TIFFOpenOptionsSetMaxSingleMemAlloc(opts, kMaxChunkBytes);
  TIFFOpenOptionsSetErrorHandlerExtR(opts, &OnError, h.get());
  TIFFOpenOptionsSetWarningHandlerExtR(opts, &OnWarning, nullptr);
  // 'm': no memory mapping (read only what is asked); 'O': tile and strip offsets are read when a
  // chunk needs them, not all at open (a 57 GB slide's level 0 has 300,000 tiles).
  h->tif = TIFFOpenExt(path_.c_str(), "rmO", opts);
  TIFFOpenOptionsFree(opts);
  if (h->tif == nullptr) return Fail(*h, "not a readable TIFF");
  return h;
}

bool TiffSource::SetDirectory(Handle& h, const DirectoryRef& dir) const {
  const int ok = dir.sub ? TIFFSetSubDirectory(h.tif, dir.offset) : TIFFSetDirectory(h.tif, dir.page);
  if (!ok) return false;
  uint16_t photometric = 0, compression = COMPRESSION_NONE;
  TIFFGetFieldDefaulted(h.tif, TIFFTAG_COMPRESSION, &compression);
  if (TIFFGetField(h.tif, TIFFTAG_PHOTOMETRIC, &photometric) && photometric == PHOTOMETRIC_YCBCR &&
      compression == COMPRESSION_JPEG) {
    // A pseudo-tag, reset with every directory: libjpeg converts to RGB as it decodes.
    TIFFSetField(h.tif, TIFFTAG_JPEGCOLORMODE, JPEGCOLORMODE_RGB);
  }
  return true;
}

bool TiffSource::ReadLevel(Handle& h, const DirectoryRef& dir, TiffLevel* l, SampleFormat* f) const {
  TIFF* t = h.tif;
  uint32_t w = 0, ht = 0;
  if (!TIFFGetField(t, TIFFTAG_IMAGEWIDTH, &w) || !TIFFGetField(t, TIFFTAG_IMAGELENGTH, &ht) || w == 0 || ht == 0) {
    return false;
  }
  uint16_t compression = COMPRESSION_NONE, sample_format = SAMPLEFORMAT_UINT;
  TIFFGetFieldDefaulted(t, TIFFTAG_SAMPLESPERPIXEL, &f->spp);
  TIFFGetFieldDefaulted(t, TIFFTAG_BITSPERSAMPLE, &f->bps);
  TIFFGetFieldDefaulted(t, TIFFTAG_PLANARCONFIG, &l->planar);
  TIFFGetFieldDefaulted(t, TIFFTAG_SAMPLEFORMAT, &sample_format);
  TIFFGetFieldDefaulted(t, TIFFTAG_COMPRESSION, &compression);
  if (!TIFFGetField(t, TIFFTAG_PHOTOMETRIC, &f->photometric)) {
    f->photometric = f->spp >= 3 ? PHOTOMETRIC_RGB : PHOTOMETRIC_MINISBLACK;
  }
  f->kind = sample_format == SAMPLEFORMAT_IEEEFP ? SampleKind::kFloat
            : sample_format == SAMPLEFORMAT_INT  ? SampleKind::kInt
                                                 : SampleKind::kUint;
  if (f->photometric == PHOTOMETRIC_YCBCR && compression == COMPRESSION_JPEG) {
    l->jpeg_rgb = true;
    f->photometric = PHOTOMETRIC_RGB;
  }
  l->dir = dir;
  l->level.width = w;
  l->level.height = ht;
  l->tiled = TIFFIsTiled(t);
  if (l->tiled) {
    uint32_t tw = 0, th = 0;
    TIFFGetField(t, TIFFTAG_TILEWIDTH, &tw);
    TIFFGetField(t, TIFFTAG_TILELENGTH, &th);
    l->level.chunk_width = tw;
    l->level.chunk_height = th;
  } else {
    uint32_t rps = 0;
    TIFFGetFieldDefaulted(t, TIFFTAG_ROWSPERSTRIP, &rps);
    l->level.chunk_width = w;
    l->level.chunk_height = std::clamp<int64_t>(rps, 1, ht);
  }
  return l->level.chunk_width > 0 && l->level.chunk_height > 0 && TIFFIsCODECConfigured(compression);
}

Status TiffSource::Open(const std::string& path, const OpenOptions& options, OpenedImage* out, bool reduced_pages) {
  path_ = path;
  name_ = options.name.empty() ? path : options.name;
  TR_ASSIGN_OR_RETURN(std::unique_ptr<Handle> h, OpenHandle());
  // TIFFNumberOfDirectories follows the IFD chain and stops at loops.
  const tdir_t pages = TIFFNumberOfDirectories(h->tif);
  if (options.page > 0 && (options.page >= static_cast<int>(pages) || !TIFFSetDirectory(h->tif, static_cast<tdir_t>(options.page)))) {
    return Fail(*h, "page " + std::to_string(options.page) + " not found (the file has " + std::to_string(pages) +
                        " readable page(s))");
  }
  const DirectoryRef main_dir{false, static_cast<tdir_t>(options.page), 0};
  TiffLevel l0;
  uint32_t w = 0, ht = 0;
  if (!TIFFGetField(h->tif, TIFFTAG_IMAGEWIDTH, &w) || !TIFFGetField(h->tif, TIFFTAG_IMAGELENGTH, &ht)) {
    return Fail(*h, "no image size");
  }
  uint16_t compression = COMPRESSION_NONE;
  TIFFGetFieldDefaulted(h->tif, TIFFTAG_COMPRESSION, &compression);
  if (!TIFFIsCODECConfigured(compression)) {
    return Fail(*h, "compression scheme " + std::to_string(compression) + " is not supported by this libtiff");
  }
  if (!ReadLevel(*h, main_dir, &l0, &format_)) return Fail(*h, "bad tile or strip size");
  if (l0.jpeg_rgb) TIFFSetField(h->tif, TIFFTAG_JPEGCOLORMODE, JPEGCOLORMODE_RGB);
  uint16_t extra_count = 0;
  uint16_t* extra = nullptr;
  TIFFGetField(h->tif, TIFFTAG_EXTRASAMPLES, &extra_count, &extra);

  const SampleFormat& f = format_;
  desc_.width = w;
  desc_.height = ht;
  const bool int_bits = f.bps == 8 || f.bps == 16 || f.bps == 32;
  const bool scalar = f.photometric == PHOTOMETRIC_MINISBLACK && f.spp == 1 &&
                      ((f.kind != SampleKind::kFloat && int_bits) || (f.kind == SampleKind::kFloat && (f.bps == 32 || f.bps == 64)));
  const bool color = f.photometric == PHOTOMETRIC_RGB && f.kind == SampleKind::kUint && (f.bps == 8 || f.bps == 16) &&
                     (f.spp == 3 || (f.spp == 4 && extra_count == 1));
  if (scalar) {
    desc_.channels = 1;
    if (f.kind == SampleKind::kUint && f.bps == 8) {
      desc_.type = PixelType::kUint8;
    } else if (f.kind == SampleKind::kUint && f.bps == 16) {
      desc_.type = PixelType::kUint16;
    } else if (f.kind == SampleKind::kUint && f.bps == 32 && options.labels) {
      desc_.type = PixelType::kUint32;
    } else {
      desc_.type = PixelType::kFloat32;
      if (!(f.kind == SampleKind::kFloat && f.bps == 32)) {
        const char* k = f.kind == SampleKind::kFloat ? "float" : f.kind == SampleKind::kInt ? "int" : "uint";
        out->notes.push_back(std::string(k) + std::to_string(f.bps) + " converted to float32");
      }
    }
  } else if (color) {
    desc_.type = PixelType::kUint8;
    desc_.channels = f.spp;
    assoc_alpha_ = f.spp == 4 && extra[0] == EXTRASAMPLE_ASSOCALPHA;
    if (f.bps == 16) out->notes.push_back("16-bit color reduced to 8-bit");
    if (assoc_alpha_) out->notes.push_back("associated (premultiplied) alpha converted to straight alpha");
  } else {
    char message[1024] = {};
    if (!TIFFRGBAImageOK(h->tif, message)) return Fail(*h, std::string("unsupported layout: ") + message);
    mode_ = Mode::kRgba;
    desc_.type = PixelType::kUint8;
    const bool gray = f.photometric == PHOTOMETRIC_MINISBLACK || f.photometric == PHOTOMETRIC_MINISWHITE;
    rgba_to_gray_ = gray && extra_count == 0;
    rgba_drop_alpha_ = !gray && extra_count == 0;
    desc_.channels = rgba_to_gray_ ? 1 : rgba_drop_alpha_ ? 3 : 4;
    out->notes.push_back("decoded through libtiff's RGBA interface (photometric " + std::to_string(f.photometric) +
                         ", " + std::to_string(f.bps) + " bits x " + std::to_string(f.spp) + ")");
  }
  // Read a tile at a time, never whole: the byte limit for images in memory does not apply.
  TR_RETURN_IF_ERROR(ValidateDesc(desc_, options.limits.Paged()));

  // Checks a level's chunks before anything is allocated for them; the sizes come from the file, so
  // the products are checked for overflow too.
  auto finish_level = [&](TiffLevel& l) -> Status {
    int64_t chunk_bytes = 0;
    const bool overflow = __builtin_mul_overflow(l.level.chunk_width, l.level.chunk_height, &chunk_bytes) ||
                          __builtin_mul_overflow(chunk_bytes, std::max<int64_t>(4, f.spp * ((f.bps + 7) / 8)), &chunk_bytes);
    if (overflow || chunk_bytes > kMaxChunkBytes) {
      return Fail(*h, "a " + std::string(l.tiled ? "tile" : "strip") + " of " + std::to_string(l.level.chunk_width) + "x" +
                          std::to_string(l.level.chunk_height) + " pixels is too large to decode");
    }
    l.identity = mode_ == Mode::kNative && !assoc_alpha_ && f.spp == desc_.channels &&
                 (l.planar == PLANARCONFIG_CONTIG || f.spp == 1) &&
                 static_cast<size_t>(f.bps / 8) == BytesPerSample(desc_.type) &&
                 (f.kind == SampleKind::kFloat) == (desc_.type == PixelType::kFloat32) && f.kind != SampleKind::kInt;
    if (mode_ == Mode::kNative) {
      l.chunk_bytes = l.tiled ? TIFFTileSize(h->tif) : TIFFStripSize(h->tif);
      if (l.chunk_bytes <= 0) return Fail(*h, "cannot size a " + std::string(l.tiled ? "tile" : "strip"));
    }
    return CheckStriles(*h, l);
  };
  TR_RETURN_IF_ERROR(finish_level(l0));
  levels_.push_back(l0);

  // The file's pyramid: SubIFDs of the chosen page, else reduced pages after it.
  auto consider = [&](const DirectoryRef& dir) {
    TiffLevel l;
    SampleFormat lf;
    if (!ReadLevel(*h, dir, &l, &lf) || !(lf == format_)) return;
    if (l.level.width >= desc_.width) return;
    const int k = static_cast<int>(std::lround(std::log2(static_cast<double>(desc_.width) / l.level.width)));
    if (k < 1 || k > 40) return;
    const double scale = std::ldexp(1.0, -k);
    if (std::abs(l.level.width - desc_.width * scale) > 1.0 || std::abs(l.level.height - desc_.height * scale) > 1.0) return;
    for (const TiffLevel& have : levels_) {
      if (have.level.level == k) return;
    }
    l.level.level = k;
    if (l.jpeg_rgb) TIFFSetField(h->tif, TIFFTAG_JPEGCOLORMODE, JPEGCOLORMODE_RGB);
    if (finish_level(l).ok()) levels_.push_back(l);
  };
  TIFFSetDirectory(h->tif, main_dir.page);
  uint16_t sub_count = 0;
  toff_t* sub_offsets = nullptr;
  std::vector<toff_t> subs;
  if (TIFFGetField(h->tif, TIFFTAG_SUBIFD, &sub_count, &sub_offsets) && sub_count > 0) {
    subs.assign(sub_offsets, sub_offsets + sub_count);
  }
  for (toff_t off : subs) {
    if (TIFFSetSubDirectory(h->tif, off)) consider({true, 0, off});
  }
  if (subs.empty() && reduced_pages) {
    for (int p = options.page + 1; p < static_cast<int>(pages) && p <= options.page + kMaxPagesScanned; ++p) {
      if (TIFFSetDirectory(h->tif, static_cast<tdir_t>(p))) consider({false, static_cast<tdir_t>(p), 0});
    }
  }
  std::sort(levels_.begin(), levels_.end(), [](const TiffLevel& a, const TiffLevel& b) { return a.level.level < b.level.level; });
  if (levels_.size() > 1) out->notes.push_back(std::to_string(levels_.size() - 1) + " reduced level(s) read from the file");
  // The opening handle goes to the pool, positioned on level 0.
  if (SetDirectory(*h, main_dir)) {
    h->level = 0;
    Release(std::move(h));
  }
  out->format = "tiff";
  return Status::Ok();
}

Status TiffSource::CheckStriles(const Handle& h, const TiffLevel& l) const {
  TIFF* t = h.tif;
  const char* what = l.tiled ? "tile" : "strip";
  const std::string level = " of level " + std::to_string(l.level.level);
  struct stat st {};
  if (::fstat(TIFFFileno(t), &st) != 0) return Fail(h, "cannot stat the file");
  const uint64_t file_size = static_cast<uint64_t>(st.st_size);
  const uint32_t count = l.tiled ? TIFFNumberOfTiles(t) : TIFFNumberOfStrips(t);
  if (count == 0) return Fail(h, std::string("no ") + what + "s" + level);
  uint16_t compression = COMPRESSION_NONE;
  TIFFGetFieldDefaulted(t, TIFFTAG_COMPRESSION, &compression);
  const int64_t rows = l.level.chunk_height;
  const uint32_t strips_per_plane = static_cast<uint32_t>((l.level.height + rows - 1) / rows);
  const uint32_t checked = std::min(count, kMaxStrilesChecked);
  for (uint32_t k = 0; k < checked; ++k) {
    const uint32_t i = checked == count ? k : static_cast<uint32_t>(uint64_t{k} * (count - 1) / (checked - 1));
    int err = 0;
    const uint64_t offset = TIFFGetStrileOffsetWithErr(t, i, &err);
    const uint64_t bytes = err == 0 ? TIFFGetStrileByteCountWithErr(t, i, &err) : 0;
    if (err != 0) return Fail(h, std::string("cannot read the offset and size of ") + what + " " + std::to_string(i) + level);
    if (bytes == 0 || offset > file_size || bytes > file_size - offset) {
      return Fail(h, std::string(what) + " " + std::to_string(i) + level + " is not in the file (" + std::to_string(bytes) +
                         " bytes at " + std::to_string(offset) + ", the file has " + std::to_string(file_size) + ")");
    }
    if (compression == COMPRESSION_NONE) {
      const int64_t strip_rows = std::min<int64_t>(rows, l.level.height - static_cast<int64_t>(i % strips_per_plane) * rows);
      const int64_t need = l.tiled ? TIFFTileSize64(t) : static_cast<int64_t>(TIFFVStripSize64(t, static_cast<uint32_t>(strip_rows)));
      if (static_cast<int64_t>(bytes) < need) {
        return Fail(h, std::string(what) + " " + std::to_string(i) + level + " holds " + std::to_string(bytes) +
                           " bytes, its uncompressed pixels need " + std::to_string(need));
      }
    }
  }
  return Status::Ok();
}

Result<std::unique_ptr<Handle>> TiffSource::Acquire(int index) {
  std::unique_ptr<Handle> h;
  {
    std::lock_guard lock(mu_);
    // One already on this level, else any.
    auto it = std::find_if(idle_.begin(), idle_.end(), [&](const auto& p) { return p->level == index; });
    if (it == idle_.end() && !idle_.empty()) it = idle_.end() - 1;
    if (it != idle_.end()) {
      h = std::move(*it);
      idle_.erase(it);
    }
  }
  if (!h) {
    // The file opened at load: failing now means it changed or went away under us.
    Result<std::unique_ptr<Handle>> opened = OpenHandle();
    if (!opened.ok()) return DataLoss(opened.status().message());
    h = std::move(opened).value();
  }
  if (h->level != index) {
    h->level = -1;
    if (!SetDirectory(*h, levels_[index].dir)) {
      return DataLoss(name_ + ": cannot read the directory of level " + std::to_string(levels_[index].level.level) +
                      (h->error.empty() ? "" : " (" + h->error + ")"));
    }
    h->level = index;
  }
  h->error.clear();
  return h;
}

void TiffSource::Release(std::unique_ptr<Handle> h) {
  std::lock_guard lock(mu_);
  if (idle_.size() < kMaxIdleHandles) idle_.push_back(std::move(h));
}

// Converts n pixels from file samples (one pointer per plane, or one interleaved) to the output.
void TiffSource::ConvertPixels(const TiffLevel& l, const uint8_t* const* planes, int64_t n, uint8_t* out) const {
  const bool separate = l.planar == PLANARCONFIG_SEPARATE;
  const int bytes = format_.bps / 8;
  const int spp = format_.spp;
  auto sample = [&](int64_t i, int s) -> const uint8_t* {
    return separate ? planes[s] + i * bytes : planes[0] + (i * spp + s) * bytes;
  };
  if (desc_.type == PixelType::kFloat32) {
    for (int64_t i = 0; i < n; ++i) {
      const uint8_t* p = sample(i, 0);
      double v = 0;
      switch (format_.kind) {
        case SampleKind::kFloat:
          if (format_.bps == 32) { float f; std::memcpy(&f, p, 4); v = f; } else { std::memcpy(&v, p, 8); }
          break;
        case SampleKind::kInt:
          if (format_.bps == 8) v = static_cast<int8_t>(*p);
          else if (format_.bps == 16) { int16_t t; std::memcpy(&t, p, 2); v = t; }
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
      if (desc_.type == PixelType::kUint32) {
        std::memcpy(out + (i * channels + c) * 4, p, 4);
      } else if (desc_.type == PixelType::kUint16) {
        std::memcpy(out + (i * channels + c) * 2, p, 2);
      } else if (format_.bps == 16) {
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

Status TiffSource::DecodeNative(Handle& h, const TiffLevel& l, int64_t cx, int64_t cy, uint8_t* dst, size_t stride) {
  const SourceLevel& sl = l.level;
  const bool separate = l.planar == PLANARCONFIG_SEPARATE;
  const int planes = separate ? format_.spp : 1;
  const size_t plane_bytes = static_cast<size_t>(l.chunk_bytes);
  const int64_t x0 = cx * sl.chunk_width, y0 = cy * sl.chunk_height;
  const int64_t rows = std::min(sl.chunk_height, sl.height - y0);
  const int64_t cols = std::min(sl.chunk_width, sl.width - x0);
  const size_t bpp = desc_.bytes_per_pixel();
  const size_t file_row = static_cast<size_t>(sl.chunk_width) * (format_.bps / 8) * (separate ? 1 : format_.spp);
  // Samples that need no conversion decode straight into the destination when its rows are the
  // chunk's own rows.
  const bool direct = l.identity && stride == static_cast<size_t>(sl.chunk_width) * bpp &&
                      static_cast<size_t>(sl.chunk_height) * stride >= plane_bytes;
  if (!direct) h.raw.resize(plane_bytes * planes);
  for (int s = 0; s < planes; ++s) {
    uint8_t* buf = direct ? dst : h.raw.data() + s * plane_bytes;
    const tmsize_t got =
        l.tiled ? TIFFReadEncodedTile(h.tif, TIFFComputeTile(h.tif, static_cast<uint32_t>(x0), static_cast<uint32_t>(y0), 0, static_cast<uint16_t>(s)),
                                      buf, static_cast<tmsize_t>(plane_bytes))
                : TIFFReadEncodedStrip(h.tif, TIFFComputeStrip(h.tif, static_cast<uint32_t>(y0), static_cast<uint16_t>(s)),
                                       buf, static_cast<tmsize_t>(plane_bytes));
    if (got < 0) {
      return DataLoss(name_ + ": cannot decode " + (l.tiled ? "tile" : "strip") + " (" + std::to_string(cx) + ", " +
                      std::to_string(cy) + ") of level " + std::to_string(sl.level) + " at row " + std::to_string(y0) +
                      (h.error.empty() ? "" : " (" + h.error + ")"));
    }
    // A short strip (truncated or the last one) leaves the rest undefined: zero it.
    if (static_cast<size_t>(got) < plane_bytes) std::memset(buf + got, 0, plane_bytes - got);
  }
  if (direct) return Status::Ok();
  for (int64_t r = 0; r < rows; ++r) {
    const uint8_t* ptrs[8];
    for (int s = 0; s < planes && s < 8; ++s) ptrs[s] = h.raw.data() + s * plane_bytes + r * file_row;
    if (l.identity) {
      std::memcpy(dst + r * stride, ptrs[0], static_cast<size_t>(cols) * bpp);
    } else {
      ConvertPixels(l, ptrs, cols, dst + r * stride);
    }
  }
  return Status::Ok();
}

Status TiffSource::DecodeRgba(Handle& h, const TiffLevel& l, int64_t cx, int64_t cy, uint8_t* dst, size_t stride) {
  const SourceLevel& sl = l.level;
  h.raster.resize(static_cast<size_t>(sl.chunk_width * sl.chunk_height));
  const int64_t x0 = cx * sl.chunk_width, y0 = cy * sl.chunk_height;
  const int ok = l.tiled ? TIFFReadRGBATile(h.tif, static_cast<uint32_t>(x0), static_cast<uint32_t>(y0), h.raster.data())
                         : TIFFReadRGBAStrip(h.tif, static_cast<uint32_t>(y0), h.raster.data());
  if (!ok) {
    return DataLoss(name_ + ": cannot decode chunk (" + std::to_string(cx) + ", " + std::to_string(cy) + ") of level " +
                    std::to_string(sl.level) + " at row " + std::to_string(y0) + (h.error.empty() ? "" : " (" + h.error + ")"));
  }
  // The raster's origin is its lower-left corner; its height is the rows present in this chunk.
  const int64_t rows = std::min(sl.chunk_height, sl.height - y0);
  const int64_t cols = std::min(sl.chunk_width, sl.width - x0);
  const int64_t raster_w = l.tiled ? sl.chunk_width : sl.width;
  const int ch = desc_.channels;
  for (int64_t r = 0; r < rows; ++r) {
    const uint32_t* src = h.raster.data() + (l.tiled ? (sl.chunk_height - 1 - r) : (rows - 1 - r)) * raster_w;
    uint8_t* out = dst + r * stride;
    for (int64_t i = 0; i < cols; ++i) {
      const uint32_t p = src[i];
      uint8_t rgba[4] = {static_cast<uint8_t>(TIFFGetR(p)), static_cast<uint8_t>(TIFFGetG(p)),
                         static_cast<uint8_t>(TIFFGetB(p)), static_cast<uint8_t>(TIFFGetA(p))};
      // libtiff hands out premultiplied color; the image model is straight alpha.
      const unsigned a = rgba[3];
      if (a != 255) {
        for (int c = 0; c < 3; ++c) rgba[c] = a == 0 ? 0 : static_cast<uint8_t>(std::min(255u, (rgba[c] * 255u + a / 2) / a));
      }
      std::memcpy(out + i * ch, rgba, ch);
    }
  }
  return Status::Ok();
}

Status TiffSource::ReadChunk(int index, int plane, int64_t cx, int64_t cy, uint8_t* dst, size_t dst_stride) {
  if (index < 0 || index >= static_cast<int>(levels_.size()) || plane != 0) return InvalidArgument("no such level");
  const TiffLevel& l = levels_[index];
  if (cx < 0 || cy < 0 || cx * l.level.chunk_width >= l.level.width || cy * l.level.chunk_height >= l.level.height) {
    return InvalidArgument("no such chunk");
  }
  TR_ASSIGN_OR_RETURN(std::unique_ptr<Handle> h, Acquire(index));
  Status s = mode_ == Mode::kNative ? DecodeNative(*h, l, cx, cy, dst, dst_stride) : DecodeRgba(*h, l, cx, cy, dst, dst_stride);
  Release(std::move(h));
  return s;
}

Result<std::vector<uint8_t>> TiffSource::StoredJpegChunk(int index, int64_t cx, int64_t cy) {
  std::vector<uint8_t> out;
  if (index < 0 || index >= static_cast<int>(levels_.size())) return out;
  const TiffLevel& l = levels_[index];
  const SourceLevel& sl = l.level;
  // Whole YCbCr JPEG tiles of an RGB image read natively: the stream decodes to the tile's pixels.
  if (!l.tiled || !l.jpeg_rgb || l.planar != PLANARCONFIG_CONTIG || mode_ != Mode::kNative || desc_.channels != 3 ||
      cx < 0 || cy < 0 || (cx + 1) * sl.chunk_width > sl.width || (cy + 1) * sl.chunk_height > sl.height) {
    return out;
  }
  TR_ASSIGN_OR_RETURN(std::unique_ptr<Handle> h, Acquire(index));
  const uint32_t tile = TIFFComputeTile(h->tif, static_cast<uint32_t>(cx * sl.chunk_width),
                                        static_cast<uint32_t>(cy * sl.chunk_height), 0, 0);
  const uint64_t size = TIFFGetStrileByteCount(h->tif, tile);
  uint32_t table_bytes = 0;
  const uint8_t* tables = nullptr;
  if (!TIFFGetField(h->tif, TIFFTAG_JPEGTABLES, &table_bytes, &tables)) table_bytes = 0, tables = nullptr;
  if (size < 4 || size > static_cast<uint64_t>(kMaxChunkBytes)) {
    Release(std::move(h));
    return out;
  }
  std::vector<uint8_t> raw(size);
  const tmsize_t got = TIFFReadRawTile(h->tif, tile, raw.data(), static_cast<tmsize_t>(size));
  Release(std::move(h));
  if (got != static_cast<tmsize_t>(size) || raw[0] != 0xFF || raw[1] != 0xD8) return out;  // not a JPEG stream
  if (tables != nullptr && table_bytes >= 4 && tables[0] == 0xFF && tables[1] == 0xD8 &&
      tables[table_bytes - 2] == 0xFF && tables[table_bytes - 1] == 0xD9) {
    // The tables' SOI ... (tables) without their EOI, then the tile's stream without its SOI.
    out.reserve(table_bytes - 2 + size - 2);
    out.insert(out.end(), tables, tables + table_bytes - 2);
    out.insert(out.end(), raw.begin() + 2, raw.end());
  } else {
    out = std::move(raw);
  }
  return out;
}

// An OME-TIFF of several channels: one TiffSource per channel (the IFD the OME-XML maps (c, z, t)
// to, with that IFD's SubIFD pyramid); every channel must have the same size, type and levels.
class OmeTiffSource final : public ImageSource {
 public:
  const ImageDesc& desc() const override { return desc_; }
  std::vector<SourceLevel> levels() const override { return planes_[0]->levels(); }
  std::vector<PlaneInfo> plane_info() const override { return info_; }
  std::pair<double, double> pixel_size_um() const override { return pixel_size_; }
  Status ReadChunk(int index, int plane, int64_t cx, int64_t cy, uint8_t* dst, size_t dst_stride) override {
    if (plane < 0 || plane >= static_cast<int>(planes_.size())) return InvalidArgument("no such plane");
    return planes_[plane]->ReadChunk(index, 0, cx, cy, dst, dst_stride);
  }

  ImageDesc desc_;
  std::vector<std::unique_ptr<TiffSource>> planes_;
  std::vector<PlaneInfo> info_;
  std::pair<double, double> pixel_size_{0, 0};
};

// The ImageDescription of the first IFD, if any.
std::string FirstDescription(const std::string& path) {
  TIFFOpenOptions* opts = TIFFOpenOptionsAlloc();
  TIFFOpenOptionsSetErrorHandlerExtR(opts, [](TIFF*, void*, const char*, const char*, va_list) { return 1; }, nullptr);
  TIFFOpenOptionsSetWarningHandlerExtR(opts, [](TIFF*, void*, const char*, const char*, va_list) { return 1; }, nullptr);
  TIFF* t = TIFFOpenExt(path.c_str(), "rmO", opts);
  TIFFOpenOptionsFree(opts);
  std::string out;
  if (t != nullptr) {
    char* d = nullptr;
    if (TIFFGetField(t, TIFFTAG_IMAGEDESCRIPTION, &d) && d != nullptr) out = d;
    TIFFClose(t);
  }
  return out;
}

}  // namespace

Result<OpenedImage> OpenTiff(const std::string& path, const OpenOptions& options) {
  const std::string name = options.name.empty() ? path : options.name;
  const std::string description = FirstDescription(path);
  if (LooksLikeOmeXml(description)) {
    const std::string file = path.substr(path.rfind('/') + 1);
    TR_ASSIGN_OR_RETURN(OmePixels px, ParseOmeXml(description, file, name));
    const bool rgb = !px.channels.empty() && px.channels[0].samples > 1;
    if (!rgb) {
      // Choose z and t: given, or those of the page asked for.
      int64_t z = options.z, t = options.t;
      if (options.page > 0) {
        bool found = false;
        for (int64_t tt = 0; tt < px.size_time && !found; ++tt) {
          for (int64_t zz = 0; zz < px.size_z && !found; ++zz) {
            for (int64_t c = 0; c < px.size_c && !found; ++c) {
              if (px.Ifd(c, zz, tt) == options.page) z = zz, t = tt, found = true;
            }
          }
        }
        if (!found) return InvalidArgument(name + ": page " + std::to_string(options.page) + " holds no plane of the OME image");
      }
      if (z < 0 || z >= px.size_z) return InvalidArgument(name + ": z " + std::to_string(z) + " is out of range (the image has " + std::to_string(px.size_z) + ")");
      if (t < 0 || t >= px.size_time) return InvalidArgument(name + ": t " + std::to_string(t) + " is out of range (the image has " + std::to_string(px.size_time) + ")");
      if (px.size_c > kMaxPlanes) return InvalidArgument(name + ": " + std::to_string(px.size_c) + " channels (at most " + std::to_string(kMaxPlanes) + ")");
      auto source = std::make_shared<OmeTiffSource>();
      OpenedImage out;
      for (int64_t c = 0; c < px.size_c; ++c) {
        OpenOptions plane = options;
        plane.z = plane.t = 0;
        const int64_t ifd = px.Ifd(c, z, t);
        if (ifd > INT32_MAX) return InvalidArgument(name + ": OME-XML maps a plane to IFD " + std::to_string(ifd));
        plane.page = static_cast<int>(ifd);
        auto tiff = std::make_unique<TiffSource>();
        OpenedImage one;
        Status st = tiff->Open(path, plane, &one, /*reduced_pages=*/false);
        if (!st.ok()) {
          // Most often: the OME-XML promises planes (pages) the file does not have.
          return InvalidArgument(name + ": channel " + std::to_string(c) + " (IFD " + std::to_string(ifd) + "): " + st.message());
        }
        const ImageDesc& d = tiff->desc();
        if (c == 0) {
          out.notes = one.notes;
        } else {
          const ImageDesc& d0 = source->planes_[0]->desc();
          if (d.width != d0.width || d.height != d0.height || d.type != d0.type || d.channels != d0.channels ||
              tiff->levels().size() != source->planes_[0]->levels().size()) {
            return InvalidArgument(name + ": channel " + std::to_string(c) + " differs from channel 0 in size, type or levels");
          }
        }
        if (d.channels != 1) return InvalidArgument(name + ": OME channels must be single-sample planes");
        if (d.width != px.size_x || d.height != px.size_y) {
          return InvalidArgument(name + ": OME-XML says " + std::to_string(px.size_x) + "x" + std::to_string(px.size_y) +
                                 ", IFD " + std::to_string(ifd) + " is " + std::to_string(d.width) + "x" + std::to_string(d.height));
        }
        source->planes_.push_back(std::move(tiff));
      }
      source->desc_ = source->planes_[0]->desc();
      source->desc_.planes = static_cast<int>(px.size_c);
      TR_RETURN_IF_ERROR(ValidateDesc(source->desc_, options.limits.Paged()));
      for (int64_t c = 0; c < px.size_c; ++c) {
        PlaneInfo pi;
        if (c < static_cast<int64_t>(px.channels.size())) pi.name = px.channels[c].name, pi.color = px.channels[c].color;
        source->info_.push_back(pi);
      }
      source->pixel_size_ = {px.physical_x_um, px.physical_y_um};
      out.format = "ome-tiff";
      if (px.size_z > 1 || px.size_time > 1) {
        out.notes.push_back("t " + std::to_string(t) + " of " + std::to_string(px.size_time) + ", z " + std::to_string(z) +
                            " of " + std::to_string(px.size_z));
      }
      out.source = std::move(source);
      return out;
    }
  }
  if (options.z != 0 || options.t != 0) return InvalidArgument(name + ": z and t choose planes of OME images only");
  auto source = std::make_shared<TiffSource>();
  OpenedImage out;
  TR_RETURN_IF_ERROR(source->Open(path, options, &out));
  out.source = std::move(source);
  return out;
}

}  // namespace tilerender
