#include "core/image/image_source.h"

#include <cstring>
#include <new>

namespace tilerender {

Result<std::unique_ptr<BufferSource>> BufferSource::Allocate(const ImageDesc& desc) {
  auto src = std::unique_ptr<BufferSource>(new BufferSource());
  src->desc_ = desc;
  // new[] without () leaves the bytes uninitialised: no page is touched before it is written.
  src->owned_.reset(new (std::nothrow) uint8_t[desc.byte_size()]);
  if (!src->owned_) {
    return ResourceExhausted("cannot allocate " + std::to_string(desc.byte_size()) +
                             " bytes of host memory for " + desc.ToString());
  }
  src->data_ = src->owned_.get();
  return src;
}

Result<std::unique_ptr<BufferSource>> BufferSource::Wrap(const ImageDesc& desc,
                                                         std::vector<uint8_t> bytes) {
  if (bytes.size() != desc.byte_size()) {
    return InvalidArgument("image " + desc.ToString() + " needs " +
                           std::to_string(desc.byte_size()) + " bytes, got " +
                           std::to_string(bytes.size()));
  }
  auto src = std::unique_ptr<BufferSource>(new BufferSource());
  src->desc_ = desc;
  src->vector_ = std::move(bytes);
  src->data_ = src->vector_.data();
  return src;
}

Status BufferSource::ReadRect(int64_t x, int64_t y, int64_t w, int64_t h, uint8_t* dst,
                              size_t dst_stride) {
  CopyRect(data_, desc_.row_bytes(), desc_, x, y, w, h, dst, dst_stride);
  return Status::Ok();
}

void CopyRect(const uint8_t* src, size_t src_stride, const ImageDesc& desc, int64_t x, int64_t y,
              int64_t w, int64_t h, uint8_t* dst, size_t dst_stride) {
  const size_t bpp = desc.bytes_per_pixel();
  const size_t n = static_cast<size_t>(w) * bpp;
  for (int64_t r = 0; r < h; ++r) {
    std::memcpy(dst + static_cast<size_t>(r) * dst_stride,
                src + static_cast<size_t>(y + r) * src_stride + static_cast<size_t>(x) * bpp, n);
  }
}

}  // namespace tilerender
