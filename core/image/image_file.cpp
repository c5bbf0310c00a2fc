#include "core/image/image_file.h"

#include <fcntl.h>
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

std::string NotRegularFileReason(unsigned mode) {
  if (S_ISREG(mode)) return "";
  const char* kind = S_ISFIFO(mode) ? "a FIFO" : S_ISSOCK(mode) ? "a socket" : S_ISDIR(mode) ? "a directory" : "a device";
  return std::string("is ") + kind + ", not a regular file";
}

Result<std::shared_ptr<ReadOnlyFile>> ReadOnlyFile::Open(const std::string& path, const std::string& display) {
  const std::string& name = display.empty() ? path : display;
  // Without blocking: opening a FIFO would wait for a writer forever. Checked on the descriptor
  // (the name may have changed since anyone looked at it).
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK);
  if (fd < 0) return FileError("cannot open", name, errno);
  struct stat st {};
  if (::fstat(fd, &st) != 0) {
    const int err = errno;
    ::close(fd);
    return FileError("cannot stat", name, err);
  }
  if (const std::string why = NotRegularFileReason(st.st_mode); !why.empty()) {
    ::close(fd);
    return InvalidArgument(name + " " + why);
  }
  std::shared_ptr<ReadOnlyFile> f(new ReadOnlyFile());
  f->fd_ = fd;
  f->size_ = static_cast<uint64_t>(st.st_size);
  f->name_ = name;
  return f;
}

ReadOnlyFile::~ReadOnlyFile() {
  if (fd_ >= 0) ::close(fd_);
}

Status ReadOnlyFile::ReadAt(uint64_t offset, void* dst, size_t n) const {
  auto* out = static_cast<uint8_t*>(dst);
  size_t done = 0;
  while (done < n) {
    const ssize_t r = ::pread(fd_, out + done, n - done, static_cast<off_t>(offset + done));
    if (r < 0) {
      if (errno == EINTR) continue;
      return DataLoss("cannot read " + name_ + " at byte " + std::to_string(offset + done) + ": " + std::strerror(errno));
    }
    if (r == 0) {
      struct stat st {};
      const std::string now = ::fstat(fd_, &st) == 0 ? std::to_string(st.st_size) : "?";
      return DataLoss(name_ + " shrank while open: " + now + " bytes now, " + std::to_string(size_) +
                      " when opened (bytes " + std::to_string(offset) + "-" + std::to_string(offset + n) + " are gone)");
    }
    done += static_cast<size_t>(r);
  }
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
  TR_ASSIGN_OR_RETURN(std::shared_ptr<ReadOnlyFile> file, ReadOnlyFile::Open(path, name));
  uint8_t magic[8] = {};
  const size_t n = std::min<uint64_t>(sizeof magic, file->size());
  TR_RETURN_IF_ERROR(file->ReadAt(0, magic, n));
  file.reset();
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
