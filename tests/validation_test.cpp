// Bad input at the core API gives a Status with the right code, never a crash.
#include <gtest/gtest.h>

#include <atomic>
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
    img_ = Load(src_);
  }
  RenderRequest Good() const {
    RenderRequest r{.width = 64, .height = 64};
    r.layers.push_back({.image = img_});
    return r;
  }
  StatusCode Code(const RenderRequest& r) { return TestEngine().Render(r).status().code(); }

  std::shared_ptr<BufferSource> src_;
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
    Status ReadChunk(int, int, int64_t, int64_t, uint8_t*, size_t) override {
      ADD_FAILURE() << "read";
      return Status::Ok();
    }
    ImageDesc d{huge, huge, PixelType::kFloat32, 1};
  };
  EXPECT_EQ(TestEngine().LoadImage(std::make_shared<NeverRead>()).status().code(), StatusCode::kInvalidArgument);
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

// The channel composite's text form, shared by the CLI's --channels and IIIF's channels=.
TEST(ChannelColormapsTest, ParsesItemsAndNamesTheFirstBadOne) {
  auto ok = ParseChannelColormaps("0:green,12:magenta,2:my-lut");
  ASSERT_TRUE(ok.ok()) << ok.status().ToString();
  ASSERT_EQ(ok->size(), 3u);
  EXPECT_EQ((*ok)[1].channel, 12);
  EXPECT_EQ((*ok)[1].colormap, "magenta");
  EXPECT_EQ((*ok)[2].colormap, "my-lut");
  for (const char* bad : {"", "0", "0:", ":green", "x:green", "-1:green", "1x:green", "0:green,", "0:green,,1:cyan"}) {
    auto r = ParseChannelColormaps(bad);
    EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument) << bad;
    EXPECT_NE(r.status().message().find("must be CHANNEL:COLORMAP"), std::string::npos) << bad;
  }
  std::string many;
  for (int i = 0; i < 65; ++i) many += (i ? "," : "") + std::to_string(i) + ":gray";
  EXPECT_EQ(ParseChannelColormaps(many).status().code(), StatusCode::kInvalidArgument);
  EXPECT_TRUE(ParseChannelColormaps(many.substr(0, many.rfind(','))).ok()) << "64 items are fine";
}

TEST(BudgetTest, BudgetBelowFourTilesIsRefusedAtStart) {
  EngineOptions o;
  o.warm_up_all = false;  // shader variants compile on first use
  o.max_tile_size = 256;
  o.gpu_budget_bytes = 4 * 257 * 257 * 4 - 1;  // four 256-pixel tiles and their gutters, 4 bytes a texel
  auto engine = Engine::Create(o);
  ASSERT_EQ(engine.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(engine.status().message().find("four"), std::string::npos) << engine.status().message();
  o.gpu_budget_bytes += 1;
  EXPECT_TRUE(Engine::Create(o).ok());
}

// A source read chunk by chunk (like a tiled file) whose chunks can be made to fail.
class FlakySource : public ImageSource {
 public:
  FlakySource(ImageDesc d, int64_t chunk) : d_(d), chunk_(chunk) {}
  const ImageDesc& desc() const override { return d_; }
  std::vector<SourceLevel> levels() const override { return {{0, d_.width, d_.height, chunk_, chunk_}}; }
  Status ReadChunk(int, int, int64_t cx, int64_t cy, uint8_t* dst, size_t stride) override {
    if (cx == fail_cx.load() && cy == fail_cy.load()) {
      return DataLoss("chunk " + std::to_string(cx) + "," + std::to_string(cy) + " is corrupt");
    }
    reads.fetch_add(1);
    for (int64_t y = cy * chunk_; y < std::min((cy + 1) * chunk_, d_.height); ++y) {
      for (int64_t x = cx * chunk_; x < std::min((cx + 1) * chunk_, d_.width); ++x) {
        dst[(y - cy * chunk_) * stride + (x - cx * chunk_)] = static_cast<uint8_t>(x * 3 + y * 5);
      }
    }
    return Status::Ok();
  }
  std::atomic<int64_t> fail_cx{-1}, fail_cy{-1};
  std::atomic<int> reads{0};

 private:
  ImageDesc d_;
  int64_t chunk_;
};

TEST(SourceErrorTest, UnreadableDataAtLoadLeavesNothingBehind) {
  // Loading reads the value range from the source (here its only level, small enough to read
  // whole): a chunk that cannot be decoded makes the load INVALID_ARGUMENT, and nothing stays.
  Engine& e = TestEngine();
  e.Flush();
  const EngineStats before = e.stats();
  auto src = std::make_shared<FlakySource>(ImageDesc{400, 400, PixelType::kUint8, 1}, 64);
  src->fail_cx = 3, src->fail_cy = 4;
  auto r = e.LoadImage(src);
  EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument) << r.status().ToString();
  EXPECT_NE(r.status().message().find("chunk 3,4 is corrupt"), std::string::npos) << r.status().message();
  e.Flush();
  const EngineStats after = e.stats();
  EXPECT_EQ(after.images, before.images);
  EXPECT_EQ(after.live_textures, before.live_textures);
  EXPECT_EQ(after.host.bytes, before.host.bytes) << "the chunks read before the failure left the host cache";
}

TEST(SourceErrorTest, ChunkThatBreaksWhileRenderingFailsThatRenderOnly) {
  // A host cache of three chunks: what the load read is gone again when the render asks.
  EngineOptions o;
  o.warm_up_all = false;  // shader variants compile on first use
  o.host_cache_bytes = 30'000;
  auto engine = Engine::Create(o);
  ASSERT_TRUE(engine.ok());
  Engine& e = **engine;
  auto src = std::make_shared<FlakySource>(ImageDesc{1000, 700, PixelType::kUint8, 1}, 100);
  auto other_src = MakeImage<uint8_t>({300, 200, PixelType::kUint8, 1}, [](int64_t x, int64_t y, int) { return x ^ y; });
  auto img = e.LoadImage(src, {.max_tile_size = 128});
  auto other = e.LoadImage(other_src, {.max_tile_size = 128});
  ASSERT_TRUE(img.ok() && other.ok());
  src->fail_cx = 7, src->fail_cy = 5;  // pixels [700, 800) x [500, 600)
  RenderRequest bad{.width = 200, .height = 150, .format = OutputFormat::kRawRgba8};
  bad.camera = {.center_x = 750, .center_y = 550, .zoom = 1};
  bad.layers.push_back({.image = *img});
  auto r = e.Render(bad);
  ASSERT_EQ(r.status().code(), StatusCode::kDataLoss) << r.status().ToString();
  EXPECT_NE(r.status().message().find("chunk 7,5 is corrupt"), std::string::npos) << r.status().message();
  // Elsewhere the same image renders, and so do other images; nothing was left pinned.
  RenderRequest good = bad;
  good.camera = {.center_x = 200, .center_y = 200, .zoom = 1};
  EXPECT_TRUE(e.Render(good).ok());
  RenderRequest other_req{.width = 64, .height = 64};
  other_req.layers.push_back({.image = *other});
  EXPECT_TRUE(e.Render(other_req).ok());
  // Failures are not cached: once the data reads again, so does the render.
  src->fail_cx = -1;
  auto again = e.Render(bad);
  ASSERT_TRUE(again.ok()) << again.status().ToString();
  const EngineStats s = e.stats();
  EXPECT_LE(s.gpu.bytes, s.gpu.budget_bytes);
  EXPECT_LE(s.host.bytes, s.host.budget_bytes);
}

}  // namespace
}  // namespace tilerender::testing
