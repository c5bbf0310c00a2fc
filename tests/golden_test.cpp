// The goldens in tests/golden/ against the renderer, here and not only in the Docker recipe:
// every view of docker/regression/manifest.json rendered by the real daemon on Mesa llvmpipe
// (forced, so a machine with a GPU checks the same thing) must equal its golden exactly, one golden
// per view and one view per golden; and a few goldens must agree with the CPU reference
// (tests/cpu_reference.h), so that `compare --update` cannot bless a wrong render unnoticed.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <set>

#include "client/batch.h"
#include "client/compare.h"
#include "core/render/colormap.h"
#include "tests/cpu_reference.h"
#include "tests/daemon_fixture.h"
#include "tests/temp_dir.h"

namespace tilerender::testing {
namespace {

namespace fs = std::filesystem;

const std::string kManifest = std::string(SOURCE_DIR) + "/docker/regression/manifest.json";
const std::string kGoldens = std::string(SOURCE_DIR) + "/tests/golden";
const std::string kData = std::string(SOURCE_DIR) + "/tests/data";

client::RgbaImage ReadPng(const std::string& path) {
  auto png = client::ReadPngRgba(path);
  EXPECT_TRUE(png.ok()) << path << ": " << png.status().ToString();
  return png.ok() ? *png : client::RgbaImage{};
}

TEST(GoldenTest, EveryManifestViewEqualsItsGoldenOnLlvmpipe) {
  auto views = client::ReadManifestViews(kManifest);
  ASSERT_TRUE(views.ok()) << views.status().ToString();
  std::set<std::string> outputs, goldens;
  for (const client::ManifestView& v : *views) {
    ASSERT_TRUE(v.request.ok()) << v.name << ": " << v.request.status().ToString();
    outputs.insert(v.output);
  }
  for (const auto& e : fs::directory_iterator(kGoldens)) goldens.insert(e.path().filename().string());
  EXPECT_EQ(outputs, goldens) << "one golden per manifest view, one view per golden";
  ASSERT_EQ(outputs.size(), 22u);

  Daemon d({"--egl-device", "surfaceless"});
  TestTempDir out;
  std::string log;
  ASSERT_EQ(RunCommand(std::string(TILERENDER_CLI_PATH) + " --server " + d.address() + " batch " + kManifest +
                           " --out-dir " + out.path() + " 2>&1",
                       &log),
            0)
      << log;
  int compared = 0;
  for (const std::string& name : outputs) {
    const client::RgbaImage golden = ReadPng(kGoldens + "/" + name), actual = ReadPng(out / name);
    ASSERT_EQ(actual.width, golden.width) << name;
    ASSERT_EQ(actual.height, golden.height) << name;
    const client::CompareResult r = client::ComparePixels(golden, actual, 0);
    EXPECT_EQ(r.differing, 0) << name << ": " << r.differing << " of " << r.pixels << " pixels differ, by up to "
                              << r.max_diff;
    // And the PNG kind (RGB for an opaque background, RGBA otherwise): byte 25 is IHDR's colour type.
    std::ifstream g(kGoldens + "/" + name, std::ios::binary), a(out / name, std::ios::binary);
    char gh[26] = {}, ah[26] = {};
    g.read(gh, 26);
    a.read(ah, 26);
    EXPECT_EQ(gh[25], ah[25]) << name;
    ++compared;
  }
  EXPECT_EQ(compared, 22);
}

// ---- A few goldens against the CPU reference ----------------------------------------------------

// tests/data/zone16.npy: a little-endian uint16 C-order (300, 400) array written by numpy (format
// 1.0), read here by hand.
std::vector<uint8_t> ReadZone16(int64_t* w, int64_t* h) {
  std::ifstream f(kData + "/zone16.npy", std::ios::binary);
  std::string s((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  EXPECT_EQ(s.substr(0, 8), std::string("\x93NUMPY\x01\x00", 8));
  const size_t header_len = static_cast<uint8_t>(s[8]) | static_cast<uint8_t>(s[9]) << 8;
  const std::string header = s.substr(10, header_len);
  EXPECT_NE(header.find("'descr': '<u2'"), std::string::npos) << header;
  EXPECT_NE(header.find("'fortran_order': False"), std::string::npos) << header;
  EXPECT_NE(header.find("'shape': (300, 400)"), std::string::npos) << header;
  *w = 400, *h = 300;
  std::vector<uint8_t> data(s.begin() + 10 + header_len, s.end());
  EXPECT_EQ(data.size(), size_t{400} * 300 * 2);
  return data;
}

// Scalar image from a decoded gray PNG (R of the RGBA decode), or RGB from an RGB one.
std::vector<uint8_t> Channels(const client::RgbaImage& img, int channels) {
  std::vector<uint8_t> out;
  for (size_t i = 0; i < img.px.size(); i += 4) out.insert(out.end(), img.px.begin() + i, img.px.begin() + i + channels);
  return out;
}

// A listed map as the reference uses it: core's table once it has proved to be the published one.
std::vector<std::array<double, 4>> Listed(const std::string& name) {
  auto lut = ResolveColormap({.name = name});
  std::vector<std::array<double, 4>> t;
  if (lut.ok()) {
    for (const Rgba& c : lut->entries) t.push_back({c.r, c.g, c.b, c.a});
  }
  EXPECT_EQ(CheckPublishedMap(name, t), "");
  return t;
}

struct Anchor {
  const char* golden;
  RefView view;
  std::vector<RefLayer> layers;
  int tolerance;  // per channel; at most 0.1 % of the pixels beyond it
};

TEST(GoldenTest, GoldensAgreeWithTheCpuReference) {
  const client::RgbaImage gray_png = ReadPng(kData + "/gray8.png"), rgb_png = ReadPng(kData + "/rgb8.png");
  ASSERT_EQ(gray_png.width, 320);
  ASSERT_EQ(rgb_png.width, 260);
  const std::vector<uint8_t> gray_px = Channels(gray_png, 1), rgb_px = Channels(rgb_png, 3);
  int64_t zw, zh;
  const std::vector<uint8_t> zone_px = ReadZone16(&zw, &zh);
  const RefImage gray{{320, 240, PixelType::kUint8, 1}, gray_px.data()};
  const RefImage rgb{{260, 180, PixelType::kUint8, 3}, rgb_px.data()};
  const RefImage zone{{zw, zh, PixelType::kUint16, 1}, zone_px.data()};
  // uint16 default contrast: the image's own [min, max] (DESIGN §3).
  double zmin = 65535, zmax = 0;
  for (int64_t y = 0; y < zh; ++y) {
    for (int64_t x = 0; x < zw; ++x) zmin = std::min(zmin, zone.Sample(x, y, 0)), zmax = std::max(zmax, zone.Sample(x, y, 0));
  }
  auto scalar = [](const RefImage& img, std::vector<std::array<double, 4>> lut, double lo, double hi) {
    RefLayer l{.image = img, .lut = std::move(lut)};
    l.lo.fill(lo);
    l.hi.fill(hi);
    return l;
  };
  // Views as docker/regression/manifest.json gives them (default size 480 x 360; the default camera
  // fits the largest image: zoom min(480 / w, 360 / h) about its center).
  std::vector<Anchor> anchors;
  {
    RefLayer l = scalar(gray, RefRamp("gray"), 0, 255);
    anchors.push_back({"gray-zoom4-nearest.png", {320, 240, 175.5, 120.25, 4, 0}, {l}, 0});
    l.linear = true;
    anchors.push_back({"gray-zoom4-linear.png", {320, 240, 175.5, 120.25, 4, 0}, {l}, 1});
  }
  {
    RefLayer l = scalar(zone, Listed("viridis"), 10000, 50000);
    l.gamma = 0.6;
    l.linear = true;
    anchors.push_back({"zone-contrast-gamma.png", {480, 360, 200, 150, 1.2, 0}, {l}, 2});
  }
  anchors.push_back({"zone-rot90.png", {300, 400, 200, 150, 1, 90}, {scalar(zone, Listed("cividis"), zmin, zmax)}, 2});
  {
    RefLayer l{.image = rgb, .lo = {0, 64, 255}, .hi = {128, 255, 0}, .gamma = 1.5};
    anchors.push_back({"rgb-channel-contrast.png", {480, 360, 130, 90, 480.0 / 260, 0}, {l}, 2});
  }
  {
    RefLayer a = scalar(gray, RefRamp("magenta"), 0, 255), b = scalar(zone, RefRamp("green"), zmin, zmax);
    a.blend = b.blend = 1;  // additive
    b.opacity = 0.7;
    // Two images: the world is the larger one's, 400 x 300.
    anchors.push_back({"overlay-additive.png", {480, 360, 200, 150, 1.2, 0}, {a, b}, 2});
  }
  {
    RefLayer l{.image = rgb, .linear = true};
    anchors.push_back({"rgb-zoom2-linear.png", {300, 200, 130, 90, 2, 0}, {l}, 1});
  }
  {
    RefLayer a = scalar(zone, RefRamp("gray"), zmin, zmax), b{.image = rgb, .opacity = 0.5};
    a.linear = b.linear = true;
    anchors.push_back({"overlay-translucent.png", {480, 360, 200, 150, 1.2, 10}, {a, b}, 1});
  }
  for (const Anchor& k : anchors) {
    const client::RgbaImage golden = ReadPng(kGoldens + "/" + k.golden);
    ASSERT_EQ(golden.width, k.view.width) << k.golden;
    ASSERT_EQ(golden.height, k.view.height) << k.golden;
    const std::vector<uint8_t> ref = RefRender(k.view, k.layers);
    const Diff d = CompareRgba(golden.px, ref, k.tolerance);
    EXPECT_LE(d.over, d.pixels / 1000) << k.golden << ": " << d.over << " pixels off by more than " << k.tolerance
                                       << ", worst " << d.max_abs;
  }
}

}  // namespace
}  // namespace tilerender::testing
