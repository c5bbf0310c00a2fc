// Whole-slide files through OpenSlide (Aperio SVS, Hamamatsu NDPI/VMS, MIRAX, Leica SCN, Ventana
// BIF, Philips, Sakura, Trestle, ...): its levels as the image's levels (each taken as level k when
// its downsample is 2^k within rounding), read as 256 x 256 regions on demand
// (openslide_read_region is thread-safe), its properties and associated images (label, macro,
// thumbnail; each loadable as an image of its own). OpenSlide hands out premultiplied ARGB; the
// image model is straight RGBA: colors are un-premultiplied exactly (rounded).
//
// OpenSlide's errors are sticky: after one failed read a handle fails every later call. A read that
// fails therefore replaces the handle with a fresh one (one failed tile fails the renders that need
// it, not the image), and loading reads one region of the coarsest level, so a file whose pixels
// cannot be decoded at all is refused when it is loaded, not at its first render.

#include <openslide/openslide.h>
#include <sys/stat.h>
#include <tiffio.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <mutex>
#include <set>

#include "core/image/image_file.h"

namespace tilerender {
namespace {

constexpr int64_t kRegion = 256;  // chunk side (pixels of the level)

// Premultiplied ARGB (native-endian uint32, as OpenSlide returns) to straight RGBA bytes.
void ToStraightRgba(const uint32_t* argb, int64_t n, uint8_t* out) {
  for (int64_t i = 0; i < n; ++i) {
    const uint32_t p = argb[i];
    const unsigned a = p >> 24;
    unsigned r = (p >> 16) & 0xFF, g = (p >> 8) & 0xFF, b = p & 0xFF;
    if (a != 255) {
      if (a == 0) {
        r = g = b = 0;
      } else {
        r = std::min(255u, (r * 255u + a / 2) / a);
        g = std::min(255u, (g * 255u + a / 2) / a);
        b = std::min(255u, (b * 255u + a / 2) / a);
      }
    }
    uint8_t* o = out + 4 * i;
    o[0] = static_cast<uint8_t>(r), o[1] = static_cast<uint8_t>(g), o[2] = static_cast<uint8_t>(b), o[3] = static_cast<uint8_t>(a);
  }
}

using Handle = std::shared_ptr<openslide_t>;

Handle OpenHandle(const std::string& path) {
  openslide_t* osr = openslide_open(path.c_str());
  return osr == nullptr ? nullptr : Handle(osr, openslide_close);
}

class OpenSlideSource final : public ImageSource {
 public:
  Status Open(const std::string& path, const OpenOptions& options, OpenedImage* out) {
    path_ = path;
    name_ = options.name.empty() ? path : options.name;
    handle_ = OpenHandle(path);
    openslide_t* const osr = handle_.get();
    if (osr == nullptr) return InvalidArgument(name_ + ": OpenSlide cannot open it (no format it knows)");
    if (const char* err = openslide_get_error(osr)) return InvalidArgument(name_ + ": OpenSlide: " + err);
    if (options.page != 0 || options.z != 0 || options.t != 0) return InvalidArgument(name_ + ": a slide has no pages, z or t");
    int64_t w = 0, h = 0;
    openslide_get_level_dimensions(osr, 0, &w, &h);
    desc_ = {w, h, PixelType::kUint8, 4};
    TR_RETURN_IF_ERROR(ValidateDesc(desc_, options.limits.Paged()));
    const int32_t count = openslide_get_level_count(osr);
    for (int32_t i = 0; i < count; ++i) {
      int64_t lw = 0, lh = 0;
      openslide_get_level_dimensions(osr, i, &lw, &lh);
      const double ds = openslide_get_level_downsample(osr, i);
      const int k = i == 0 ? 0 : static_cast<int>(std::lround(std::log2(ds)));
      // A level at 2^k within rounding (a slide's 4.0003x is level 2); others are derived instead.
      const double scale = std::ldexp(1.0, -k);
      if (i > 0 && (k < 1 || k <= levels_.back().level.level || std::abs(lw - w * scale) > std::max(1.0, w * scale * 0.002) ||
                    std::abs(lh - h * scale) > std::max(1.0, h * scale * 0.002))) {
        out->notes.push_back("OpenSlide level " + std::to_string(i) + " (downsample " + std::to_string(ds) +
                             ") is not a power-of-two level: derived instead");
        continue;
      }
      levels_.push_back({{k, lw, lh, std::min(kRegion, lw), std::min(kRegion, lh)}, i, ds});
    }
    if (const char* v = openslide_get_property_value(osr, OPENSLIDE_PROPERTY_NAME_MPP_X)) mpp_.first = std::atof(v);
    if (const char* v = openslide_get_property_value(osr, OPENSLIDE_PROPERTY_NAME_MPP_Y)) mpp_.second = std::atof(v);
    if (!(mpp_.first > 0 && mpp_.second > 0)) mpp_ = {0, 0};
    for (const char* const* p = openslide_get_property_names(osr); p != nullptr && *p != nullptr; ++p) {
      if (const char* v = openslide_get_property_value(osr, *p)) out->properties.emplace_back(*p, v);
    }
    for (const char* const* p = openslide_get_associated_image_names(osr); p != nullptr && *p != nullptr; ++p) {
      out->associated_images.push_back(*p);
    }
    const char* vendor = openslide_get_property_value(osr, OPENSLIDE_PROPERTY_NAME_VENDOR);
    out->format = std::string("openslide ") + (vendor ? vendor : "");
    // Proof that the pixels decode: the first region of the coarsest level (the smallest read).
    if (levels_.empty()) return InvalidArgument(name_ + ": OpenSlide reports no levels");
    const Level& coarsest = levels_.back();
    std::vector<uint32_t> probe(static_cast<size_t>(coarsest.level.chunk_width * coarsest.level.chunk_height));
    openslide_read_region(osr, probe.data(), 0, 0, coarsest.openslide_level, coarsest.level.chunk_width,
                          coarsest.level.chunk_height);
    if (const char* err = openslide_get_error(osr)) {
      return InvalidArgument(name_ + ": OpenSlide cannot read its pixels (level " + std::to_string(coarsest.openslide_level) +
                             "): " + err);
    }
    return Status::Ok();
  }

