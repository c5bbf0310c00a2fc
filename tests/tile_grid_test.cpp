#include "core/tiles/tile_grid.h"

#include <gtest/gtest.h>

namespace tilerender {
namespace {

TEST(TileGridTest, SplitIsBalancedWithoutSlivers) {
  for (int64_t extent : {1, 62, 64, 65, 146, 1000, 4097, 20000, 50001}) {
    for (int64_t t : {16, 64, 100, 4096}) {
      const std::vector<int64_t> cuts = SplitAxis(extent, t);
      ASSERT_EQ(cuts.front(), 0);
      ASSERT_EQ(cuts.back(), extent);
      int64_t lo = extent, hi = 0;
      for (size_t i = 1; i < cuts.size(); ++i) {
        lo = std::min(lo, cuts[i] - cuts[i - 1]);
        hi = std::max(hi, cuts[i] - cuts[i - 1]);
      }
      EXPECT_LE(hi - lo, 1) << extent << " / " << t;  // equal-ish, never a sliver
      if (cuts.size() > 2) {
        EXPECT_LE(hi + 2 * kGutter, t) << "core plus two gutters fits T";
        // The fewest tiles that fit: one fewer would not.
        const int64_t n = static_cast<int64_t>(cuts.size()) - 1;
        EXPECT_GT((extent + n - 2) / (n - 1) + 2 * kGutter, t);
      } else {
        EXPECT_LE(extent, t);
      }
    }
  }
  // 10146 with T = 4096 used to mean two full tiles and a 146-pixel sliver: now three near-equal.
  EXPECT_EQ(SplitAxis(10146, 4096), (std::vector<int64_t>{0, 3382, 6764, 10146}));
  EXPECT_EQ(kGutter, 2) << "the pyramid's 4 x 4 kernel needs two texels of overlap";
}

TEST(TileGridTest, TexturesCarryAGutterWhereANeighbourExists) {
  auto plan = PlanGrid({300, 200, PixelType::kUint8, 1}, 64, false);
  ASSERT_TRUE(plan.ok());
  const LevelPlan& l = plan->levels[0];
  for (int64_t r = 0; r < l.rows(); ++r) {
    for (int64_t c = 0; c < l.columns(); ++c) {
      const TilePlan t = l.Tile(c, r);
      EXPECT_EQ(t.texture.x0, c == 0 ? 0 : t.core.x0 - kGutter);
      EXPECT_EQ(t.texture.x1, c == l.columns() - 1 ? 300 : t.core.x1 + kGutter);
      EXPECT_LE(t.texture.width(), 64);
      EXPECT_LE(t.texture.height(), 64);
    }
  }
}

TEST(TileGridTest, RgbTilesAreThreeTexelsPerPixelWide) {
  auto plan = PlanGrid({1000, 10, PixelType::kUint8, 3}, 300, false);
  ASSERT_TRUE(plan.ok());
  EXPECT_EQ(plan->layout, TexelLayout::kRgbAsR8);
  const LevelPlan& l = plan->levels[0];
  for (int64_t c = 0; c < l.columns(); ++c) EXPECT_LE(l.Tile(c, 0).texture.width() * 3, 300);
  // Exact bytes: 3 per pixel, plus the gutter columns.
  const int64_t gutter_columns = 2 * kGutter * (l.columns() - 1);
  EXPECT_EQ(plan->LevelBytes(0), (1000 + gutter_columns) * 10 * 3);
}

TEST(TileGridTest, PyramidHalvesRoundingUpUntilSmall) {
  auto plan = PlanGrid({4000, 3000, PixelType::kUint16, 1}, 4096, true);
  ASSERT_TRUE(plan.ok());
  EXPECT_EQ(plan->levels[0].width, 4000);
  EXPECT_EQ(plan->levels[1].width, 2000);
  EXPECT_EQ(plan->levels[3].height, 375);
  EXPECT_EQ(plan->levels[4].height, 188);  // ceil(375 / 2)
  EXPECT_LE(std::max(plan->levels.back().width, plan->levels.back().height), kTopLevelMaxSide);
  EXPECT_EQ(plan->LevelBytes(0), 24'000'000);  // one tile, no gutters
  EXPECT_LT(plan->TotalBytes(), 24'000'000 * 4 / 3 + 100'000);
  EXPECT_FALSE(PlanGrid({10, 10, PixelType::kUint8, 1}, 8, true).ok());
}

}  // namespace
}  // namespace tilerender
