#pragma once
/// Where pixels come from (DESIGN §2): anything that fills a requested piece of an image on demand.
/// A source has one or more resolution levels (a file's own pyramid); each level is read in chunks
/// (a TIFF tile or strip, or the whole level when it sits in memory). Nothing here assumes the image
/// fits in host memory: the tile caches page chunks in and out as renders need them.

#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "core/image/image_desc.h"
#include "core/status.h"

namespace tilerender {

/// One resolution level a source reads itself.
struct SourceLevel {
  /// Power-of-two level index k: pixel (x, y) of this level covers level-0 pixels
  /// [x 2^k, (x + 1) 2^k) x [y 2^k, (y + 1) 2^k) (the last row and column may be partial).
  int level = 0;
  int64_t width = 0;
  int64_t height = 0;
  /// The unit the source decodes: a file tile, a strip (full width), or the whole level. Chunk
  /// (cx, cy) covers [cx cw, (cx + 1) cw) x [cy ch, (cy + 1) ch), clipped to the level.
  int64_t chunk_width = 0;
  int64_t chunk_height = 0;
};

/// What a file says of one plane (channel).
struct PlaneInfo {
  std::string name;    ///< e.g. "DAPI"; empty when the file does not say
  uint32_t color = 0;  ///< suggested display color 0xRRGGBBAA; 0 when the file does not say
  /// Suggested display contrast (OME-Zarr `omero` window start/end); lo < hi when the file says.
  double window_lo = 0, window_hi = 0;
};

class ImageSource {
 public:
  virtual ~ImageSource() = default;
  /// Level 0 (full resolution).
  virtual const ImageDesc& desc() const = 0;

  /// Names and colors of the planes where the file gives them (empty, or one per plane).
  virtual std::vector<PlaneInfo> plane_info() const { return {}; }

  /// The physical size of a level-0 pixel in micrometres, x then y, where the file says; 0 where
  /// it does not.
  virtual std::pair<double, double> pixel_size_um() const { return {0, 0}; }

  /// The levels this source reads itself, finest first; [0] is level 0 (level index 0). Indices
  /// strictly increase. Default: level 0 only, as one chunk.
  virtual std::vector<SourceLevel> levels() const;

  /// Plane `plane` of level `index` of levels() as packed rows in host memory, or null. Tiles of such a level are uploaded straight from it, with no
  /// copy and no host cache.
  virtual const uint8_t* contiguous(int index, int plane = 0) const {
    (void)index;
    (void)plane;
    return nullptr;
  }

  /// Whether chunks are copies of stored bytes, with nothing to decode (an NPY file read in
  /// place): a load may then read a whole level to measure its value range exactly.
  virtual bool reads_without_decoding() const { return false; }

  /// Decodes chunk (cx, cy) of plane `plane` of level `index` of levels() into dst, rows `dst_stride` bytes apart:
  /// the chunk's pixels clipped to the level. dst has room for a whole chunk (chunk_height rows of
  /// dst_stride >= chunk_width * bytes per pixel), so a decoder may write the padded chunk there.
  /// Thread-safe: several workers decode chunks of one source at once. A chunk that cannot be
  /// decoded is DATA_LOSS, naming the file, level and chunk.
  virtual Status ReadChunk(int index, int plane, int64_t cx, int64_t cy, uint8_t* dst, size_t dst_stride) = 0;

  /// Chunk (cx, cy) of level `index` of levels() as the file stores it, when that is a complete
  /// JPEG file any decoder shows as the chunk's pixels (YCbCr JPEG tiles of a TIFF, whole tiles
  /// only, the file's tables merged in); empty when it is not. Never decodes: a server can hand it
  /// out as it is when nothing is transformed. Thread-safe.
  virtual Result<std::vector<uint8_t>> StoredJpegChunk(int index, int64_t cx, int64_t cy) {
    (void)index, (void)cx, (void)cy;
    return std::vector<uint8_t>{};
  }

  /// Rows that are cheapest read together at level 0 (its chunk height).
  int64_t preferred_band_rows() const;

  /// Copies the level-0 rectangle [x, x+w) x [y, y+h) of a plane into dst (rows `dst_stride` bytes
  /// apart), from memory or through the chunks it covers. For streaming a whole image (uploads).
  Status ReadRect(int plane, int64_t x, int64_t y, int64_t w, int64_t h, uint8_t* dst, size_t dst_stride);
};

/// Pixels in host memory, owned. The allocation is left uninitialised: the caller fills it.
class BufferSource final : public ImageSource {
 public:
  /// Allocates desc.byte_size() bytes (planes one after the other); RESOURCE_EXHAUSTED if the
  /// allocation fails.
  static Result<std::unique_ptr<BufferSource>> Allocate(const ImageDesc& desc);
  /// Takes `bytes` as the image; INVALID_ARGUMENT unless its size is exactly desc.byte_size().
  static Result<std::unique_ptr<BufferSource>> Wrap(const ImageDesc& desc, std::vector<uint8_t> bytes);

  const ImageDesc& desc() const override { return desc_; }
  const uint8_t* contiguous(int index, int plane = 0) const override {
    return index == 0 && plane >= 0 && plane < desc_.planes ? data_ + plane * desc_.plane_bytes() : nullptr;
  }
  uint8_t* mutable_data() { return data_; }
  const uint8_t* data() const { return data_; }
  Status ReadChunk(int index, int plane, int64_t cx, int64_t cy, uint8_t* dst, size_t dst_stride) override;

 private:
  ImageDesc desc_;
  std::unique_ptr<uint8_t[]> owned_;
  std::vector<uint8_t> vector_;
  uint8_t* data_ = nullptr;
};

/// Copies a rectangle out of packed rows; shared by every source that holds rows in memory.
void CopyRect(const uint8_t* src, size_t src_stride, const ImageDesc& desc, int64_t x, int64_t y,
              int64_t w, int64_t h, uint8_t* dst, size_t dst_stride);

}  // namespace tilerender
