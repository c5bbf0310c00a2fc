// Scale bars: round lengths for any scale, drawn with the right length in the asked-for corner,
// the length reported, and refused for images without a pixel size.
#include <cmath>
#include <gtest/gtest.h>

#include "core/render/scale_bar.h"
#include "tests/test_util.h"

namespace tilerender::testing {
namespace {

TEST(ScaleBarTest, RoundLengthsAboutAFifthOfTheWidth) {
  struct Case {
    double um_per_px;
    int width;
    double length;
    const char* label;
  } cases[] = {
      {0.5, 1000, 100, "100 \xC2\xB5m"},   // a fifth is 100 µm
      {0.5, 900, 50, "50 \xC2\xB5m"},      // 90 µm: 50 is the largest round length below
      {3.0, 1024, 500, "500 \xC2\xB5m"},   // 614 µm
      {40.0, 800, 5000, "5 mm"},            // 6.4 mm
      {0.004, 500, 0.2, "200 nm"},         // 0.4 µm
      {1.0, 1000, 200, "200 \xC2\xB5m"},
  };
  for (const Case& c : cases) {
    auto plan = PlanScaleBar(c.um_per_px, c.width);
    ASSERT_TRUE(plan.ok()) << plan.status().ToString();
    EXPECT_DOUBLE_EQ(plan->length_um, c.length) << c.um_per_px;
    EXPECT_EQ(plan->label, c.label);
    EXPECT_EQ(plan->length_px, std::lround(c.length / c.um_per_px));
    EXPECT_LE(plan->length_px, c.width / 5);
    EXPECT_GT(plan->length_px, c.width / 5 / 2.5) << "at least 2/5 of the target";
  }
  EXPECT_FALSE(PlanScaleBar(0, 500).ok());
  EXPECT_FALSE(PlanScaleBar(1, 8).ok());
}

// A gray image that knows its pixel size (0.25 µm).
class Calibrated : public ImageSource {
 public:
  explicit Calibrated(std::shared_ptr<BufferSource> inner) : inner_(std::move(inner)) {}
  const ImageDesc& desc() const override { return inner_->desc(); }
  const uint8_t* contiguous(int index, int plane) const override { return inner_->contiguous(index, plane); }
  Status ReadChunk(int index, int plane, int64_t cx, int64_t cy, uint8_t* dst, size_t stride) override {
    return inner_->ReadChunk(index, plane, cx, cy, dst, stride);
  }
  std::pair<double, double> pixel_size_um() const override { return {0.25, 0.25}; }

 private:
  std::shared_ptr<BufferSource> inner_;
};

TEST(ScaleBarTest, DrawnWithItsLengthInTheCorner) {
  auto gray = MakeImage<uint8_t>({2000, 1500, PixelType::kUint8, 1}, [](int64_t, int64_t, int) { return 0; });
  ImageHandle img = Load(std::make_shared<Calibrated>(gray));
  ASSERT_TRUE(img);
  EXPECT_EQ(img->info().pixel_size_x_um, 0.25);
  for (auto corner : {ScaleBar::Corner::kBottomRight, ScaleBar::Corner::kTopLeft}) {
    RenderRequest req{.width = 800, .height = 600, .format = OutputFormat::kRawRgba8};
    req.camera.zoom = 0.5;  // 0.5 µm per output pixel: a fifth of 800 px is 80 µm -> 50 µm, 100 px
    req.layers.push_back({.image = img});
    req.scale_bar = ScaleBar{.corner = corner, .color = {1, 1, 0, 1}};
    auto out = TestEngine().Render(req);
    ASSERT_TRUE(out.ok()) << out.status().ToString();
    EXPECT_EQ(out->scale_bar_um, 50);
    // Yellow pixels: the bar (100 px long) and the label, all in the corner's quarter.
    int longest = 0, left = 800, top = 600;
    for (int y = 0; y < 600; ++y) {
      int run = 0;
      for (int x = 0; x < 800; ++x) {
        const uint8_t* p = &out->data[(y * 800 + x) * 4];
        const bool yellow = p[0] == 255 && p[1] == 255 && p[2] == 0;
        run = yellow ? run + 1 : 0;
        longest = std::max(longest, run);
        if (yellow) left = std::min(left, x), top = std::min(top, y);
      }
    }
    EXPECT_EQ(longest, 100) << "the bar";
    if (corner == ScaleBar::Corner::kBottomRight) {
      EXPECT_GT(left, 600);
      EXPECT_GT(top, 500);
    } else {
      EXPECT_LT(left, 150);
      EXPECT_LT(top, 60);
    }
    SavePng(corner == ScaleBar::Corner::kBottomRight ? "scale_bar_bottom_right" : "scale_bar_top_left", out->data, 800, 600);
  }
  // An image without a pixel size gets no bar, and says why.
  ImageHandle plain = Load(gray);
  RenderRequest req{.width = 200, .height = 150};
  req.layers.push_back({.image = plain});
  req.scale_bar = ScaleBar{};
  auto r = TestEngine().Render(req);
  EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(r.status().message().find("pixel size"), std::string::npos) << r.status().message();
}

}  // namespace
}  // namespace tilerender::testing
