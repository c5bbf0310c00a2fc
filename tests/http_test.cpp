// The HTTP front end over real HTTP against the real daemon on loopback: IIIF Image API 3.0 (every
// region/size/rotation/quality/format form, the specification's examples and edge cases, status
// codes), tiles as OpenSeadragon asks for them equal to gRPC renders of the same view and to crops
// of whole-level renders, mirroring, gray and bitonal, ETag/304 without rendering, CORS, the JSON
// API, and hostile URLs.
#include <gtest/gtest.h>
#include <httplib.h>
#include <png.h>
#include <tiffio.h>
#include <turbojpeg.h>
#include <webp/decode.h>

#include <cmath>
#include <memory>
#include <nlohmann/json.hpp>

#include "tests/daemon_fixture.h"
#include "tests/tiff_writer.h"
#include "tests/npy_writer.h"

namespace tilerender::testing {
namespace {

using json = nlohmann::json;

struct Decoded {
  int w = 0, h = 0;
  std::vector<uint8_t> rgba;
};

Decoded DecodePng(const std::string& bytes) {
  Decoded d;
  png_image img{};
  img.version = PNG_IMAGE_VERSION;
  if (!png_image_begin_read_from_memory(&img, bytes.data(), bytes.size())) return d;
  img.format = PNG_FORMAT_RGBA;
  d.rgba.resize(PNG_IMAGE_SIZE(img));
  if (!png_image_finish_read(&img, nullptr, d.rgba.data(), 0, nullptr)) return {};
  d.w = static_cast<int>(img.width), d.h = static_cast<int>(img.height);
  return d;
}

// Width and height of a JPEG, PNG or WebP body (0, 0 when it is none of them).
std::pair<int, int> SizeOf(const std::string& body, const std::string& type) {
  if (type == "image/png") {
    const Decoded d = DecodePng(body);
    return {d.w, d.h};
  }
  if (type == "image/jpeg") {
    std::unique_ptr<void, int (*)(tjhandle)> tj(tjInitDecompress(), tjDestroy);
    int w = 0, h = 0, sub = 0, cs = 0;
    if (tjDecompressHeader3(tj.get(), reinterpret_cast<const unsigned char*>(body.data()), body.size(), &w, &h, &sub, &cs) != 0) {
      return {0, 0};
    }
    return {w, h};
  }
  if (type == "image/webp") {
    int w = 0, h = 0;
    if (!WebPGetInfo(reinterpret_cast<const uint8_t*>(body.data()), body.size(), &w, &h)) return {0, 0};
    return {w, h};
  }
  return {0, 0};
}

class HttpTest : public ::testing::Test {
 protected:
  static constexpr int kW = 1000, kH = 700;

  static void SetUpTestSuite() {
    daemon_ = new Daemon({"--http-listen", "127.0.0.1:0", "--max-output-side", "2100"});
    ASSERT_FALSE(daemon_->http_address().empty()) << daemon_->Log();
    // A uint16 image with detail at every scale, and an RGB one.
    std::vector<uint16_t> px(static_cast<size_t>(kW) * kH);
    for (int y = 0; y < kH; ++y) {
      for (int x = 0; x < kW; ++x) {
        px[static_cast<size_t>(y) * kW + x] = static_cast<uint16_t>(
            30000 + 20000 * std::sin(x * 0.031) * std::cos(y * 0.047) + ((x * 131 + y * 71) % 97) * 90);
      }
    }
    WriteNpy(daemon_->data_root() + "/u16.npy", "<u2", {kH, kW}, px.data(), px.size() * 2);
    std::vector<uint8_t> rgb(static_cast<size_t>(300) * 200 * 3);
    for (size_t i = 0; i < rgb.size(); ++i) rgb[i] = static_cast<uint8_t>((i * 37 + (i / 900) * 11) % 256);
    WriteNpy(daemon_->data_root() + "/rgb.npy", "|u1", {200, 300, 3}, rgb.data(), rgb.size());
    ASSERT_TRUE(daemon_->client().Load("u16.npy", "img").ok());
    ASSERT_TRUE(daemon_->client().Load("rgb.npy", "rgb").ok());
  }
  static void TearDownTestSuite() {
    delete daemon_;
    daemon_ = nullptr;
  }

