// Probe and profile through the real daemon (issue #15): the C++ client over gRPC, the HTTP JSON
// API and the CLI, on files the daemon reads out of core (NPY in place); values equal the arrays
// written, NaN as stored, outside absent; every bad request its status.
#include <gtest/gtest.h>
#include <httplib.h>

#include <array>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <limits>
#include <nlohmann/json.hpp>
#include <sstream>

#include "tests/daemon_fixture.h"
#include "tests/npy_writer.h"

namespace tilerender::testing {
namespace {

std::string Cli(const Daemon& d) { return std::string(TILERENDER_CLI_PATH) + " --server " + d.address(); }

class ProbeDaemonTest : public ::testing::Test {
 protected:
  static constexpr int64_t kW = 3000, kH = 1100;  // rows over 64 KiB of float32: 1024 x 1024 chunks
  void SetUp() override {
    u16_.resize(static_cast<size_t>(kW * kH));
    f32_.resize(u16_.size());
    for (int64_t y = 0; y < kH; ++y) {
      for (int64_t x = 0; x < kW; ++x) {
        const size_t i = static_cast<size_t>(y * kW + x);
        u16_[i] = static_cast<uint16_t>((x * 7919 + y * 104729) % 65536);
        f32_[i] = (x + y) % 11 == 0 ? std::numeric_limits<float>::quiet_NaN() : static_cast<float>(x * 0.25 - y * 1.5e-3);
      }
    }
    WriteNpy(d_.data_root() + "/u16.npy", "<u2", {kH, kW}, u16_.data(), u16_.size() * 2);
    WriteNpy(d_.data_root() + "/f32.npy", "<f4", {kH, kW}, f32_.data(), f32_.size() * 4);
    ASSERT_TRUE(d_.client().Load("u16.npy", "u16").ok());
    ASSERT_TRUE(d_.client().Load("f32.npy", "f32").ok());
  }
  uint16_t U16(int64_t x, int64_t y) const { return u16_[static_cast<size_t>(y * kW + x)]; }
  float F32(int64_t x, int64_t y) const { return f32_[static_cast<size_t>(y * kW + x)]; }

