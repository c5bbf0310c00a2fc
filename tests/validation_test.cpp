// Bad input at the core API gives a Status with the right code, never a crash.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "tests/test_util.h"

namespace tilerender::testing {
namespace {

constexpr double kNan = std::numeric_limits<double>::quiet_NaN();
constexpr double kInf = std::numeric_limits<double>::infinity();

class ValidationTest : public ::testing::Test {
 protected:
  void SetUp() override {
    src_ = MakeImage<uint8_t>({32, 32, PixelType::kUint8, 1}, [](int64_t x, int64_t, int) { return x; });
    img_ = Load(*src_);
  }
  RenderRequest Good() const {
    RenderRequest r{.width = 64, .height = 64};
    r.layers.push_back({.image = img_});
    return r;
  }
  StatusCode Code(const RenderRequest& r) { return TestEngine().Render(r).status().code(); }

  std::unique_ptr<BufferSource> src_;
  ImageHandle img_;
};

TEST_F(ValidationTest, GoodRequestRenders) { EXPECT_EQ(Code(Good()), StatusCode::kOk); }

TEST_F(ValidationTest, OutputSize) {
  for (auto [w, h] : {std::pair{0, 10}, {10, 0}, {-5, 10}, {10, -1}}) {
    RenderRequest r = Good();
    r.width = w, r.height = h;
    EXPECT_EQ(Code(r), StatusCode::kInvalidArgument) << w << "x" << h;
  }
  RenderRequest r = Good();
  r.width = TestEngine().limits().max_output_side + 1;
  EXPECT_EQ(Code(r), StatusCode::kResourceExhausted);
  r.width = r.height = 16384;  // within the side limit, beyond the pixel limit
  if (int64_t{r.width} * r.height > TestEngine().limits().max_output_pixels) {
    EXPECT_EQ(Code(r), StatusCode::kResourceExhausted);
  }
}

TEST_F(ValidationTest, CameraMustBeFinite) {
  for (double bad : {kNan, kInf, -kInf}) {
    RenderRequest r = Good();
    r.camera.center_x = bad;
    EXPECT_EQ(Code(r), StatusCode::kInvalidArgument);
    r = Good();
    r.camera.center_y = bad;
    EXPECT_EQ(Code(r), StatusCode::kInvalidArgument);
    r = Good();
    r.camera.zoom = bad;
    EXPECT_EQ(Code(r), StatusCode::kInvalidArgument);
    r = Good();
    r.camera.rotation_deg = bad;
    EXPECT_EQ(Code(r), StatusCode::kInvalidArgument);
  }
  for (double zoom : {0.0, -1.0}) {
    RenderRequest r = Good();
    r.camera.zoom = zoom;
    EXPECT_EQ(Code(r), StatusCode::kInvalidArgument);
  }
}

TEST_F(ValidationTest, ContrastGammaOpacity) {
  RenderRequest r = Good();
  r.layers[0].contrast = Contrast{100, 100};
  EXPECT_EQ(Code(r), StatusCode::kInvalidArgument);
  r.layers[0].contrast = Contrast{kNan, 100};
  EXPECT_EQ(Code(r), StatusCode::kInvalidArgument);
  r.layers[0].contrast = Contrast{0, kInf};
  EXPECT_EQ(Code(r), StatusCode::kInvalidArgument);
  r.layers[0].contrast = Contrast{200, 10};  // inverted ramp is fine
  EXPECT_EQ(Code(r), StatusCode::kOk);
  for (double g : {0.0, -1.0, kNan, kInf}) {
    r = Good();
    r.layers[0].gamma = g;
    EXPECT_EQ(Code(r), StatusCode::kInvalidArgument) << "gamma " << g;
  }
  for (double o : {-0.1, 1.5, kNan}) {
    r = Good();
    r.layers[0].opacity = o;
    EXPECT_EQ(Code(r), StatusCode::kInvalidArgument) << "opacity " << o;
  }
}

TEST_F(ValidationTest, Colormaps) {
  RenderRequest r = Good();
  r.layers[0].colormap.name = "jet";
  auto out = TestEngine().Render(r);
  EXPECT_EQ(out.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(out.status().message().find("viridis"), std::string::npos) << "lists known names";
  r = Good();
  r.layers[0].colormap.lut.assign(255, Rgba{});
  EXPECT_EQ(Code(r), StatusCode::kInvalidArgument);
  r.layers[0].colormap.lut.assign(256, Rgba{0.5f, 0.5f, 0.5f, 1});
  EXPECT_EQ(Code(r), StatusCode::kOk);
  r.layers[0].colormap.lut[3].g = 2;
  EXPECT_EQ(Code(r), StatusCode::kInvalidArgument);
  r = Good();
  r.layers[0].colormap.points = {{0.5, {}}, {0.2, {}}};
  EXPECT_EQ(Code(r), StatusCode::kInvalidArgument) << "unsorted control points";
}

TEST_F(ValidationTest, LayersAndBackground) {
  RenderRequest r = Good();
  r.layers.clear();
  EXPECT_EQ(Code(r), StatusCode::kInvalidArgument);
  r = Good();
  r.layers[0].image = nullptr;
  EXPECT_EQ(Code(r), StatusCode::kInvalidArgument);
  r = Good();
  r.background.a = 2;
  EXPECT_EQ(Code(r), StatusCode::kInvalidArgument);
  r = Good();
  r.png_level = 10;
  EXPECT_EQ(Code(r), StatusCode::kInvalidArgument);
  r = Good();
  r.layers[0].channel_contrast = {{0, 1}, {0, 1}, {0, 1}};  // per-channel on a scalar image
  EXPECT_EQ(Code(r), StatusCode::kInvalidArgument);
}

TEST_F(ValidationTest, ImageDescriptions) {
  struct Bad {
    ImageDesc desc;
    const char* why;
  };
  const int64_t huge = int64_t{1} << 40;
  for (const Bad& b : {Bad{{0, 10, PixelType::kUint8, 1}, "zero width"},
                       Bad{{10, -3, PixelType::kUint8, 1}, "negative height"},
                       Bad{{huge, huge, PixelType::kFloat32, 1}, "byte count overflows"},
                       Bad{{int64_t{1} << 21, 4, PixelType::kUint8, 1}, "side over limit"},
                       Bad{{10, 10, PixelType::kUint16, 3}, "uint16 RGB"},
                       Bad{{10, 10, PixelType::kUint8, 2}, "two channels"}}) {
    EXPECT_EQ(ValidateDesc(b.desc, TestEngine().limits().image).code(), StatusCode::kInvalidArgument)
        << b.why;
  }
  // And LoadImage checks before it touches the source.
  class NeverRead : public ImageSource {
   public:
    const ImageDesc& desc() const override { return d; }
    Status ReadRect(int64_t, int64_t, int64_t, int64_t, uint8_t*, size_t) override {
      ADD_FAILURE() << "read";
      return Status::Ok();
    }
    ImageDesc d{huge, huge, PixelType::kFloat32, 1};
  } never;
  EXPECT_EQ(TestEngine().LoadImage(never).status().code(), StatusCode::kInvalidArgument);
}

TEST_F(ValidationTest, CancelledBeforeStartIsDroppedUndrawn) {
  Engine& e = TestEngine();
  const int64_t renders = e.stats().renders;
  auto out = e.Render(Good(), [] { return true; });
  EXPECT_EQ(out.status().code(), StatusCode::kCancelled);
  EXPECT_EQ(e.stats().renders, renders) << "a cancelled render must not be drawn";
  EXPECT_TRUE(e.Render(Good(), [] { return false; }).ok());
  EXPECT_EQ(e.stats().renders, renders + 1);
}

TEST(BudgetTest, ImageOverBudgetIsRefusedAndLeavesNothing) {
  EngineOptions o;
  o.gpu_budget_bytes = 1'000'000;
  auto engine = Engine::Create(o);
  ASSERT_TRUE(engine.ok()) << engine.status().ToString();
  auto small = MakeImage<uint8_t>({500, 500, PixelType::kUint8, 1}, [](int64_t, int64_t, int) { return 1; });
  auto big = MakeImage<uint8_t>({1500, 1000, PixelType::kUint8, 1}, [](int64_t, int64_t, int) { return 1; });
  auto kept = (*engine)->LoadImage(*small);
  ASSERT_TRUE(kept.ok());
  const EngineStats before = (*engine)->stats();
  auto refused = (*engine)->LoadImage(*big);
  ASSERT_EQ(refused.status().code(), StatusCode::kResourceExhausted);
  EXPECT_NE(refused.status().message().find("needs"), std::string::npos) << refused.status().message();
  (*engine)->Flush();
  const EngineStats after = (*engine)->stats();
  EXPECT_EQ(after.gpu_bytes_used, before.gpu_bytes_used);
  EXPECT_EQ(after.images, before.images);
  // What was loaded still renders.
  RenderRequest r{.width = 10, .height = 10};
  r.layers.push_back({.image = *kept});
  EXPECT_TRUE((*engine)->Render(r).ok());
}

TEST(SourceErrorTest, FailingSourceLeavesNothingBehind) {
  // The data ends at row 300 of 400: with 20-row bands the failure comes mid-load, while an upload
  // and (with a pyramid) the pyramid worker are in flight. Nothing may stay behind.
  class Failing : public ImageSource {
   public:
    const ImageDesc& desc() const override { return d; }
    Status ReadRect(int64_t x, int64_t y, int64_t w, int64_t h, uint8_t* dst, size_t stride) override {
      if (y + h > 300) return InvalidArgument("truncated file");
      ++reads;
      for (int64_t r = 0; r < h; ++r) std::fill_n(dst + r * stride, w, uint8_t(x + y));
      return Status::Ok();
    }
    ImageDesc d{400, 400, PixelType::kUint8, 1};
    int reads = 0;
  };
  Engine& e = TestEngine();
  for (PyramidMode mode : {PyramidMode::kCpu, PyramidMode::kGpu}) {
    for (bool pyramid : {false, true}) {
      e.Flush();
      const EngineStats before = e.stats();
      Failing failing;
      LoadOptions o;
      o.max_tile_size = 64;
      o.band_bytes = 400 * 20;
      o.build_pyramid = pyramid;
      o.pyramid_mode = mode;
      auto r = e.LoadImage(failing, o);
      EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
      EXPECT_EQ(failing.reads, 15) << "bands before the failure were read and uploaded";
      e.Flush();
      const EngineStats after = e.stats();
      EXPECT_EQ(after.live_textures, before.live_textures);
      EXPECT_EQ(after.gpu_bytes_used, before.gpu_bytes_used);
      EXPECT_EQ(after.images, before.images);
    }
  }
}

}  // namespace
}  // namespace tilerender::testing
