// Labels layers (issue #15): segmentation images drawn with one hashed color per object id, id 0
// transparent, over the layers below; levels by the 2 x 2 mode. Every render is compared pixel for
// pixel with a CPU reference written here from DESIGN §3 (the hash, the mode, nearest sampling),
// at several tile sizes and cache states.
#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <cmath>

#include "tests/test_util.h"

namespace tilerender::testing {
namespace {

// DESIGN §3: lowbias32 of id * 0x9E3779B1 ^ seed * 0x85EBCA77, bytes mapped to [64, 255].
std::array<uint8_t, 3> LabelColorRef(uint32_t id, uint32_t seed) {
  uint32_t h = (id * 0x9E3779B1u) ^ (seed * 0x85EBCA77u);
  h ^= h >> 16;
  h *= 0x7FEB352Du;
  h ^= h >> 15;
  h *= 0x846CA68Bu;
  h ^= h >> 16;
  std::array<uint8_t, 3> c;
  for (int i = 0; i < 3; ++i) c[i] = static_cast<uint8_t>(64 + ((h >> (8 * i)) & 255u) * 191u / 255u);
  return c;
}

using Ids = std::vector<uint32_t>;  // row-major, w x h

// The 2 x 2 mode, ties to the first of TL, TR, BL, BR (written out from the definition).
Ids ModeLevel(const Ids& src, int64_t w, int64_t h, int64_t* ow, int64_t* oh) {
  *ow = (w + 1) / 2;
  *oh = (h + 1) / 2;
  Ids out(static_cast<size_t>(*ow * *oh));
  for (int64_t y = 0; y < *oh; ++y) {
    for (int64_t x = 0; x < *ow; ++x) {
      std::vector<uint32_t> block;
      for (int64_t dy = 0; dy < 2; ++dy) {
        for (int64_t dx = 0; dx < 2; ++dx) {
          if (2 * x + dx < w && 2 * y + dy < h) block.push_back(src[static_cast<size_t>((2 * y + dy) * w + 2 * x + dx)]);
        }
      }
      uint32_t best = block[0];
      long best_n = 0;
      for (uint32_t v : block) {
        const long n = std::count(block.begin(), block.end(), v);
        if (n > best_n) best = v, best_n = n;
      }
      out[static_cast<size_t>(y * *ow + x)] = best;
    }
  }
  return out;
}

class LabelsTest : public ::testing::Test {
 protected:
  static constexpr int64_t kW = 257, kH = 193;
  void SetUp() override {
    ids_.resize(static_cast<size_t>(kW * kH));
    for (int64_t y = 0; y < kH; ++y) {
      for (int64_t x = 0; x < kW; ++x) {
        // Blobs of ids 0..39, a 1-pixel checkerboard of two ids in one corner, stripes of width 1.
        uint32_t id = static_cast<uint32_t>((x / 23 + (y / 17) * 13) % 40);
        if (x < 40 && y < 30) id = (x + y) % 2 ? 1000 : 2000;
        if (x > 200 && y > 150) id = x % 3 == 0 ? 7 : 0;
        ids_[static_cast<size_t>(y * kW + x)] = id;
      }
    }
    pixels_ = MakeImage<uint16_t>({kW, kH, PixelType::kUint16, 1},
                                  [&](int64_t x, int64_t y, int) { return ids_[static_cast<size_t>(y * kW + x)]; });
  }
  RenderRequest Request(const ImageHandle& img, int w, int h, double zoom, double cx, double cy) const {
    RenderRequest r = RawView(img, w, h, zoom, cx, cy);
    r.layers[0].labels = LabelsStyle{.seed = 42};
    return r;
  }
  // What a nearest render of `level` (ids, lw x lh, 2^k level-0 pixels per texel) shows, over black.
  std::vector<uint8_t> Reference(const Ids& level, int64_t lw, int64_t lh, int k, int w, int h, double zoom, double cx,
                                 double cy, uint32_t seed, std::optional<uint32_t> only = {}) const {
    std::vector<uint8_t> out(static_cast<size_t>(w) * h * 4, 0);
    for (int row = 0; row < h; ++row) {
      for (int col = 0; col < w; ++col) {
        uint8_t* p = &out[(static_cast<size_t>(row) * w + col) * 4];
        p[3] = 255;
        const double x = cx + (col + 0.5 - w / 2.0) / zoom, y = cy + (row + 0.5 - h / 2.0) / zoom;
        if (x < 0 || y < 0 || x >= kW || y >= kH) continue;
        const int64_t tx = std::min<int64_t>(static_cast<int64_t>(x / std::ldexp(1.0, k)), lw - 1);
        const int64_t ty = std::min<int64_t>(static_cast<int64_t>(y / std::ldexp(1.0, k)), lh - 1);
        const uint32_t id = level[static_cast<size_t>(ty * lw + tx)];
        if (id == 0 || (only && id != *only)) continue;
        const auto c = LabelColorRef(id, seed);
        p[0] = c[0], p[1] = c[1], p[2] = c[2];
      }
    }
    return out;
  }
  Ids ids_;
  std::shared_ptr<BufferSource> pixels_;
};

TEST_F(LabelsTest, EveryPixelIsItsIdsHashedColorAtAnyTileSizeAndLevel) {
  // The levels the engine derives, from the definition.
  std::vector<Ids> levels{ids_};
  std::vector<std::pair<int64_t, int64_t>> sizes{{kW, kH}};
  for (int k = 1; k <= 3; ++k) {
    int64_t w, h;
    levels.push_back(ModeLevel(levels.back(), sizes.back().first, sizes.back().second, &w, &h));
    sizes.push_back({w, h});
  }
  for (int tile : {512, 64, 48}) {
    std::unique_ptr<Engine> engine = MakeEngine({.max_tile_size = tile, .warm_up_all = false});
    auto img = engine->LoadImage(pixels_, {.labels = true});
    ASSERT_TRUE(img.ok()) << img.status().ToString();
    EXPECT_TRUE((*img)->info().labels);
    struct Case {
      int w, h;
      double zoom, cx, cy;
      int level;
    };
    for (const Case& c : std::vector<Case>{{257, 193, 1, 128.5, 96.5, 0}, {300, 200, 3, 30.25, 20.5, 0},
                                           {130, 100, 0.5, 128.5, 96.5, 1}, {70, 50, 0.25, 128.5, 96.5, 2},
                                           {40, 30, 0.125, 128.5, 96.5, 3}}) {
      RenderRequest r = Request(*img, c.w, c.h, c.zoom, c.cx, c.cy);
      r.layers[0].interpolation = Interpolation::kLinear;  // ignored: ids are never interpolated
      auto out = engine->Render(r);
      ASSERT_TRUE(out.ok()) << out.status().ToString();
      const auto& [lw, lh] = sizes[static_cast<size_t>(c.level)];
      const std::vector<uint8_t> want = Reference(levels[static_cast<size_t>(c.level)], lw, lh, c.level, c.w, c.h, c.zoom, c.cx, c.cy, 42);
      int wrong = 0;
      for (size_t i = 0; i < want.size(); ++i) wrong += out->data[i] != want[i];
      EXPECT_EQ(wrong, 0) << "tile " << tile << ", zoom " << c.zoom;
      EXPECT_TRUE(out->contrasts.empty()) << "a labels layer has no contrast";
      // Warm (every tile resident): the same.
      auto again = engine->Render(r);
      ASSERT_TRUE(again.ok());
      EXPECT_EQ(again->data, out->data);
    }
  }
}

TEST_F(LabelsTest, SelectionSeedAndTheLayersBelow) {
  std::unique_ptr<Engine> engine = MakeEngine({.warm_up_all = false});
  auto img = engine->LoadImage(pixels_, {.labels = true});
  ASSERT_TRUE(img.ok());
  // The selected id alone.
  RenderRequest r = Request(*img, 257, 193, 1, 128.5, 96.5);
  r.layers[0].labels = LabelsStyle{.seed = 42, .selected = 13, .selected_only = true};
  auto only = engine->Render(r);
  ASSERT_TRUE(only.ok());
  EXPECT_EQ(only->data, Reference(ids_, kW, kH, 0, 257, 193, 1, 128.5, 96.5, 42, 13u));
  // Highlighted: the selected at full color, the others at a quarter (over black: a quarter of
  // their color, within the target's rounding).
  r.layers[0].labels->selected_only = false;
  auto hi = engine->Render(r);
  ASSERT_TRUE(hi.ok());
  const std::vector<uint8_t> full = Reference(ids_, kW, kH, 0, 257, 193, 1, 128.5, 96.5, 42);
  int checked = 0;
  for (size_t p = 0; p < ids_.size(); ++p) {
    const uint32_t id = ids_[p];
    for (int c = 0; c < 3; ++c) {
      const double want = id == 13 ? full[p * 4 + c] : full[p * 4 + c] * 0.25;
      EXPECT_LE(std::abs(hi->data[p * 4 + c] - want), 0.5 + 1e-9) << "pixel " << p << " id " << id;
    }
    checked += id != 0 && id != 13;
  }
  EXPECT_GT(checked, 1000);
  // Another seed: other colors, by the same formula.
  r.layers[0].labels = LabelsStyle{.seed = 7};
  auto seeded = engine->Render(r);
  ASSERT_TRUE(seeded.ok());
  EXPECT_EQ(seeded->data, Reference(ids_, kW, kH, 0, 257, 193, 1, 128.5, 96.5, 7));
  EXPECT_NE(seeded->data, full);

  // Over an image: where the id is 0 the image below shows, elsewhere the label's color.
  auto below = engine->LoadImage(MakeImage<uint8_t>({kW, kH, PixelType::kUint8, 1}, [](int64_t x, int64_t y, int) { return (x * 3 + y) & 255; }));
  ASSERT_TRUE(below.ok());
  RenderRequest image_only = Request(*below, 257, 193, 1, 128.5, 96.5);
  image_only.layers[0].labels.reset();
  auto base = engine->Render(image_only);
  ASSERT_TRUE(base.ok());
  RenderRequest both = image_only;
  Layer labels;
  labels.image = *img;
  labels.labels = LabelsStyle{.seed = 42};
  both.layers.push_back(labels);
  auto over = engine->Render(both);
  ASSERT_TRUE(over.ok());
  for (size_t p = 0; p < ids_.size(); ++p) {
    for (int c = 0; c < 4; ++c) {
      const uint8_t want = ids_[p] == 0 ? base->data[p * 4 + c] : full[p * 4 + c];
      ASSERT_EQ(over->data[p * 4 + c], want) << "pixel " << p;
    }
  }
}

TEST_F(LabelsTest, FloatIdsAndRefusals) {
  std::unique_ptr<Engine> engine = MakeEngine({.warm_up_all = false});
  // uint32 files are read as float32: whole numbers up to 2^24 are exact ids.
  auto big = MakeImage<float>({kW, kH, PixelType::kFloat32, 1}, [&](int64_t x, int64_t y, int) {
    const uint32_t id = ids_[static_cast<size_t>(y * kW + x)];
    return static_cast<float>(id == 0 ? 0 : id + 16000000);
  });
  auto img = engine->LoadImage(big, {.labels = true});
  ASSERT_TRUE(img.ok());
  Ids shifted = ids_;
  for (uint32_t& v : shifted) v = v == 0 ? 0 : v + 16000000;
  auto out = engine->Render(Request(*img, 257, 193, 1, 128.5, 96.5));
  ASSERT_TRUE(out.ok()) << out.status().ToString();
  EXPECT_EQ(out->data, Reference(shifted, kW, kH, 0, 257, 193, 1, 128.5, 96.5, 42));

  auto plain = engine->LoadImage(pixels_);
  ASSERT_TRUE(plain.ok());
  EXPECT_EQ(engine->Render(Request(*plain, 10, 10, 1, 5, 5)).status().message(), "layer 0: a labels style needs an image loaded as labels");
  RenderRequest r = Request(*img, 10, 10, 1, 5, 5);
  r.layers[0].auto_contrast = AutoContrast{};
  EXPECT_EQ(engine->Render(r).status().message(), "layer 0: a labels image has no contrast to choose");
  auto rgb = engine->LoadImage(MakeImage<uint8_t>({4, 4, PixelType::kUint8, 3}, [](int64_t, int64_t, int) { return 1; }), {.labels = true});
  EXPECT_EQ(rgb.status().message(), "labels images have one channel of object ids, not 3");
}

}  // namespace
}  // namespace tilerender::testing