  static httplib::Client Client() {
    const std::string& a = daemon_->http_address();
    httplib::Client c(a.substr(0, a.rfind(':')), std::stoi(a.substr(a.rfind(':') + 1)));
    c.set_read_timeout(60);
    return c;
  }
  static httplib::Result Get(const std::string& path, const httplib::Headers& headers = {}) {
    return Client().Get(path, headers);
  }
  static std::string GrpcPng(const v1::RenderRequest& r) {
    auto out = daemon_->client().Render(r);
    EXPECT_TRUE(out.ok()) << out.status().ToString();
    return out.ok() ? out->data() : "";
  }

  static Daemon* daemon_;
};

Daemon* HttpTest::daemon_ = nullptr;

TEST_F(HttpTest, InfoJsonDescribesALevel2ServiceWithThePyramid) {
  auto r = Get("/iiif/3/img/info.json");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->get_header_value("Access-Control-Allow-Origin"), "*");
  const json j = json::parse(r->body);
  EXPECT_EQ(j["@context"], "http://iiif.io/api/image/3/context.json");
  EXPECT_EQ(j["type"], "ImageService3");
  EXPECT_EQ(j["protocol"], "http://iiif.io/api/image");
  EXPECT_EQ(j["profile"], "level2");
  EXPECT_EQ(j["id"], "http://" + daemon_->http_address() + "/iiif/3/img");
  EXPECT_EQ(j["width"], kW);
  EXPECT_EQ(j["height"], kH);
  auto info = daemon_->client().List();
  ASSERT_TRUE(info.ok());
  int levels = 0;
  for (const auto& i : *info) {
    if (i.image_id() == "img") levels = i.levels();
  }
  ASSERT_GT(levels, 2);
  ASSERT_EQ(j["tiles"].size(), 1u);
  EXPECT_EQ(j["tiles"][0]["scaleFactors"].size(), static_cast<size_t>(levels));
  EXPECT_EQ(j["tiles"][0]["scaleFactors"][1], 2);
  EXPECT_EQ(j["sizes"].back()["width"], kW) << "sizes ascend to the full size";
  EXPECT_NE(std::find(j["extraFormats"].begin(), j["extraFormats"].end(), "webp"), j["extraFormats"].end());
  // Base URI redirects to info.json; ld+json when asked.
  auto base = Get("/iiif/3/img");
  ASSERT_TRUE(base);
  EXPECT_EQ(base->status, 303);
  EXPECT_EQ(base->get_header_value("Location"), "/iiif/3/img/info.json");
  auto ld = Get("/iiif/3/img/info.json", {{"Accept", "application/ld+json"}});
  EXPECT_EQ(ld->get_header_value("Content-Type").rfind("application/ld+json", 0), 0u);
  EXPECT_EQ(Get("/iiif/3/nope/info.json")->status, 404);
}

struct Case {
  const char* path;  // after /iiif/3/img/
  int status;
  int w = 0, h = 0;  // expected output size where status is 200
};

TEST_F(HttpTest, EveryRequestFormAnswersTheSpecifiedSizeOrStatus) {
  const Case cases[] = {
      // Regions (the specification's forms and examples, scaled to this 1000 x 700 image).
      {"full/max/0/default.jpg", 200, 1000, 700},
      {"square/max/0/default.png", 200, 700, 700},
      {"125,15,120,140/max/0/default.png", 200, 120, 140},
      {"pct:41.6,7.5,40,70/max/0/default.png", 200, 400, 490},
      {"900,600,500,500/max/0/default.png", 200, 100, 100},  // cropped at the image's edge
      {"1000,0,10,10/max/0/default.png", 400},                // outside
      {"0,700,10,10/max/0/default.png", 400},
      {"0,0,0,10/max/0/default.png", 400},                    // empty
      {"pct:0,0,0,50/max/0/default.png", 400},
      {"-1,0,10,10/max/0/default.png", 400},
      {"1,2,3/max/0/default.png", 400},
      {"1.5,2,3,4/max/0/default.png", 400},                   // pixels are integers
      {"fool/max/0/default.png", 400},
      // Sizes.
      {"full/500,/0/default.png", 200, 500, 350},
      {"full/,140/0/default.png", 200, 200, 140},
      {"full/pct:50/0/default.png", 200, 500, 350},
      {"full/225,100/0/default.png", 200, 225, 100},          // distorted
      {"full/!225,100/0/default.png", 200, 142, 100},         // confined, aspect kept
      {"full/!500,500/0/default.png", 200, 500, 350},
      {"full/^max/0/default.png", 200, 2100, 1470},  // up to maxWidth (--max-output-side 2100)
      {"full/^1500,/0/default.png", 200, 1500, 1050},
      {"full/^,1400/0/default.png", 200, 2000, 1400},
      {"full/^pct:150/0/default.png", 200, 1500, 1050},
      {"full/^1200,800/0/default.png", 200, 1200, 800},
      {"full/^!1200,1200/0/default.png", 200, 1200, 840},
      {"full/1500,/0/default.png", 400},                      // upscaling without ^
      {"full/,701/0/default.png", 400},
      {"full/pct:101/0/default.png", 400},
      {"full/1200,800/0/default.png", 400},
      {"full/0,/0/default.png", 400},                         // size 0
      {"full/,0/0/default.png", 400},
      {"full/pct:0/0/default.png", 400},
      {"full/,/0/default.png", 400},
      {"full/!100,/0/default.png", 400},
      {"full/big/0/default.png", 400},
      {"full/^100000,/0/default.png", 413},                   // beyond the output limits
      // Rotations.
      {"full/500,/90/default.png", 200, 350, 500},
      {"full/500,/180/default.png", 200, 500, 350},
      {"full/500,/270/default.png", 200, 350, 500},
      {"full/500,/!0/default.png", 200, 500, 350},
      {"full/500,/!90/default.png", 200, 350, 500},
      {"full/500,/22.5/default.png", 200, 596, 515},          // the rotated box
      {"full/500,/!345/default.webp", 200, 574, 467},
      {"full/500,/360/default.png", 400},
      {"full/500,/-90/default.png", 400},
      {"full/500,/x/default.png", 400},
      // Qualities and formats.
      {"full/200,/0/color.jpg", 200, 200, 140},
      {"full/200,/0/gray.png", 200, 200, 140},
      {"full/200,/0/bitonal.webp", 200, 200, 140},
      {"full/200,/0/sepia.png", 400},
      {"full/200,/0/default.tif", 501},
      {"full/200,/0/default.bmp", 400},
      {"full/200,/0/default", 400},
  };
  for (const Case& c : cases) {
    auto r = Get(std::string("/iiif/3/img/") + c.path);
    ASSERT_TRUE(r) << c.path;
    EXPECT_EQ(r->status, c.status) << c.path << ": " << r->body.substr(0, 200);
    if (c.status != 200 || r->status != 200) {
      if (r->status >= 400) {
        EXPECT_FALSE(json::parse(r->body, nullptr, false)["error"].is_null()) << c.path;
      }
      continue;
    }
    const auto [w, h] = SizeOf(r->body, r->get_header_value("Content-Type"));
    EXPECT_EQ(w, c.w) << c.path;
    EXPECT_EQ(h, c.h) << c.path;
  }
  EXPECT_EQ(Get("/iiif/3/missing/full/max/0/default.jpg")->status, 404);
}

// The tiles OpenSeadragon asks for at each scale factor (x,y,w,h/w,/0/default.png with w = the
// region's width over the factor, rounded up) equal the gRPC render of the same view exactly, and
// the interior ones equal crops of one render of the whole level.
TEST_F(HttpTest, OpenSeadragonTilesEqualGrpcRendersAndCropsOfTheLevel) {
  const int tile = 256;
  for (int s : {1, 2, 4, 8}) {
    const int lw = (kW + s - 1) / s, lh = (kH + s - 1) / s;
    v1::RenderRequest whole;
    whole.set_width(lw);
    whole.set_height(lh);
    whole.mutable_camera()->set_center_x(lw * s / 2.0);
    whole.mutable_camera()->set_center_y(lh * s / 2.0);
    whole.mutable_camera()->set_zoom(1.0 / s);
    v1::Layer* l = whole.add_layers();
    l->set_image_id("img");
    l->set_interpolation(v1::LINEAR);
    const Decoded level = DecodePng(GrpcPng(whole));
    ASSERT_EQ(level.w, lw);
    int interior = 0;
    for (int y = 0; y < kH; y += tile * s) {
      for (int x = 0; x < kW; x += tile * s) {
        const int w = std::min(tile * s, kW - x), h = std::min(tile * s, kH - y);
        const int sw = (w + s - 1) / s;
        const std::string url = "/iiif/3/img/" + std::to_string(x) + "," + std::to_string(y) + "," + std::to_string(w) + "," +
                                std::to_string(h) + "/" + std::to_string(sw) + ",/0/default.png";
        auto r = Get(url);
        ASSERT_TRUE(r && r->status == 200) << url;
        const Decoded got = DecodePng(r->body);
        const int sh = static_cast<int>(std::lround(static_cast<double>(h) * sw / w));
        ASSERT_EQ(got.w, sw) << url;
        ASSERT_EQ(got.h, sh) << url;
        // The same view over gRPC, the camera computed here.
        v1::RenderRequest g;
        g.set_width(sw);
        g.set_height(sh);
        g.mutable_camera()->set_center_x(x + w / 2.0);
        g.mutable_camera()->set_center_y(y + h / 2.0);
        g.mutable_camera()->set_zoom(static_cast<double>(sw) / w);
        if (static_cast<double>(sh) / h != static_cast<double>(sw) / w) g.mutable_camera()->set_zoom_y(static_cast<double>(sh) / h);
        *g.add_layers() = *l;
        EXPECT_EQ(got.rgba, DecodePng(GrpcPng(g)).rgba) << url;
        if (w == tile * s && h == tile * s) {
          ++interior;
          size_t wrong = 0;
          for (int v = 0; v < tile; ++v) {
            for (int u = 0; u < tile; ++u) {
              for (int k = 0; k < 4; ++k) {
                wrong += got.rgba[(static_cast<size_t>(v) * tile + u) * 4 + k] !=
                         level.rgba[(static_cast<size_t>(y / s + v) * lw + x / s + u) * 4 + k];
              }
            }
          }
          EXPECT_EQ(wrong, 0u) << url << " against the level render";
        }
      }
    }
    if (s <= 2) {
      EXPECT_GT(interior, 0) << "scale " << s;
    }
  }
}

TEST_F(HttpTest, MirrorIsAFlippedRenderAndGrayIsTheLuminance) {
  auto plain = Get("/iiif/3/rgb/10,20,200,150/max/0/default.png?interp=nearest");
  auto mirrored = Get("/iiif/3/rgb/10,20,200,150/max/!0/default.png?interp=nearest");
  ASSERT_TRUE(plain && mirrored);
  const Decoded a = DecodePng(plain->body), b = DecodePng(mirrored->body);
  ASSERT_EQ(a.w, 200);
  ASSERT_EQ(b.w, 200);
  size_t wrong = 0;
  for (int y = 0; y < a.h; ++y) {
    for (int x = 0; x < a.w; ++x) {
      for (int k = 0; k < 4; ++k) wrong += a.rgba[(y * a.w + x) * 4 + k] != b.rgba[(y * a.w + (a.w - 1 - x)) * 4 + k];
    }
  }
  EXPECT_EQ(wrong, 0u);
  // Gray: Rec. 601 luma of the color render, computed here; bitonal: only black and white.
  const Decoded gray = DecodePng(Get("/iiif/3/rgb/10,20,200,150/max/0/gray.png?interp=nearest")->body);
  const Decoded bitonal = DecodePng(Get("/iiif/3/rgb/10,20,200,150/max/0/bitonal.png?interp=nearest")->body);
  ASSERT_EQ(gray.rgba.size(), a.rgba.size());
  ASSERT_EQ(bitonal.rgba.size(), a.rgba.size());
  size_t gray_wrong = 0, not_bitonal = 0, bitonal_wrong = 0;
  for (size_t i = 0; i < a.rgba.size(); i += 4) {
    const double y = 0.299 * a.rgba[i] + 0.587 * a.rgba[i + 1] + 0.114 * a.rgba[i + 2];
    gray_wrong += std::abs(gray.rgba[i] - y) > 1 || gray.rgba[i] != gray.rgba[i + 1] || gray.rgba[i] != gray.rgba[i + 2];
    not_bitonal += bitonal.rgba[i] != 0 && bitonal.rgba[i] != 255;
    bitonal_wrong += std::abs(y - 127.5) > 1.5 && (bitonal.rgba[i] == 255) != (y > 127.5);
  }
  EXPECT_EQ(gray_wrong, 0u);
  EXPECT_EQ(not_bitonal, 0u);
  EXPECT_EQ(bitonal_wrong, 0u);
}

TEST_F(HttpTest, ETagAnswers304WithoutRendering) {
  const std::string url = "/iiif/3/img/0,0,512,512/256,/0/default.jpg?colormap=magma";
  auto first = Get(url);
  ASSERT_TRUE(first);
  ASSERT_EQ(first->status, 200);
  const std::string etag = first->get_header_value("ETag");
  ASSERT_FALSE(etag.empty());
  EXPECT_EQ(first->get_header_value("Access-Control-Expose-Headers"), "ETag");
  EXPECT_EQ(Get(url)->get_header_value("ETag"), etag) << "deterministic";
  EXPECT_NE(Get("/iiif/3/img/0,0,512,512/256,/0/default.jpg?colormap=viridis")->get_header_value("ETag"), etag);
  const int64_t served = daemon_->client().Stats()->renders_served();
  for (int i = 0; i < 5; ++i) {
    auto again = Get(url, {{"If-None-Match", etag}});
    ASSERT_TRUE(again);
    EXPECT_EQ(again->status, 304);
    EXPECT_TRUE(again->body.empty());
  }
  EXPECT_EQ(Get(url, {{"If-None-Match", "\"other\", W/" + etag}})->status, 304);
  EXPECT_EQ(daemon_->client().Stats()->renders_served(), served) << "a 304 costs no render";
  EXPECT_EQ(Get(url, {{"If-None-Match", "\"other\""}})->status, 200);
  // The colormap changes the pixels, and our parameters are checked.
  EXPECT_NE(Get("/iiif/3/img/full/200,/0/default.png?colormap=viridis")->body,
            Get("/iiif/3/img/full/200,/0/default.png?colormap=magma")->body);
  EXPECT_EQ(Get("/iiif/3/img/full/200,/0/default.png?colormap=nosuch")->status, 400);
  EXPECT_EQ(Get("/iiif/3/img/full/200,/0/default.png?contrast=5")->status, 400);
  EXPECT_EQ(Get("/iiif/3/img/full/200,/0/default.png?channel=1")->status, 400);
  // CORS preflight.
  auto pre = Client().Options("/iiif/3/img/full/max/0/default.jpg");
  ASSERT_TRUE(pre);
  EXPECT_EQ(pre->status, 204);
  EXPECT_NE(pre->get_header_value("Access-Control-Allow-Methods").find("GET"), std::string::npos);
}

// A render asked again, by any client, comes from the response cache: the same bytes, no render;
// reloading the image (a new version under the same id) renders afresh.
TEST_F(HttpTest, RepeatedRendersComeFromTheResponseCache) {
  const std::string url = "/iiif/3/rgb/10,20,150,100/^300,/90/default.png?contrast=10,240";
  const int64_t served0 = daemon_->client().Stats()->renders_served();
  auto first = Get(url);
  ASSERT_TRUE(first);
  ASSERT_EQ(first->status, 200);
  EXPECT_FALSE(first->has_header("X-Tilerender-Cache"));
  EXPECT_EQ(daemon_->client().Stats()->renders_served(), served0 + 1);
  for (int i = 0; i < 3; ++i) {
    auto again = Get(url);
    ASSERT_TRUE(again);
    EXPECT_EQ(again->status, 200);
    EXPECT_EQ(again->get_header_value("X-Tilerender-Cache"), "hit");
    EXPECT_EQ(again->body, first->body);
    EXPECT_EQ(again->get_header_value("Content-Type"), "image/png");
    EXPECT_EQ(again->get_header_value("ETag"), first->get_header_value("ETag"));
  }
  EXPECT_EQ(daemon_->client().Stats()->renders_served(), served0 + 1) << "hits cost no render";
  // The same view with other parameters is another render.
  ASSERT_EQ(Get(url + "&gamma=0.5")->status, 200);
  EXPECT_EQ(daemon_->client().Stats()->renders_served(), served0 + 2);
  // A reload is a new version: rendered again (the same pixels, here), under a new ETag.
  ASSERT_TRUE(daemon_->client().Unload("rgb").ok());
  ASSERT_TRUE(daemon_->client().Load("rgb.npy", "rgb").ok());
  auto reloaded = Get(url);
  ASSERT_TRUE(reloaded);
  EXPECT_FALSE(reloaded->has_header("X-Tilerender-Cache"));
  EXPECT_NE(reloaded->get_header_value("ETag"), first->get_header_value("ETag"));
  EXPECT_EQ(reloaded->body, first->body);
  EXPECT_EQ(daemon_->client().Stats()->renders_served(), served0 + 3);
}

TEST_F(HttpTest, JsonApiListsImagesAndRendersTheRequestAsJson) {
  auto list = Get("/api/images");
  ASSERT_TRUE(list);
  EXPECT_EQ(list->status, 200);
  const json j = json::parse(list->body);
  ASSERT_EQ(j["images"].size(), 2u);
  EXPECT_EQ(j["images"][0]["image_id"], "img");
  const std::string body = R"({"width": 160, "height": 120, "camera": {"zoom": 0.25, "rotation_deg": 30},
    "layers": [{"image_id": "img", "colormap": {"name": "viridis"}, "interpolation": "LINEAR"}]})";
  auto r = Client().Post("/api/render", body, "application/json");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->get_header_value("Content-Type"), "image/png");
  v1::RenderRequest g;
  g.set_width(160);
  g.set_height(120);
  g.mutable_camera()->set_zoom(0.25);
  g.mutable_camera()->set_rotation_deg(30);
  v1::Layer* l = g.add_layers();
  l->set_image_id("img");
  l->mutable_colormap()->set_name("viridis");
  l->set_interpolation(v1::LINEAR);
  EXPECT_EQ(r->body, GrpcPng(g));
  auto bad = Client().Post("/api/render", "{not json", "application/json");
  EXPECT_EQ(bad->status, 400);
  auto unknown = Client().Post("/api/render", R"({"width": 8, "height": 8, "layers": [{"image_id": "nope"}]})", "application/json");
  EXPECT_EQ(unknown->status, 404);
  auto webp = Client().Post("/api/render", R"({"width": 64, "height": 48, "format": "WEBP", "lossless": true,
    "layers": [{"image_id": "rgb"}]})", "application/json");
  EXPECT_EQ(webp->get_header_value("Content-Type"), "image/webp");
}