  const ImageDesc& desc() const override { return desc_; }
  std::vector<SourceLevel> levels() const override {
    std::vector<SourceLevel> v;
    for (const Level& l : levels_) v.push_back(l.level);
    return v;
  }
  std::pair<double, double> pixel_size_um() const override { return mpp_; }

  Status ReadChunk(int index, int plane, int64_t cx, int64_t cy, uint8_t* dst, size_t dst_stride) override {
    if (index < 0 || index >= static_cast<int>(levels_.size()) || plane != 0) return InvalidArgument("no such level");
    const Level& l = levels_[index];
    const int64_t x0 = cx * l.level.chunk_width, y0 = cy * l.level.chunk_height;
    const int64_t w = std::min(l.level.chunk_width, l.level.width - x0), h = std::min(l.level.chunk_height, l.level.height - y0);
    if (w <= 0 || h <= 0) return InvalidArgument("no such chunk");
    std::vector<uint32_t> argb(static_cast<size_t>(w * h));
    const Handle handle = CurrentHandle();
    if (!handle) return DataLoss(name_ + ": OpenSlide cannot open it again");
    // Regions are addressed in level-0 coordinates.
    openslide_read_region(handle.get(), argb.data(), static_cast<int64_t>(std::llround(x0 * l.downsample)),
                          static_cast<int64_t>(std::llround(y0 * l.downsample)), l.openslide_level, w, h);
    if (const char* err = openslide_get_error(handle.get())) {
      const std::string message = name_ + ": OpenSlide cannot read level " + std::to_string(l.level.level) + " at (" +
                                  std::to_string(x0) + ", " + std::to_string(y0) + "): " + err;
      Replace(handle);
      return DataLoss(message);
    }
    for (int64_t y = 0; y < h; ++y) ToStraightRgba(argb.data() + y * w, w, dst + y * dst_stride);
    return Status::Ok();
  }

 private:
  struct Level {
    SourceLevel level;
    int32_t openslide_level;
    double downsample;
  };

  Handle CurrentHandle() {
    std::lock_guard<std::mutex> lock(mu_);
    return handle_;
  }
  // After an error the handle is dead: the first reader to see it opens a fresh one (reads still
  // running on the old one keep it alive until they return).
  void Replace(const Handle& failed) {
    Handle fresh = OpenHandle(path_);
    std::lock_guard<std::mutex> lock(mu_);
    if (handle_ == failed && fresh && openslide_get_error(fresh.get()) == nullptr) handle_ = std::move(fresh);
  }

