#pragma once
/// Opening image files (PNG, NPY; TIFF with its pyramid in tiff_reader; OME-Zarr directories in
/// ome_zarr_reader) as image sources. The format is told by the file's first bytes (or a
/// directory's Zarr metadata), not its name. Dimension and byte limits are checked from the header, before
/// any pixel memory is allocated. Corrupt or unsupported files are INVALID_ARGUMENT, missing files
/// NOT_FOUND.

#include <functional>
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
  /// The image is opened as labels (object ids): uint32 data stays uint32 (PixelType::kUint32)
  /// instead of being converted to float32.
  bool labels = false;
  /// Asked between rows, bands and chunks of a long read (a PNG decode, an NPY conversion): true
  /// stops the open with CANCELLED (the caller's deadline passed, it went away, the daemon stops).
  std::function<bool()> cancelled;
};

/// Whether `options` asks to stop now.
inline bool OpenCancelled(const OpenOptions& options) { return options.cancelled && options.cancelled(); }

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

/// A regular file read with pread, never memory-mapped: a file that shrinks or is replaced while it
/// is open gives a short read and a clean DATA_LOSS, where a map would kill the process with SIGBUS.
/// Only regular files open (O_NONBLOCK, then fstat on the descriptor): FIFOs, sockets, devices and
/// directories are INVALID_ARGUMENT. Thread-safe: pread has no shared file position.
class ReadOnlyFile {
 public:
  /// `name`: how messages name the file (empty: the path).
  static Result<std::shared_ptr<ReadOnlyFile>> Open(const std::string& path, const std::string& name = "");
  ~ReadOnlyFile();
  ReadOnlyFile(const ReadOnlyFile&) = delete;
  ReadOnlyFile& operator=(const ReadOnlyFile&) = delete;
  /// The size when it was opened.
  uint64_t size() const { return size_; }
  const std::string& name() const { return name_; }
  /// Exactly n bytes at `offset` into dst; DATA_LOSS when the file now ends before them.
  Status ReadAt(uint64_t offset, void* dst, size_t n) const;

 private:
  ReadOnlyFile() = default;
  int fd_ = -1;
  uint64_t size_ = 0;
  std::string name_;
};

/// "is a FIFO, not a regular file" for a file that is not one; empty for a regular file.
std::string NotRegularFileReason(unsigned mode);

/// "errno text" for a failed open/read of `path`: NOT_FOUND for missing files.
Status FileError(const std::string& what, const std::string& path, int err);

/// A small file's bytes (certificates, keys, the viewer's page): FileError when it cannot be read.
Result<std::string> ReadWholeFile(const std::string& path);

}  // namespace tilerender