// A pyramidal JPEG TIFF as slide scanners and vips write them: 1000 x 700 and a reduced page of
// 500 x 350, 256-pixel YCbCr JPEG tiles.
void WriteJpegPyramid(const std::string& path) {
  TIFF* t = TIFFOpen(path.c_str(), "w");
  ASSERT_TRUE(t);
  for (int k = 0; k < 2; ++k) {
    const uint32_t w = 1000 >> k, h = 700 >> k;
    TIFFSetField(t, TIFFTAG_SUBFILETYPE, k == 0 ? 0 : FILETYPE_REDUCEDIMAGE);
    SetJpegYCbCrPage(t, w, h, 85);
    TIFFSetField(t, TIFFTAG_TILEWIDTH, 256);
    TIFFSetField(t, TIFFTAG_TILELENGTH, 256);
    std::vector<uint8_t> tile(256 * 256 * 3);
    for (uint32_t ty = 0; ty < h; ty += 256) {
      for (uint32_t tx = 0; tx < w; tx += 256) {
        for (uint32_t i = 0; i < 256 * 256; ++i) {
          const double X = (tx + i % 256 + 0.5) * (1 << k), Y = (ty + i / 256 + 0.5) * (1 << k);
          for (int c = 0; c < 3; ++c) tile[3 * i + c] = static_cast<uint8_t>(128 + 100 * std::sin(X * 0.013 + c) * std::cos(Y * 0.011));
        }
        ASSERT_GE(TIFFWriteEncodedTile(t, TIFFComputeTile(t, tx, ty, 0, 0), tile.data(), tile.size()), 0);
      }
    }
    ASSERT_TRUE(TIFFWriteDirectory(t));
  }
  TIFFClose(t);
}