  std::string path_, name_;
  std::mutex mu_;
  Handle handle_;
  ImageDesc desc_;
  std::vector<Level> levels_;
  std::pair<double, double> mpp_{0, 0};
};

// OpenSlide's own TIFF directory parser (tifflike, which tells the vendor) allocates count x size
// bytes for an entry's values before it reads them: a 2 KB file whose XResolution claims 1.3 G
// rationals costs a 10 GB malloc at open. So every entry of every directory of the main chain must
// fit in the file first (classic TIFF and BigTIFF; NDPI's 64-bit offsets do not matter here).
Status CheckTiffEntries(const std::string& path, const std::string& name) {
  Result<std::shared_ptr<ReadOnlyFile>> file = ReadOnlyFile::Open(path, name);
  if (!file.ok()) return Status::Ok();  // OpenSlide says why
  const uint64_t size = (*file)->size();
  auto read_at = [&](uint64_t offset, void* dst, size_t n) {
    return offset <= size && n <= size - offset && (*file)->ReadAt(offset, dst, n).ok();
  };
  uint8_t header[16] = {};
  Status status;
  const bool tiff = read_at(0, header, 8) && ((header[0] == 'I' && header[1] == 'I') || (header[0] == 'M' && header[1] == 'M'));
  const bool big_endian = header[0] == 'M';
  auto get = [&](const uint8_t* p, int bytes) {
    uint64_t v = 0;
    for (int i = 0; i < bytes; ++i) v |= uint64_t{p[big_endian ? bytes - 1 - i : i]} << (8 * i);
    return v;
  };
  const uint64_t version = tiff ? get(header + 2, 2) : 0;
  if (version == 42 || (version == 43 && read_at(0, header, 16))) {
    const bool big = version == 43;
    const int entry_size = big ? 20 : 12, count_size = big ? 8 : 2, offset_size = big ? 8 : 4;
    uint64_t dir = big ? get(header + 8, 8) : get(header + 4, 4);
    std::set<uint64_t> seen;
    std::vector<uint8_t> entries;
    for (int index = 0; dir != 0 && status.ok() && seen.insert(dir).second; ++index) {
      uint8_t count_bytes[8] = {};
      if (!read_at(dir, count_bytes, count_size)) break;  // OpenSlide refuses it
      const uint64_t count = get(count_bytes, count_size);
      if (count > 65536) {  // one entry per 16-bit tag at most
        status = InvalidArgument(name + ": TIFF directory " + std::to_string(index) + " claims " + std::to_string(count) + " entries");
        break;
      }
      entries.resize(static_cast<size_t>(count * entry_size + offset_size));
      if (!read_at(dir + count_size, entries.data(), entries.size())) break;
      for (uint64_t i = 0; i < count; ++i) {
        const uint8_t* e = entries.data() + i * entry_size;
        static const int kTypeSize[19] = {0, 1, 1, 2, 4, 8, 1, 1, 2, 4, 8, 4, 8, 4, 0, 0, 8, 8, 8};
        const uint64_t type = get(e + 2, 2), values = get(e + 4, big ? 8 : 4);
        const int type_size = type < 19 ? kTypeSize[type] : 0;
        if (type_size > 0 && values > size / type_size) {
          status = InvalidArgument(name + ": TIFF directory " + std::to_string(index) + ", tag " + std::to_string(get(e, 2)) +
                                   ": " + std::to_string(values) + " values do not fit in the file (" +
                                   std::to_string(size) + " bytes)");
          break;
        }
      }
      dir = get(entries.data() + count * entry_size, offset_size);
    }
  }
  return status;
}

// OpenSlide allocates what a TIFF's byte counts claim for a tile or strip before it reads it: a
// 2 KB file whose TileByteCounts say 4 GB costs a 4 GB g_malloc at load (which aborts the process
// when it fails). So a TIFF-based slide (Aperio, NDPI, Philips, Leica, Ventana, generic) first
// proves that every tile and strip of every directory lies inside the file. Other files (MIRAX,
// VMS, DICOM) pass: OpenSlide reads them otherwise.
Status CheckTiffByteCounts(const std::string& path, const std::string& name) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return Status::Ok();  // OpenSlide says why
  const uint64_t size = static_cast<uint64_t>(st.st_size);
  TIFFOpenOptions* opts = TIFFOpenOptionsAlloc();
  TIFFOpenOptionsSetMaxSingleMemAlloc(opts, int64_t{256} << 20);
  TIFFOpenOptionsSetErrorHandlerExtR(opts, [](TIFF*, void*, const char*, const char*, va_list) { return 1; }, nullptr);
  TIFFOpenOptionsSetWarningHandlerExtR(opts, [](TIFF*, void*, const char*, const char*, va_list) { return 1; }, nullptr);
  // 'm': no memory map; the offset and byte count arrays are read whole (they lie in the file).
  TIFF* tif = TIFFOpenExt(path.c_str(), "rm", opts);
  TIFFOpenOptionsFree(opts);
  if (tif == nullptr) return Status::Ok();  // not a TIFF (or not one libtiff reads): OpenSlide decides
  Status status;
  int dir = 0;
  do {
    const bool tiled = TIFFIsTiled(tif);
    const uint32_t n = tiled ? TIFFNumberOfTiles(tif) : TIFFNumberOfStrips(tif);
    uint64_t* offsets = nullptr;
    uint64_t* counts = nullptr;
    if (n > 0 && TIFFGetField(tif, tiled ? TIFFTAG_TILEOFFSETS : TIFFTAG_STRIPOFFSETS, &offsets) &&
        TIFFGetField(tif, tiled ? TIFFTAG_TILEBYTECOUNTS : TIFFTAG_STRIPBYTECOUNTS, &counts) && offsets && counts) {
      for (uint32_t i = 0; i < n; ++i) {
        if (counts[i] > size || offsets[i] > size - counts[i]) {
          status = InvalidArgument(name + ": TIFF directory " + std::to_string(dir) + ", " + (tiled ? "tile " : "strip ") +
                                   std::to_string(i) + ": " + std::to_string(counts[i]) + " bytes at " +
                                   std::to_string(offsets[i]) + " lie outside the file (" + std::to_string(size) +
                                   " bytes)");
          break;
        }
      }
    }
    ++dir;
  } while (status.ok() && TIFFReadDirectory(tif));
  TIFFClose(tif);
  return status;
}

}  // namespace

