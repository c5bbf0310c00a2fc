#include "core/image/image_source.h"

#include <algorithm>
#include <cstring>
#include <new>

namespace tilerender {

std::vector<SourceLevel> ImageSource::levels() const {
  const ImageDesc& d = desc();
  return {{0, d.width, d.height, d.width, d.height}};
}

int64_t ImageSource::preferred_band_rows() const { return levels().front().chunk_height; }

Status ImageSource::ReadRect(int plane, int64_t x, int64_t y, int64_t w, int64_t h, uint8_t* dst,
                             size_t dst_stride) {
  const ImageDesc& d = desc();
  if (const uint8_t* whole = contiguous(0, plane)) {
    CopyRect(whole, d.row_bytes(), d, x, y, w, h, dst, dst_stride);
    return Status::Ok();
  }
  const SourceLevel l = levels().front();
  const size_t bpp = d.bytes_per_pixel();
  const size_t chunk_stride = static_cast<size_t>(l.chunk_width) * bpp;
  const size_t chunk_bytes = chunk_stride * static_cast<size_t>(l.chunk_height);
  std::unique_ptr<uint8_t[]> chunk(new (std::nothrow) uint8_t[chunk_bytes]);
  if (!chunk) return ResourceExhausted("cannot allocate a " + std::to_string(chunk_bytes) + "-byte chunk");
  for (int64_t cy = y / l.chunk_height; cy * l.chunk_height < y + h; ++cy) {
    for (int64_t cx = x / l.chunk_width; cx * l.chunk_width < x + w; ++cx) {
      TR_RETURN_IF_ERROR(ReadChunk(0, plane, cx, cy, chunk.get(), chunk_stride));
      const int64_t ax = std::max(x, cx * l.chunk_width);
      const int64_t bx = std::min({x + w, (cx + 1) * l.chunk_width, d.width});
      const int64_t ay = std::max(y, cy * l.chunk_height);
      const int64_t by = std::min({y + h, (cy + 1) * l.chunk_height, d.height});
      for (int64_t r = ay; r < by; ++r) {
        std::memcpy(dst + static_cast<size_t>(r - y) * dst_stride + static_cast<size_t>(ax - x) * bpp,
                    chunk.get() + static_cast<size_t>(r - cy * l.chunk_height) * chunk_stride +
                        static_cast<size_t>(ax - cx * l.chunk_width) * bpp,
                    static_cast<size_t>(bx - ax) * bpp);
      }
    }
  }
  return Status::Ok();
}

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

Status BufferSource::ReadChunk(int index, int plane, int64_t cx, int64_t cy, uint8_t* dst, size_t dst_stride) {
  if (index != 0 || cx != 0 || cy != 0 || plane < 0 || plane >= desc_.planes) {
    return InvalidArgument("no such chunk in a host buffer");
  }
  CopyRect(contiguous(0, plane), desc_.row_bytes(), desc_, 0, 0, desc_.width, desc_.height, dst, dst_stride);
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
