#pragma once
/// Where pixels come from (DESIGN §2): anything that fills a requested rectangle on demand. Uploads
/// read through it, so an image need not sit whole in host memory.

#include <cstdint>
#include <memory>
#include <vector>

#include "core/image/image_desc.h"
#include "core/status.h"

namespace tilerender {

class ImageSource {
 public:
  virtual ~ImageSource() = default;
  virtual const ImageDesc& desc() const = 0;

  /// The whole image as packed rows in addressable memory (a host buffer, a memory map), or null.
  /// When set, uploads read straight from it with GL_UNPACK_ROW_LENGTH and no copy.
  virtual const uint8_t* contiguous() const { return nullptr; }

  /// Rows that are cheapest read together (a TIFF's tile height or rows per strip), or 0.
  /// Loads read full-width bands of a multiple of this many rows, top to bottom.
  virtual int64_t preferred_band_rows() const { return 0; }

  /// Copies the rectangle [x, x+w) x [y, y+h) into dst, rows `dst_stride` bytes apart.
  /// Called from one thread at a time.
  virtual Status ReadRect(int64_t x, int64_t y, int64_t w, int64_t h, uint8_t* dst,
                          size_t dst_stride) = 0;
};

/// Pixels in host memory, owned. The allocation is left uninitialised: the caller fills it.
class BufferSource final : public ImageSource {
 public:
  /// Allocates desc.byte_size() bytes; RESOURCE_EXHAUSTED if the allocation fails.
  static Result<std::unique_ptr<BufferSource>> Allocate(const ImageDesc& desc);
  /// Takes `bytes` as the image; INVALID_ARGUMENT unless its size is exactly desc.byte_size().
  static Result<std::unique_ptr<BufferSource>> Wrap(const ImageDesc& desc, std::vector<uint8_t> bytes);

  const ImageDesc& desc() const override { return desc_; }
  const uint8_t* contiguous() const override { return data_; }
  uint8_t* mutable_data() { return data_; }
  Status ReadRect(int64_t x, int64_t y, int64_t w, int64_t h, uint8_t* dst,
                  size_t dst_stride) override;

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
