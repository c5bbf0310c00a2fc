// The tile plan (pure arithmetic): regular grids that partition every level, tiles aligned to a
// file's chunks, levels from the source where it has them and derived (halved, rounded up) where
// it does not, exact byte counts.
#include "core/tiles/tile_grid.h"

#include <gtest/gtest.h>

namespace tilerender {
namespace {

// Every pixel of every level belongs to exactly one tile.
void ExpectPartition(const LevelPlan& l) {
  std::vector<int> owners(static_cast<size_t>(l.width * l.height), 0);
  for (int64_t r = 0; r < l.rows(); ++r) {
    for (int64_t c = 0; c < l.columns(); ++c) {
      const PixelRect t = l.Tile(c, r);
      ASSERT_FALSE(t.empty()) << "tile " << c << "," << r << " of level " << l.level;
      EXPECT_LE(t.width(), l.tile_width);
      EXPECT_LE(t.height(), l.tile_height);
      for (int64_t y = t.y0; y < t.y1; ++y) {
        for (int64_t x = t.x0; x < t.x1; ++x) ++owners[static_cast<size_t>(y * l.width + x)];
      }
    }
  }
  for (int n : owners) ASSERT_EQ(n, 1) << "level " << l.level;
}

TEST(TileGridTest, InMemoryImageDerivesEveryLevel) {
  const ImageDesc desc{1000, 301, PixelType::kUint16, 1};
  auto plan = PlanImage(desc, {{0, 1000, 301, 1000, 301}}, 128, 16384, true);
  ASSERT_TRUE(plan.ok()) << plan.status().ToString();
  // 1000 -> 500 -> 250 -> 125 -> 63 -> 32 -> 16: stops once the larger side is <= 16.
  const int64_t widths[] = {1000, 500, 250, 125, 63, 32, 16};
  const int64_t heights[] = {301, 151, 76, 38, 19, 10, 5};
  ASSERT_EQ(plan->levels.size(), 7u);
  for (size_t k = 0; k < plan->levels.size(); ++k) {
    const LevelPlan& l = plan->levels[k];
    EXPECT_EQ(l.level, static_cast<int>(k));
    EXPECT_EQ(l.width, widths[k]);
    EXPECT_EQ(l.height, heights[k]);
    EXPECT_EQ(l.from_source(), k == 0);
    EXPECT_EQ(l.tile_width, std::min<int64_t>(128, l.width));
    ExpectPartition(l);
  }
  EXPECT_EQ(plan->levels[0].columns(), 8);  // 7 x 128 + 104
  EXPECT_EQ(plan->levels[0].rows(), 3);
  // Textures hold their pixels plus a one-texel gutter right and below where a neighbour is.
  const LevelPlan& l0 = plan->levels[0];
  EXPECT_EQ(plan->TileBytes(l0, 7, 2), 104 * 45 * 2) << "the last tile has no neighbours";
  EXPECT_EQ(plan->TileBytes(l0, 0, 0), 129 * 129 * 2);
  EXPECT_EQ(plan->TileBytes(l0, 7, 0), 104 * 129 * 2);
  int64_t sum = 0;
  for (int64_t r = 0; r < l0.rows(); ++r) {
    for (int64_t c = 0; c < l0.columns(); ++c) sum += plan->TileBytes(l0, c, r);
  }
  EXPECT_EQ(plan->LevelBytes(0), sum);
  EXPECT_EQ(plan->LevelBytes(0), (1000 + 7) * (301 + 2) * 2);
  EXPECT_FALSE(PlanImage(desc, {{0, 1000, 301, 1000, 301}}, 128, 16384, false)->levels.size() != 1);
}

TEST(TileGridTest, FileLevelsAreUsedWithTheirOwnSizes) {
  // A vips-like page pyramid: 256 x 256 tiles, floor-halved levels down to 187 x 156.
  const ImageDesc desc{24000, 20001, PixelType::kUint8, 3};
  std::vector<SourceLevel> levels = {{0, 24000, 20001, 256, 256}, {1, 12000, 10000, 256, 256},
                                     {3, 3000, 2500, 256, 256},   {7, 187, 156, 256, 256}};
  auto plan = PlanImage(desc, levels, 512, 16384, true);
  ASSERT_TRUE(plan.ok());
  ASSERT_GE(plan->levels.size(), 12u);
  EXPECT_TRUE(plan->levels[1].from_source());
  EXPECT_EQ(plan->levels[1].height, 10000);  // the file's floor, not ceil(20001 / 2)
  EXPECT_FALSE(plan->levels[2].from_source());
  EXPECT_EQ(plan->levels[2].width, 6000);  // derived from the file's level 1
  EXPECT_EQ(plan->levels[2].height, 5000);
  EXPECT_TRUE(plan->levels[3].from_source());
  EXPECT_EQ(plan->levels[3].source_index, 2);
  EXPECT_TRUE(plan->levels[7].from_source());
  EXPECT_EQ(plan->levels[8].width, 94);  // derived past the file's coarsest level
  EXPECT_EQ(plan->levels.back().width, 12);
  for (const LevelPlan& l : plan->levels) {
    if (l.from_source()) {
      // Whole chunks per tile: one 256 x 256 file tile (the fewest that reach 256 pixels), or the
      // whole level when smaller.
      EXPECT_EQ(l.chunk_width, 256);
      EXPECT_EQ(l.tile_width, std::min<int64_t>(256, l.width)) << l.level;
      EXPECT_EQ(l.tile_height, std::min<int64_t>(256, l.height)) << l.level;
    } else {
      EXPECT_EQ(l.chunk_width, l.tile_width) << "a derived level's chunks are its tiles";
    }
  }
  ExpectPartition(plan->levels[7]);
}

TEST(TileGridTest, TilesAreWholeChunksOrTheWantedSize) {
  const ImageDesc desc{5000, 3000, PixelType::kUint8, 1};
  struct Case {
    int64_t chunk_w, chunk_h;
    int tile;
    int64_t want_w, want_h;
  } cases[] = {
      // The fewest whole chunks that reach 256 pixels, within the wanted side:
      {240, 240, 512, 480, 480},    // SVS-like 240 tiles: two per tile
      {256, 256, 512, 256, 256},    // one file tile per GPU tile
      {64, 64, 512, 256, 256},      // four
      {512, 512, 1024, 512, 512},
      {1024, 1024, 512, 512, 512},  // chunks larger than a tile: tiles are sub-rectangles
      {5000, 16, 512, 512, 256},    // strips: full width, 16 rows: sixteen per tile
      {5000, 100, 512, 512, 300},   // 100-row strips: three per tile
      {96, 96, 100, 96, 96},        // no more than the wanted side
  };
  for (const Case& c : cases) {
    auto plan = PlanImage(desc, {{0, 5000, 3000, c.chunk_w, c.chunk_h}}, c.tile, 16384, false);
    ASSERT_TRUE(plan.ok());
    EXPECT_EQ(plan->levels[0].tile_width, c.want_w) << c.chunk_w << "x" << c.chunk_h << " chunks";
    EXPECT_EQ(plan->levels[0].tile_height, c.want_h) << c.chunk_w << "x" << c.chunk_h << " chunks";
  }
}

TEST(TileGridTest, RgbTexturesStayWithinTheMaximumWidth) {
  // RGB takes three R8 texels per pixel: a 4096-texel limit allows 1364 pixels and a gutter.
  auto plan = PlanImage({10000, 100, PixelType::kUint8, 3}, {{0, 10000, 100, 10000, 100}}, 4096, 4096, false);
  ASSERT_TRUE(plan.ok());
  EXPECT_EQ(plan->levels[0].tile_width, 1364);
  EXPECT_EQ(plan->levels[0].columns(), 8);
  EXPECT_EQ(plan->TextureWidth(plan->levels[0], 0), 1365 * 3);
  EXPECT_EQ(plan->LevelBytes(0), (10000 + 7) * 100 * 3);
}

TEST(TileGridTest, BadPlansAreRefused) {
  EXPECT_FALSE(PlanImage({10, 10, PixelType::kUint8, 1}, {{0, 10, 10, 10, 10}}, 8, 16384, true).ok());
  EXPECT_FALSE(PlanImage({10, 10, PixelType::kUint8, 1}, {{0, 11, 10, 10, 10}}, 64, 16384, true).ok());
  EXPECT_FALSE(PlanImage({10, 10, PixelType::kUint8, 1}, {}, 64, 16384, true).ok());
}

}  // namespace
}  // namespace tilerender
