// Rendered pixels against exact expectations and the CPU reference (DESIGN §3).
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <limits>
#include <random>

#include "core/render/colormap.h"
#include "tests/cpu_reference.h"
#include "tests/test_util.h"

namespace tilerender::testing {
namespace {

// The reference's colormap: a ramp as the reference defines it (not core's), a listed map as core
// has it once it has proved to be matplotlib's published table (a core bug in either shows as a
// difference between the render and the reference, or as a failure here).
std::vector<std::array<double, 4>> LutOf(const std::string& name) {
  if (auto ramp = RefRamp(name); !ramp.empty()) return ramp;
  auto lut = ResolveColormap({.name = name});
  EXPECT_TRUE(lut.ok()) << name;
  std::vector<std::array<double, 4>> out;
  if (lut.ok()) {
    for (const Rgba& c : lut->entries) out.push_back({c.r, c.g, c.b, c.a});
  }
  const std::string err = CheckPublishedMap(name, out);
  EXPECT_EQ(err, "") << "core's " << name << " is not matplotlib's";
  if (!err.empty()) return {{0, 0, 0, 1}, {0, 0, 0, 1}};  // renders can't match this one either
  return out;
}

RefImage Ref(const BufferSource& src) { return {src.desc(), src.contiguous(0)}; }

// Smooth structure plus hash noise: exercises interpolation and every value range.
double Pattern(int64_t x, int64_t y, int c, double amplitude) {
  const double smooth = 0.5 + 0.35 * std::sin(x * 0.07 + c) * std::cos(y * 0.05 - c);
  const uint32_t h = static_cast<uint32_t>(x * 73856093u ^ y * 19349663u ^ c * 83492791u);
  return std::clamp(smooth + ((h % 1000) / 1000.0 - 0.5) * 0.2, 0.0, 1.0) * amplitude;
}

TEST(RenderTest, IdentityUint8GrayIsExact) {
  const ImageDesc desc{173, 91, PixelType::kUint8, 1};
  auto src = MakeImage<uint8_t>(desc, [](int64_t x, int64_t y, int) { return (x * 7 + y * 13) % 256; });
  for (int tile : {0, 64}) {
    ImageHandle img = Load(src, tile);
    RenderRequest req{.width = 173, .height = 91};
    req.camera.zoom = 1;
    req.layers.push_back({.image = img, .colormap = {.name = "gray"}, .contrast = Contrast{0, 255}});
    const std::vector<uint8_t> px = RenderRgba(req);
    ASSERT_EQ(px.size(), size_t{173} * 91 * 4);
    size_t wrong = 0;
    for (int64_t i = 0; i < desc.width * desc.height; ++i) {
      const uint8_t v = src->contiguous(0)[i];
      if (px[4 * i] != v || px[4 * i + 1] != v || px[4 * i + 2] != v || px[4 * i + 3] != 255) ++wrong;
    }
    EXPECT_EQ(wrong, 0u) << "tile size " << tile;
  }
}

TEST(RenderTest, IdentityUint16FullRangeWithinOneLsb) {
  const ImageDesc desc{120, 80, PixelType::kUint16, 1};
  auto src = MakeImage<uint16_t>(desc, [](int64_t x, int64_t y, int) { return (x * 541 + y * 809) % 65536; });
  ImageHandle img = Load(src, 64);
  RenderRequest req{.width = 120, .height = 80};
  req.layers.push_back({.image = img, .contrast = Contrast{0, 65535}});
  const std::vector<uint8_t> px = RenderRgba(req);
  const auto* data = reinterpret_cast<const uint16_t*>(src->contiguous(0));
  int worst = 0;
  for (int64_t i = 0; i < desc.width * desc.height; ++i) {
    const double expect = data[i] / 65535.0 * 255.0;
    worst = std::max(worst, static_cast<int>(std::ceil(std::abs(px[4 * i] - expect) - 0.5)));
  }
  EXPECT_LE(worst, 1);
}

TEST(RenderTest, IdentityRgbAndRgbaAreExact) {
  for (int channels : {3, 4}) {
    const ImageDesc desc{97, 61, PixelType::kUint8, channels};
    // Alpha 255 everywhere: an opaque RGBA image over black must come back unchanged.
    auto src = MakeImage<uint8_t>(desc, [](int64_t x, int64_t y, int c) {
      return c == 3 ? 255 : (x * (3 + c) + y * (11 - c) + c * 40) % 256;
    });
    ImageHandle img = Load(src, 40);  // several tiles, 3 texels per pixel for RGB
    RenderRequest req{.width = 97, .height = 61};
    req.camera.zoom = 1;
    req.layers.push_back({.image = img});
    const std::vector<uint8_t> px = RenderRgba(req);
    size_t wrong = 0;
    for (int64_t i = 0; i < desc.width * desc.height; ++i) {
      for (int c = 0; c < 3; ++c) wrong += px[4 * i + c] != src->contiguous(0)[i * channels + c];
    }
    EXPECT_EQ(wrong, 0u) << channels << " channels";
  }
}

// Views whose samples fall on texel centers (one texel per pixel, unrotated, whole-texel offsets:
// IIIF tiles and regions, identity views) are drawn with nearest sampling even when linear is asked
// (a quarter of the fetches): the pixels must be those of true bilinear sampling, i.e. the CPU
// reference's, for uint16 and for float32 with NaN and infinities, and views just off the grid
// must stay bilinear.
TEST(RenderTest, LinearOnTheTexelGridIsExactlyTheTexels) {
  for (PixelType type : {PixelType::kUint16, PixelType::kFloat32}) {
    const ImageDesc desc{301, 203, type, 1};
    auto value = [&](int64_t x, int64_t y, int) {
      double v = 1000 + 800 * std::sin(x * 0.21) * std::cos(y * 0.17) + (x * 31 + y * 17) % 23 * 40;
      if (type == PixelType::kFloat32 && (x * 7 + y * 3) % 37 == 0) v = std::numeric_limits<double>::quiet_NaN();
      if (type == PixelType::kFloat32 && (x * 5 + y * 11) % 53 == 0) v = std::numeric_limits<double>::infinity();
      return v;
    };
    auto src = type == PixelType::kUint16 ? MakeImage<uint16_t>(desc, value) : MakeImage<float>(desc, value);
    ImageHandle img = Load(src, 64);
    RefLayer ref{.image = Ref(*src), .lut = LutOf("viridis"), .linear = true};
    ref.lo.fill(200);
    ref.hi.fill(2400);
    // (center, output size): on the grid (whole-texel offsets, even and odd sizes), then just off it.
    struct View {
      double cx, cy;
      int w, h;
    };
    for (const View& v : {View{150, 100, 200, 120}, View{100.5, 60.5, 81, 41}, View{0, 0, 64, 64}, View{150.25, 100, 200, 120},
                          View{150, 100.5, 200, 120}}) {
      RenderRequest req{.width = v.w, .height = v.h};
      req.camera = {.center_x = v.cx, .center_y = v.cy, .zoom = 1};
      req.layers.push_back({.image = img, .colormap = {.name = "viridis"}, .contrast = Contrast{200, 2400},
                            .interpolation = Interpolation::kLinear});
      const auto gpu = RenderRgba(req);
      const auto cpu = RefRender({v.w, v.h, v.cx, v.cy, 1, 0}, {ref});
      const Diff d = CompareRgba(gpu, cpu, 1);
      EXPECT_EQ(d.over, 0u) << "center " << v.cx << "," << v.cy << " size " << v.w << "x" << v.h << ": worst " << d.max_abs;
    }
  }
}

// RGB identity views (one layer as it is, on the texel grid of its level, inside the image: IIIF
// regions and tiles) are copied from the level's pixels on the CPU: byte-identical to drawing them
// (an engine that always draws), at level 0 and at a derived level, PNG and JPEG, opaque and
// translucent background; views that are not such are still drawn.
TEST(RenderTest, RgbIdentityViewsCopiedOnTheCpuEqualDrawnOnes) {
  auto engine = [](bool cpu) { return MakeEngine({.max_tile_size = 128, .cpu_identity_views = cpu}); };
  std::unique_ptr<Engine> drawn = engine(false), copied = engine(true);
  const ImageDesc desc{1001, 701, PixelType::kUint8, 3};
  auto src = MakeImage<uint8_t>(desc, [](int64_t x, int64_t y, int c) {
    return (x * 7 + y * 13 + c * 85 + ((x * 2654435761u ^ y * 40503u) % 37)) % 256;
  });
  ImageHandle a = *drawn->LoadImage(src), b = *copied->LoadImage(src);
  struct Case {
    double cx, cy, zoom;
    int w, h;
    bool copy;  // expected to take the CPU path
    double rotation = 0;
    bool mirror = false;
  };
  for (const Case& k : {Case{500, 350, 1, 1000, 700, true}, Case{300, 200, 1, 256, 256, true}, Case{100.5, 60.5, 1, 201, 121, true},
                        Case{512, 256, 0.5, 128, 128, true}, Case{500, 350, 0.5, 250, 174, true}, Case{990, 350, 1, 64, 64, false},
                        Case{300.25, 200, 1, 256, 256, false}, Case{300, 200, 0.75, 256, 256, false},
                        // Quarter turns and mirrors on the grid (IIIF rotations of tiles and regions), one off it.
                        Case{300, 200, 1, 256, 256, true, 90}, Case{300.5, 200, 1, 255, 256, true, 180},
                        Case{300, 200, 1, 256, 256, true, 0, true}, Case{500, 350, 0.5, 174, 250, true, 270, true},
                        Case{300, 200, 1, 255, 256, false, 90}, Case{300, 200, 1, 256, 256, false, 45}}) {
    for (OutputFormat f : {OutputFormat::kPng, OutputFormat::kJpeg, OutputFormat::kRawRgba8}) {
      for (Rgba bg : {Rgba{0, 0, 0, 1}, Rgba{0.2f, 0.4f, 0.6f, 0.5f}}) {
        RenderRequest req{.width = k.w, .height = k.h, .format = f};
        req.camera = {.center_x = k.cx, .center_y = k.cy, .zoom = k.zoom, .rotation_deg = k.rotation, .mirror = k.mirror};
        req.background = bg;
        req.layers.push_back({.image = a, .interpolation = Interpolation::kLinear});
        auto x = drawn->Render(req);
        req.layers[0].image = b;
        auto y = copied->Render(req);
        ASSERT_TRUE(x.ok() && y.ok()) << x.status().ToString() << y.status().ToString();
        EXPECT_EQ(x->data, y->data) << "center " << k.cx << "," << k.cy << " zoom " << k.zoom << " rotation " << k.rotation;
        EXPECT_EQ(y->timings.tiles_drawn == 0, k.copy) << "center " << k.cx << "," << k.cy << " zoom " << k.zoom << " rotation " << k.rotation;
        EXPECT_GT(x->timings.tiles_drawn, 0);
      }
    }
  }
}

// Linear footprints sampled with textureGather (one gather per scalar footprint, three per RGB
// one) equal the same renders with texel fetches, byte for byte: every pixel type and channel
// count, float NaN and inf, image edges and tile gutters (small tiles), zoom in and out, rotation,
// a one-pass composite.
TEST(RenderTest, TextureGatherEqualsTexelFetches) {
  auto engine = [](bool gather) { return MakeEngine({.max_tile_size = 64, .texture_gather = gather}); };
  std::unique_ptr<Engine> engines[2] = {engine(false), engine(true)};
  ASSERT_FALSE(engines[0]->gpu_info().texture_gather);
  ASSERT_TRUE(engines[1]->gpu_info().texture_gather) << "Mesa's llvmpipe has GL 4.5";
  auto noise = [](int64_t x, int64_t y, int c) {
    return static_cast<uint32_t>(x * 2654435761u ^ y * 40503u ^ (c + 1) * 977u);
  };
  const int64_t w = 301, h = 203;
  std::vector<std::shared_ptr<BufferSource>> sources = {
      MakeImage<uint8_t>({w, h, PixelType::kUint8, 1}, [&](int64_t x, int64_t y, int c) { return noise(x, y, c) % 256; }),
      MakeImage<uint16_t>({w, h, PixelType::kUint16, 1}, [&](int64_t x, int64_t y, int c) { return noise(x, y, c) % 65536; }),
      MakeImage<float>({w, h, PixelType::kFloat32, 1},
                       [&](int64_t x, int64_t y, int c) {
                         const uint32_t n = noise(x, y, c);
                         return n % 97 == 0 ? NAN : n % 89 == 1 ? INFINITY : n % 83 == 2 ? -INFINITY : (n % 1000) / 100.0 - 3;
                       }),
      MakeImage<uint8_t>({w, h, PixelType::kUint8, 3}, [&](int64_t x, int64_t y, int c) { return noise(x, y, c) % 256; }),
      MakeImage<uint8_t>({w, h, PixelType::kUint8, 4}, [&](int64_t x, int64_t y, int c) { return noise(x, y, c) % 256; }),
  };
  ImageDesc planes{w, h, PixelType::kUint16, 1};
  planes.planes = 3;
  {
    auto src = BufferSource::Allocate(planes);
    ASSERT_TRUE(src.ok());
    for (int64_t i = 0; i < static_cast<int64_t>(planes.byte_size() / 2); ++i) {
      const uint16_t v = static_cast<uint16_t>(noise(i % w, i / w, static_cast<int>(i / (w * h))) % 65536);
      std::memcpy((*src)->mutable_data() + 2 * i, &v, 2);
    }
    sources.push_back(std::move(src).value());
  }
  struct View {
    double cx, cy, zoom, rotation;
  };
  const View views[] = {{150, 100, 1, 0},    {150.3, 100.7, 3.7, 0}, {0.2, 0.4, 5, 0},  {300.6, 202.8, 4, 0},
                        {150, 100, 0.7, 23}, {64.5, 64.5, 9, -61},   {150, 100, 0.3, 0}, {120, 90, 1.9, 90}};
  int compared = 0;
  for (size_t s = 0; s < sources.size(); ++s) {
    ImageHandle img[2] = {*engines[0]->LoadImage(sources[s]), *engines[1]->LoadImage(sources[s])};
    for (const View& v : views) {
      std::vector<uint8_t> out[2];
      for (int e = 0; e < 2; ++e) {
        RenderRequest req{.width = 150, .height = 110, .format = OutputFormat::kRawRgba8};
        req.camera = {.center_x = v.cx, .center_y = v.cy, .zoom = v.zoom, .rotation_deg = v.rotation};
        req.background = {0.1f, 0.2f, 0.3f, 0.6f};
        const int layers = s == 5 ? 3 : 1;
        for (int j = 0; j < layers; ++j) {
          Layer l{.image = img[e], .channel = j, .interpolation = Interpolation::kLinear};
          if (layers > 1) l.blending = Blending::kAdditive, l.colormap = {.name = j == 0 ? "green" : j == 1 ? "magenta" : "cyan"};
          if (s == 2) l.contrast = Contrast{-2, 6};
          req.layers.push_back(l);
        }
        auto r = engines[e]->Render(req);
        ASSERT_TRUE(r.ok()) << r.status().ToString();
        out[e] = r->data;
      }
      size_t differ = 0;
      for (size_t i = 0; i < out[0].size(); ++i) differ += out[0][i] != out[1][i];
      EXPECT_EQ(differ, 0u) << "source " << s << " view " << v.cx << "," << v.cy << " zoom " << v.zoom << " rotation " << v.rotation;
      ++compared;
    }
  }
  EXPECT_EQ(compared, 48);
}

TEST(RenderTest, RotationBy90IsExactTranspose) {
  const ImageDesc desc{64, 40, PixelType::kUint8, 1};
  auto src = MakeImage<uint8_t>(desc, [](int64_t x, int64_t y, int) { return (x * 31 + y * 17) % 251; });
  ImageHandle img = Load(src, 32);
  RenderRequest req{.width = 40, .height = 64};
  req.camera.zoom = 1;
  req.camera.rotation_deg = 90;
  req.layers.push_back({.image = img});
  const std::vector<uint8_t> px = RenderRgba(req);
  // Clockwise quarter turn: image pixel (x, y) lands at screen (H - 1 - y, x).
  size_t wrong = 0;
  for (int v = 0; v < 64; ++v) {
    for (int u = 0; u < 40; ++u) {
      const uint8_t expect = src->contiguous(0)[(40 - 1 - u) * 64 + v];
      wrong += px[(v * 40 + u) * 4] != expect;
    }
  }
  EXPECT_EQ(wrong, 0u);
  // And -270 is the same turn.
  req.camera.rotation_deg = -270;
  EXPECT_EQ(RenderRgba(req), px);
}

struct RefCase {
  const char* name;
  PixelType type;
  int channels;
  const char* colormap;
  double lo, hi, gamma, zoom, rotation;
  bool linear;
  double zoom_y = 0;  // 0: zoom
  bool mirror = false;
};

class ReferenceTest : public ::testing::TestWithParam<RefCase> {};

TEST_P(ReferenceTest, MatchesCpuReference) {
  const RefCase& k = GetParam();
  const ImageDesc desc{211, 157, k.type, k.channels};
  const double amplitude = k.type == PixelType::kUint16 ? 60000 : k.type == PixelType::kUint8 ? 255 : 3.0;
  std::shared_ptr<BufferSource> src;
  auto value = [&](int64_t x, int64_t y, int c) {
    double v = Pattern(x, y, c, amplitude);
    if (k.type == PixelType::kFloat32) {
      v -= 1.0;  // negative values too
      if ((x * 7 + y * 3) % 41 == 0) v = std::numeric_limits<double>::quiet_NaN();
    }
    return v;
  };
  if (k.type == PixelType::kUint8) src = MakeImage<uint8_t>(desc, value);
  if (k.type == PixelType::kUint16) src = MakeImage<uint16_t>(desc, value);
  if (k.type == PixelType::kFloat32) src = MakeImage<float>(desc, value);
  ImageHandle img = Load(src, 64);

  RenderRequest req{.width = 240, .height = 180};
  req.camera = {.center_x = 97.3, .center_y = 80.6, .zoom = k.zoom, .rotation_deg = k.rotation, .mirror = k.mirror};
  if (k.zoom_y > 0) req.camera.zoom_y = k.zoom_y;
  Layer layer{.image = img, .contrast = Contrast{k.lo, k.hi}, .gamma = k.gamma};
  if (k.channels == 1) layer.colormap.name = k.colormap;
  layer.interpolation = k.linear ? Interpolation::kLinear : Interpolation::kNearest;
  req.layers.push_back(layer);
  const std::vector<uint8_t> gpu = RenderRgba(req);

  RefLayer ref{.image = Ref(*src), .gamma = k.gamma, .linear = k.linear};
  if (k.channels == 1) ref.lut = LutOf(k.colormap);
  ref.lo.fill(k.lo);
  ref.hi.fill(k.hi);
  const std::vector<uint8_t> cpu = RefRender({240, 180, 97.3, 80.6, k.zoom, k.rotation, k.zoom_y, k.mirror}, {ref});
  SavePng(std::string("reference_") + k.name + "_gpu", gpu, 240, 180);
  const Diff d = CompareRgba(gpu, cpu, 2);
  EXPECT_LE(d.over, d.pixels / 1000) << "pixels off by more than 2 LSB; worst " << d.max_abs;
}

INSTANTIATE_TEST_SUITE_P(
    Cases, ReferenceTest,
    ::testing::Values(
        RefCase{"u16_viridis_gamma", PixelType::kUint16, 1, "viridis", 5000, 55000, 0.5, 1.37, 30, true},
        RefCase{"u16_magma_nearest", PixelType::kUint16, 1, "magma", 1000, 40000, 2.0, 2.5, -12, false},
        RefCase{"u8_inferno_inverted", PixelType::kUint8, 1, "inferno", 220, 30, 1.0, 1.0, 0, false},
        RefCase{"u8_turbo_linear", PixelType::kUint8, 1, "turbo", 0, 255, 1.0, 3.3, 45, true},
        RefCase{"f32_nan_plasma", PixelType::kFloat32, 1, "plasma", -0.8, 1.7, 1.3, 1.9, 200, false},
        RefCase{"f32_nan_twilight_linear", PixelType::kFloat32, 1, "twilight", -1, 2, 0.7, 2.2, 77, true},
        RefCase{"u8_gray_r_zoomout", PixelType::kUint8, 1, "gray_r", 0, 255, 1.0, 0.8, 10, true},
        RefCase{"rgb_gamma", PixelType::kUint8, 3, "", 20, 230, 0.6, 1.5, 33, true},
        RefCase{"rgba_rotated", PixelType::kUint8, 4, "", 0, 255, 1.0, 1.2, -50, false},
        // Stretched (IIIF w,h of another aspect) and mirrored (IIIF !n) cameras.
        RefCase{"u16_stretched_mirrored_linear", PixelType::kUint16, 1, "viridis", 5000, 55000, 1.0, 1.1, 25, true, 2.3, true},
        RefCase{"rgb_mirrored_nearest", PixelType::kUint8, 3, "", 0, 255, 1.0, 1.6, 0, false, 0, true},
        RefCase{"u8_stretched_nearest", PixelType::kUint8, 1, "magma", 0, 255, 1.0, 0.8, 90, false, 1.9}),
    [](const auto& info) { return std::string(info.param.name); });

TEST(RenderTest, RgbPerChannelContrastMatchesReference) {
  const ImageDesc desc{90, 70, PixelType::kUint8, 3};
  auto src = MakeImage<uint8_t>(desc, [](int64_t x, int64_t y, int c) { return Pattern(x, y, c, 255); });
  ImageHandle img = Load(src, 50);
  RenderRequest req{.width = 90, .height = 70};
  Layer layer{.image = img, .channel_contrast = {{0, 128}, {50, 200}, {255, 0}}, .gamma = 1.4};
  req.layers.push_back(layer);
  RefLayer ref{.image = Ref(*src), .lo = {0, 50, 255}, .hi = {128, 200, 0}, .gamma = 1.4};
  const Diff d = CompareRgba(RenderRgba(req), RefRender({90, 70, 45, 35, 1, 0}, {ref}), 1);
  EXPECT_EQ(d.over, 0u) << "worst " << d.max_abs;
}

TEST(RenderTest, BlendingModesMatchReference) {
  const ImageDesc desc{80, 60, PixelType::kUint8, 1};
  auto a = MakeImage<uint8_t>(desc, [](int64_t x, int64_t y, int) { return Pattern(x, y, 0, 255); });
  auto b = MakeImage<uint8_t>(desc, [](int64_t x, int64_t y, int) { return Pattern(y, x, 1, 255); });
  ImageHandle ia = Load(a, 32), ib = Load(b, 48);
  const std::pair<Blending, int> modes[] = {{Blending::kTranslucent, 0}, {Blending::kAdditive, 1},
                                            {Blending::kOpaque, 2}, {Blending::kMinimum, 3},
                                            {Blending::kMaximum, 4}};
  for (auto [mode, ref_mode] : modes) {
    for (const Rgba bg : {Rgba{0.1f, 0.2f, 0.3f, 1}, Rgba{0.2f, 0.4f, 0.6f, 0.5f}}) {
      RenderRequest req{.width = 100, .height = 80, .background = bg};
      req.camera.rotation_deg = 20;
      req.camera.zoom = 1;
      req.layers.push_back({.image = ia, .colormap = {.name = "magenta"}, .opacity = 0.8});
      req.layers.push_back({.image = ib, .colormap = {.name = "green"}, .opacity = 0.6, .blending = mode});
      RefLayer ra{.image = Ref(*a), .lut = LutOf("magenta"), .opacity = 0.8};
      RefLayer rb{.image = Ref(*b), .lut = LutOf("green"), .opacity = 0.6, .blend = ref_mode};
      const auto cpu = RefRender({100, 80, 40, 30, 1, 20}, {ra, rb}, {bg.r, bg.g, bg.b, bg.a});
      const Diff d = CompareRgba(RenderRgba(req), cpu, 2);
      EXPECT_LE(d.over, d.pixels / 1000)
          << BlendingName(mode) << " bg alpha " << bg.a << ": worst " << d.max_abs;
    }
  }
}

TEST(RenderTest, NanIsTransparentAndInvisibleLayersAreSkipped) {
  const ImageDesc desc{16, 16, PixelType::kFloat32, 1};
  auto src = MakeImage<float>(desc, [](int64_t x, int64_t y, int) {
    return (x == 5 && y == 7) ? std::numeric_limits<float>::quiet_NaN() : 1.0f;
  });
  ImageHandle img = Load(src);
  RenderRequest req{.width = 16, .height = 16, .background = {0, 0, 1, 1}};
  req.layers.push_back({.image = img, .contrast = Contrast{0, 1}});
  const std::vector<uint8_t> px = RenderRgba(req);
  const size_t nan_px = (7 * 16 + 5) * 4;
  EXPECT_EQ(px[nan_px + 0], 0);  // background blue shows through
  EXPECT_EQ(px[nan_px + 2], 255);
  EXPECT_EQ(px[nan_px - 4], 255);  // the neighbour is white
  EXPECT_EQ(px[nan_px - 2], 255);
  EXPECT_EQ(src->desc().type, PixelType::kFloat32);
  EXPECT_EQ(img->info().range.nan_count, 1);

  // Hidden: every pixel is the opaque blue background (the white layer would leave blue 255 too,
  // so red, green and alpha are what tell).
  req.layers[0].visible = false;
  const std::vector<uint8_t> hidden = RenderRgba(req);
  ASSERT_EQ(hidden.size(), size_t{16} * 16 * 4);
  size_t wrong = 0;
  for (size_t i = 0; i < hidden.size(); i += 4) {
    wrong += hidden[i] != 0 || hidden[i + 1] != 0 || hidden[i + 2] != 255 || hidden[i + 3] != 255;
  }
  EXPECT_EQ(wrong, 0u);
}

TEST(RenderTest, TransparentBackgroundGivesRgbaPngOpaqueGivesRgb) {
  const ImageDesc desc{8, 8, PixelType::kUint8, 1};
  auto src = MakeImage<uint8_t>(desc, [](int64_t x, int64_t, int) { return x * 30; });
  ImageHandle img = Load(src);
  RenderRequest req{.width = 20, .height = 10};
  req.camera.zoom = 1;
  req.layers.push_back({.image = img});
  auto opaque = TestEngine().Render(req);
  ASSERT_TRUE(opaque.ok());
  EXPECT_FALSE(opaque->has_alpha);
  ASSERT_GT(opaque->data.size(), 26u);
  EXPECT_EQ(opaque->data[25], 2);  // IHDR colour type: RGB
  req.background = {0, 0, 0, 0};
  auto clear = TestEngine().Render(req);
  ASSERT_TRUE(clear.ok());
  EXPECT_TRUE(clear->has_alpha);
  EXPECT_EQ(clear->data[25], 6);  // RGBA
  const std::vector<uint8_t> px = RenderRgba(req);
  EXPECT_EQ(px[3], 0);                       // outside the image: transparent
  EXPECT_EQ(px[(5 * 20 + 10) * 4 + 3], 255); // inside: opaque
}

TEST(RenderTest, PboReadbackGivesTheSamePixels) {
  // The pixel-pack-buffer readback (the default on GPUs) against the direct one, both ways round.
  const ImageDesc desc{300, 200, PixelType::kUint16, 1};
  auto src = MakeImage<uint16_t>(desc, [](int64_t x, int64_t y, int) { return x * 211 + y * 97; });
  std::vector<uint8_t> out[2];
  for (bool pbo : {false, true}) {
    EngineOptions o;
    o.warm_up_all = false;  // shader variants compile on first use
    o.pbo_readback = pbo;
    auto engine = Engine::Create(o);
    ASSERT_TRUE(engine.ok()) << engine.status().ToString();
    auto img = (*engine)->LoadImage(src);
    ASSERT_TRUE(img.ok());
    for (int size : {64, 257}) {  // a second, larger size regrows the buffer
      RenderRequest req{.width = size, .height = size * 3 / 4, .format = OutputFormat::kRawRgba8};
      req.camera.rotation_deg = 17;
      req.layers.push_back({.image = *img, .colormap = {.name = "magma"}, .interpolation = Interpolation::kLinear});
      auto r = (*engine)->Render(req);
      ASSERT_TRUE(r.ok()) << r.status().ToString();
      out[pbo].insert(out[pbo].end(), r->data.begin(), r->data.end());
    }
  }
  EXPECT_EQ(out[0], out[1]);
  EXPECT_GT(out[0].size(), 100000u);
}

TEST(RenderTest, DefaultCameraFitsTheImage) {
  const ImageDesc desc{200, 100, PixelType::kUint8, 1};
  auto src = MakeImage<uint8_t>(desc, [](int64_t, int64_t, int) { return 255; });
  ImageHandle img = Load(src);
  RenderRequest req{.width = 100, .height = 100};
  req.layers.push_back({.image = img});
  const std::vector<uint8_t> px = RenderRgba(req);
  // Zoom 0.5: the image spans all columns and rows 25..74.
  EXPECT_EQ(px[(24 * 100 + 50) * 4], 0);
  EXPECT_EQ(px[(25 * 100 + 0) * 4], 255);
  EXPECT_EQ(px[(74 * 100 + 99) * 4], 255);
  EXPECT_EQ(px[(75 * 100 + 50) * 4], 0);
}

}  // namespace
}  // namespace tilerender::testing
