#include "core/image/image_file.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

namespace tilerender {

Result<OpenedImage> OpenTiff(const std::string& path, const OpenOptions& options);  // tiff_reader.cpp

Status FileError(const std::string& what, const std::string& path, int err) {
  const std::string msg = what + " " + path + ": " + std::strerror(err);
  if (err == ENOENT || err == ENOTDIR) return NotFound(msg);
  if (err == EACCES || err == EPERM) return PermissionDenied(msg);
  return InvalidArgument(msg);
}

Result<std::shared_ptr<MappedFile>> MappedFile::Open(const std::string& path, const std::string& display) {
  const std::string& name = display.empty() ? path : display;
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return FileError("cannot open", name, errno);
  struct stat st {};
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    ::close(fd);
    return InvalidArgument(name + " is not a regular file");
  }
  std::shared_ptr<MappedFile> f(new MappedFile());
  f->size_ = static_cast<size_t>(st.st_size);
  if (f->size_ > 0) {
    void* p = ::mmap(nullptr, f->size_, PROT_READ, MAP_PRIVATE, fd, 0);
    if (p == MAP_FAILED) {
      const int err = errno;
      ::close(fd);
      return FileError("cannot map", name, err);
    }
    f->data_ = static_cast<uint8_t*>(p);
  }
  ::close(fd);
  return f;
}

MappedFile::~MappedFile() {
  if (data_ != nullptr) ::munmap(data_, size_);
}

Status MappedSource::ReadChunk(int index, int plane, int64_t cx, int64_t cy, uint8_t* dst, size_t dst_stride) {
  if (index != 0 || plane != 0 || cx != 0 || cy != 0) return InvalidArgument("no such chunk in a memory map");
  CopyRect(contiguous(0), desc_.row_bytes(), desc_, 0, 0, desc_.width, desc_.height, dst, dst_stride);
  return Status::Ok();
}

Result<std::string> ReadWholeFile(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  if (!f) return FileError("cannot read", path, errno);
  std::ostringstream bytes;
  bytes << f.rdbuf();
  if (f.bad()) return FileError("cannot read", path, errno);
  return bytes.str();
}

Result<OpenedImage> OpenImageFile(const std::string& path, const OpenOptions& options) {
  const std::string& name = options.name.empty() ? path : options.name;
  struct stat st {};
  if (::stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode)) {
    if (IsOmeZarrDirectory(path)) return OpenOmeZarr(path, options);
    return InvalidArgument(name + " is a directory, not an OME-Zarr image");
  }
  // Only regular files: a FIFO would block the load forever, a device read without end. Opened
  // without blocking, then checked on the descriptor (the name may have changed since stat).
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK);
  if (fd < 0) return FileError("cannot open", name, errno);
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    ::close(fd);
    const char* kind = S_ISFIFO(st.st_mode) ? "a FIFO" : S_ISSOCK(st.st_mode) ? "a socket" : S_ISDIR(st.st_mode) ? "a directory"
                                                                                                              : "a device";
    return InvalidArgument(name + " is " + kind + ", not a regular file");
  }
  uint8_t magic[8] = {};
  const ssize_t n = ::read(fd, magic, sizeof magic);
  ::close(fd);
  if (options.reader == "openslide" || !options.associated_image.empty()) return OpenOpenSlide(path, options);
  if (!options.reader.empty() && options.reader != "libtiff") {
    return InvalidArgument("unknown reader \"" + options.reader + "\" (openslide, libtiff, or empty for automatic)");
  }
  if (n < 4) return InvalidArgument(name + ": file too short to be an image");
  static const uint8_t kPng[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
  if (n == 8 && std::memcmp(magic, kPng, 8) == 0) return OpenPng(path, options);
  if (n >= 6 && std::memcmp(magic, "\x93NUMPY", 6) == 0) return OpenNpy(path, options);
  const bool tiff = (magic[0] == 'I' && magic[1] == 'I' && (magic[2] == 42 || magic[2] == 43) && magic[3] == 0) ||
                    (magic[0] == 'M' && magic[1] == 'M' && magic[2] == 0 && (magic[3] == 42 || magic[3] == 43));
  // Whole-slide formats (SVS, NDPI, MIRAX, SCN, BIF, ...) go through OpenSlide; plain tiled and
  // OME-TIFFs through libtiff, which reads their own samples and metadata.
  if (options.reader.empty() && IsOpenSlideVendorFile(path)) return OpenOpenSlide(path, options);
  if (tiff) return OpenTiff(path, options);
  return InvalidArgument(name + ": not a PNG, TIFF or NPY file (or an OME-Zarr directory)");
}

}  // namespace tilerender
