#include "core/render/colormap.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>

#include "tests/cpu_reference.h"

namespace tilerender {
namespace {

Rgba At(const std::string& name, size_t i) {
  auto lut = ResolveColormap({.name = name});
  EXPECT_TRUE(lut.ok()) << name;
  return lut->entries.at(i);
}

// Endpoints as matplotlib documents them (hex colors of its listed maps), to 1/255.
void ExpectHex(const Rgba& c, uint32_t hex) {
  EXPECT_NEAR(c.r * 255, (hex >> 16) & 255, 1.0);
  EXPECT_NEAR(c.g * 255, (hex >> 8) & 255, 1.0);
  EXPECT_NEAR(c.b * 255, hex & 255, 1.0);
}

TEST(ColormapTest, EveryDesignNameIsKnown) {
  for (const char* name : {"gray", "gray_r", "viridis", "magma", "inferno", "plasma", "cividis",
                           "turbo", "twilight", "red", "green", "blue", "cyan", "magenta", "yellow"}) {
    EXPECT_TRUE(ResolveColormap({.name = name}).ok()) << name;
    const auto& names = ColormapNames();
    EXPECT_NE(std::find(names.begin(), names.end(), name), names.end()) << name;
  }
}

TEST(ColormapTest, MatplotlibValues) {
  ExpectHex(At("viridis", 0), 0x440154);
  ExpectHex(At("viridis", 255), 0xfde725);
  ExpectHex(At("viridis", 128), 0x21918c);
  ExpectHex(At("magma", 0), 0x000004);
  ExpectHex(At("magma", 255), 0xfcfdbf);
  ExpectHex(At("inferno", 255), 0xfcffa4);
  ExpectHex(At("plasma", 0), 0x0d0887);
  ExpectHex(At("plasma", 255), 0xf0f921);
  ExpectHex(At("cividis", 0), 0x00224e);
  ExpectHex(At("turbo", 0), 0x30123b);
  ExpectHex(At("turbo", 255), 0x7a0403);
  auto twilight = ResolveColormap({.name = "twilight"});
  ASSERT_TRUE(twilight.ok());
  EXPECT_EQ(twilight->entries.size(), 510u);  // matplotlib's twilight has 510 entries
  ExpectHex(twilight->entries.front(), 0xe2d9e2);
}

// Every listed map against the published table written down in tests/cpu_reference.h (five
// entries to 1e-6, the sums of all entries), every ramp against its published definition.
TEST(ColormapTest, TablesAreThePublishedOnes) {
  for (const std::string& name : ColormapNames()) {
    auto lut = ResolveColormap({.name = name});
    ASSERT_TRUE(lut.ok()) << name;
    std::vector<std::array<double, 4>> table;
    for (const Rgba& c : lut->entries) table.push_back({c.r, c.g, c.b, c.a});
    const auto ramp = testing::RefRamp(name);
    if (!ramp.empty()) {
      EXPECT_EQ(table, ramp) << name;
    } else {
      EXPECT_EQ(testing::CheckPublishedMap(name, table), "");
    }
  }
  EXPECT_EQ(ColormapNames().size(), 8 + testing::PublishedListedMaps().size());
}

TEST(ColormapTest, RampsAreTwoEntryLuts) {
  auto cyan = ResolveColormap({.name = "cyan"});
  ASSERT_TRUE(cyan.ok());
  ASSERT_EQ(cyan->entries.size(), 2u);
  EXPECT_EQ(cyan->entries[0], (Rgba{0, 0, 0, 1}));
  EXPECT_EQ(cyan->entries[1], (Rgba{0, 1, 1, 1}));
  EXPECT_EQ(ResolveColormap({}).value().cache_key, "gray");
}

TEST(ColormapTest, ControlPointsInterpolateAndClampOutside) {
  auto lut = ResolveColormap({.points = {{0.25, {1, 0, 0, 1}}, {0.75, {0, 0, 1, 0.5f}}}});
  ASSERT_TRUE(lut.ok());
  ASSERT_EQ(lut->entries.size(), kControlPointLutSize);
  EXPECT_EQ(lut->entries[0], (Rgba{1, 0, 0, 1}));    // before the first point
  EXPECT_EQ(lut->entries[255], (Rgba{0, 0, 1, 0.5f}));  // after the last
  const Rgba mid = lut->entries[128];                 // t = 0.502: about halfway
  EXPECT_NEAR(mid.r, 0.5, 0.01);
  EXPECT_NEAR(mid.b, 0.5, 0.01);
  EXPECT_NEAR(mid.a, 0.75, 0.01);
}

TEST(ColormapTest, BadSpecsAreInvalidArgument) {
  auto unknown = ResolveColormap({.name = "jet"});
  EXPECT_EQ(unknown.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(unknown.status().message().find("twilight"), std::string::npos);
  EXPECT_FALSE(ResolveColormap({.lut = std::vector<Rgba>(100)}).ok());
  EXPECT_TRUE(ResolveColormap({.lut = std::vector<Rgba>(256)}).ok());
  EXPECT_FALSE(ResolveColormap({.points = {{1.5, {}}}}).ok());
  EXPECT_FALSE(ResolveColormap({.points = {{0.5, {NAN, 0, 0, 1}}}}).ok());
  EXPECT_FALSE(ResolveColormap({.name = "gray", .lut = std::vector<Rgba>(256)}).ok());
}

}  // namespace
}  // namespace tilerender