  Daemon d_{{"--http-listen", "127.0.0.1:0"}};
  std::vector<uint16_t> u16_;
  std::vector<float> f32_;
};

TEST_F(ProbeDaemonTest, ProbeEveryLayerAtEveryPoint) {
  v1::ProbeRequest req;
  for (const char* id : {"u16", "f32"}) req.add_layers()->set_image_id(id);
  const std::vector<std::pair<double, double>> pts{{0, 0}, {2999.999, 1099.999}, {1024.5, 1023.2}, {11, 0}, {3000, 5}, {-0.01, 5}, {7, 1100}};
  for (auto [x, y] : pts) {
    v1::Point* p = req.add_points();
    p->set_x(x);
    p->set_y(y);
  }
  auto r = d_.client().Probe(req);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  ASSERT_EQ(r->layers_size(), 2);
  EXPECT_EQ(r->layers(0).image_id(), "u16");
  EXPECT_EQ(r->layers(1).level(), 0u);
  for (size_t i = 0; i < pts.size(); ++i) {
    const v1::Sample& a = r->layers(0).samples(static_cast<int>(i));
    const v1::Sample& b = r->layers(1).samples(static_cast<int>(i));
    if (i >= 4) {
      EXPECT_FALSE(a.inside()) << i;
      EXPECT_FALSE(b.inside()) << i;
      EXPECT_EQ(a.values_size(), 0);
      continue;
    }
    const auto x = static_cast<int64_t>(pts[i].first), y = static_cast<int64_t>(pts[i].second);
    ASSERT_TRUE(a.inside() && b.inside()) << i;
    EXPECT_EQ(a.values(0), U16(x, y)) << i;
    if (std::isnan(F32(x, y))) {
      EXPECT_TRUE(std::isnan(b.values(0))) << i;
    } else {
      EXPECT_EQ(b.values(0), static_cast<double>(F32(x, y))) << i;
    }
  }
  EXPECT_TRUE(std::isnan(r->layers(1).samples(3).values(0))) << "(11, 0) is a NaN pixel";
}

TEST_F(ProbeDaemonTest, ProfileAlongARowAndAcrossChunks) {
  v1::ProfileRequest req;
  req.set_image_id("u16");
  req.mutable_from()->set_x(1000.5);
  req.mutable_from()->set_y(1023.5);
  req.mutable_to()->set_x(1100.5);
  req.mutable_to()->set_y(1023.5);
  req.set_samples(101);
  auto r = d_.client().Profile(req);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->level(), 0u);
  EXPECT_DOUBLE_EQ(r->length(), 100);
  ASSERT_EQ(r->samples_size(), 101);
  for (int i = 0; i <= 100; ++i) {
    EXPECT_DOUBLE_EQ(r->points(i).x(), 1000.5 + i);
    EXPECT_EQ(r->samples(i).values(0), U16(1000 + i, 1023)) << i;
  }
  // Linear at pixel centres is the pixel; between two, their mean. Default samples: one per pixel.
  req.set_interpolation(v1::LINEAR);
  req.mutable_to()->set_x(1002.5);
  req.set_samples(0);
  auto lin = d_.client().Profile(req);
  ASSERT_TRUE(lin.ok());
  ASSERT_EQ(lin->samples_size(), 3);
  EXPECT_EQ(lin->samples(1).values(0), U16(1001, 1023));
  req.set_samples(5);
  lin = d_.client().Profile(req);
  ASSERT_TRUE(lin.ok());
  EXPECT_DOUBLE_EQ(lin->samples(1).values(0), (U16(1000, 1023) + U16(1001, 1023)) / 2.0);
  // A line leaving the image: the points outside are absent.
  req.set_interpolation(v1::NEAREST);
  req.mutable_from()->set_x(2995.5);
  req.mutable_to()->set_x(3004.5);
  req.set_samples(10);
  auto edge = d_.client().Profile(req);
  ASSERT_TRUE(edge.ok());
  for (int i = 0; i < 10; ++i) EXPECT_EQ(edge->samples(i).inside(), i < 5) << i;
}

TEST_F(ProbeDaemonTest, BadRequestsGetTheirStatus) {
  v1::ProbeRequest req;
  req.add_points();
  EXPECT_EQ(d_.client().Probe(req).status().message(), "a probe needs at least one layer");
  req.add_layers()->set_image_id("u16");
  req.add_layers()->set_image_id("nosuch");
  auto r = d_.client().Probe(req);
  EXPECT_EQ(r.status().code(), StatusCode::kNotFound);
  EXPECT_EQ(r.status().message().rfind("layer 1: ", 0), 0u) << r.status().message();
  req.mutable_layers(1)->set_image_id("f32");
  req.mutable_layers(1)->set_channel(1);
  EXPECT_EQ(d_.client().Probe(req).status().message(), "layer 1: channel 1 of an image of 1 channel");
  req.mutable_layers(1)->set_channel(0);
  req.set_level(40);
  EXPECT_EQ(d_.client().Probe(req).status().code(), StatusCode::kInvalidArgument);
  req.set_level(0);
  for (int i = 0; i < 65536; ++i) req.add_points();
  EXPECT_EQ(d_.client().Probe(req).status().message(), "at most 65536 points, got 65537");
  v1::ProfileRequest p;
  p.set_image_id("u16");
  p.set_samples(65537);
  EXPECT_EQ(d_.client().Profile(p).status().code(), StatusCode::kInvalidArgument);
  p.set_samples(2);
  p.mutable_to()->set_x(std::numeric_limits<double>::infinity());
  EXPECT_EQ(d_.client().Profile(p).status().message(), "a profile's ends must be finite");
  EXPECT_TRUE(d_.client().Info().ok()) << "the daemon serves on";
}

TEST_F(ProbeDaemonTest, HttpJsonAndTheCli) {
  const std::string a = d_.http_address();
  httplib::Client http(a.substr(0, a.rfind(':')), std::stoi(a.substr(a.rfind(':') + 1)));
  auto res = http.Post("/api/probe", R"({"layers": [{"image_id": "f32"}, {"image_id": "u16"}],
                                         "points": [{"x": 11.2, "y": 0.7}, {"x": 12.5, "y": 0}, {"x": -1, "y": 0}]})",
                       "application/json");
  ASSERT_TRUE(res);
  ASSERT_EQ(res->status, 200) << res->body;
  const auto j = nlohmann::json::parse(res->body);
  EXPECT_EQ(j["layers"][0]["samples"][0]["values"][0], "NaN") << res->body;
  EXPECT_EQ(j["layers"][0]["samples"][1]["values"][0].get<double>(), static_cast<double>(F32(12, 0)));
  EXPECT_EQ(j["layers"][0]["samples"][2]["inside"], false);
  EXPECT_EQ(j["layers"][1]["samples"][1]["values"][0].get<double>(), U16(12, 0));
  res = http.Post("/api/profile", R"({"image_id": "u16", "from": {"x": 0.5, "y": 2.5}, "to": {"x": 3.5, "y": 2.5}, "samples": 4})",
                  "application/json");
  ASSERT_TRUE(res);
  ASSERT_EQ(res->status, 200) << res->body;
  const auto p = nlohmann::json::parse(res->body);
  ASSERT_EQ(p["samples"].size(), 4u);
  for (int i = 0; i < 4; ++i) EXPECT_EQ(p["samples"][i]["values"][0].get<double>(), U16(i, 2));
  res = http.Post("/api/probe", R"({"layers": [{"image_id": "nosuch"}], "points": [{}]})", "application/json");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 404);
  res = http.Post("/api/probe", "not json", "application/json");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 400);

  std::string out;
  ASSERT_EQ(RunCommand(Cli(d_) + " probe 5.5,7 11,0 3000,0 -i u16 -i f32 2>&1", &out), 0) << out;
  std::istringstream lines(out);
  std::string header, l1, l2, l3;
  std::getline(lines, header);
  std::getline(lines, l1);
  std::getline(lines, l2);
  std::getline(lines, l3);
  EXPECT_NE(header.find("u16:0"), std::string::npos) << out;
  std::ostringstream want1;
  want1 << U16(5, 7);
  EXPECT_NE(l1.find(" " + want1.str() + " "), std::string::npos) << out;
  EXPECT_NE(l2.find("nan"), std::string::npos) << out;
  EXPECT_NE(l3.find("-  -"), std::string::npos) << "outside: absent in both\n" << out;
  ASSERT_EQ(RunCommand(Cli(d_) + " profile u16 0.5,2.5 3.5,2.5 -n 4 2>&1", &out), 0) << out;
  EXPECT_NE(out.find("length 3, 4 samples"), std::string::npos) << out;
  EXPECT_NE(out.find("3 3.5 2.5 " + std::to_string(U16(3, 2)) + "\n"), std::string::npos) << out;
  // Auto-contrast from the CLI: the limits chosen are printed (the values in a 4 x 3 view at zoom 1).
  ASSERT_EQ(RunCommand(Cli(d_) + " render --id u16 --size 4x3 --zoom 1 --center 2,1.5 --auto-contrast 0,100 -o " +
                           d_.data_root() + "/auto.png 2>&1",
                       &out),
            0)
      << out;
  uint16_t lo = 65535, hi = 0;
  for (int y = 0; y < 3; ++y) {
    for (int x = 0; x < 4; ++x) lo = std::min(lo, U16(x, y)), hi = std::max(hi, U16(x, y));
  }
  EXPECT_NE(out.find("layer 0 auto-contrast: " + std::to_string(lo) + "," + std::to_string(hi) + " (12 values)"), std::string::npos) << out;
  EXPECT_EQ(RunCommand(Cli(d_) + " probe 1:2 -i u16 2>&1", &out), 2) << out;
  EXPECT_EQ(RunCommand(Cli(d_) + " probe 1,2 -i nosuch 2>&1", &out), 1) << out;
}

