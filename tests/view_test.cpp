#include "core/render/view.h"

#include <gtest/gtest.h>

#include <cmath>

namespace tilerender {
namespace {

TEST(ViewTest, DefaultsFitAndCenter) {
  auto v = ResolveView({}, 400, 100, 1000, 500);
  ASSERT_TRUE(v.ok());
  EXPECT_DOUBLE_EQ(v->zoom, 0.2);
  EXPECT_DOUBLE_EQ(v->cx, 500);
  EXPECT_DOUBLE_EQ(v->cy, 250);
}

TEST(ViewTest, PositiveRotationTurnsClockwiseOnScreen) {
  auto v = ResolveView({.center_x = 0, .center_y = 0, .zoom = 2, .rotation_deg = 90}, 100, 100, 10, 10);
  ASSERT_TRUE(v.ok());
  // A point to the right of the center ends up below it (y grows downward).
  const Vec2 s = v->ToScreen({10, 0});
  EXPECT_DOUBLE_EQ(s.x, 50);
  EXPECT_DOUBLE_EQ(s.y, 70);
}

TEST(ViewTest, ToWorldInvertsToScreen) {
  auto v = ResolveView({.center_x = 12.5, .center_y = -3, .zoom = 1.37, .rotation_deg = 31}, 640, 480, 1, 1);
  ASSERT_TRUE(v.ok());
  for (Vec2 p : {Vec2{0, 0}, Vec2{100, -50}, Vec2{-7.25, 3.5}}) {
    const Vec2 back = v->ToWorld(v->ToScreen(p));
    EXPECT_NEAR(back.x, p.x, 1e-9);
    EXPECT_NEAR(back.y, p.y, 1e-9);
  }
}

TEST(ViewTest, RejectsNonFiniteAndNonPositive) {
  EXPECT_FALSE(ResolveView({.zoom = 0}, 10, 10, 10, 10).ok());
  EXPECT_FALSE(ResolveView({.zoom = -2}, 10, 10, 10, 10).ok());
  EXPECT_FALSE(ResolveView({.center_x = NAN}, 10, 10, 10, 10).ok());
  EXPECT_FALSE(ResolveView({.rotation_deg = INFINITY}, 10, 10, 10, 10).ok());
}

TEST(ViewTest, LevelSelection) {
  EXPECT_EQ(SelectLevel(1.0, 5), 0);
  EXPECT_EQ(SelectLevel(4.0, 5), 0);
  EXPECT_EQ(SelectLevel(0.72, 5), 0);
  EXPECT_EQ(SelectLevel(0.5, 5), 1);
  EXPECT_EQ(SelectLevel(0.25, 5), 2);
  EXPECT_EQ(SelectLevel(0.001, 5), 4);
  EXPECT_EQ(SelectLevel(0.001, 1), 0);
}

TEST(ViewTest, RectanglesReachingTheSamples) {
  auto v = ResolveView({.center_x = 50, .center_y = 50, .zoom = 1, .rotation_deg = 45}, 20, 20, 100, 100);
  ASSERT_TRUE(v.ok());
  EXPECT_TRUE(ReachesSamples(*v, 40, 40, 60, 60));
  EXPECT_FALSE(ReachesSamples(*v, 0, 0, 20, 20));
  // Inside the axis-aligned bounding box of the rotated viewport but outside the viewport itself.
  EXPECT_FALSE(ReachesSamples(*v, 36, 36, 38.5, 38.5));
  // A 256 x 256 view of [256, 512)^2: its samples are at 256.5 ... 511.5, so the tiles left of and
  // above it hold none, though their edges touch the viewport's.
  auto a = ResolveView({.center_x = 384, .center_y = 384, .zoom = 1}, 256, 256, 2000, 2000);
  ASSERT_TRUE(a.ok());
  EXPECT_TRUE(ReachesSamples(*a, 256, 256, 512, 512));
  EXPECT_FALSE(ReachesSamples(*a, 0, 256, 256, 512));
  EXPECT_FALSE(ReachesSamples(*a, 256, 0, 512, 256));
  EXPECT_FALSE(ReachesSamples(*a, 512, 256, 768, 512));
  EXPECT_TRUE(ReachesSamples(*a, 0, 256, 256.6, 512));
  EXPECT_TRUE(ReachesSamples(*a, 511.4, 511.4, 768, 768));
  // One pixel: its samples' hull is a point.
  auto p = ResolveView({.center_x = 10.5, .center_y = 20.5, .zoom = 1}, 1, 1, 100, 100);
  ASSERT_TRUE(p.ok());
  EXPECT_TRUE(ReachesSamples(*p, 10, 20, 11, 21));
  EXPECT_FALSE(ReachesSamples(*p, 11, 20, 12, 21));
  EXPECT_FALSE(ReachesSamples(*p, 10, 21, 11, 22));
}

}  // namespace
}  // namespace tilerender
