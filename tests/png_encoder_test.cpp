#include "core/encode/png_encoder.h"

#include <gtest/gtest.h>
#include <png.h>

namespace tilerender {
namespace {

std::vector<uint8_t> Decode(const std::vector<uint8_t>& png, int* w, int* h) {
  png_image img{};
  img.version = PNG_IMAGE_VERSION;
  EXPECT_TRUE(png_image_begin_read_from_memory(&img, png.data(), png.size()));
  img.format = PNG_FORMAT_RGBA;
  std::vector<uint8_t> out(PNG_IMAGE_SIZE(img));
  EXPECT_TRUE(png_image_finish_read(&img, nullptr, out.data(), 0, nullptr));
  *w = img.width;
  *h = img.height;
  return out;
}

TEST(PngEncoderTest, RoundTripsRgbaAndRgbBottomUp) {
  const int w = 37, h = 11;
  std::vector<uint8_t> px(w * h * 4);
  for (size_t i = 0; i < px.size(); ++i) px[i] = static_cast<uint8_t>(i * 7 % 256);
  for (int level : {0, 1, 6, 9}) {
    auto png = EncodePng(px.data(), w, h, w * 4, {.level = level});
    ASSERT_TRUE(png.ok());
    int dw, dh;
    EXPECT_EQ(Decode(*png, &dw, &dh), px) << "level " << level;
    EXPECT_EQ(dw, w);
  }
  // RGB from RGBA rows, read bottom-up: decoded alpha is 255 and rows come out flipped.
  auto png = EncodePng(px.data(), w, h, w * 4, {.write_alpha = false, .bottom_up = true});
  ASSERT_TRUE(png.ok());
  int dw, dh;
  const std::vector<uint8_t> back = Decode(*png, &dw, &dh);
  for (int y = 0; y < h; ++y) {
    for (int x = 0; x < w; ++x) {
      for (int c = 0; c < 3; ++c) {
        ASSERT_EQ(back[(y * w + x) * 4 + c], px[((h - 1 - y) * w + x) * 4 + c]);
      }
      ASSERT_EQ(back[(y * w + x) * 4 + 3], 255);
    }
  }
}

TEST(PngEncoderTest, BandedEncodeRoundTripsForAnyBandCount) {
  // Sizes that do not divide evenly; 1..7 bands (the encoder makes a band per 64K pixels at most,
  // so this image allows up to 10); RGB and RGBA; GL row order; stored and deflated.
  const int w = 1033, h = 651;
  std::vector<uint8_t> px(static_cast<size_t>(w) * h * 4);
  for (size_t i = 0; i < px.size(); ++i) px[i] = static_cast<uint8_t>((i * 2654435761u) >> 13);
  for (int threads : {1, 2, 3, 7}) {
    for (bool alpha : {false, true}) {
      for (int level : {0, 1, 6}) {
        auto png = EncodePng(px.data(), w, h, w * 4,
                             {.level = level, .write_alpha = alpha, .bottom_up = true, .threads = threads});
        ASSERT_TRUE(png.ok());
        int dw, dh;
        const std::vector<uint8_t> back = Decode(*png, &dw, &dh);
        ASSERT_EQ(dw, w);
        size_t wrong = 0;
        for (int y = 0; y < h; ++y) {
          for (int x = 0; x < w; ++x) {
            for (int c = 0; c < 4; ++c) {
              const uint8_t expect = c == 3 && !alpha ? 255 : px[((h - 1 - y) * w + x) * 4 + c];
              wrong += back[(y * w + x) * 4 + c] != expect;
            }
          }
        }
        EXPECT_EQ(wrong, 0u) << threads << " bands, alpha " << alpha << ", level " << level;
      }
    }
  }
  // libpng's serial writer with an explicit filter choice gives the same pixels.
  auto serial = EncodePng(px.data(), w, h, w * 4, {.level = 6, .filters = 0xf8});
  ASSERT_TRUE(serial.ok());
  int dw, dh;
  EXPECT_EQ(Decode(*serial, &dw, &dh), px);
}

TEST(PngEncoderTest, BadArguments) {
  uint8_t px[4] = {};
  EXPECT_EQ(EncodePng(px, 0, 1, 4, {}).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(EncodePng(px, 1, 1, 4, {.level = 12}).status().code(), StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace tilerender
