// Probe and profile (issue #15): raw values at world points, read through the host cache from the
// source's chunks (an image larger than the host cache), equal to the source's values exactly
// (uint16, float32 with NaN, RGB), at edges and outside (absent), cold or warm.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <random>

#include "tests/test_util.h"

namespace tilerender::testing {
namespace {

// A pyramid of its own: full size and a quarter of it (k = 2), each level a formula.
class TwoLevelSource final : public ImageSource {
 public:
  const ImageDesc& desc() const override { return d_; }
  std::vector<SourceLevel> levels() const override { return {{0, 1000, 1000, 128, 128}, {2, 250, 250, 128, 128}}; }
  Status ReadChunk(int index, int, int64_t cx, int64_t cy, uint8_t* dst, size_t stride) override {
    const SourceLevel l = levels()[index];
    for (int64_t y = 0; y < 128 && cy * 128 + y < l.height; ++y) {
      for (int64_t x = 0; x < 128 && cx * 128 + x < l.width; ++x) {
        const uint16_t v = Value(l.level, cx * 128 + x, cy * 128 + y);
        std::memcpy(dst + y * stride + x * 2, &v, 2);
      }
    }
    return Status::Ok();
  }
  static uint16_t Value(int k, int64_t x, int64_t y) { return static_cast<uint16_t>(x * 37 + y * 1009 + k * 20000); }

