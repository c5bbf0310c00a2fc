// Labels layers (issue #15): segmentation images drawn with one hashed (or table) color per object
// id, id 0 transparent, over the layers below; levels by the 2 x 2 mode; contour mode. Every render
// is compared pixel for pixel with a CPU reference written here from DESIGN §3 (the hash, the mode,
// nearest sampling, the contour rule), at several tile sizes and cache states.
#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <map>

#include "core/image/image_file.h"
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
  // The id a nearest render of `level` (ids, lw x lh, 2^k level-0 pixels per texel, of an image
  // iw x ih) shows at each output pixel; 0 outside the image.
  static Ids ScreenIds(const Ids& level, int64_t lw, int64_t lh, int k, int w, int h, double zoom, double cx, double cy,
                       int64_t iw = kW, int64_t ih = kH) {
    Ids out(static_cast<size_t>(w) * h, 0);
    for (int row = 0; row < h; ++row) {
      for (int col = 0; col < w; ++col) {
        const double x = cx + (col + 0.5 - w / 2.0) / zoom, y = cy + (row + 0.5 - h / 2.0) / zoom;
        if (x < 0 || y < 0 || x >= iw || y >= ih) continue;
        const int64_t tx = std::min<int64_t>(static_cast<int64_t>(x / std::ldexp(1.0, k)), lw - 1);
        const int64_t ty = std::min<int64_t>(static_cast<int64_t>(y / std::ldexp(1.0, k)), lh - 1);
        out[static_cast<size_t>(row) * w + col] = level[static_cast<size_t>(ty * lw + tx)];
      }
    }
    return out;
  }
  // Screen ids colored over opaque black: the table's opaque colors, else the hash; alpha 0 hides.
  static std::vector<uint8_t> Colorize(const Ids& screen, uint32_t seed, std::optional<uint32_t> only = {},
                                      const std::map<uint32_t, std::array<uint8_t, 4>>& table = {}) {
    std::vector<uint8_t> out(screen.size() * 4, 0);
    for (size_t i = 0; i < screen.size(); ++i) {
      uint8_t* p = &out[i * 4];
      p[3] = 255;
      const uint32_t id = screen[i];
      if (id == 0 || (only && id != *only)) continue;
      if (auto it = table.find(id); it != table.end()) {
        if (it->second[3] == 0) continue;
        p[0] = it->second[0], p[1] = it->second[1], p[2] = it->second[2];
      } else {
        const auto c = LabelColorRef(id, seed);
        p[0] = c[0], p[1] = c[1], p[2] = c[2];
      }
    }
    return out;
  }
  // What a nearest render of `level` shows, over black.
  std::vector<uint8_t> Reference(const Ids& level, int64_t lw, int64_t lh, int k, int w, int h, double zoom, double cx,
                                 double cy, uint32_t seed, std::optional<uint32_t> only = {}) const {
    return Colorize(ScreenIds(level, lw, lh, k, w, h, zoom, cx, cy), seed, only);
  }
  // `below` alone (a gray image, `w` x `h` at zoom 1 around (cx, cy)), then with a layer of the
  // labels image `labels` in `style` over it.
  static std::pair<RenderOutput, RenderOutput> AloneAndUnderLabels(Engine& engine, const ImageHandle& below, const ImageHandle& labels,
                                                     const LabelsStyle& style, int w, int h, double cx, double cy) {
    RenderRequest alone = RawView(below, w, h, 1, cx, cy);
    auto base = engine.Render(alone);
    EXPECT_TRUE(base.ok()) << base.status().ToString();
    RenderRequest both = alone;
    Layer layer;
    layer.image = labels;
    layer.labels = style;
    both.layers.push_back(layer);
    auto over = engine.Render(both);
    EXPECT_TRUE(over.ok()) << over.status().ToString();
    return {base.ok() ? *std::move(base) : RenderOutput{}, over.ok() ? *std::move(over) : RenderOutput{}};
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
  const auto [base_frame, over_frame] = AloneAndUnderLabels(*engine, *below, *img, LabelsStyle{.seed = 42}, 257, 193, 128.5, 96.5);
  const RenderOutput* base = &base_frame;
  const RenderOutput* over = &over_frame;
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

TEST_F(LabelsTest, Uint32IdsAreStoredAsIntegersAndExact) {
  // Ids beyond 2^24 that float32 would merge (16777216 and 16777217), and ids near 2^32.
  auto id_at = [&](int64_t x, int64_t y) -> uint32_t {
    const uint32_t id = ids_[static_cast<size_t>(y * kW + x)];
    if (id == 0) return 0;
    return id % 2 ? 16777216u + id / 2 * 2 + (x % 2) : 4294967295u - id;
  };
  Ids big(ids_.size());
  for (int64_t y = 0; y < kH; ++y) {
    for (int64_t x = 0; x < kW; ++x) big[static_cast<size_t>(y * kW + x)] = id_at(x, y);
  }
  ASSERT_NE(std::find(big.begin(), big.end(), 16777217u), big.end());
  ASSERT_NE(std::find(big.begin(), big.end(), 16777216u), big.end());
  auto src = MakeImage<uint32_t>({kW, kH, PixelType::kUint32, 1}, [&](int64_t x, int64_t y, int) { return id_at(x, y); });
  int64_t lw = kW, lh = kH;
  Ids level1 = ModeLevel(big, kW, kH, &lw, &lh);
  for (int tile : {512, 64}) {
    std::unique_ptr<Engine> engine = MakeEngine({.max_tile_size = tile, .warm_up_all = false});
    auto img = engine->LoadImage(src, {.labels = true});
    ASSERT_TRUE(img.ok()) << img.status().ToString();
    // Native R32UI: 4 bytes a pixel, the raw size (gutters only between tiles).
    if (tile == 512) EXPECT_EQ((*img)->info().gpu_bytes_level0, kW * kH * 4);
    auto out = engine->Render(Request(*img, 257, 193, 1, 128.5, 96.5));
    ASSERT_TRUE(out.ok()) << out.status().ToString();
    EXPECT_EQ(out->data, Reference(big, kW, kH, 0, 257, 193, 1, 128.5, 96.5, 42)) << "tile " << tile;
    if (tile == 512) EXPECT_EQ(engine->stats().gpu.bytes, kW * kH * 4);
    auto half = engine->Render(Request(*img, 130, 100, 0.5, 128.5, 96.5));
    ASSERT_TRUE(half.ok());
    EXPECT_EQ(half->data, Reference(level1, lw, lh, 1, 130, 100, 0.5, 128.5, 96.5, 42)) << "tile " << tile;
  }
  // uint8 labels: R8UI, one byte a pixel.
  Ids bytes = ids_;
  for (uint32_t& v : bytes) v &= 255;
  std::unique_ptr<Engine> engine = MakeEngine({.warm_up_all = false});
  auto small = engine->LoadImage(MakeImage<uint8_t>({kW, kH, PixelType::kUint8, 1},
                                                    [&](int64_t x, int64_t y, int) { return bytes[static_cast<size_t>(y * kW + x)]; }),
                                 {.labels = true});
  ASSERT_TRUE(small.ok());
  EXPECT_EQ((*small)->info().gpu_bytes_level0, kW * kH);
  auto out = engine->Render(Request(*small, 257, 193, 1, 128.5, 96.5));
  ASSERT_TRUE(out.ok());
  EXPECT_EQ(out->data, Reference(bytes, kW, kH, 0, 257, 193, 1, 128.5, 96.5, 42));
  // uint32 is for ids only.
  EXPECT_EQ(engine->LoadImage(src).status().message(),
            "uint32 pixels are object ids: load or upload them as labels (or send float32)");
}

TEST_F(LabelsTest, NpyUint32FileIsReadAsUint32OnlyAsLabels) {
  const std::string path = ::testing::TempDir() + "/labels_u4.npy";
  {
    std::string bytes = NpyHeaderBytes("<u4", {kH, kW});
    for (uint32_t id : ids_) {
      const uint32_t v = id == 0 ? 0 : id + 30000000u;
      bytes.append(reinterpret_cast<const char*>(&v), 4);
    }
    FILE* f = std::fopen(path.c_str(), "wb");
    ASSERT_NE(f, nullptr);
    std::fwrite(bytes.data(), 1, bytes.size(), f);
    std::fclose(f);
  }
  auto as_labels = OpenImageFile(path, {.labels = true});
  ASSERT_TRUE(as_labels.ok()) << as_labels.status().ToString();
  EXPECT_EQ(as_labels->source->desc().type, PixelType::kUint32);
  EXPECT_TRUE(as_labels->notes.empty());
  auto as_image = OpenImageFile(path);
  ASSERT_TRUE(as_image.ok());
  EXPECT_EQ(as_image->source->desc().type, PixelType::kFloat32);
  std::unique_ptr<Engine> engine = MakeEngine({.warm_up_all = false});
  auto img = engine->LoadImage(std::move(as_labels->source), {.labels = true});
  ASSERT_TRUE(img.ok());
  Ids shifted = ids_;
  for (uint32_t& v : shifted) v = v == 0 ? 0 : v + 30000000u;
  auto out = engine->Render(Request(*img, 257, 193, 1, 128.5, 96.5));
  ASSERT_TRUE(out.ok());
  EXPECT_EQ(out->data, Reference(shifted, kW, kH, 0, 257, 193, 1, 128.5, 96.5, 42));
  std::remove(path.c_str());
}

TEST_F(LabelsTest, ColorTableOverridesTheHashAndHidesWithAlphaZero) {
  std::unique_ptr<Engine> engine = MakeEngine({.max_tile_size = 64, .warm_up_all = false});
  auto img = engine->LoadImage(pixels_, {.labels = true});
  ASSERT_TRUE(img.ok());
  std::map<uint32_t, std::array<uint8_t, 4>> table{
      {1, {255, 0, 0, 255}}, {13, {0, 0, 0, 0}}, {2000, {1, 2, 3, 255}}, {7, {10, 200, 30, 255}}, {99999, {5, 5, 5, 255}}};
  RenderRequest r = Request(*img, 257, 193, 1, 128.5, 96.5);
  for (auto it = table.rbegin(); it != table.rend(); ++it) r.layers[0].labels->colors.push_back({it->first, it->second});
  auto out = engine->Render(r);
  ASSERT_TRUE(out.ok()) << out.status().ToString();
  const Ids screen = ScreenIds(ids_, kW, kH, 0, 257, 193, 1, 128.5, 96.5);
  EXPECT_EQ(out->data, Colorize(screen, 42, {}, table));
  // A table of many entries (the binary search over several texture rows).
  std::map<uint32_t, std::array<uint8_t, 4>> many;
  for (uint32_t id = 0; id < 5000; id += 3) many[id] = {static_cast<uint8_t>(id), static_cast<uint8_t>(id >> 8), 77, 255};
  r.layers[0].labels->colors.clear();
  for (const auto& [id, c] : many) r.layers[0].labels->colors.push_back({id, c});
  auto out2 = engine->Render(r);
  ASSERT_TRUE(out2.ok());
  EXPECT_EQ(out2->data, Colorize(screen, 42, {}, many));
  // With the selection: the selected id alone, in its table color.
  r.layers[0].labels->selected = 1000;
  r.layers[0].labels->selected_only = true;
  auto only = engine->Render(r);
  ASSERT_TRUE(only.ok());
  EXPECT_EQ(only->data, Colorize(screen, 42, 1000u, many));
  // Refused: an id twice.
  r.layers[0].labels->colors.push_back({3, {1, 1, 1, 255}});
  EXPECT_EQ(engine->Render(r).status().message(), "layer 0: label 3 has two colors");
}

// Contour mode on a checkerboard of ids: squares of 8 pixels, some of them empty (0).
class ContourTest : public LabelsTest {
 protected:
  static constexpr int64_t kCw = 96, kCh = 64;
  static uint32_t CheckerId(int64_t x, int64_t y) {
    const int64_t i = x / 8, j = y / 8;
    return (i + j) % 5 == 0 ? 0 : static_cast<uint32_t>(1 + i + 12 * j);
  }
  static Ids CheckerIds() {
    Ids ids(static_cast<size_t>(kCw * kCh));
    for (int64_t y = 0; y < kCh; ++y) {
      for (int64_t x = 0; x < kCw; ++x) ids[static_cast<size_t>(y * kCw + x)] = CheckerId(x, y);
    }
    return ids;
  }
  // The contour rule (DESIGN §3): an object pixel with another id (or none) within `width` pixels
  // in x and y, the window clipped to the screen.
  static Ids Contour(const Ids& screen, int w, int h, int width) {
    Ids out(screen.size(), 0);
    for (int y = 0; y < h; ++y) {
      for (int x = 0; x < w; ++x) {
        const uint32_t id = screen[static_cast<size_t>(y) * w + x];
        bool border = false;
        for (int v = std::max(0, y - width); v <= std::min(h - 1, y + width) && !border; ++v) {
          for (int u = std::max(0, x - width); u <= std::min(w - 1, x + width); ++u) {
            if (screen[static_cast<size_t>(v) * w + u] != id) {
              border = true;
              break;
            }
          }
        }
        if (id != 0 && border) out[static_cast<size_t>(y) * w + x] = id;
      }
    }
    return out;
  }
};

TEST_F(ContourTest, BordersOfACheckerboardAtAnyTileSizeZoomAndWidth) {
  const Ids ids = CheckerIds();
  auto src = MakeImage<uint16_t>({kCw, kCh, PixelType::kUint16, 1}, [](int64_t x, int64_t y, int) { return CheckerId(x, y); });
  int64_t lw, lh;
  const Ids level1 = ModeLevel(ids, kCw, kCh, &lw, &lh);
  struct Case {
    int w, h;
    double zoom, cx, cy;
    int width, level;
  };
  const std::vector<Case> cases{{96, 64, 1, 48, 32, 1, 0},      {120, 80, 1, 48, 32, 2, 0},  // the image's edge inside the view
                                {100, 90, 2.5, 30.3, 20.7, 2, 0}, {64, 48, 3, 48, 32, 5, 0},
                                {48, 32, 0.5, 48, 32, 1, 1}};
  std::vector<std::vector<uint8_t>> first;
  for (int tile : {512, 32, 16}) {
    // The smallest tiles with a budget of a few tiles: the layer is drawn in many batches.
    std::unique_ptr<Engine> engine = MakeEngine({.max_tile_size = tile, .warm_up_all = false});
    auto img = engine->LoadImage(src, {.labels = true});
    ASSERT_TRUE(img.ok()) << img.status().ToString();
    for (size_t k = 0; k < cases.size(); ++k) {
      const Case& c = cases[k];
      RenderRequest r = Request(*img, c.w, c.h, c.zoom, c.cx, c.cy);
      r.layers[0].labels->contour = c.width;
      auto out = engine->Render(r);
      ASSERT_TRUE(out.ok()) << out.status().ToString();
      const Ids screen = c.level == 0 ? ScreenIds(ids, kCw, kCh, 0, c.w, c.h, c.zoom, c.cx, c.cy, kCw, kCh)
                                      : ScreenIds(level1, lw, lh, 1, c.w, c.h, c.zoom, c.cx, c.cy, kCw, kCh);
      const std::vector<uint8_t> want = Colorize(Contour(screen, c.w, c.h, c.width), 42);
      int wrong = 0;
      for (size_t i = 0; i < want.size(); ++i) wrong += out->data[i] != want[i];
      EXPECT_EQ(wrong, 0) << "tile " << tile << ", case " << k;
      // Not a filled render, not empty.
      EXPECT_NE(want, Colorize(screen, 42));
      EXPECT_NE(want, Colorize(Ids(screen.size(), 0), 42));
      if (tile == 512) first.push_back(out->data);
      else EXPECT_EQ(out->data, first[k]) << "tile-size invariant";
      auto warm = engine->Render(r);
      ASSERT_TRUE(warm.ok());
      EXPECT_EQ(warm->data, out->data) << "cache-state invariant";
    }
  }
}

TEST_F(ContourTest, SelectionTableOverAnImageAndRefusals) {
  std::unique_ptr<Engine> engine = MakeEngine({.max_tile_size = 32, .warm_up_all = false});
  const Ids ids = CheckerIds();
  auto img = engine->LoadImage(MakeImage<uint8_t>({kCw, kCh, PixelType::kUint8, 1}, [](int64_t x, int64_t y, int) { return CheckerId(x, y); }),
                               {.labels = true});
  ASSERT_TRUE(img.ok());
  auto below = engine->LoadImage(MakeImage<uint8_t>({kCw, kCh, PixelType::kUint8, 1}, [](int64_t x, int64_t y, int) { return (x * 5 + y * 3) & 255; }));
  ASSERT_TRUE(below.ok());
  const LabelsStyle style{.seed = 42, .selected = 14, .selected_only = true, .colors = {{14, {0, 255, 0, 255}}}, .contour = 1};
  const auto [base_frame, over_frame] = AloneAndUnderLabels(*engine, *below, *img, style, 96, 64, 48, 32);
  const RenderOutput* base = &base_frame;
  const RenderOutput* out = &over_frame;
  const Ids contour = Contour(ScreenIds(ids, kCw, kCh, 0, 96, 64, 1, 48, 32, kCw, kCh), 96, 64, 1);
  int green = 0;
  for (size_t p = 0; p < contour.size(); ++p) {
    const bool drawn = contour[p] == 14;
    green += drawn;
    for (int c = 0; c < 4; ++c) {
      const uint8_t want = drawn ? std::array<uint8_t, 4>{0, 255, 0, 255}[c] : base->data[p * 4 + c];
      ASSERT_EQ(out->data[p * 4 + c], want) << "pixel " << p << " c " << c << " id " << ids[p] << " base " << int(base->data[p * 4]) << "," << int(base->data[p * 4 + 1]) << " got " << int(out->data[p * 4]) << "," << int(out->data[p * 4 + 1]) << "," << int(out->data[p * 4 + 2]) << "," << int(out->data[p * 4 + 3]);
    }
  }
  EXPECT_EQ(green, 28) << "the 8 x 8 square's 1-pixel border";
  RenderRequest wide = RawView(*below, 96, 64, 1, 48, 32);
  Layer too_wide;
  too_wide.image = *img;
  too_wide.labels = LabelsStyle{.contour = kMaxContourWidth + 1};
  wide.layers.push_back(too_wide);
  EXPECT_EQ(engine->Render(wide).status().message(), "layer 1: contour width must be 0 (filled) to 64 screen pixels, got 65");
}

}  // namespace
}  // namespace tilerender::testing
