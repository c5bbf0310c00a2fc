// The web viewer in a real browser: headless Chromium (Debian's chromium, driven by
// tests/web/viewer_check.mjs through playwright-core) opens the viewer against the real daemon on
// loopback, waits until the tiles are loaded, and screenshots it; here the screenshot's image area
// is compared with a gRPC render of the same view (JPEG tiles: a tolerance), the colormap switch
// must bring new tiles and pixels, and the page must log no errors.
#include <gtest/gtest.h>
#include <png.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "tests/daemon_fixture.h"
#include "tests/npy_writer.h"

namespace tilerender::testing {
namespace {

using json = nlohmann::json;

struct Rgba {
  int w = 0, h = 0;
  std::vector<uint8_t> px;
};

Rgba ReadPng(const void* data, size_t size) {
  Rgba out;
  png_image img{};
  img.version = PNG_IMAGE_VERSION;
  if (!png_image_begin_read_from_memory(&img, data, size)) return out;
  img.format = PNG_FORMAT_RGBA;
  out.px.resize(PNG_IMAGE_SIZE(img));
  if (!png_image_finish_read(&img, nullptr, out.px.data(), 0, nullptr)) return {};
  out.w = static_cast<int>(img.width), out.h = static_cast<int>(img.height);
  return out;
}

Rgba ReadPngFile(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  const std::string bytes((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  return ReadPng(bytes.data(), bytes.size());
}

struct Closeness {
  double mean = 0;      // mean absolute difference over RGB
  double far = 0;       // fraction of pixels with a channel off by more than 48
};

Closeness Compare(const Rgba& a, const Rgba& b) {
  Closeness c;
  if (a.w != b.w || a.h != b.h || a.px.empty()) return {255, 1};
  double sum = 0;
  size_t far = 0;
  const size_t n = static_cast<size_t>(a.w) * a.h;
  for (size_t i = 0; i < n; ++i) {
    int worst = 0;
    for (int k = 0; k < 3; ++k) {
      const int d = std::abs(a.px[4 * i + k] - b.px[4 * i + k]);
      sum += d;
      worst = std::max(worst, d);
    }
    far += worst > 48;
  }
  c.mean = sum / (3.0 * n);
  c.far = static_cast<double>(far) / n;
  return c;
}

TEST(WebViewerTest, ChromiumShowsTheTilesOfTheView) {
  ASSERT_TRUE(std::filesystem::exists("/usr/bin/chromium")) << "Debian's chromium is needed (scripts/install-deps.sh)";
  const std::string web = std::string(SOURCE_DIR) + "/server/web";
  ASSERT_TRUE(std::filesystem::exists(web + "/node_modules/openseadragon") &&
              std::filesystem::exists(web + "/node_modules/playwright-core"))
      << "run npm ci in server/web (scripts/install-deps.sh does)";
  Daemon d({"--http-listen", "127.0.0.1:0", "--web-root", web});
  ASSERT_FALSE(d.http_address().empty());
  const int W = 1000, H = 700;
  std::vector<uint16_t> px(static_cast<size_t>(W) * H);
  for (int y = 0; y < H; ++y) {
    for (int x = 0; x < W; ++x) {
      px[static_cast<size_t>(y) * W + x] =
          static_cast<uint16_t>(30000 + 20000 * std::sin(x * 0.031) * std::cos(y * 0.047) + ((x * 131 + y * 71) % 97) * 90);
    }
  }
  WriteNpy(d.data_root() + "/u16.npy", "<u2", {H, W}, px.data(), px.size() * 2);
  auto info = d.client().Load("u16.npy", "img");
  ASSERT_TRUE(info.ok()) << info.status().ToString();

  const std::string out = d.data_root() + "/../browser";
  std::filesystem::create_directories(out);
  std::string log;
  const int rc = RunCommand("node " + std::string(SOURCE_DIR) + "/tests/web/viewer_check.mjs " + d.http_address() + " img " +
                                out + " " + web + " 2>&1",
                            &log);
  ASSERT_EQ(rc, 0) << log;
  std::ifstream rf(out + "/report.json");
  ASSERT_TRUE(rf) << log;
  const json report = json::parse(rf);
  ASSERT_FALSE(report.contains("error")) << report.dump(1);
  EXPECT_TRUE(report["console_errors"].empty()) << report["console_errors"].dump();
  EXPECT_TRUE(report["page_errors"].empty()) << report["page_errors"].dump();
  EXPECT_TRUE(report["failed_requests"].empty()) << report["failed_requests"].dump();
  EXPECT_TRUE(report["viewer_errors"].empty()) << report["viewer_errors"].dump();
  size_t gray_tiles = 0, magma_tiles = 0;
  for (const auto& t : report["tile_urls"]) {
    const std::string s = t.get<std::string>();
    EXPECT_EQ(s.rfind("200 ", 0), 0u) << s;
    gray_tiles += s.find("colormap=gray") != std::string::npos;
    magma_tiles += s.find("colormap=magma") != std::string::npos;
  }
  EXPECT_GT(gray_tiles, 0u);
  EXPECT_GT(magma_tiles, 0u) << "the colormap switch fetched new tiles";

  // The screenshot against a gRPC render of the view it reports.
  auto grpc_render = [&](const json& v, const char* colormap, double shift = 0) {
    v1::RenderRequest r;
    r.set_width(v["elementWidth"].get<int>());
    r.set_height(v["elementHeight"].get<int>());
    const double x = v["x"], y = v["y"], w = v["width"], h = v["height"];
    r.mutable_camera()->set_center_x(x + w / 2 + shift);
    r.mutable_camera()->set_center_y(y + h / 2);
    r.mutable_camera()->set_zoom(r.width() / w);
    v1::Layer* l = r.add_layers();
    l->set_image_id("img");
    l->set_interpolation(v1::LINEAR);
    l->mutable_colormap()->set_name(colormap);
    auto res = d.client().Render(r);
    EXPECT_TRUE(res.ok()) << res.status().ToString();
    return res.ok() ? ReadPng(res->data().data(), res->data().size()) : Rgba{};
  };
  const Rgba shot = ReadPngFile(out + "/viewer.png"), shot_magma = ReadPngFile(out + "/viewer_magma.png");
  ASSERT_GT(shot.w, 0);
  EXPECT_NEAR(report["view"]["width"].get<double>() / shot.w, 1.0, 0.01) << "one image pixel per screen pixel";
  const Closeness gray = Compare(shot, grpc_render(report["view"], "gray"));
  // JPEG Q85 tiles of a noisy image drawn by the browser: measured 4.1 (gray), 5.3 (magma); the
  // same render one pixel off is much further (checked here, so the tolerance cannot hide a shift).
  EXPECT_LT(gray.mean, 8.0) << "mean |difference|";
  const Closeness shifted = Compare(shot, grpc_render(report["view"], "gray", 1.0));
  EXPECT_GT(shifted.mean, 2 * gray.mean) << "one pixel off: " << shifted.mean;
  EXPECT_LT(gray.far, 0.01);
  const Closeness magma = Compare(shot_magma, grpc_render(report["view_magma"], "magma"));
  EXPECT_LT(magma.mean, 8.0);
  EXPECT_LT(magma.far, 0.01);
  const Closeness changed = Compare(shot, shot_magma);
  EXPECT_GT(changed.mean, 20) << "the colormap changed the picture";
  std::printf("browser vs gRPC: gray mean %.2f (%.3f %% far; one pixel off: %.2f), magma mean %.2f (%.3f %% far); snapshot %s\n",
              gray.mean, gray.far * 100, shifted.mean, magma.mean, magma.far * 100,
              report["snapshot_href"].get<std::string>().c_str());
}

}  // namespace
}  // namespace tilerender::testing
