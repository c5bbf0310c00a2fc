// Every PNG of PngSuite loads, and its identity render equals libpng's own decode (simplified API,
// 8-bit RGBA) composited on the background.
//
// tilerender treats pixel values as data: it does not apply the gAMA chunk (contrast and colormaps
// define the display). The simplified API does apply it (converting to sRGB for 8-bit output), and
// most PngSuite files say gAMA = 1.0. So the reference decode is made from the file with its
// colour-space chunks (gAMA, cHRM, sRGB, iCCP) removed: the same pixels, no colour management.
// For 16-bit files the simplified API's 8-bit output is sRGB-encoded even then (it takes 16-bit
// data as linear), so those are decoded to its 16-bit linear format (premultiplied alpha) and
// reduced to 8 bits from there (straight color, rounded), then composited like the 8-bit files.
#include <gtest/gtest.h>
#include <png.h>

#include <cmath>
#include <filesystem>
#include <fstream>

#include "core/image/image_file.h"
#include "tests/temp_dir.h"
#include "tests/test_util.h"

namespace tilerender::testing {
namespace {

const std::string kDir = std::string(TESTDATA_DIR) + "/pngsuite";

std::string ReadFile(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
}

// The PNG bytes without its colour-space chunks.
std::string WithoutColourSpace(const std::string& png) {
  std::string out = png.substr(0, 8);
  for (size_t i = 8; i + 12 <= png.size();) {
    const uint32_t n = (uint8_t(png[i]) << 24) | (uint8_t(png[i + 1]) << 16) | (uint8_t(png[i + 2]) << 8) | uint8_t(png[i + 3]);
    const std::string type = png.substr(i + 4, 4);
    if (type != "gAMA" && type != "cHRM" && type != "sRGB" && type != "iCCP") out += png.substr(i, 12 + n);
    i += 12 + n;
  }
  return out;
}

// Premultiplied RGBA in [0, 1] per pixel, from the simplified API.
std::vector<double> SimplifiedDecode(const std::string& png, int* w, int* h) {
  const bool sixteen = static_cast<uint8_t>(png[24]) == 16;  // IHDR bit depth
  png_image img{};
  img.version = PNG_IMAGE_VERSION;
  EXPECT_TRUE(png_image_begin_read_from_memory(&img, png.data(), png.size())) << img.message;
  img.format = sixteen ? PNG_FORMAT_LINEAR_RGB_ALPHA : PNG_FORMAT_RGBA;
  std::vector<uint8_t> raw(PNG_IMAGE_SIZE(img));
  EXPECT_TRUE(png_image_finish_read(&img, nullptr, raw.data(), 0, nullptr)) << img.message;
  *w = img.width;
  *h = img.height;
  std::vector<double> out(static_cast<size_t>(img.width) * img.height * 4);
  for (size_t i = 0; i < out.size(); i += 4) {
    if (sixteen) {
      // Straight 16-bit values rounded to 8 bits, as an 8-bit decode would give, then premultiplied.
      const auto* p = reinterpret_cast<const uint16_t*>(raw.data()) + i;
      const double a = std::round(p[3] / 65535.0 * 255.0) / 255.0;
      for (int c = 0; c < 3; ++c) {
        const double straight = p[3] > 0 ? static_cast<double>(p[c]) / p[3] : 0.0;
        out[i + c] = std::round(straight * 255.0) / 255.0 * a;
      }
      out[i + 3] = a;
    } else {
      const double a = raw[i + 3] / 255.0;
      for (int c = 0; c < 3; ++c) out[i + c] = raw[i + c] / 255.0 * a;
      out[i + 3] = a;
    }
  }
  return out;
}

std::vector<std::string> SuiteFiles() {
  // Listed at static initialisation (test discovery runs then): never throw here; a missing
  // directory fails TestDataIsThere instead.
  std::vector<std::string> names;
  std::error_code ec;
  for (std::filesystem::directory_iterator it(kDir, ec), end; !ec && it != end; it.increment(ec)) {
    if (it->path().extension() == ".png") names.push_back(it->path().filename().string());
  }
  std::sort(names.begin(), names.end());
  return names;
}

TEST(PngSuiteTest, TestDataIsThere) {
  EXPECT_EQ(SuiteFiles().size(), 60u) << "PngSuite expected in " << kDir
                                       << " (configure with -DTILERENDER_TESTDATA_DIR=...)";
}

class PngSuiteTest : public ::testing::TestWithParam<std::string> {};

TEST_P(PngSuiteTest, IdentityRenderEqualsLibpngDecode) {
  const std::string path = kDir + "/" + GetParam();
  auto file = OpenImageFile(path);
  ASSERT_TRUE(file.ok()) << file.status().ToString();
  const ImageDesc& d = file->source->desc();
  ImageHandle img = Load(file->source);
  ASSERT_TRUE(img);

  const Rgba bg{0.2f, 0.4f, 0.6f, 1};
  RenderRequest req{.width = static_cast<int>(d.width), .height = static_cast<int>(d.height), .background = bg};
  req.camera.zoom = 1;
  Layer layer{.image = img};
  layer.contrast = d.type == PixelType::kUint16 ? Contrast{0, 65535} : Contrast{0, 255};
  req.layers.push_back(layer);
  const std::vector<uint8_t> ours = RenderRgba(req);

  int w, h;
  const std::vector<double> ref = SimplifiedDecode(WithoutColourSpace(ReadFile(path)), &w, &h);
  ASSERT_EQ(w, d.width);
  ASSERT_EQ(h, d.height);
  // Each channel within 1 LSB of the exact composite (rounding; for 16-bit data our 16 -> 8).
  double worst = 0;
  for (size_t i = 0; i < ref.size(); i += 4) {
    const double bgc[3] = {bg.r, bg.g, bg.b};
    for (int c = 0; c < 3; ++c) {
      const double expect = (ref[i + c] + bgc[c] * (1 - ref[i + 3])) * 255.0;
      worst = std::max(worst, std::abs(ours[i + c] - expect));
    }
  }
  EXPECT_LE(worst, 1.0) << GetParam() << " as " << d.ToString() << ": worst " << worst;
  if (!::testing::Test::HasFailure() && GetParam() == "basn6a16.png") SavePng("pngsuite_basn6a16", ours, w, h);
}

GTEST_ALLOW_UNINSTANTIATED_PARAMETERIZED_TEST(PngSuiteTest);
INSTANTIATE_TEST_SUITE_P(All, PngSuiteTest, ::testing::ValuesIn(SuiteFiles()),
                         [](const auto& info) {
                           std::string n = info.param.substr(0, info.param.size() - 4);
                           return n;
                         });

TEST(PngReaderTest, MapsToTheImageModel) {
  struct Case {
    const char* file;
    PixelType type;
    int channels;
  } cases[] = {{"basn0g01.png", PixelType::kUint8, 1},  {"basn0g16.png", PixelType::kUint16, 1},
               {"basn2c16.png", PixelType::kUint8, 3},  {"basn3p04.png", PixelType::kUint8, 3},
               {"basn4a08.png", PixelType::kUint8, 4},  {"basn6a16.png", PixelType::kUint8, 4},
               {"ftbbn0g04.png", PixelType::kUint8, 4}, {"ibasn0g16.png", PixelType::kUint16, 1}};
  for (const Case& c : cases) {
    auto f = OpenImageFile(kDir + "/" + c.file);
    ASSERT_TRUE(f.ok()) << c.file;
    EXPECT_EQ(f->source->desc().type, c.type) << c.file;
    EXPECT_EQ(f->source->desc().channels, c.channels) << c.file;
  }
  auto rgb16 = OpenImageFile(kDir + "/basn2c16.png");
  ASSERT_FALSE(rgb16->notes.empty());
  EXPECT_NE(rgb16->notes[0].find("8-bit"), std::string::npos);
}

TEST(PngReaderTest, CorruptAndTruncatedFilesAreInvalidArgument) {
  TestTempDir tmp;
  const std::string good = ReadFile(kDir + "/basn2c08.png");
  const std::string dir = tmp.path() + "/";
  const std::pair<std::string, std::string> bad[] = {
      {"truncated.png", good.substr(0, good.size() / 2)},
      {"header_only.png", good.substr(0, 20)},
      {"flipped_crc.png", [&] { std::string s = good; s[40] ^= 0x55; return s; }()},
  };
  for (const auto& [name, bytes] : bad) {
    std::ofstream(dir + name, std::ios::binary) << bytes;
    auto f = OpenImageFile(dir + name);
    EXPECT_EQ(f.status().code(), StatusCode::kInvalidArgument) << name << ": " << f.status().ToString();
  }
  EXPECT_EQ(OpenImageFile(dir + "does-not-exist.png").status().code(), StatusCode::kNotFound);
}

}  // namespace
}  // namespace tilerender::testing
