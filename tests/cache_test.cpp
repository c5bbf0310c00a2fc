// The tile caches: renders are byte-identical whether an image is fully resident or paged through
// a cache of a few tiles, the budgets hold after every render, concurrent renders of several
// images evict each other's tiles and still draw exact pixels, and loading reads metadata only.
#include <gtest/gtest.h>

#include <atomic>
#include <cmath>
#include <random>
#include <thread>

#include "tests/test_util.h"

namespace tilerender::testing {
namespace {

struct WalkView {
  double cx, cy, zoom, rotation;
  Interpolation interp;
};

// Random views from far out to 4:1, some rotated, nearest and linear.
std::vector<WalkView> RandomWalk(int n, double w, double h, uint32_t seed) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<double> u(0, 1);
  std::vector<WalkView> views;
  for (int i = 0; i < n; ++i) {
    const double zoom = std::exp2(-7 + 9 * u(rng));
    const double rot = u(rng) < 0.3 ? 360 * u(rng) : 0;
    views.push_back({w * u(rng), h * u(rng), zoom, rot, u(rng) < 0.5 ? Interpolation::kNearest : Interpolation::kLinear});
  }
  return views;
}

RenderRequest Request(const ImageHandle& img, const WalkView& v, int w = 160, int h = 120) {
  RenderRequest req{.width = w, .height = h, .format = OutputFormat::kRawRgba8};
  req.camera = {.center_x = v.cx, .center_y = v.cy, .zoom = v.zoom, .rotation_deg = v.rotation};
  req.layers.push_back({.image = img, .interpolation = v.interp});
  if (img->info().desc.channels == 1) req.layers.back().colormap.name = "viridis";
  return req;
}

std::vector<uint8_t> RenderOn(Engine& e, const RenderRequest& req) {
  auto out = e.Render(req);
  EXPECT_TRUE(out.ok()) << out.status().ToString();
  return out.ok() ? out->data : std::vector<uint8_t>{};
}

// A small engine: GPU room for exactly the four tiles one draw may need, a host cache of a few
// chunks.
std::unique_ptr<Engine> TinyEngine(int tile, int64_t host_bytes) {
  EngineOptions o;
  o.warm_up_all = false;  // shader variants compile on first use
  o.max_tile_size = tile;
  o.gpu_budget_bytes = int64_t{4} * (tile + 1) * (tile + 1) * 4;  // four textures with gutters
  o.host_cache_bytes = host_bytes;
  auto e = Engine::Create(o);
  EXPECT_TRUE(e.ok()) << e.status().ToString();
  return e.ok() ? std::move(e).value() : nullptr;
}

void ExpectWithinBudgets(const Engine& e) {
  const EngineStats s = e.stats();
  EXPECT_LE(s.gpu.bytes, s.gpu.budget_bytes);
  EXPECT_LE(s.host.bytes, s.host.budget_bytes);
}

std::shared_ptr<BufferSource> Pattern(const ImageDesc& desc) {
  auto v = [](int64_t x, int64_t y, int c) {
    const uint32_t h = static_cast<uint32_t>(x * 73856093u ^ y * 19349663u ^ c * 83492791u);
    return 0.5 + 0.3 * std::sin(x * 0.05 + c) * std::cos(y * 0.04) + ((h % 1000) / 1000.0 - 0.5) * 0.3;
  };
  switch (desc.type) {
    case PixelType::kUint8: return MakeImage<uint8_t>(desc, [&](int64_t x, int64_t y, int c) { return v(x, y, c) * 255; });
    case PixelType::kUint16: return MakeImage<uint16_t>(desc, [&](int64_t x, int64_t y, int c) { return v(x, y, c) * 65535; });
    case PixelType::kFloat32: return MakeImage<float>(desc, [&](int64_t x, int64_t y, int c) { return v(x, y, c) * 3 - 1; });
    case PixelType::kUint32: break;  // labels only (labels_test)
  }
  return nullptr;
}

class CacheStateTest : public ::testing::TestWithParam<std::tuple<PixelType, int>> {};

TEST_P(CacheStateTest, TinyCachesRenderExactlyLikeRoomyOnes) {
  const auto [type, channels] = GetParam();
  const ImageDesc desc{1111, 777, type, channels};
  auto src = Pattern(desc);
  auto tiny = TinyEngine(64, 40'000);
  ASSERT_TRUE(tiny);
  auto roomy_img = TestEngine().LoadImage(src, {.max_tile_size = 64});
  auto tiny_img = tiny->LoadImage(src);
  ASSERT_TRUE(roomy_img.ok() && tiny_img.ok());
  const auto walk = RandomWalk(40, 1111, 777, 7 + static_cast<int>(type) * 10 + channels);
  int paged = 0;
  for (size_t i = 0; i < walk.size(); ++i) {
    const auto a = RenderOn(TestEngine(), Request(*roomy_img, walk[i]));
    auto b = tiny->Render(Request(*tiny_img, walk[i]));
    ASSERT_TRUE(b.ok()) << b.status().ToString();
    paged += b->timings.tiles_paged_in;
    EXPECT_EQ(a, b->data) << "view " << i << ": zoom " << walk[i].zoom << ", rotation " << walk[i].rotation << ", "
                          << InterpolationName(walk[i].interp);
    ExpectWithinBudgets(*tiny);
  }
  const EngineStats s = tiny->stats();
  EXPECT_GT(s.gpu.evictions, 0);
  EXPECT_GT(s.host.evictions, 0);
  EXPECT_GT(paged, 40);
}

INSTANTIATE_TEST_SUITE_P(Types, CacheStateTest,
                         ::testing::Values(std::tuple{PixelType::kUint8, 1}, std::tuple{PixelType::kUint16, 1},
                                           std::tuple{PixelType::kFloat32, 1}, std::tuple{PixelType::kUint8, 3},
                                           std::tuple{PixelType::kUint8, 4}));

TEST(CacheTest, ViewNeedingMoreTilesThanTheBudgetIsDrawnInBatches) {
  // A 1:1 view over 12 x 9 tiles of 64 with GPU room for 4: drawn in batches, same pixels.
  auto tiny = TinyEngine(64, 1 << 20);
  ASSERT_TRUE(tiny);
  auto src = Pattern({1000, 800, PixelType::kUint16, 1});
  auto roomy_img = TestEngine().LoadImage(src, {.max_tile_size = 64});
  auto tiny_img = tiny->LoadImage(src);
  ASSERT_TRUE(roomy_img.ok() && tiny_img.ok());
  for (Interpolation interp : {Interpolation::kNearest, Interpolation::kLinear}) {
    const WalkView v{500, 400, 1.0, 0, interp};
    auto b = tiny->Render(Request(*tiny_img, v, 700, 500));
    ASSERT_TRUE(b.ok()) << b.status().ToString();
    EXPECT_GE(b->timings.tiles_drawn, 11 * 8);
    EXPECT_EQ(RenderOn(TestEngine(), Request(*roomy_img, v, 700, 500)), b->data) << InterpolationName(interp);
    ExpectWithinBudgets(*tiny);
  }
}

TEST(CacheTest, ConcurrentRendersOfSeveralImagesEvictEachOther) {
  auto tiny = TinyEngine(64, 200'000);
  ASSERT_TRUE(tiny);
  std::vector<std::shared_ptr<BufferSource>> sources = {Pattern({900, 700, PixelType::kUint8, 1}),
                                                        Pattern({700, 900, PixelType::kUint16, 1}),
                                                        Pattern({800, 600, PixelType::kUint8, 3})};
  std::vector<ImageHandle> roomy, small;
  for (const auto& s : sources) {
    roomy.push_back(*TestEngine().LoadImage(s, {.max_tile_size = 64}));
    small.push_back(*tiny->LoadImage(s));
  }
  // References first, on the roomy engine.
  struct Job {
    size_t image;
    WalkView view;
    std::vector<uint8_t> expect;
  };
  std::vector<Job> jobs;
  for (size_t i = 0; i < sources.size(); ++i) {
    for (const WalkView& v : RandomWalk(12, sources[i]->desc().width, sources[i]->desc().height, 100 + i)) {
      jobs.push_back({i, v, RenderOn(TestEngine(), Request(roomy[i], v))});
    }
  }
  std::atomic<int> mismatches{0}, failures{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (size_t k = t; k < jobs.size() * 2; k += 4) {
        const Job& j = jobs[k % jobs.size()];
        auto out = tiny->Render(Request(small[j.image], j.view));
        if (!out.ok()) {
          failures.fetch_add(1);
        } else if (out->data != j.expect) {
          mismatches.fetch_add(1);
        }
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(failures.load(), 0);
  EXPECT_EQ(mismatches.load(), 0);
  ExpectWithinBudgets(*tiny);
  EXPECT_GT(tiny->stats().gpu.evictions, 0);
}

// A huge image that exists only as a formula, with a pyramid of its own (each level the formula
// at that scale), counting what is read.
class FormulaSource : public ImageSource {
 public:
  explicit FormulaSource(int64_t side) : d_{side, side, PixelType::kUint8, 1} {}
  const ImageDesc& desc() const override { return d_; }
  std::vector<SourceLevel> levels() const override {
    std::vector<SourceLevel> v;
    for (int k = 0; (d_.width >> k) >= 256; k += 2) v.push_back({k, d_.width >> k, d_.height >> k, 256, 256});
    return v;
  }
  Status ReadChunk(int index, int, int64_t cx, int64_t cy, uint8_t* dst, size_t stride) override {
    const int k = levels()[index].level;
    chunks_read.fetch_add(1);
    if (k == 0) level0_reads.fetch_add(1);
    for (int64_t y = 0; y < 256; ++y) {
      for (int64_t x = 0; x < 256; ++x) dst[y * stride + x] = Value(k, cx * 256 + x, cy * 256 + y);
    }
    return Status::Ok();
  }
  static uint8_t Value(int k, int64_t x, int64_t y) { return static_cast<uint8_t>((x * 7 + y * 13 + k * 50) & 255); }
  std::atomic<int64_t> chunks_read{0}, level0_reads{0};

 private:
  ImageDesc d_;
};

TEST(CacheTest, LoadReadsMetadataAndRendersReadOnlyWhatTheyShow) {
  // 2^18 x 2^18 pixels (69 Gpx, 69 GB: more than the 64 GiB limit for images held in memory,
  // which does not apply to a source read a tile at a time): loads and renders with a few chunks
  // read.
  auto src = std::make_shared<FormulaSource>(int64_t{1} << 18);
  auto img = TestEngine().LoadImage(src);
  ASSERT_TRUE(img.ok()) << img.status().ToString();
  EXPECT_EQ(src->level0_reads.load(), 0);
  EXPECT_LE(src->chunks_read.load(), 16) << "the value range comes from (a sample of) the coarsest level";
  EXPECT_TRUE((*img)->info().range_estimated);
  EXPECT_TRUE((*img)->info().level_info[2].from_source);
  EXPECT_FALSE((*img)->info().level_info[1].from_source);
  // A 1:1 view reads only its own chunks, and shows the formula.
  const int64_t before = src->chunks_read.load();
  RenderRequest req{.width = 300, .height = 200, .format = OutputFormat::kRawRgba8};
  req.camera = {.center_x = 70000, .center_y = 30000, .zoom = 1};
  req.layers.push_back({.image = *img, .contrast = Contrast{0, 255}});
  auto out = TestEngine().Render(req);
  ASSERT_TRUE(out.ok()) << out.status().ToString();
  EXPECT_LE(src->chunks_read.load() - before, 4 * 4) << "the chunks of at most 2 x 2 tiles of 512";
  size_t wrong = 0;
  for (int v = 0; v < 200; ++v) {
    for (int u = 0; u < 300; ++u) wrong += out->data[(v * 300 + u) * 4] != FormulaSource::Value(0, 70000 - 150 + u, 30000 - 100 + v);
  }
  EXPECT_EQ(wrong, 0u);
  // At zoom 1/4 the file's level 2 is drawn as it is.
  req.camera.zoom = 0.25;
  out = TestEngine().Render(req);
  ASSERT_TRUE(out.ok());
  wrong = 0;
  for (int v = 0; v < 200; ++v) {
    for (int u = 0; u < 300; ++u) wrong += out->data[(v * 300 + u) * 4] != FormulaSource::Value(2, 17500 - 150 + u, 7500 - 100 + v);
  }
  EXPECT_EQ(wrong, 0u);
  // Zoomed out a level the file lacks is derived from the one below it (level 3 from 2).
  req.camera.zoom = 0.125;
  const int64_t level0 = src->level0_reads.load();
  out = TestEngine().Render(req);
  ASSERT_TRUE(out.ok());
  EXPECT_EQ(src->level0_reads.load(), level0) << "level 3 comes from the file's level 2, not level 0";
}

}  // namespace
}  // namespace tilerender::testing
