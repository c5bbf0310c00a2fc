// JPEG and WebP output against the raw RGBA of the same render, decoded by the libraries' own
// decoders (TurboJPEG's decompressor, libwebp's WebPDecode): lossless WebP is exact (alpha
// included), lossy formats are close (PSNR), a translucent background is made opaque for JPEG,
// defaults and bad qualities.
#include <gtest/gtest.h>
#include <turbojpeg.h>
#include <webp/decode.h>

#include <cmath>
#include <memory>

#include "tests/test_util.h"

namespace tilerender::testing {
namespace {

std::vector<uint8_t> DecodeJpeg(const std::vector<uint8_t>& jpeg, int* w, int* h) {
  std::unique_ptr<void, int (*)(tjhandle)> tj(tjInitDecompress(), tjDestroy);
  int sub = 0, space = 0;
  EXPECT_EQ(tjDecompressHeader3(tj.get(), jpeg.data(), jpeg.size(), w, h, &sub, &space), 0);
  std::vector<uint8_t> rgba(static_cast<size_t>(*w) * *h * 4);
  EXPECT_EQ(tjDecompress2(tj.get(), jpeg.data(), jpeg.size(), rgba.data(), *w, 0, *h, TJPF_RGBA, 0), 0);
  return rgba;
}

std::vector<uint8_t> DecodeWebp(const std::vector<uint8_t>& webp, int* w, int* h, bool* alpha) {
  WebPBitstreamFeatures f;
  EXPECT_EQ(WebPGetFeatures(webp.data(), webp.size(), &f), VP8_STATUS_OK);
  *alpha = f.has_alpha;
  uint8_t* px = WebPDecodeRGBA(webp.data(), webp.size(), w, h);
  EXPECT_TRUE(px);
  std::vector<uint8_t> out(px, px + static_cast<size_t>(*w) * *h * 4);
  WebPFree(px);
  return out;
}

// PSNR over the color channels.
double Psnr(const std::vector<uint8_t>& a, const std::vector<uint8_t>& b) {
  double se = 0;
  size_t n = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    if (i % 4 == 3) continue;
    const double d = a[i] - b[i];
    se += d * d;
    ++n;
  }
  return se == 0 ? 99 : 10 * std::log10(255.0 * 255.0 / (se / n));
}

class EncodeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const ImageDesc d{400, 300, PixelType::kUint16, 1};
    image_ = Load(MakeImage<uint16_t>(d, [](int64_t x, int64_t y, int) {
      return 30000 + 25000 * std::sin(x * 0.05) * std::cos(y * 0.07) + (x * 7 + y * 13) % 300;
    }));
    ASSERT_TRUE(image_);
  }
  RenderRequest Request(OutputFormat format, Rgba background = {0, 0, 0, 1}) const {
    RenderRequest r{.width = 320, .height = 200, .format = format};
    r.camera = {.center_x = 190, .center_y = 150, .zoom = 0.9, .rotation_deg = 20};  // corners show the background
    r.layers.push_back({.image = image_, .colormap = {.name = "viridis"}, .interpolation = Interpolation::kLinear});
    r.background = background;
    return r;
  }
  RenderOutput Render(const RenderRequest& r) const {
    auto out = TestEngine().Render(r);
    EXPECT_TRUE(out.ok()) << out.status().ToString();
    return out.ok() ? std::move(out).value() : RenderOutput{};
  }
  ImageHandle image_;
};

TEST_F(EncodeTest, JpegIsCloseToTheRawRender) {
  const RenderOutput raw = Render(Request(OutputFormat::kRawRgba8));
  RenderRequest r = Request(OutputFormat::kJpeg);
  r.quality = 95;
  const RenderOutput jpeg = Render(r);
  EXPECT_EQ(jpeg.format, OutputFormat::kJpeg);
  EXPECT_FALSE(jpeg.has_alpha);
  ASSERT_GE(jpeg.data.size(), 3u);
  EXPECT_EQ(jpeg.data[0], 0xFF);
  EXPECT_EQ(jpeg.data[1], 0xD8);  // SOI
  int w = 0, h = 0;
  const auto px = DecodeJpeg(jpeg.data, &w, &h);
  EXPECT_EQ(w, 320);
  EXPECT_EQ(h, 200);
  EXPECT_GT(Psnr(px, raw.data), 38) << "top-down, same place: a flipped image would score ~10 dB";
  // Quality is honoured, and the default is 85.
  r.quality = 30;
  const RenderOutput low = Render(r);
  EXPECT_LT(low.data.size(), jpeg.data.size());
  r.quality.reset();
  const RenderOutput by_default = Render(r);
  r.quality = 85;
  EXPECT_EQ(by_default.data, Render(r).data);
}