TEST_F(HttpTest, UntransformedTilesAreTheFilesOwnJpegTiles) {
  const std::string path = daemon_->data_root() + "/pyramid.tif";
  WriteJpegPyramid(path);
  const auto loaded = daemon_->client().Load("pyramid.tif", "jp");
  ASSERT_TRUE(loaded.ok()) << loaded.status().ToString();
  // libtiff's decode of a tile, to compare with.
  auto tiff_tile = [&](int dir, uint32_t x, uint32_t y) {
    TIFF* t = TIFFOpen(path.c_str(), "r");
    TIFFSetDirectory(t, static_cast<uint16_t>(dir));
    std::vector<uint32_t> raster(256 * 256);
    EXPECT_TRUE(TIFFReadRGBATile(t, x, y, raster.data()));
    TIFFClose(t);
    std::vector<uint8_t> rgba(256 * 256 * 4);
    for (int r = 0; r < 256; ++r) {  // the raster is bottom-up
      for (int c = 0; c < 256; ++c) {
        const uint32_t p = raster[(255 - r) * 256 + c];
        uint8_t* o = &rgba[(r * 256 + c) * 4];
        o[0] = TIFFGetR(p), o[1] = TIFFGetG(p), o[2] = TIFFGetB(p), o[3] = 255;
      }
    }
    return rgba;
  };
  auto decode = [](const std::string& jpeg) {
    std::unique_ptr<void, int (*)(tjhandle)> tj(tjInitDecompress(), tjDestroy);
    std::vector<uint8_t> rgba(256 * 256 * 4);
    EXPECT_EQ(tjDecompress2(tj.get(), reinterpret_cast<const unsigned char*>(jpeg.data()), jpeg.size(), rgba.data(), 256, 0, 256,
                            TJPF_RGBA, 0), 0);
    return rgba;
  };
  auto worst = [](const std::vector<uint8_t>& a, const std::vector<uint8_t>& b) {
    int w = 0;
    for (size_t i = 0; i < a.size() && i < b.size(); ++i) w = std::max(w, std::abs(a[i] - b[i]));
    return a.size() == b.size() ? w : 999;
  };
  const int64_t served = daemon_->client().Stats()->renders_served();
  struct Stored { const char* url; int dir; uint32_t x, y; };
  for (const Stored& t : {Stored{"/iiif/3/jp/256,256,256,256/256,/0/default.jpg", 0, 256, 256},
                          Stored{"/iiif/3/jp/0,0,256,256/256,256/0/color.jpg", 0, 0, 0},
                          Stored{"/iiif/3/jp/0,0,512,512/256,/0/default.jpg", 1, 0, 0}}) {
    auto r = Get(t.url);
    ASSERT_TRUE(r && r->status == 200) << t.url;
    EXPECT_EQ(r->get_header_value("X-Tilerender-Tile"), "stored") << t.url;
    EXPECT_LE(worst(decode(r->body), tiff_tile(t.dir, t.x, t.y)), 2) << t.url << ": the file's tile";
  }
  EXPECT_EQ(daemon_->client().Stats()->renders_served(), served) << "stored tiles cost no render";
  // Anything transformed, partial or off the grid is rendered, and shows the same pixels.
  for (const char* url : {"/iiif/3/jp/256,256,256,256/256,/0/default.jpg?interp=nearest",
                          "/iiif/3/jp/256,256,256,256/256,/0/default.png", "/iiif/3/jp/256,256,256,256/256,/90/default.jpg",
                          "/iiif/3/jp/128,256,256,256/256,/0/default.jpg", "/iiif/3/jp/768,0,232,256/232,/0/default.jpg",
                          "/iiif/3/jp/256,256,256,256/128,/0/default.jpg", "/iiif/3/jp/256,256,256,256/256,/0/gray.jpg"}) {
    auto r = Get(url);
    ASSERT_TRUE(r && r->status == 200) << url;
    EXPECT_EQ(r->get_header_value("X-Tilerender-Tile"), "") << url;
  }
  const std::string rendered = Get("/iiif/3/jp/256,256,256,256/256,/0/default.jpg?interp=nearest")->body;
  EXPECT_LE(worst(decode(rendered), tiff_tile(0, 256, 256)), 12) << "a re-encoded render of the same tile";
  EXPECT_EQ(daemon_->client().Stats()->renders_served(), served + 7) << "the last one again came from the response cache";
}