 private:
  ImageDesc d_{1000, 1000, PixelType::kUint16, 1};
};

template <typename T>
T At(const BufferSource& s, int64_t x, int64_t y, int c = 0) {
  T v;
  const ImageDesc& d = s.desc();
  std::memcpy(&v, s.data() + (static_cast<size_t>(y * d.width + x) * d.channels + c) * sizeof(T), sizeof(T));
  return v;
}

// Bilinear between pixel centers, clamped at the edges, NaN taps left out (written from DESIGN §3,
// apart from the engine's code).
double Bilinear(const BufferSource& s, double x, double y) {
  const ImageDesc& d = s.desc();
  const double fx = x - 0.5, fy = y - 0.5;
  const int64_t ix = static_cast<int64_t>(std::floor(fx)), iy = static_cast<int64_t>(std::floor(fy));
  const double ax = fx - std::floor(fx), ay = fy - std::floor(fy);
  double sum = 0, weight = 0;
  bool nan = false;
  for (int j = 0; j < 2; ++j) {
    for (int i = 0; i < 2; ++i) {
      const double w = (i ? ax : 1 - ax) * (j ? ay : 1 - ay);
      if (w == 0) continue;
      const float v = At<float>(s, std::clamp<int64_t>(ix + i, 0, d.width - 1), std::clamp<int64_t>(iy + j, 0, d.height - 1));
      if (std::isnan(v)) {
        nan = true;
        continue;
      }
      sum += w * v;
      weight += w;
    }
  }
  if (!nan) return sum;
  return weight > 0 ? sum / weight : std::numeric_limits<double>::quiet_NaN();
}

class ProbeTest : public ::testing::Test {
 protected:
  // A host cache smaller than the images: chunks come and go.
  std::unique_ptr<Engine> engine_ = MakeEngine({.host_cache_bytes = 1 << 20, .warm_up_all = false});
};

TEST_F(ProbeTest, Uint16ValuesAreTheSourceValuesColdAndWarm) {
  const ImageDesc desc{1000, 700, PixelType::kUint16, 1};  // 1.4 MB: more than the host cache
  auto pixels = MakeImage<uint16_t>(desc, [](int64_t x, int64_t y, int) { return (x * 7919 + y * 104729) % 65536; });
  auto source = std::make_shared<ChunkedSource>(pixels);
  auto img = engine_->LoadImage(source, {.max_tile_size = 128});
  ASSERT_TRUE(img.ok()) << img.status().ToString();
  std::mt19937 rng(5);
  std::uniform_real_distribution<double> ux(0, 1000), uy(0, 700);
  std::vector<WorldPoint> points;
  for (int i = 0; i < 3000; ++i) points.push_back({ux(rng), uy(rng)});
  // Edges: the first and last pixels, a hair inside; and outside by a hair, far, NaN, infinite.
  const double below = std::nextafter(1000.0, 0.0), below_y = std::nextafter(700.0, 0.0);
  for (WorldPoint p : std::vector<WorldPoint>{{0, 0}, {below, below_y}, {below, 0}, {0, below_y}, {999.5, 699.5}}) points.push_back(p);
  const size_t first_outside = points.size();
  const double nan = std::numeric_limits<double>::quiet_NaN(), inf = std::numeric_limits<double>::infinity();
  for (WorldPoint p : std::vector<WorldPoint>{{1000, 0}, {0, 700}, {-1e-9, 5}, {5, -0.5}, {-1e9, 1e9}, {nan, 1}, {1, inf}}) {
    points.push_back(p);
  }
  auto cold = engine_->Sample(**img, {}, points);
  ASSERT_TRUE(cold.ok()) << cold.status().ToString();
  ASSERT_EQ(cold->size(), points.size());
  EXPECT_GT(source->reads.load(), 100) << "read through the host cache, chunk by chunk";
  for (size_t i = 0; i < points.size(); ++i) {
    const ValueSample& s = (*cold)[i];
    if (i >= first_outside) {
      EXPECT_FALSE(s.inside) << "point " << i << " (" << points[i].x << ", " << points[i].y << ")";
      EXPECT_TRUE(s.values.empty());
      continue;
    }
    ASSERT_TRUE(s.inside) << "point " << i;
    ASSERT_EQ(s.values.size(), 1u);
    const auto x = static_cast<int64_t>(points[i].x), y = static_cast<int64_t>(points[i].y);
    EXPECT_EQ(s.values[0], At<uint16_t>(*pixels, x, y)) << "(" << points[i].x << ", " << points[i].y << ")";
  }
  auto warm = engine_->Sample(**img, {}, points);
  ASSERT_TRUE(warm.ok());
  for (size_t i = 0; i < points.size(); ++i) {
    EXPECT_EQ((*warm)[i].inside, (*cold)[i].inside);
    EXPECT_EQ((*warm)[i].values, (*cold)[i].values);
  }
  // Linear at pixel centers is the pixel itself.
  auto centers = engine_->Sample(**img, {.interpolation = Interpolation::kLinear}, {{0.5, 0.5}, {999.5, 699.5}, {321.5, 45.5}});
  ASSERT_TRUE(centers.ok());
  EXPECT_EQ((*centers)[0].values[0], At<uint16_t>(*pixels, 0, 0));
  EXPECT_EQ((*centers)[1].values[0], At<uint16_t>(*pixels, 999, 699));
  EXPECT_EQ((*centers)[2].values[0], At<uint16_t>(*pixels, 321, 45));
}

TEST_F(ProbeTest, Float32WithNaNNearestAndLinear) {
  const ImageDesc desc{300, 200, PixelType::kFloat32, 1};
  const float nan = std::numeric_limits<float>::quiet_NaN();
  auto pixels = MakeImage<float>(desc, [&](int64_t x, int64_t y, int) {
    if ((x / 7 + y / 5) % 4 == 0) return nan;
    return static_cast<float>(std::sin(x * 0.37) * 1e5 + y * 0.001 - 3.25);
  });
  auto img = engine_->LoadImage(std::make_shared<ChunkedSource>(pixels), {.max_tile_size = 128});
  ASSERT_TRUE(img.ok());
  std::mt19937 rng(9);
  std::uniform_real_distribution<double> ux(0, 300), uy(0, 200);
  std::vector<WorldPoint> points;
  for (int i = 0; i < 4000; ++i) points.push_back({ux(rng), uy(rng)});
  points.push_back({0.1, 0.1});      // clamped at the top-left corner
  points.push_back({299.9, 199.9});  // and the bottom-right
  auto nearest = engine_->Sample(**img, {}, points);
  auto linear = engine_->Sample(**img, {.interpolation = Interpolation::kLinear}, points);
  ASSERT_TRUE(nearest.ok() && linear.ok());
  int nans = 0, mixed = 0;
  for (size_t i = 0; i < points.size(); ++i) {
    const float want = At<float>(*pixels, static_cast<int64_t>(points[i].x), static_cast<int64_t>(points[i].y));
    const double got = (*nearest)[i].values.at(0);
    if (std::isnan(want)) {
      EXPECT_TRUE(std::isnan(got)) << i;
      ++nans;
    } else {
      EXPECT_EQ(got, static_cast<double>(want)) << i;
    }
    const double lin = Bilinear(*pixels, points[i].x, points[i].y), glin = (*linear)[i].values.at(0);
    if (std::isnan(lin)) {
      EXPECT_TRUE(std::isnan(glin)) << i;
    } else {
      EXPECT_NEAR(glin, lin, 1e-9 * std::max(1.0, std::abs(lin))) << i << " (" << points[i].x << ", " << points[i].y << ")";
      mixed += std::isnan(want);
    }
  }
  EXPECT_GT(nans, 200);
  EXPECT_GT(mixed, 20) << "linear samples beside NaN pixels renormalise the others";
}

TEST_F(ProbeTest, RgbGivesEveryChannelAndPlanesAreChosen) {
  const ImageDesc desc{130, 70, PixelType::kUint8, 3};
  auto pixels = MakeImage<uint8_t>(desc, [](int64_t x, int64_t y, int c) { return (x * 3 + y * 5 + c * 80) & 255; });
  auto img = engine_->LoadImage(std::make_shared<ChunkedSource>(pixels), {.max_tile_size = 64});
  ASSERT_TRUE(img.ok());
  auto r = engine_->Sample(**img, {}, {{129.99, 69.99}, {64.5, 3.2}});
  ASSERT_TRUE(r.ok());
  ASSERT_EQ((*r)[0].values.size(), 3u);
  for (int c = 0; c < 3; ++c) {
    EXPECT_EQ((*r)[0].values[c], At<uint8_t>(*pixels, 129, 69, c));
    EXPECT_EQ((*r)[1].values[c], At<uint8_t>(*pixels, 64, 3, c));
  }
  EXPECT_EQ(engine_->Sample(**img, {.plane = 1}, {{1, 1}}).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(engine_->Sample(**img, {.plane = 1}, {{1, 1}}).status().message(), "channel 1 of an image of 1 channel");
  std::vector<WorldPoint> many(kMaxSamplePoints + 1);
  EXPECT_EQ(engine_->Sample(**img, {}, many).status().message(), "at most 65536 points, got 65537");
}

TEST_F(ProbeTest, LevelsOfTheFilesOwnPyramid) {
  auto img = engine_->LoadImage(std::make_shared<TwoLevelSource>());
  ASSERT_TRUE(img.ok());
  // The engine derives the half-size level between the file's two: the file's quarter-size level
  // is the third.
  const auto& levels_planned = (*img)->plan().levels;
  ASSERT_GE(levels_planned.size(), 3u);
  ASSERT_EQ(levels_planned[2].level, 2);
  ASSERT_TRUE(levels_planned[2].from_source());
  std::vector<WorldPoint> points{{0, 0}, {999.9, 999.9}, {513.7, 4.1}, {3.99, 4.0}};
  auto r = engine_->Sample(**img, {.level = 2}, points);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  for (size_t i = 0; i < points.size(); ++i) {
    const auto x = static_cast<int64_t>(points[i].x / 4), y = static_cast<int64_t>(points[i].y / 4);
    EXPECT_EQ((*r)[i].values.at(0), TwoLevelSource::Value(2, x, y)) << i;
  }
  const int levels = static_cast<int>((*img)->plan().levels.size());
  auto bad = engine_->Sample(**img, {.level = levels}, points);
  EXPECT_EQ(bad.status().message(), "level " + std::to_string(levels) + " of an image of " + std::to_string(levels) + " levels");
}

TEST(ProbeLineTest, EvenlySpacedBothEndsIncluded) {
  const std::vector<WorldPoint> p = LinePoints({1, 2}, {5, -2}, 5);
  ASSERT_EQ(p.size(), 5u);
  for (int i = 0; i < 5; ++i) {
    EXPECT_DOUBLE_EQ(p[i].x, 1 + i);
    EXPECT_DOUBLE_EQ(p[i].y, 2 - i);
  }
  ASSERT_EQ(LinePoints({3, 4}, {9, 9}, 1).size(), 1u);
  EXPECT_EQ(LinePoints({3, 4}, {9, 9}, 1)[0].x, 3);
  EXPECT_TRUE(LinePoints({0, 0}, {1, 1}, 0).empty());
}

}  // namespace
}  // namespace tilerender::testing
