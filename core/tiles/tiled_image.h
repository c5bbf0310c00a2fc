#pragma once
/// A loaded image: its source, its level and tile plan, and what ListImages reports. Its pixels
/// live in the source; tiles are paged into the host and GPU caches as renders need them. Holding
/// a handle keeps the image (and its source) alive; when the last holder lets go, its cached tiles
/// are dropped.

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
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
  int64_t tiles = 0;         ///< of every plane
  int64_t gpu_bytes = 0;     ///< every tile of the level (and of every plane) resident
};

struct ChannelInfo {
  std::string name;    ///< from the file, where it says
  uint32_t color = 0;  ///< suggested display color 0xRRGGBBAA from the file; 0 when it says none
  ValueRange range;    ///< of this plane (RGB(A): of the color channels), NaN/inf excluded
  bool range_estimated = false;
  /// Suggested display contrast from the file (lo < hi), else 0, 0: a layer without a contrast of
  /// its own uses it instead of `range`.
  double window_lo = 0, window_hi = 0;
  bool has_window() const { return window_lo < window_hi; }
};

struct ImageInfo {
  ImageDesc desc;
  int tile_size = 0;  ///< tile side asked for (pixels); levels report what they use
  int levels = 0;
  int64_t tiles = 0;             ///< over all levels
  int64_t gpu_bytes = 0;         ///< every tile of every level resident: exact texture bytes
  int64_t gpu_bytes_level0 = 0;  ///< full resolution: the raw bytes (textures hold no gutters)
  std::vector<LevelInfo> level_info;
  ValueRange range;              ///< over every plane (color channels), NaN/inf excluded
  /// The range was taken from a coarser level or a sample of the image, not from every pixel.
  bool range_estimated = false;
  std::vector<ChannelInfo> channel_info;  ///< one per plane
  double pixel_size_x_um = 0;  ///< physical size of a level-0 pixel where the file says; 0: unknown
  double pixel_size_y_um = 0;
  /// A labels image (a segmentation: values are object ids): levels by the 2 x 2 mode, drawn as
  /// labels (DESIGN §3).
  bool labels = false;
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
  /// Set once, at load, before the image is shared: one entry per plane.
  void set_channels(std::vector<ChannelInfo> channels) {
    info_.range = ValueRange{};
    info_.range_estimated = false;
    for (const ChannelInfo& c : channels) {
      info_.range.Merge(c.range);
      info_.range_estimated = info_.range_estimated || c.range_estimated;
    }
    info_.channel_info = std::move(channels);
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