TEST_F(HttpTest, HostileUrlsGet4xxAndTheDaemonServesOn) {
  const std::string big(10000, 'a');
  const std::vector<std::string> urls = {
      "/iiif/3/" + big + "/info.json",
      "/iiif/3/img/" + big + "/max/0/default.jpg",
      "/iiif/3/../u16.npy",
      "/iiif/3/..%2Fu16.npy/info.json",
      "/iiif/3/%2e%2e/full/max/0/default.jpg",
      "/iiif/3/img/full/max/0/default.jpg%00.png",
      "/iiif/3/img%00/info.json",
      "/u16.npy",
      "/../../etc/passwd",
      "/iiif/3/img/full/max/0/../../../../u16.npy",
      "/iiif/3/img/full/%5E99999999999999999999,/0/default.jpg",
      "/iiif/3/img/99999999999999999999,0,10,10/max/0/default.jpg",
      "/iiif/3/img/full/max/0/default.jpg?contrast=1e308,1e309",
  };
  for (const std::string& u : urls) {
    auto r = Get(u);
    ASSERT_TRUE(r) << u.substr(0, 80);
    EXPECT_GE(r->status, 400) << u.substr(0, 80);
    EXPECT_LT(r->status, 500) << u.substr(0, 80);
    EXPECT_EQ(r->body.find("\x93NUMPY"), std::string::npos) << "a file's bytes";
  }
  EXPECT_EQ(Get("/iiif/3/img/full/64,/0/default.jpg")->status, 200);
  EXPECT_EQ(Get("/healthz")->status, 200);
}

}  // namespace
}  // namespace tilerender::testing