TEST_F(EncodeTest, JpegOfATranslucentBackgroundIsOverTheOpaqueBackground) {
  const Rgba bg{0.9f, 0.2f, 0.1f, 0.4f};
  const RenderOutput raw = Render(Request(OutputFormat::kRawRgba8, bg));  // straight alpha
  ASSERT_TRUE(raw.has_alpha);
  RenderRequest r = Request(OutputFormat::kJpeg, bg);
  r.quality = 100;
  int w = 0, h = 0;
  const auto px = DecodeJpeg(Render(r).data, &w, &h);
  // Expected: straight color x alpha + background x (1 - alpha), computed here from the raw render.
  std::vector<uint8_t> expect(raw.data.size());
  const float b[3] = {bg.r, bg.g, bg.b};
  for (size_t i = 0; i < raw.data.size(); i += 4) {
    const double a = raw.data[i + 3] / 255.0;
    for (int c = 0; c < 3; ++c) expect[i + c] = static_cast<uint8_t>(std::lround(raw.data[i + c] * a + 255 * b[c] * (1 - a)));
    expect[i + 3] = 255;
  }
  EXPECT_GT(Psnr(px, expect), 40);
  // A corner (outside the rotated image) is the background's color, opaque.
  EXPECT_NEAR(px[0], 230, 3);
  EXPECT_NEAR(px[1], 51, 3);
  EXPECT_NEAR(px[2], 26, 3);
}

TEST_F(EncodeTest, LosslessWebpIsExactAlphaIncluded) {
  for (const Rgba bg : {Rgba{0, 0, 0, 1}, Rgba{0.2f, 0.4f, 0.6f, 0.5f}}) {
    const RenderOutput raw = Render(Request(OutputFormat::kRawRgba8, bg));
    RenderRequest r = Request(OutputFormat::kWebp, bg);
    r.lossless = true;
    const RenderOutput webp = Render(r);
    EXPECT_EQ(webp.format, OutputFormat::kWebp);
    ASSERT_GE(webp.data.size(), 12u);
    EXPECT_EQ(std::string(webp.data.begin() + 8, webp.data.begin() + 12), "WEBP");
    int w = 0, h = 0;
    bool alpha = false;
    const auto px = DecodeWebp(webp.data, &w, &h, &alpha);
    EXPECT_EQ(alpha, bg.a < 1) << "alpha only where the background is translucent";
    EXPECT_EQ(w, 320);
    EXPECT_EQ(h, 200);
    EXPECT_EQ(px, raw.data) << "background alpha " << bg.a;
  }
}

TEST_F(EncodeTest, LossyWebpIsCloseAndSmallerThanPng) {
  const RenderOutput raw = Render(Request(OutputFormat::kRawRgba8));
  const RenderOutput png = Render(Request(OutputFormat::kPng));
  const RenderOutput webp = Render(Request(OutputFormat::kWebp));
  int w = 0, h = 0;
  bool alpha = true;
  const auto px = DecodeWebp(webp.data, &w, &h, &alpha);
  EXPECT_FALSE(alpha);
  EXPECT_GT(Psnr(px, raw.data), 30);
  EXPECT_LT(webp.data.size(), png.data.size() / 2);
  RenderRequest r = Request(OutputFormat::kWebp);
  r.quality = 80;
  EXPECT_EQ(Render(r).data, webp.data) << "default quality 80";
}

TEST_F(EncodeTest, BadQualitiesAndSizesAreRefused) {
  RenderRequest r = Request(OutputFormat::kJpeg);
  for (int q : {0, 101, -5}) {
    r.quality = q;
    EXPECT_EQ(TestEngine().Render(r).status().code(), StatusCode::kInvalidArgument) << q;
  }
  r.format = OutputFormat::kWebp;
  r.quality = 0;
  EXPECT_TRUE(TestEngine().Render(r).ok()) << "WebP quality 0 is valid";
  r.quality = 101;
  EXPECT_EQ(TestEngine().Render(r).status().code(), StatusCode::kInvalidArgument);
  r.quality.reset();
  r.width = 16384;
  r.height = 4;
  EXPECT_EQ(TestEngine().Render(r).status().code(), StatusCode::kInvalidArgument) << "WebP's side limit";
}

}  // namespace
}  // namespace tilerender::testing