// Labels from the CLI and the batch manifest (#15): a uint32 NPY loaded as labels (ids 2^24 and
// 2^24 + 1 stay two objects), an explicit color and contour mode; pixels checked against the
// squares written.
TEST(LabelsDaemonTest, CliAndBatchLabelsOptions) {
  Daemon d;
  constexpr int64_t w = 60, h = 40;
  std::vector<uint32_t> ids(static_cast<size_t>(w * h), 0);
  for (int64_t y = 5; y < 25; ++y) {
    for (int64_t x = 5; x < 45; ++x) ids[static_cast<size_t>(y * w + x)] = x < 25 ? 16777216u : 16777217u;
  }
  WriteNpy(d.data_root() + "/seg.npy", "<u4", {h, w}, ids.data(), ids.size() * 4);
  std::string out;
  ASSERT_EQ(RunCommand(Cli(d) + " load seg.npy --id seg --labels 2>&1", &out), 0) << out;
  EXPECT_NE(out.find("uint32"), std::string::npos) << out;
  // Red for 2^24's border (1 pixel), its inside and everything else black; 2^24 + 1's border in
  // its hash color.
  auto check = [&](const std::vector<uint8_t>& rgba, const std::array<uint8_t, 3>& color) {
    ASSERT_EQ(rgba.size(), static_cast<size_t>(w * h * 4));
    int border = 0;
    for (int64_t y = 0; y < h; ++y) {
      for (int64_t x = 0; x < w; ++x) {
        const uint8_t* p = &rgba[static_cast<size_t>(y * w + x) * 4];
        const bool in = x >= 5 && x < 25 && y >= 5 && y < 25;
        const bool edge = in && (x == 5 || x == 24 || y == 5 || y == 24);
        const bool colored = p[0] == color[0] && p[1] == color[1] && p[2] == color[2];
        ASSERT_EQ(colored, edge) << x << "," << y;
        if (in && !edge) ASSERT_TRUE(p[0] == 0 && p[1] == 0 && p[2] == 0) << x << "," << y;
        border += edge;
      }
    }
    EXPECT_EQ(border, 76);
    const uint8_t* other = &rgba[static_cast<size_t>(10 * w + 44) * 4];  // 2^24 + 1's right edge
    EXPECT_TRUE(other[0] + other[1] + other[2] > 0 && !(other[0] == color[0] && other[1] == color[1]));
    const uint8_t* inside = &rgba[static_cast<size_t>(10 * w + 35) * 4];
    EXPECT_EQ(inside[0] + inside[1] + inside[2], 0);
  };
  const std::string raw = d.data_root() + "/contour.rgba";
  ASSERT_EQ(RunCommand(Cli(d) + " render --id seg --size 60x40 --zoom 1 --center 30,20 --contour 1 --label-color 16777216=#ff0000 --format raw -o " +
                           raw + " 2>&1",
                       &out),
            0)
      << out;
  std::ifstream f(raw, std::ios::binary);
  check(std::vector<uint8_t>(std::istreambuf_iterator<char>(f), {}), {255, 0, 0});
  // The batch manifest: the image loaded as labels, the style in the layer.
  const std::string dir = d.data_root() + "/batch";
  std::filesystem::create_directories(dir);
  {
    std::ofstream m(dir + "/manifest.json");
    m << R"({"images": [{"id": "seg2", "path": "seg.npy", "labels": true}],
             "views": [{"name": "c", "size": [60, 40], "zoom": 1, "center": [30, 20], "format": "raw",
                        "layers": [{"image": "seg2", "labels": {"colors": {"16777216": "#00ff00"}, "contour": 1}}]}]})";
  }
  ASSERT_EQ(RunCommand(Cli(d) + " batch " + dir + "/manifest.json --out-dir " + dir + "/out 2>&1", &out), 0) << out;
  std::ifstream g(dir + "/out/c.rgba", std::ios::binary);
  check(std::vector<uint8_t>(std::istreambuf_iterator<char>(g), {}), {0, 255, 0});
  // Bad options: their statuses.
  EXPECT_EQ(RunCommand(Cli(d) + " render --id seg --label-color 5:#ff0000 -o /dev/null 2>&1", &out), 2) << out;
  EXPECT_NE(out.find("--label-color '5:#ff0000' must be ID=#RRGGBB[AA]"), std::string::npos) << out;
  EXPECT_EQ(RunCommand(Cli(d) + " render --id seg --contour 65 -o /dev/null 2>&1", &out), 1) << out;
  EXPECT_NE(out.find("contour width must be 0 (filled) to 64"), std::string::npos) << out;
  ASSERT_EQ(RunCommand(Cli(d) + " load seg.npy --id plain 2>&1", &out), 0) << out;
  EXPECT_NE(out.find("float32"), std::string::npos) << "not labels: uint32 read as float32\n" << out;
}

}  // namespace
}  // namespace tilerender::testing
