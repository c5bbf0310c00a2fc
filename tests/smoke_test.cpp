#include <gtest/gtest.h>

#include <cmath>

#include "tests/test_util.h"

namespace tilerender::testing {
namespace {

TEST(Smoke, ViridisGradient) {
  auto src = MakeImage<uint16_t>({300, 200, PixelType::kUint16, 1},
                                 [](int64_t x, int64_t y, int) { return x * 200 + y; });
  ImageHandle img = Load(*src, 64);
  ASSERT_TRUE(img);
  RenderRequest req;
  req.width = 400;
  req.height = 300;
  req.camera.rotation_deg = 30;
  req.layers.push_back({.image = img, .colormap = {.name = "viridis"}, .interpolation = Interpolation::kLinear});
  auto px = RenderRgba(req);
  SavePng("smoke_viridis", px, 400, 300);
  auto e = TestEngine().gpu_info();
  std::printf("%s | %s | %s | max tex %d | %s\n", e.egl_device.c_str(), e.gl_renderer.c_str(),
              e.gl_version.c_str(), e.max_texture_size, e.egl_version.c_str());
}

}  // namespace
}  // namespace tilerender::testing
