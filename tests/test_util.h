#pragma once
// Shared helpers for GL tests: one engine per test binary (EGL context creation and shader warm-up
// cost ~100 ms), synthetic images, raw renders.

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <cstring>
#include <memory>
#include <vector>

#include "core/engine.h"

namespace tilerender::testing {

/// The process-wide engine: surfaceless llvmpipe on machines without a GPU.
Engine& TestEngine();
/// An engine of its own with these options (shader variants compiled on first use, not at start);
/// aborts the test binary when it cannot start.
std::unique_ptr<Engine> MakeEngine(EngineOptions options);

/// A host image of `desc` filled by f(x, y, channel) -> sample value.
template <typename T, typename F>
std::shared_ptr<BufferSource> MakeImage(const ImageDesc& desc, F f) {
  auto src = BufferSource::Allocate(desc);
  EXPECT_TRUE(src.ok()) << src.status().ToString();
  uint8_t* data = (*src)->mutable_data();
  for (int64_t y = 0; y < desc.height; ++y) {
    for (int64_t x = 0; x < desc.width; ++x) {
      for (int c = 0; c < desc.channels; ++c) {
        const T v = static_cast<T>(f(x, y, c));
        std::memcpy(data + ((y * desc.width + x) * desc.channels + c) * sizeof(T), &v, sizeof(T));
      }
    }
  }
  return std::move(src).value();
}

ImageHandle Load(std::shared_ptr<ImageSource> src, int tile_size = 0, bool pyramid = true);

/// Pixels held in memory but handed out only in 64 x 64 chunks of level 0, counting reads: what the
/// engine sees of an out-of-core source.
class ChunkedSource : public ImageSource {
 public:
  explicit ChunkedSource(std::shared_ptr<BufferSource> pixels) : pixels_(std::move(pixels)) {}
  const ImageDesc& desc() const override { return pixels_->desc(); }
  std::vector<SourceLevel> levels() const override { return {{0, desc().width, desc().height, 64, 64}}; }
  Status ReadChunk(int index, int plane, int64_t cx, int64_t cy, uint8_t* dst, size_t dst_stride) override {
    reads.fetch_add(1);
    return Copy(index, plane, cx, cy, dst, dst_stride);
  }
  std::atomic<int64_t> reads{0};

 protected:
  // Chunk (cx, cy) into dst, without counting.
  Status Copy(int index, int plane, int64_t cx, int64_t cy, uint8_t* dst, size_t dst_stride) const {
    if (index != 0 || plane != 0) return InvalidArgument("no such chunk");
    const ImageDesc& d = desc();
    const int64_t x0 = cx * 64, y0 = cy * 64;
    CopyRect(pixels_->data(), d.row_bytes(), d, x0, y0, std::min<int64_t>(64, d.width - x0), std::min<int64_t>(64, d.height - y0),
             dst, dst_stride);
    return Status::Ok();
  }
  std::shared_ptr<BufferSource> pixels_;
};

/// A raw RGBA8 render of one layer of `image`, w x h, at `zoom` around (cx, cy), nothing else set.
inline RenderRequest RawView(const ImageHandle& image, int w, int h, double zoom, double cx, double cy) {
  RenderRequest r;
  r.width = w;
  r.height = h;
  r.format = OutputFormat::kRawRgba8;
  r.camera.zoom = zoom;
  r.camera.center_x = cx;
  r.camera.center_y = cy;
  Layer l;
  l.image = image;
  r.layers.push_back(l);
  return r;
}

/// Top-down straight-alpha RGBA8 pixels of a render; fails the test on error.
std::vector<uint8_t> RenderRgba(const RenderRequest& req);

/// Writes RGBA8 rows as a PNG under $TEST_OUTPUT_DIR for a human to look at (nothing when unset).
void SavePng(const std::string& name, const std::vector<uint8_t>& rgba, int w, int h);

}  // namespace tilerender::testing
