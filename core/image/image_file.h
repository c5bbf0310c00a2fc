#pragma once
/// Opening image files (PNG, NPY; TIFF with its pyramid in tiff_reader; OME-Zarr directories in
/// ome_zarr_reader) as image sources. The format is told by the file's first bytes (or a
/// directory's Zarr metadata), not its name. Dimension and byte limits are checked from the header, before
/// any pixel memory is allocated. Corrupt or unsupported files are INVALID_ARGUMENT, missing files
/// NOT_FOUND.

#include <memory>
#include <string>
#include <vector>

#include "core/image/image_source.h"
#include "core/status.h"

namespace tilerender {

struct OpenOptions {
  ImageLimits limits;
  int page = 0;  ///< TIFF directory index; must be 0 for other formats
  int64_t z = 0;  ///< the z plane of an image with a z axis (OME-Zarr)
  int64_t t = 0;  ///< the time point of an image with a t axis (OME-Zarr)
  /// How messages name the file (the daemon: its path under the data root); empty: the path.
  std::string name;
  /// "" (auto: whole-slide formats through OpenSlide, everything else through our own readers),
  /// "openslide" or "libtiff".
  std::string reader;
  /// A slide's associated image (label, macro, thumbnail) instead of the slide (OpenSlide).
  std::string associated_image;
};

struct OpenedImage {
  std::shared_ptr<ImageSource> source;
  std::string format;              ///< "png", "npy", "tiff", "ome-tiff", "ome-zarr v3", "openslide aperio", ...
  std::vector<std::string> notes;  ///< conversions made, e.g. "16-bit color reduced to 8-bit"
  std::vector<std::pair<std::string, std::string>> properties;  ///< a slide's (OpenSlide) properties
  std::vector<std::string> associated_images;                   ///< a slide's label, macro, thumbnail, ...
};

Result<OpenedImage> OpenImageFile(const std::string& path, const OpenOptions& options = {});

/// The readers behind OpenImageFile.
Result<OpenedImage> OpenNpy(const std::string& path, const OpenOptions& options);
Result<OpenedImage> OpenPng(const std::string& path, const OpenOptions& options);
/// Whole-slide formats (OpenSlide), and whether a file is one (not a plain tiled TIFF).
Result<OpenedImage> OpenOpenSlide(const std::string& path, const OpenOptions& options);
bool IsOpenSlideVendorFile(const std::string& path);
/// OME-Zarr (NGFF 0.4 / 0.5): a directory.
Result<OpenedImage> OpenOmeZarr(const std::string& dir, const OpenOptions& options);
bool IsOmeZarrDirectory(const std::string& path);

/// The bytes of an NPY (format 1.0) header for `descr` (e.g. "<u2") and `shape` (H, W[, C]), padded
/// as numpy pads it; the pixel bytes follow. For the tests and benchmarks that write NPY files.
std::string NpyHeaderBytes(const std::string& descr, const std::vector<int64_t>& shape, bool fortran = false);

/// A read-only memory map of a whole file.
class MappedFile {
 public:
  /// `name`: how messages name the file (empty: the path).
  static Result<std::shared_ptr<MappedFile>> Open(const std::string& path, const std::string& name = "");
  ~MappedFile();
  const uint8_t* data() const { return data_; }
  size_t size() const { return size_; }

 private:
  MappedFile() = default;
  uint8_t* data_ = nullptr;
  size_t size_ = 0;
};

/// Packed rows that live inside a memory-mapped file: uploads read the map directly, no copy.
class MappedSource final : public ImageSource {
 public:
  MappedSource(std::shared_ptr<MappedFile> file, size_t offset, const ImageDesc& desc)
      : file_(std::move(file)), offset_(offset), desc_(desc) {}
  const ImageDesc& desc() const override { return desc_; }
  const uint8_t* contiguous(int index, int plane = 0) const override {
    return index == 0 && plane == 0 ? file_->data() + offset_ : nullptr;
  }
  Status ReadChunk(int index, int plane, int64_t cx, int64_t cy, uint8_t* dst, size_t dst_stride) override;

 private:
  std::shared_ptr<MappedFile> file_;
  size_t offset_;
  ImageDesc desc_;
};

/// "errno text" for a failed open/read of `path`: NOT_FOUND for missing files.
Status FileError(const std::string& what, const std::string& path, int err);

/// A small file's bytes (certificates, keys, the viewer's page): FileError when it cannot be read.
Result<std::string> ReadWholeFile(const std::string& path);

}  // namespace tilerender
