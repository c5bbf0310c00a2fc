#pragma once
// What the fuzz harnesses share: a scratch directory of this process on a tmpfs, each input written
// there as a file, and a walk through an opened image source that reads a few chunks of every level
// (the first, the middle and the last, of the first and the last plane) so decoding is exercised,
// not just the header. Header-only: each harness is one translation unit plus this.

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/image/image_file.h"

namespace tilerender::fuzz {

// Small limits: an image that claims to be huge is refused from its header, fast.
inline OpenOptions SmallOptions() {
  OpenOptions o;
  o.limits.max_side = 8192;
  o.limits.max_pixels = int64_t{1} << 24;
  o.limits.max_bytes = int64_t{64} << 20;
  o.name = "fuzz-input";
  return o;
}

// A directory of this process (under /dev/shm when there is one), removed at exit.
inline const std::string& ScratchDir() {
  static const std::string dir = [] {
    namespace fs = std::filesystem;
    std::error_code ec;
    const char* base = fs::is_directory("/dev/shm", ec) ? "/dev/shm" : std::getenv("TMPDIR") ? std::getenv("TMPDIR") : "/tmp";
    std::string d = std::string(base) + "/tilerender-fuzz-" + std::to_string(::getpid());
    fs::remove_all(d, ec);
    fs::create_directories(d);
    static std::string to_remove = d;
    std::atexit([] {
      std::error_code e;
      std::filesystem::remove_all(to_remove, e);
    });
    return d;
  }();
  return dir;
}

// Writes bytes to `path` (created or truncated); aborts when it cannot (a broken harness, not a find).
inline void WriteFile(const std::string& path, const uint8_t* data, size_t size) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) {
    std::perror(path.c_str());
    std::abort();
  }
  size_t off = 0;
  while (off < size) {
    const ssize_t n = ::write(fd, data + off, size - off);
    if (n <= 0) {
      std::perror(path.c_str());
      std::abort();
    }
    off += static_cast<size_t>(n);
  }
  ::close(fd);
}

inline void WriteFile(const std::string& path, std::string_view bytes) {
  WriteFile(path, reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size());
}

// The input as a file named `name` in the scratch directory.
inline std::string InputFile(const uint8_t* data, size_t size, const std::string& name) {
  const std::string path = ScratchDir() + "/" + name;
  WriteFile(path, data, size);
  return path;
}

// A broken promise of the ImageSource interface: the engine relies on these.
[[noreturn]] inline void Violation(const char* what) {
  std::fprintf(stderr, "image source contract violated: %s\n", what);
  std::abort();
}

// Reads a few chunks of every level (and the level-0 corner through ReadRect); errors are fine,
// crashes, leaks and hangs are what the fuzzer looks for.
inline void Exercise(ImageSource& source) {
  constexpr size_t kMaxChunkBytes = size_t{64} << 20;
  const ImageDesc& d = source.desc();
  (void)source.plane_info();
  (void)source.pixel_size_um();
  const std::vector<SourceLevel> levels = source.levels();
  if (levels.empty()) Violation("no levels");
  if (levels[0].level != 0 || levels[0].width != d.width || levels[0].height != d.height) Violation("level 0 is not the image");
  const size_t bpp = d.bytes_per_pixel();
  for (size_t i = 0; i < levels.size() && i < 12; ++i) {
    const SourceLevel& l = levels[i];
    if (i > 0 && l.level <= levels[i - 1].level) Violation("level indices do not increase");
    if (l.width <= 0 || l.height <= 0 || l.chunk_width <= 0 || l.chunk_height <= 0) Violation("empty level or chunk");
    const size_t stride = static_cast<size_t>(l.chunk_width) * bpp;
    if (stride == 0 || stride > kMaxChunkBytes || static_cast<size_t>(l.chunk_height) > kMaxChunkBytes / stride) continue;
    std::unique_ptr<uint8_t[]> buf(new uint8_t[stride * static_cast<size_t>(l.chunk_height)]);
    const int64_t nx = (l.width + l.chunk_width - 1) / l.chunk_width, ny = (l.height + l.chunk_height - 1) / l.chunk_height;
    const int64_t picks[3][2] = {{0, 0}, {nx / 2, ny / 2}, {nx - 1, ny - 1}};
    for (int p = 0; p < 3; ++p) {
      if (p > 0 && picks[p][0] == picks[p - 1][0] && picks[p][1] == picks[p - 1][1]) continue;
      for (int plane : {0, d.planes - 1}) {
        (void)source.ReadChunk(static_cast<int>(i), plane, picks[p][0], picks[p][1], buf.get(), stride);
        if (d.planes == 1) break;
      }
    }
    (void)source.StoredJpegChunk(static_cast<int>(i), 0, 0);
  }
  if (const uint8_t* whole = source.contiguous(0)) {
    // The whole plane must be addressable: touch its last byte.
    volatile uint8_t last = whole[d.plane_bytes() - 1];
    (void)last;
  }
  // The bottom-right corner of level 0 as an upload reads it (through a chunk-sized buffer).
  const SourceLevel& l0 = levels[0];
  if (source.contiguous(0) != nullptr ||
      static_cast<size_t>(l0.chunk_width) * bpp <= kMaxChunkBytes / static_cast<size_t>(l0.chunk_height)) {
    const int64_t w = std::min<int64_t>(d.width, 64), h = std::min<int64_t>(d.height, 64);
    std::vector<uint8_t> rect(static_cast<size_t>(w * h) * bpp);
    (void)source.ReadRect(0, d.width - w, d.height - h, w, h, rect.data(), static_cast<size_t>(w) * bpp);
  }
}

// Opens a file through OpenImageFile and exercises what it gives. A scalar float32 image (what
// uint32 data becomes) is opened again as labels, where uint32 stays uint32 (another path).
inline void OpenAndExercise(const std::string& path, const OpenOptions& options) {
  auto opened = OpenImageFile(path, options);
  if (!opened.ok()) return;
  if (!opened->source) Violation("OK without a source");
  Exercise(*opened->source);
  if (!options.labels && opened->source->desc().type == PixelType::kFloat32 && opened->source->desc().channels == 1) {
    OpenOptions labels = options;
    labels.labels = true;
    OpenAndExercise(path, labels);
  }
}

}  // namespace tilerender::fuzz
