#pragma once
// Shared helpers for GL tests: one engine per test binary (EGL context creation and shader warm-up
// cost ~100 ms), synthetic images, raw renders.

#include <gtest/gtest.h>

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

/// Top-down straight-alpha RGBA8 pixels of a render; fails the test on error.
std::vector<uint8_t> RenderRgba(const RenderRequest& req);

/// Writes RGBA8 rows as a PNG under $TEST_OUTPUT_DIR for a human to look at (nothing when unset).
void SavePng(const std::string& name, const std::vector<uint8_t>& rgba, int w, int h);

}  // namespace tilerender::testing