bool IsOpenSlideVendorFile(const std::string& path) {
  // (Detection runs OpenSlide's TIFF directory parser: a file it would over-allocate for is left
  // to our own readers, which refuse it.)
  if (!CheckTiffEntries(path, path).ok()) return false;
  const char* vendor = openslide_detect_vendor(path.c_str());
  // Plain tiled TIFFs (OpenSlide's "generic-tiff") read better through libtiff: their own samples,
  // not RGBA, and OME metadata.
  return vendor != nullptr && std::strcmp(vendor, "generic-tiff") != 0;
}

Result<OpenedImage> OpenOpenSlide(const std::string& path, const OpenOptions& options) {
  const std::string name = options.name.empty() ? path : options.name;
  TR_RETURN_IF_ERROR(CheckTiffEntries(path, name));
  TR_RETURN_IF_ERROR(CheckTiffByteCounts(path, name));
  if (!options.associated_image.empty()) {
    // An associated image (label, macro, thumbnail): small, read whole into memory.
    openslide_t* osr = openslide_open(path.c_str());
    if (osr == nullptr) return InvalidArgument(name + ": OpenSlide cannot open it (no format it knows)");
    int64_t w = -1, h = -1;
    openslide_get_associated_image_dimensions(osr, options.associated_image.c_str(), &w, &h);
    std::string names;
    for (const char* const* p = openslide_get_associated_image_names(osr); p && *p; ++p) names += (names.empty() ? "" : ", ") + std::string(*p);
    if (w <= 0 || h <= 0) {
      openslide_close(osr);
      return NotFound(name + ": no associated image \"" + options.associated_image + "\" (it has: " + (names.empty() ? "none" : names) + ")");
    }
    const ImageDesc d{w, h, PixelType::kUint8, 4};
    if (Status s = ValidateDesc(d, options.limits); !s.ok()) {
      openslide_close(osr);
      return s;
    }
    std::vector<uint32_t> argb(static_cast<size_t>(w * h));
    openslide_read_associated_image(osr, options.associated_image.c_str(), argb.data());
    const char* err = openslide_get_error(osr);
    const std::string error = err ? err : "";
    openslide_close(osr);
    if (!error.empty()) return InvalidArgument(name + ": OpenSlide: " + error);
    auto buf = BufferSource::Allocate(d);
    if (!buf.ok()) return buf.status();
    ToStraightRgba(argb.data(), w * h, (*buf)->mutable_data());
    OpenedImage out;
    out.format = "openslide associated image";
    out.source = std::move(buf).value();
    return out;
  }
  auto source = std::make_shared<OpenSlideSource>();
  OpenedImage out;
  TR_RETURN_IF_ERROR(source->Open(path, options, &out));
  out.source = std::move(source);
  return out;
}

}  // namespace tilerender
