// Images of several planes (fluorescence channels): each channel renders exactly like the same
// plane loaded as an image of its own, composites equal composites of separate images, default
// contrast is per channel, GPU bytes stay the raw bytes (plus gutters), bad channels are refused.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>

#include "tests/test_util.h"

namespace tilerender::testing {
namespace {

// Three uint16 planes of different value ranges and patterns, as one 3-plane image and as three.
struct Planes {
  std::shared_ptr<BufferSource> stack;
  std::vector<std::shared_ptr<BufferSource>> single;
};

Planes MakePlanes(int64_t w, int64_t h) {
  Planes p;
  const ImageDesc one{w, h, PixelType::kUint16, 1};
  auto value = [](int c, int64_t x, int64_t y) {
    const double base[3] = {1000, 20000, 300};
    const double amp[3] = {4000, 30000, 900};
    const uint32_t n = static_cast<uint32_t>(x * 2654435761u ^ y * 40503u ^ c * 977u) % 97;
    return base[c] + amp[c] * (0.5 + 0.45 * std::sin(x * (0.03 + 0.02 * c)) * std::cos(y * 0.04)) + n;
  };
  for (int c = 0; c < 3; ++c) {
    p.single.push_back(MakeImage<uint16_t>(one, [&](int64_t x, int64_t y, int) { return value(c, x, y); }));
  }
  ImageDesc d = one;
  d.planes = 3;
  auto stack = BufferSource::Allocate(d);
  EXPECT_TRUE(stack.ok());
  for (int c = 0; c < 3; ++c) std::memcpy((*stack)->mutable_data() + c * d.plane_bytes(), p.single[c]->data(), d.plane_bytes());
  p.stack = std::move(stack).value();
  return p;
}

TEST(ChannelsTest, EachChannelRendersLikeItsPlaneAlone) {
  const Planes p = MakePlanes(700, 500);
  ImageHandle stack = Load(p.stack, 128);
  ASSERT_TRUE(stack);
  EXPECT_EQ(stack->info().desc.planes, 3);
  ASSERT_EQ(stack->info().channel_info.size(), 3u);
  // GPU storage is per plane, in the plane's own format: three times one plane.
  ImageHandle first = Load(p.single[0], 128);
  EXPECT_EQ(stack->info().gpu_bytes_level0, 3 * first->info().gpu_bytes_level0);
  for (int c = 0; c < 3; ++c) {
    ImageHandle alone = Load(p.single[c], 128);
    // Each channel's range is its own plane's, and so is its default contrast.
    EXPECT_EQ(stack->info().channel_info[c].range.min, alone->info().range.min) << c;
    EXPECT_EQ(stack->info().channel_info[c].range.max, alone->info().range.max) << c;
    for (auto [zoom, interp] : {std::pair{1.3, Interpolation::kLinear}, std::pair{0.27, Interpolation::kNearest},
                                std::pair{0.05, Interpolation::kLinear}}) {
      RenderRequest req{.width = 180, .height = 140};
      req.camera = {.center_x = 333, .center_y = 222, .zoom = zoom, .rotation_deg = 17};
      req.layers.push_back({.image = stack, .channel = c, .colormap = {.name = "viridis"}, .interpolation = interp});
      const auto a = RenderRgba(req);
      req.layers[0].image = alone;
      req.layers[0].channel = 0;
      EXPECT_EQ(a, RenderRgba(req)) << "channel " << c << " at zoom " << zoom;
    }
  }
}

TEST(ChannelsTest, CompositeEqualsCompositeOfSeparateImages) {
  const Planes p = MakePlanes(640, 480);
  ImageHandle stack = Load(p.stack);
  std::vector<ImageHandle> alone;
  for (const auto& s : p.single) alone.push_back(Load(s));
  const char* colors[3] = {"green", "magenta", "cyan"};
  RenderRequest a{.width = 320, .height = 240}, b{.width = 320, .height = 240};
  for (int c = 0; c < 3; ++c) {
    a.layers.push_back({.image = stack, .channel = c, .colormap = {.name = colors[c]}, .interpolation = Interpolation::kLinear,
                        .blending = Blending::kAdditive});
    b.layers.push_back({.image = alone[c], .colormap = {.name = colors[c]}, .interpolation = Interpolation::kLinear,
                        .blending = Blending::kAdditive});
  }
  const auto pa = RenderRgba(a);
  EXPECT_EQ(pa, RenderRgba(b));
  // And it is a composite: every color component is lit somewhere.
  int max_r = 0, max_g = 0, max_b = 0;
  for (size_t i = 0; i < pa.size(); i += 4) max_r = std::max<int>(max_r, pa[i]), max_g = std::max<int>(max_g, pa[i + 1]),
                                          max_b = std::max<int>(max_b, pa[i + 2]);
  EXPECT_GT(max_r, 100);
  EXPECT_GT(max_g, 100);
  EXPECT_GT(max_b, 100);
  SavePng("three_channel_composite", pa, 320, 240);
}

// The one-pass composite (additive layers of one image's planes, up to four per pass) against the
// same layers drawn one pass each, by engines that differ only in that: byte-identical for uint16
// and float32 with NaN and infinities, nearest and linear, rotated, zoomed in and out, colormaps
// with transparency, opacity, gamma, inverted contrast, the same channel twice, five layers (a pass
// of four and one alone), a translucent background, and a GPU budget that forces batches.
TEST(ChannelsTest, OnePassCompositeEqualsLayerByLayer) {
  auto engine = [](bool one_pass, int64_t budget) {
    return MakeEngine({.max_tile_size = 128, .gpu_budget_bytes = budget, .one_pass_composite = one_pass});
  };
  const int64_t roomy = int64_t{256} << 20;
  std::unique_ptr<Engine> engines[3] = {engine(false, roomy), engine(true, roomy),
                                        engine(true, 24 * int64_t{129} * 129 * 4)};  // a few composite groups
  const int64_t w = 700, h = 500;
  ImageDesc d16{w, h, PixelType::kUint16, 1};
  d16.planes = 4;
  ImageDesc d32{w, h, PixelType::kFloat32, 1};
  d32.planes = 3;
  auto make = [&](const ImageDesc& d) {
    auto src = BufferSource::Allocate(d);
    EXPECT_TRUE(src.ok());
    for (int c = 0; c < d.planes; ++c) {
      for (int64_t y = 0; y < h; ++y) {
        for (int64_t x = 0; x < w; ++x) {
          const uint32_t n = static_cast<uint32_t>(x * 2654435761u ^ y * 40503u ^ (c + 1) * 977u);
          const double v = 0.5 + 0.45 * std::sin(x * (0.03 + 0.011 * c)) * std::cos(y * (0.04 - 0.007 * c)) + (n % 101) / 2000.0;
          uint8_t* at = (*src)->mutable_data() + c * d.plane_bytes() + (y * w + x) * d.bytes_per_pixel();
          if (d.type == PixelType::kUint16) {
            const uint16_t u = static_cast<uint16_t>(v * 60000);
            std::memcpy(at, &u, 2);
          } else {
            float f = static_cast<float>(v * 10 - 2);
            if (n % 211 == 0) f = NAN;
            if (n % 401 == 1) f = INFINITY;
            std::memcpy(at, &f, 4);
          }
        }
      }
    }
    return std::move(src).value();
  };
  const std::shared_ptr<BufferSource> sources[2] = {make(d16), make(d32)};
  ColormapSpec fading{.points = {{0, {0, 0, 0, 0}}, {0.6, {1, 0.5, 0, 0.5}}, {1, {1, 1, 0.2, 1}}}};
  struct Case {
    int source;
    std::vector<int> channels;
    Interpolation interp;
    double zoom, rotation;
  };
  const Case cases[] = {
      {0, {0, 1, 2, 3}, Interpolation::kNearest, 1.3, 17},  {0, {0, 1, 2, 3}, Interpolation::kLinear, 1.3, 17},
      {0, {3, 1}, Interpolation::kLinear, 0.27, 0},          {0, {0, 1, 2, 3, 0}, Interpolation::kNearest, 0.05, -40},
      {0, {2, 2, 1}, Interpolation::kLinear, 2.5, 90},       {1, {0, 1, 2}, Interpolation::kLinear, 0.8, 5},
      {1, {0, 1, 2}, Interpolation::kNearest, 0.3, 0},
  };
  const char* names[] = {"green", "magenta", "cyan", "yellow", "red"};
  for (const Case& c : cases) {
    std::vector<uint8_t> out[3];
    for (int e = 0; e < 3; ++e) {
      auto img = engines[e]->LoadImage(sources[c.source]);
      ASSERT_TRUE(img.ok()) << img.status().ToString();
      RenderRequest req{.width = 240, .height = 180, .format = OutputFormat::kRawRgba8};
      req.camera = {.center_x = 330, .center_y = 240, .zoom = c.zoom, .rotation_deg = c.rotation};
      req.background = {0.1, 0.2, 0.3, 0.6};
      for (size_t j = 0; j < c.channels.size(); ++j) {
        Layer l{.image = *img, .channel = c.channels[j], .interpolation = c.interp, .blending = Blending::kAdditive};
        l.colormap = j == 1 ? fading : ColormapSpec{.name = names[j]};
        if (j == 0) l.opacity = 0.7;
        if (j == 2) l.gamma = 0.5;
        if (j == 3) l.contrast = c.source == 0 ? Contrast{50000, 8000} : Contrast{8, -1};
        req.layers.push_back(l);
      }
      auto r = engines[e]->Render(req);
      ASSERT_TRUE(r.ok()) << r.status().ToString();
      out[e] = r->data;
    }
    const std::string what = "source " + std::to_string(c.source) + ", " + std::to_string(c.channels.size()) + " layers, zoom " +
                             std::to_string(c.zoom);
    size_t differ = 0;
    for (size_t i = 0; i < out[0].size(); ++i) differ += out[0][i] != out[1][i];
    EXPECT_EQ(differ, 0u) << what << ": one pass against layer by layer";
    EXPECT_EQ(out[1], out[2]) << what << ": with a small GPU budget (batches)";
    // Not a blank: several components lit.
    int lit = 0;
    for (size_t i = 0; i < out[0].size(); i += 4) lit += out[0][i] > 100 && out[0][i + 1] > 100;
    EXPECT_GT(lit, 100) << what;
  }
}

TEST(ChannelsTest, BadChannelsAndPlanesAreRefused) {
  const Planes p = MakePlanes(64, 48);
  ImageHandle stack = Load(p.stack);
  RenderRequest req{.width = 32, .height = 32};
  req.layers.push_back({.image = stack, .channel = 3});
  auto r = TestEngine().Render(req);
  EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(r.status().message().find("channel 3"), std::string::npos) << r.status().message();
  req.layers[0].channel = -1;
  EXPECT_EQ(TestEngine().Render(req).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(ValidateDesc({10, 10, PixelType::kUint8, 3, 2}, ImageLimits{}).code(), StatusCode::kInvalidArgument)
      << "planes of RGB";
  EXPECT_EQ(ValidateDesc({10, 10, PixelType::kUint16, 1, kMaxPlanes + 1}, ImageLimits{}).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(ValidateDesc({10, 10, PixelType::kUint16, 1, 0}, ImageLimits{}).code(), StatusCode::kInvalidArgument);
  EXPECT_TRUE(ValidateDesc({10, 10, PixelType::kFloat32, 1, kMaxPlanes}, ImageLimits{}).ok());
}

}  // namespace
}  // namespace tilerender::testing
