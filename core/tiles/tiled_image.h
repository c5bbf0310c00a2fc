#pragma once
/// A loaded image: its source, its level and tile plan, and what ListImages reports. Its pixels
/// live in the source; tiles are paged into the host and GPU caches as renders need them. Holding
/// a handle keeps the image (and its source) alive; when the last holder lets go, its cached tiles
/// are dropped.

#include <cstdint>
#include <functional>
#include <memory>
#include <vector>

#include "core/image/image_desc.h"
#include "core/image/image_source.h"
#include "core/image/value_range.h"
#include "core/tiles/tile_grid.h"

namespace tilerender {

struct LevelInfo {
  int64_t width = 0;
  int64_t height = 0;
  bool from_source = false;  ///< read from the source (the file's own level), else derived
  int64_t tile_width = 0;    ///< GPU tile size
  int64_t tile_height = 0;
  int64_t tiles = 0;
  int64_t gpu_bytes = 0;     ///< every tile of the level resident
};

struct ImageInfo {
  ImageDesc desc;
  int tile_size = 0;  ///< tile side asked for (pixels); levels report what they use
  int levels = 0;
  int64_t tiles = 0;             ///< over all levels
  int64_t gpu_bytes = 0;         ///< every tile of every level resident: exact texture bytes
  int64_t gpu_bytes_level0 = 0;  ///< full resolution: the raw bytes (textures hold no gutters)
  std::vector<LevelInfo> level_info;
  ValueRange range;              ///< of the color channels, NaN/inf excluded
  /// The range was taken from a coarser level or a sample of the image, not from every pixel.
  bool range_estimated = false;
};

class TiledImage {
 public:
  /// `on_release(id)` runs when the image dies (the engine drops its cached tiles).
  TiledImage(uint64_t id, std::shared_ptr<ImageSource> source, ImagePlan plan, ImageInfo info,
             std::function<void(uint64_t)> on_release)
      : id_(id), source_(std::move(source)), plan_(std::move(plan)), info_(std::move(info)),
        on_release_(std::move(on_release)) {}
  ~TiledImage() {
    if (on_release_) on_release_(id_);
  }
  TiledImage(const TiledImage&) = delete;
  TiledImage& operator=(const TiledImage&) = delete;

  /// Unique for the life of the engine: the caches' key.
  uint64_t id() const { return id_; }
  const ImageInfo& info() const { return info_; }
  const ImagePlan& plan() const { return plan_; }
  ImageSource& source() const { return *source_; }
  /// Set once, at load, before the image is shared.
  void set_range(const ValueRange& range, bool estimated) {
    info_.range = range;
    info_.range_estimated = estimated;
  }

 private:
  uint64_t id_;
  std::shared_ptr<ImageSource> source_;
  ImagePlan plan_;
  ImageInfo info_;
  std::function<void(uint64_t)> on_release_;
};

/// A loaded image. Holding one keeps it alive.
using ImageHandle = std::shared_ptr<const TiledImage>;

}  // namespace tilerender
