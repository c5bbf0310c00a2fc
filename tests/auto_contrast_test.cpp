// Viewport auto-contrast (issue #15): limits from percentiles of the values a layer shows in this
// render, computed from a value pass on the GPU; equal to percentiles of the visible pixels
// computed here from the image (numpy's method, written out below), independent of tile size;
// a render with auto-contrast equals one with its returned limits given explicitly.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <limits>

#include "core/render/auto_contrast.h"
#include "tests/test_util.h"

namespace tilerender::testing {
namespace {

// numpy.percentile(v, p) (method "linear"), from a full sort.
double NumpyPercentile(std::vector<double> v, double p) {
  std::sort(v.begin(), v.end());
  const double rank = p / 100.0 * static_cast<double>(v.size() - 1);
  const size_t k = static_cast<size_t>(std::floor(rank));
  if (k + 1 >= v.size()) return v[k];
  const double t = rank - static_cast<double>(k), a = v[k], b = v[k + 1];
  return t >= 0.5 ? b - (b - a) * (1 - t) : a + (b - a) * t;
}

TEST(AutoContrastTest, PercentilesAreNumpysOverTheFiniteValues) {
  // numpy.percentile(np.arange(1, 101), [0.5, 99.5]) == [1.495, 99.505]
  std::vector<float> v;
  for (int i = 100; i >= 1; --i) v.push_back(static_cast<float>(i));
  v.push_back(std::numeric_limits<float>::quiet_NaN());
  v.push_back(std::numeric_limits<float>::infinity());
  v.push_back(-std::numeric_limits<float>::infinity());
  auto p = Percentiles(v, 0.5, 99.5);
  ASSERT_TRUE(p.has_value());
  EXPECT_EQ(p->samples, 100);
  EXPECT_DOUBLE_EQ(p->lo, 1.495);
  EXPECT_DOUBLE_EQ(p->hi, 99.505);
  std::vector<float> w{5, 3, 9};
  p = Percentiles(w, 0, 100);
  EXPECT_EQ(p->lo, 3);
  EXPECT_EQ(p->hi, 9);
  std::vector<float> none{std::numeric_limits<float>::quiet_NaN()};
  EXPECT_FALSE(Percentiles(none, 1, 99).has_value());
}

// Param: the percentiles from compute-shader histograms (true) or from the value pass read back.
class AutoContrastRenderTest : public ::testing::TestWithParam<bool> {
 protected:
  static constexpr int64_t kW = 300, kH = 200;
  void SetUp() override {
    pixels_ = MakeImage<uint16_t>({kW, kH, PixelType::kUint16, 1}, [](int64_t x, int64_t y, int) {
      // Mostly a narrow band of values, with sparse outliers the percentiles must cut.
      if ((x * 31 + y * 17) % 97 == 0) return 60000 + (x % 5000);
      return 10000 + (x * 13 + y * 7) % 2000;
    });
  }
  uint16_t At(int64_t x, int64_t y) const {
    uint16_t v;
    std::memcpy(&v, pixels_->data() + (y * kW + x) * 2, 2);
    return v;
  }
  std::unique_ptr<Engine> Make(int tile = 0) const {
    EngineOptions o;
    if (tile > 0) o.max_tile_size = tile;
    o.warm_up_all = false;
    o.gpu_histogram = GetParam();
    std::unique_ptr<Engine> engine = MakeEngine(o);
    EXPECT_EQ(engine->gpu_info().gpu_histogram, GetParam()) << "Mesa's llvmpipe has GL 4.5: compute shaders";
    return engine;
  }
  RenderRequest Request(const ImageHandle& img, int w, int h, double zoom, double cx, double cy) const {
    RenderRequest r = RawView(img, w, h, zoom, cx, cy);
    r.layers[0].colormap.name = "viridis";
    r.layers[0].auto_contrast = AutoContrast{2, 98};
    return r;
  }
  // The values the output pixels sample (nearest, level 0, no rotation): what numpy would be given.
  std::vector<double> Visible(int w, int h, double zoom, double cx, double cy) const {
    std::vector<double> v;
    for (int row = 0; row < h; ++row) {
      for (int col = 0; col < w; ++col) {
        const double x = cx + (col + 0.5 - w / 2.0) / zoom, y = cy + (row + 0.5 - h / 2.0) / zoom;
        if (x < 0 || y < 0 || x >= kW || y >= kH) continue;
        v.push_back(At(static_cast<int64_t>(x), static_cast<int64_t>(y)));
      }
    }
    return v;
  }
  std::shared_ptr<BufferSource> pixels_;
};

TEST_P(AutoContrastRenderTest, LimitsArePercentilesOfTheVisiblePixelsAtAnyTileSize) {
  std::vector<uint8_t> first_pixels;
  for (int tile : {512, 64, 48}) {
    std::unique_ptr<Engine> engine = Make(tile);
    auto img = engine->LoadImage(pixels_);
    ASSERT_TRUE(img.ok());
    // The whole image 1:1; a part of it at zoom 2 hanging over the edge; a view of 3 x 2 pixels.
    struct Case {
      int w, h;
      double zoom, cx, cy;
    };
    for (const Case& c : std::vector<Case>{{300, 200, 1, 150, 100}, {240, 160, 2, 260.25, 30.5}, {3, 2, 1, 10.5, 20}}) {
      const std::vector<double> visible = Visible(c.w, c.h, c.zoom, c.cx, c.cy);
      ASSERT_FALSE(visible.empty());
      auto out = engine->Render(Request(*img, c.w, c.h, c.zoom, c.cx, c.cy));
      ASSERT_TRUE(out.ok()) << out.status().ToString();
      ASSERT_EQ(out->contrasts.size(), 1u);
      const ContrastUsed& used = out->contrasts[0];
      EXPECT_TRUE(used.automatic);
      EXPECT_EQ(used.samples, static_cast<int64_t>(visible.size())) << "tile " << tile << ", view " << c.w << "x" << c.h;
      EXPECT_EQ(used.lo, NumpyPercentile(visible, 2)) << "tile " << tile;
      EXPECT_EQ(used.hi, NumpyPercentile(visible, 98)) << "tile " << tile;
      // The same render with those limits given: the same pixels.
      RenderRequest fixed = Request(*img, c.w, c.h, c.zoom, c.cx, c.cy);
      fixed.layers[0].auto_contrast.reset();
      fixed.layers[0].contrast = Contrast{used.lo, used.hi};
      auto same = engine->Render(fixed);
      ASSERT_TRUE(same.ok());
      EXPECT_EQ(same->data, out->data) << "tile " << tile;
      EXPECT_FALSE(same->contrasts[0].automatic);
      EXPECT_EQ(same->contrasts[0].lo, used.lo);
      if (c.w == 300) {
        if (first_pixels.empty()) first_pixels = out->data;
        EXPECT_EQ(out->data, first_pixels) << "tile-size invariant, tile " << tile;
        // The outliers were cut: the band's colors use the whole colormap.
        EXPECT_LT(used.hi, 12000);
      }
    }
  }
}

TEST_P(AutoContrastRenderTest, LinearAtADerivedLevelEqualsItsExplicitLimits) {
  std::unique_ptr<Engine> engine = Make();
  auto img = engine->LoadImage(pixels_);
  ASSERT_TRUE(img.ok());
  RenderRequest r = Request(*img, 70, 50, 0.23, 150, 100);  // level 2, bilinear, turned
  r.layers[0].interpolation = Interpolation::kLinear;
  r.camera.rotation_deg = 21;
  auto out = engine->Render(r);
  ASSERT_TRUE(out.ok()) << out.status().ToString();
  const ContrastUsed used = out->contrasts.at(0);
  EXPECT_TRUE(used.automatic);
  EXPECT_GT(used.samples, 1000);
  EXPECT_LT(used.samples, 70 * 50) << "the turned image does not cover every pixel";
  EXPECT_GT(used.lo, 9999);
  EXPECT_LT(used.hi, 60000);
  r.layers[0].auto_contrast.reset();
  r.layers[0].contrast = Contrast{used.lo, used.hi};
  auto same = engine->Render(r);
  ASSERT_TRUE(same.ok());
  EXPECT_EQ(same->data, out->data);
}

TEST_P(AutoContrastRenderTest, NaNIsLeftOutAndNothingVisibleKeepsTheContrast) {
  const float nan = std::numeric_limits<float>::quiet_NaN();
  auto floats = MakeImage<float>({64, 48, PixelType::kFloat32, 1}, [&](int64_t x, int64_t y, int) {
    return (x + y) % 3 == 0 ? nan : static_cast<float>(x * 0.5 - y * 0.25);
  });
  std::unique_ptr<Engine> engine = Make();
  auto img = engine->LoadImage(floats);
  ASSERT_TRUE(img.ok());
  RenderRequest r;
  r.width = 64;
  r.height = 48;
  r.format = OutputFormat::kRawRgba8;
  r.camera.zoom = 1;
  Layer l;
  l.image = *img;
  l.auto_contrast = AutoContrast{0, 100};
  l.contrast = Contrast{-5, 5};
  r.layers.push_back(l);
  auto out = engine->Render(r);
  ASSERT_TRUE(out.ok()) << out.status().ToString();
  std::vector<double> finite;
  for (int64_t y = 0; y < 48; ++y) {
    for (int64_t x = 0; x < 64; ++x) {
      if ((x + y) % 3 != 0) finite.push_back(x * 0.5 - y * 0.25);
    }
  }
  EXPECT_EQ(out->contrasts[0].samples, static_cast<int64_t>(finite.size()));
  EXPECT_EQ(out->contrasts[0].lo, *std::min_element(finite.begin(), finite.end()));
  EXPECT_EQ(out->contrasts[0].hi, *std::max_element(finite.begin(), finite.end()));
  // Looking beside the image: nothing visible, the layer's own contrast stays and is reported.
  r.camera.center_x = 1000;
  out = engine->Render(r);
  ASSERT_TRUE(out.ok());
  EXPECT_FALSE(out->contrasts[0].automatic);
  EXPECT_EQ(out->contrasts[0].lo, -5);
  EXPECT_EQ(out->contrasts[0].hi, 5);
}

TEST_P(AutoContrastRenderTest, BadRequestsAreRefused) {
  std::unique_ptr<Engine> engine = Make();
  auto img = engine->LoadImage(pixels_);
  auto rgb = engine->LoadImage(MakeImage<uint8_t>({8, 8, PixelType::kUint8, 3}, [](int64_t, int64_t, int) { return 1; }));
  ASSERT_TRUE(img.ok() && rgb.ok());
  RenderRequest r = Request(*img, 10, 10, 1, 5, 5);
  r.layers[0].auto_contrast = AutoContrast{60, 40};
  EXPECT_EQ(engine->Render(r).status().message(), "layer 0: auto-contrast percentiles must satisfy 0 <= lo < hi <= 100, got 60, 40");
  r.layers[0].auto_contrast = AutoContrast{0, 100.5};
  EXPECT_EQ(engine->Render(r).status().code(), StatusCode::kInvalidArgument);
  r.layers[0].image = *rgb;
  r.layers[0].auto_contrast = AutoContrast{};
  r.layers[0].colormap = {};
  EXPECT_EQ(engine->Render(r).status().message(), "layer 0: auto-contrast applies to single-channel images only");
}

}  // namespace
TEST_P(AutoContrastRenderTest, FloatsOfAnySignAndSpacingAreExactOrderStatistics) {
  // Negative and positive values, -0 and +0, ties, neighbours one float ulp apart (the same high 16
  // key bits: the second histogram pass tells them apart), a huge and a tiny magnitude.
  auto value = [](int64_t x, int64_t y) -> float {
    const int64_t i = y * 97 + x;
    switch (i % 7) {
      case 0: return -0.0f;
      case 1: return 0.0f;
      case 2: return std::nextafter(1000.0f, 2000.0f) + static_cast<float>(i % 5) * 0.00006103515625f;  // 2^-14 steps
      case 3: return -static_cast<float>(i) * 1.5f;
      case 4: return 3.0e38f;
      case 5: return 1.0e-30f * static_cast<float>(i % 3);
      default: return static_cast<float>(i % 11) - 5.0f;
    }
  };
  auto floats = MakeImage<float>({97, 61, PixelType::kFloat32, 1}, [&](int64_t x, int64_t y, int) { return value(x, y); });
  std::unique_ptr<Engine> engine = Make(32);
  auto img = engine->LoadImage(floats);
  ASSERT_TRUE(img.ok());
  std::vector<double> all;
  for (int64_t y = 0; y < 61; ++y) {
    for (int64_t x = 0; x < 97; ++x) all.push_back(value(x, y));
  }
  for (auto [lo, hi] : std::vector<std::pair<double, double>>{{0, 100}, {0.5, 99.5}, {13.7, 42.1}, {14.2, 14.3}, {50, 85.8}}) {
    RenderRequest r = RawView(*img, 97, 61, 1, 48.5, 30.5);
    r.layers[0].auto_contrast = AutoContrast{lo, hi};
    auto out = engine->Render(r);
    ASSERT_TRUE(out.ok()) << out.status().ToString();
    EXPECT_EQ(out->contrasts[0].samples, 97 * 61);
    EXPECT_EQ(out->contrasts[0].lo, NumpyPercentile(all, lo)) << lo;
    EXPECT_EQ(out->contrasts[0].hi, NumpyPercentile(all, hi)) << hi;
  }
}

INSTANTIATE_TEST_SUITE_P(Histogram, AutoContrastRenderTest, ::testing::Values(true, false),
                         [](const ::testing::TestParamInfo<bool>& i) { return i.param ? "GpuHistogram" : "Readback"; });

}  // namespace tilerender::testing
