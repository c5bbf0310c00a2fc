// TIFF reading: every file of libtiff's own test images with its expected outcome, generated files
// covering strips, tiles, BigTIFF, planar configurations, compressions and sample types, and
// malformed files refused before memory is allocated for them.
#include <gtest/gtest.h>
#include <png.h>
#include <tiffio.h>

#include <array>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>

#include "core/image/image_file.h"
#include "tests/test_util.h"
#include "tests/ome_tiff_writer.h"
#include "tests/temp_dir.h"
#include "tests/tiff_writer.h"

namespace tilerender::testing {
namespace {

const std::string kDir = std::string(TESTDATA_DIR) + "/libtiff";

// libtiff's own decode (TIFFReadRGBAImageOriented, top-left origin) as premultiplied RGBA in [0, 1].
bool LibtiffRgba(const std::string& path, std::vector<double>* out, uint32_t* w, uint32_t* h) {
  TIFF* t = TIFFOpen(path.c_str(), "r");
  if (!t) return false;
  char msg[1024];
  if (!TIFFRGBAImageOK(t, msg)) {
    TIFFClose(t);
    return false;
  }
  TIFFGetField(t, TIFFTAG_IMAGEWIDTH, w);
  TIFFGetField(t, TIFFTAG_IMAGELENGTH, h);
  std::vector<uint32_t> raster(size_t(*w) * *h);
  const int ok = TIFFReadRGBAImageOriented(t, *w, *h, raster.data(), ORIENTATION_TOPLEFT, 0);
  TIFFClose(t);
  out->resize(raster.size() * 4);
  for (size_t i = 0; i < raster.size(); ++i) {
    (*out)[4 * i + 0] = TIFFGetR(raster[i]) / 255.0;
    (*out)[4 * i + 1] = TIFFGetG(raster[i]) / 255.0;
    (*out)[4 * i + 2] = TIFFGetB(raster[i]) / 255.0;
    (*out)[4 * i + 3] = TIFFGetA(raster[i]) / 255.0;
  }
  return ok != 0;
}

enum class Expect { kLoads, kLoadsFloat };

// The expected outcome of every file in ../shared/testdata/libtiff. kLoads: the identity render
// equals libtiff's RGBA decode composited on the background (1 LSB). kLoadsFloat: float data,
// which libtiff's RGBA interface does not take; its values are checked against the samples.
const std::map<std::string, Expect>& Expectations() {
  static const std::map<std::string, Expect> m = {
      {"32bpp-None-jpeg.tiff", Expect::kLoads},          // JPEG YCbCr -> RGB
      {"32bpp-None.tiff", Expect::kLoads},               // RGBA, associated alpha
      {"custom_dir_EXIF_GPS.tiff", Expect::kLoads},
      {"deflate-last-strip-extra-data.tiff", Expect::kLoads},
      {"logluv-3c-16b.tiff", Expect::kLoads},            // through the RGBA interface
      {"lzw-single-strip.tiff", Expect::kLoads},         // 7795 x 3122 bilevel
      {"minisblack-1c-16b.tiff", Expect::kLoads},        // uint16 scalar
      {"minisblack-1c-8b.tiff", Expect::kLoads},
      {"minisblack-2c-8b-alpha.tiff", Expect::kLoads},   // gray + alpha -> RGBA
      {"miniswhite-1c-1b.tiff", Expect::kLoads},
      {"ojpeg_chewey_subsamp21_multi_strip.tiff", Expect::kLoads},
      {"ojpeg_single_strip_no_rowsperstrip.tiff", Expect::kLoads},
      {"ojpeg_zackthecat_subsamp22_single_strip.tiff", Expect::kLoads},
      {"palette-1c-1b.tiff", Expect::kLoads},
      {"palette-1c-4b.tiff", Expect::kLoads},
      {"palette-1c-8b.tiff", Expect::kLoads},
      {"quad-lzw-compat.tiff", Expect::kLoads},
      {"quad-tile.jpg.tiff", Expect::kLoads},            // tiled JPEG
      {"rgb-3c-16b.tiff", Expect::kLoads},               // 16-bit RGB -> 8-bit
      {"rgb-3c-8b.tiff", Expect::kLoads},
      {"test_float64_predictor2_be_lzw.tif", Expect::kLoadsFloat},
      {"test_float64_predictor2_le_lzw.tif", Expect::kLoadsFloat},
      {"test_ifd_loop_subifd.tif", Expect::kLoads},      // page 0 is sound; the loop is refused below
      {"test_ifd_loop_to_first.tif", Expect::kLoads},
      {"test_ifd_loop_to_self.tif", Expect::kLoads},
      {"test_two_ifds.tif", Expect::kLoads},
      {"testfax3_bug54_1dnoEOL.tif", Expect::kLoads},
      {"testfax3_bug_513.tiff", Expect::kLoads},
      {"testfax4.tiff", Expect::kLoads},
      {"tiff_with_subifd_chain.tif", Expect::kLoads},
      {"webp_lossless_rgba_alpha_fully_opaque.tif", Expect::kLoads},
  };
  return m;
}

TEST(LibtiffImagesTest, EveryFileHasAnExpectation) {
  for (const auto& e : std::filesystem::directory_iterator(kDir)) {
    const std::string name = e.path().filename().string();
    if (name == "LICENSE.md") continue;
    EXPECT_TRUE(Expectations().count(name)) << name << " has no expected outcome";
  }
}

class LibtiffImageTest : public ::testing::TestWithParam<std::string> {};

TEST_P(LibtiffImageTest, LoadsAndRendersLikeLibtiff) {
  const std::string path = kDir + "/" + GetParam();
  auto file = OpenImageFile(path);
  ASSERT_TRUE(file.ok()) << file.status().ToString();
  const ImageDesc d = file->source->desc();
  ImageHandle img = Load(file->source, 64);  // small tiles: banded reads cross tile boundaries
  ASSERT_TRUE(img);

  if (Expectations().at(GetParam()) == Expect::kLoadsFloat) {
    // Values: our float32 against libtiff's float64 samples, read independently.
    TIFF* t = TIFFOpen(path.c_str(), "r");
    ASSERT_TRUE(t);
    std::vector<double> row(d.width);
    auto again = OpenImageFile(path);
    std::vector<float> ours(d.width * d.height);
    ASSERT_TRUE(again->source->ReadRect(0, 0, 0, d.width, d.height, reinterpret_cast<uint8_t*>(ours.data()), d.width * 4).ok());
    for (uint32_t y = 0; y < d.height; ++y) {
      ASSERT_EQ(TIFFReadScanline(t, row.data(), y, 0), 1);
      for (int64_t x = 0; x < d.width; ++x) ASSERT_EQ(ours[y * d.width + x], static_cast<float>(row[x])) << x << "," << y;
    }
    TIFFClose(t);
    EXPECT_FALSE(file->notes.empty());
    return;
  }

  std::vector<double> ref;
  uint32_t w = 0, h = 0;
  ASSERT_TRUE(LibtiffRgba(path, &ref, &w, &h));
  ASSERT_EQ(w, d.width);
  ASSERT_EQ(h, d.height);
  // Renders are limited in size; large files are checked in horizontal slices.
  const Rgba bg{0.2f, 0.4f, 0.6f, 1};
  const int64_t slice = std::max<int64_t>(1, (int64_t{4} << 20) / d.width);
  double worst = 0;
  for (int64_t y0 = 0; y0 < d.height; y0 += slice) {
    const int64_t rows = std::min(slice, d.height - y0);
    RenderRequest req{.width = static_cast<int>(d.width), .height = static_cast<int>(rows), .background = bg};
    req.camera = {.center_x = d.width / 2.0, .center_y = y0 + rows / 2.0, .zoom = 1};
    Layer layer{.image = img};
    layer.contrast = d.type == PixelType::kUint16 ? Contrast{0, 65535} : Contrast{0, 255};
    req.layers.push_back(layer);
    const std::vector<uint8_t> ours = RenderRgba(req);
    const double bgc[3] = {bg.r, bg.g, bg.b};
    for (int64_t r = 0; r < rows; ++r) {
      for (int64_t x = 0; x < d.width; ++x) {
        const double* p = &ref[((y0 + r) * d.width + x) * 4];
        for (int c = 0; c < 3; ++c) {
          const double expect = (p[c] + bgc[c] * (1 - p[3])) * 255.0;
          worst = std::max(worst, std::abs(ours[(r * d.width + x) * 4 + c] - expect));
        }
      }
    }
  }
  EXPECT_LE(worst, 1.0) << GetParam() << " as " << d.ToString();
}

std::vector<std::string> Files() {
  std::vector<std::string> v;
  for (const auto& [name, e] : Expectations()) v.push_back(name);
  return v;
}

INSTANTIATE_TEST_SUITE_P(Files, LibtiffImageTest, ::testing::ValuesIn(Files()), [](const auto& info) {
  std::string n = info.param;
  for (char& c : n) if (!std::isalnum(static_cast<unsigned char>(c))) c = '_';
  return n;
});

TEST(TiffPagesTest, PagesAndIfdLoops) {
  // Distinct pages load; a page past the end, or reached only through an IFD loop, is refused with
  // a message (and no hang): libtiff stops following the chain where it loops.
  const std::pair<const char*, int> readable[] = {{"test_two_ifds.tif", 2},
                                                  {"test_ifd_loop_to_self.tif", 1},   // IFD 0 -> IFD 0
                                                  {"test_ifd_loop_to_first.tif", 2},  // IFD 1 -> IFD 0
                                                  {"test_ifd_loop_subifd.tif", 5},    // loop among SubIFDs
                                                  {"tiff_with_subifd_chain.tif", 2},
                                                  {"rgb-3c-8b.tiff", 1}};
  for (const auto& [file, pages] : readable) {
    for (int page = 0; page < pages + 3; ++page) {
      OpenOptions o;
      o.page = page;
      auto r = OpenImageFile(kDir + "/" + file, o);
      if (page < pages) {
        EXPECT_TRUE(r.ok()) << file << " page " << page << ": " << r.status().ToString();
      } else {
        EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument) << file << " page " << page;
        EXPECT_NE(r.status().message().find("page " + std::to_string(page) + " not found"), std::string::npos)
            << r.status().message();
      }
    }
  }
}

// ---- Pyramids: the file's own reduced-resolution levels. ----

// libtiff's RGBA decode of one directory (page) of a file, straight alpha dropped: RGB bytes.
std::vector<uint8_t> LibtiffPageRgb(const std::string& path, int page, uint32_t* w, uint32_t* h) {
  TIFF* t = TIFFOpen(path.c_str(), "r");
  EXPECT_TRUE(t && TIFFSetDirectory(t, static_cast<tdir_t>(page)));
  TIFFGetField(t, TIFFTAG_IMAGEWIDTH, w);
  TIFFGetField(t, TIFFTAG_IMAGELENGTH, h);
  std::vector<uint32_t> raster(size_t(*w) * *h);
  EXPECT_TRUE(TIFFReadRGBAImageOriented(t, *w, *h, raster.data(), ORIENTATION_TOPLEFT, 0));
  TIFFClose(t);
  std::vector<uint8_t> rgb;
  for (uint32_t p : raster) rgb.insert(rgb.end(), {uint8_t(TIFFGetR(p)), uint8_t(TIFFGetG(p)), uint8_t(TIFFGetB(p))});
  return rgb;
}

// A render of level k drawn as it is: zoom 2^-k, one output pixel per level texel.
std::vector<uint8_t> RenderLevel(const ImageHandle& img, int k, int64_t w, int64_t h) {
  RenderRequest req{.width = static_cast<int>(w), .height = static_cast<int>(h)};
  const double scale = std::ldexp(1.0, k);
  req.camera = {.center_x = w * scale / 2, .center_y = h * scale / 2, .zoom = 1 / scale};
  req.layers.push_back({.image = img});
  return RenderRgba(req);
}

size_t RgbMismatches(const std::vector<uint8_t>& rgba, const std::vector<uint8_t>& rgb) {
  size_t wrong = 0;
  for (size_t i = 0; i < rgb.size() / 3; ++i) {
    for (int c = 0; c < 3; ++c) wrong += rgba[i * 4 + c] != rgb[i * 3 + c];
  }
  return wrong;
}

TEST(TiffPyramidTest, OpenSlideBoxesPagePyramidIsUsedAsItIs) {
  // OpenSlide's generic tiled TIFF fixture: a 4-level page pyramid (300 x 250 down to 37 x 31,
  // floor-halved), deflate, 64 x 64 tiles.
  const std::string path = std::string(TESTDATA_DIR) + "/openslide/boxes.tiff";
  auto file = OpenImageFile(path);
  ASSERT_TRUE(file.ok()) << file.status().ToString();
  const std::vector<SourceLevel> levels = file->source->levels();
  ASSERT_EQ(levels.size(), 4u);
  const int64_t sizes[4][2] = {{300, 250}, {150, 125}, {75, 62}, {37, 31}};
  for (int k = 0; k < 4; ++k) {
    EXPECT_EQ(levels[k].level, k);
    EXPECT_EQ(levels[k].width, sizes[k][0]);
    EXPECT_EQ(levels[k].height, sizes[k][1]);
  }
  ImageHandle img = Load(file->source);
  ASSERT_TRUE(img);
  for (int k = 0; k < 4; ++k) EXPECT_TRUE(img->info().level_info[k].from_source) << k;
  EXPECT_FALSE(img->info().level_info[4].from_source);
  EXPECT_EQ(img->info().level_info[4].width, 19);  // derived: ceil(37 / 2)
  // Level 0 against what OpenSlide's authors say it looks like (boxes.png, decoded by libpng).
  png_image png{};
  png.version = PNG_IMAGE_VERSION;
  ASSERT_TRUE(png_image_begin_read_from_file(&png, (std::string(TESTDATA_DIR) + "/openslide/boxes.png").c_str()));
  png.format = PNG_FORMAT_RGB;
  std::vector<uint8_t> expect(PNG_IMAGE_SIZE(png));
  ASSERT_TRUE(png_image_finish_read(&png, nullptr, expect.data(), 0, nullptr));
  ASSERT_EQ(png.width, 300u);
  EXPECT_EQ(RgbMismatches(RenderLevel(img, 0, 300, 250), expect), 0u);
  // Each reduced level is the file's own page, sample for sample (libtiff's decode of that page).
  for (int k = 1; k < 4; ++k) {
    uint32_t w = 0, h = 0;
    const std::vector<uint8_t> page = LibtiffPageRgb(path, k, &w, &h);
    EXPECT_EQ(RgbMismatches(RenderLevel(img, k, w, h), page), 0u) << "level " << k;
  }
}

// Writes a uint16 tiled pyramid whose reduced levels are NOT downsamples of level 0 (level k holds
// 10000 k + x + y), so a render shows which level it drew. `subifd`: the levels as SubIFDs of page
// 0 (OME-TIFF, vips --subifd), else as reduced-resolution pages after it; `junk`: a stripped 100 x
// 90 page of another size after level 0 (like a slide's thumbnail), which must not become a level.
void WriteMarkedPyramid(const std::string& path, bool subifd, bool junk) {
  TIFF* t = TIFFOpen(path.c_str(), "w8");
  ASSERT_TRUE(t);
  const uint32_t sizes[4][2] = {{1000, 700}, {500, 350}, {250, 175}, {125, 87}};
  auto write_level = [&](int k, bool reduced) {
    const uint32_t w = sizes[k][0], h = sizes[k][1];
    SetTiledGrayPage(t, w, h, 16, 64, reduced);
    if (k == 0 && subifd) {
      toff_t offsets[3] = {0, 0, 0};
      TIFFSetField(t, TIFFTAG_SUBIFD, 3, offsets);
    }
    std::vector<uint16_t> tile(64 * 64);
    for (uint32_t ty = 0; ty < h; ty += 64) {
      for (uint32_t tx = 0; tx < w; tx += 64) {
        for (uint32_t y = 0; y < 64; ++y) {
          for (uint32_t x = 0; x < 64; ++x) tile[y * 64 + x] = static_cast<uint16_t>(10000 * k + tx + x + ty + y);
        }
        ASSERT_GE(TIFFWriteEncodedTile(t, TIFFComputeTile(t, tx, ty, 0, 0), tile.data(), tile.size() * 2), 0);
      }
    }
    ASSERT_TRUE(TIFFWriteDirectory(t));
  };
  write_level(0, false);
  if (subifd) {
    for (int k = 1; k < 4; ++k) write_level(k, true);
  } else {
    if (junk) {
      TIFFSetField(t, TIFFTAG_SUBFILETYPE, 0);
      TIFFSetField(t, TIFFTAG_IMAGEWIDTH, 100);
      TIFFSetField(t, TIFFTAG_IMAGELENGTH, 90);
      TIFFSetField(t, TIFFTAG_BITSPERSAMPLE, 16);
      TIFFSetField(t, TIFFTAG_SAMPLESPERPIXEL, 1);
      TIFFSetField(t, TIFFTAG_PHOTOMETRIC, PHOTOMETRIC_MINISBLACK);
      TIFFSetField(t, TIFFTAG_ROWSPERSTRIP, 90);
      std::vector<uint16_t> strip(100 * 90, 60000);
      ASSERT_GE(TIFFWriteEncodedStrip(t, 0, strip.data(), strip.size() * 2), 0);
      ASSERT_TRUE(TIFFWriteDirectory(t));
    }
    for (int k = 1; k < 4; ++k) write_level(k, true);
  }
  TIFFClose(t);
}

TEST(TiffPyramidTest, PageAndSubIfdPyramidsAreTheImagesLevels) {
  TestTempDir tmp;
  const std::string dir = tmp.path() + "/";
  for (auto [subifd, junk] : {std::pair{false, false}, std::pair{false, true}, std::pair{true, false}}) {
    SCOPED_TRACE(subifd ? "SubIFD pyramid" : junk ? "page pyramid with a thumbnail page" : "page pyramid");
    const std::string path = dir + "marked_pyramid.tif";
    WriteMarkedPyramid(path, subifd, junk);
    auto file = OpenImageFile(path);
    ASSERT_TRUE(file.ok()) << file.status().ToString();
    ASSERT_EQ(file->source->levels().size(), 4u);
    ImageHandle img = Load(file->source);
    ASSERT_TRUE(img);
    EXPECT_TRUE(img->info().range_estimated) << "taken from the coarsest level";
    EXPECT_GE(img->info().range.min, 30000) << "the coarsest level holds 30000 + x + y";
    for (int k = 0; k < 4; ++k) {
      const int64_t w = img->info().level_info[k].width, h = img->info().level_info[k].height;
      ASSERT_TRUE(img->info().level_info[k].from_source);
      RenderRequest req{.width = static_cast<int>(w), .height = static_cast<int>(h), .format = OutputFormat::kRawRgba8};
      const double scale = std::ldexp(1.0, k);
      req.camera = {.center_x = w * scale / 2, .center_y = h * scale / 2, .zoom = 1 / scale};
      // Contrast [10000 k, 10000 k + 255]: gray level = (x + y) mod nothing, exactly.
      req.layers.push_back({.image = img, .contrast = Contrast{10000.0 * k, 10000.0 * k + 255}});
      auto out = TestEngine().Render(req);
      ASSERT_TRUE(out.ok());
      size_t wrong = 0;
      for (int64_t y = 0; y < h; ++y) {
        for (int64_t x = 0; x < w; ++x) wrong += out->data[(y * w + x) * 4] != std::min<int64_t>(255, x + y);
      }
      EXPECT_EQ(wrong, 0u) << "level " << k;
    }
  }
}

// ---- OME-TIFF: channels as pages, each with its SubIFD pyramid, described by OME-XML. ----

TEST(OmeTiffTest, ChannelsWithSubIfdPyramidsNamesAndPixelSize) {
  TestTempDir tmp;
  const std::string path = tmp / "three_channels.ome.tif";
  WriteOmeTiff(path, 3, 2);
  OpenOptions o;
  o.z = 1;
  auto f = OpenImageFile(path, o);
  ASSERT_TRUE(f.ok()) << f.status().ToString();
  EXPECT_EQ(f->format, "ome-tiff");
  EXPECT_EQ(f->source->desc().planes, 3);
  ASSERT_EQ(f->source->levels().size(), 3u) << "each channel's SubIFDs are its levels";
  const auto [px, py] = f->source->pixel_size_um();
  EXPECT_DOUBLE_EQ(px, 0.325);
  EXPECT_DOUBLE_EQ(py, 0.325);
  ImageHandle img = Load(f->source, 128);
  ASSERT_TRUE(img);
  ASSERT_EQ(img->info().channel_info.size(), 3u);
  EXPECT_EQ(img->info().channel_info[2].name, "mCherry");
  EXPECT_EQ(img->info().channel_info[2].color, 0xFF0000FFu);
  EXPECT_EQ(img->info().channel_info[1].color, 0x00FF00FFu);
  for (int c = 0; c < 3; ++c) {
    for (int k = 0; k < 3; ++k) {
      const int64_t w = 600 >> k, h = 400 >> k;
      RenderRequest req{.width = static_cast<int>(w), .height = static_cast<int>(h), .format = OutputFormat::kRawRgba8};
      const double scale = std::ldexp(1.0, k);
      req.camera = {.center_x = w * scale / 2, .center_y = h * scale / 2, .zoom = 1 / scale};
      const double base = 10000.0 * c + 1000 * 1 + 100 * k;  // z = 1
      req.layers.push_back({.image = img, .channel = c, .contrast = Contrast{base, base + 255}});
      auto out = TestEngine().Render(req);
      ASSERT_TRUE(out.ok());
      size_t wrong = 0;
      for (int64_t y = 0; y < h; ++y) {
        for (int64_t x = 0; x < w; ++x) wrong += out->data[(y * w + x) * 4] != (x + y) % 100;
      }
      EXPECT_EQ(wrong, 0u) << "channel " << c << ", level " << k;
    }
  }
  // The composite of the three at zoom 1/2 (level 1), each channel over its level-1 values (these
  // levels are not downsamples, so the default contrast, taken from level 2, would not fit).
  RenderRequest comp{.width = 300, .height = 200};
  const char* maps[3] = {"blue", "green", "red"};
  for (int c = 0; c < 3; ++c) {
    const double base = 10000.0 * c + 1000 + 100;
    comp.layers.push_back({.image = img, .channel = c, .colormap = {.name = maps[c]}, .contrast = Contrast{base, base + 99},
                           .blending = Blending::kAdditive});
  }
  const std::vector<uint8_t> px3 = RenderRgba(comp);
  ASSERT_EQ(px3.size(), 300u * 200 * 4);
  // Every pixel is gray (the three channels hold the same pattern), from black to white.
  size_t off_gray = 0;
  int hi = 0;
  for (size_t i = 0; i < px3.size(); i += 4) {
    off_gray += px3[i] != px3[i + 1] || px3[i + 1] != px3[i + 2];
    hi = std::max<int>(hi, px3[i]);
  }
  EXPECT_EQ(off_gray, 0u);
  EXPECT_GE(hi, 250);
  SavePng("ome_tiff_composite", px3, 300, 200);
  // The page of a plane chooses its z too; a z the image lacks is refused.
  OpenOptions by_page;
  by_page.page = 4;  // c 1, z 1
  auto g = OpenImageFile(path, by_page);
  ASSERT_TRUE(g.ok()) << g.status().ToString();
  o.z = 2;
  EXPECT_EQ(OpenImageFile(path, o).status().code(), StatusCode::kInvalidArgument);
}

TEST(OmeTiffTest, OmeXmlThatLiesAboutThePlanesIsRefused) {
  TestTempDir tmp;
  const std::string path = tmp / "lying.ome.tif";
  WriteOmeTiff(path, 3, 1, /*size_c_attr=*/"5");  // says 5 channels, has 3 pages
  auto f = OpenImageFile(path);
  EXPECT_EQ(f.status().code(), StatusCode::kInvalidArgument) << f.status().ToString();
  EXPECT_NE(f.status().message().find("channel 3 (IFD 3)"), std::string::npos) << f.status().message();
  const std::string broken = tmp / "broken.ome.tif";
  {
    TIFF* t = TIFFOpen(broken.c_str(), "w");
    TIFFSetField(t, TIFFTAG_IMAGEWIDTH, 8u);
    TIFFSetField(t, TIFFTAG_IMAGELENGTH, 8u);
    TIFFSetField(t, TIFFTAG_BITSPERSAMPLE, 8);
    TIFFSetField(t, TIFFTAG_SAMPLESPERPIXEL, 1);
    TIFFSetField(t, TIFFTAG_PHOTOMETRIC, PHOTOMETRIC_MINISBLACK);
    TIFFSetField(t, TIFFTAG_ROWSPERSTRIP, 8);
    TIFFSetField(t, TIFFTAG_IMAGEDESCRIPTION, "<OME><Image><Pixels SizeX=\"8\" SizeY=\"8\" DimensionOrder=\"XYZCT\"");
    std::vector<uint8_t> strip(64, 1);
    TIFFWriteEncodedStrip(t, 0, strip.data(), 64);
    TIFFWriteDirectory(t);
    TIFFClose(t);
  }
  auto b = OpenImageFile(broken);
  EXPECT_EQ(b.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(b.status().message().find("OME-XML does not parse"), std::string::npos) << b.status().message();
}

// ---- Generated files: every layout against the pixels written. ----

struct GenCase {
  const char* name;
  TiffLayout layout;
  PixelType expect_type;
  int expect_channels;
};

void PrintTo(const GenCase& c, std::ostream* os) { *os << c.name; }

template <typename T>
std::vector<T> Pattern(uint32_t w, uint32_t h, int samples, double scale) {
  std::vector<T> v(size_t(w) * h * samples);
  for (size_t i = 0; i < v.size(); ++i) v[i] = static_cast<T>(std::fmod(i * 0.618034 * scale, scale));
  return v;
}

class GeneratedTiffTest : public ::testing::TestWithParam<GenCase> {};

TEST_P(GeneratedTiffTest, ReadsBackExactly) {
  TestTempDir tmp;
  const GenCase& k = GetParam();
  const uint32_t w = 203, h = 117;
  const TiffLayout& l = k.layout;
  const std::string path = tmp / ("gen_" + std::string(k.name) + ".tif");
  std::vector<uint8_t> bytes;
  auto put = [&](const auto& v) {
    bytes.assign(reinterpret_cast<const uint8_t*>(v.data()), reinterpret_cast<const uint8_t*>(v.data() + v.size()));
  };
  if (l.sample_format == SAMPLEFORMAT_IEEEFP && l.bits == 32) put(Pattern<float>(w, h, l.samples, 1000.0));
  else if (l.sample_format == SAMPLEFORMAT_IEEEFP) put(Pattern<double>(w, h, l.samples, 1000.0));
  else if (l.sample_format == SAMPLEFORMAT_INT) put(Pattern<int16_t>(w, h, l.samples, 30000.0));
  else if (l.bits == 16) put(Pattern<uint16_t>(w, h, l.samples, 65535.0));
  else put(Pattern<uint8_t>(w, h, l.samples, 255.0));
  ASSERT_TRUE(WriteTiff(path, w, h, l, bytes.data()));

  auto f = OpenImageFile(path);
  ASSERT_TRUE(f.ok()) << f.status().ToString();
  const ImageDesc& d = f->source->desc();
  EXPECT_EQ(d.type, k.expect_type);
  EXPECT_EQ(d.channels, k.expect_channels);
  std::vector<uint8_t> got(d.byte_size());
  ASSERT_TRUE(f->source->ReadRect(0, 0, 0, w, h, got.data(), d.row_bytes()).ok());
  // Expected output from the written samples.
  const size_t n = size_t(w) * h * l.samples;
  size_t wrong = 0;
  for (size_t i = 0; i < n; ++i) {
    if (d.type == PixelType::kFloat32) {
      double v;
      if (l.bits == 32) v = reinterpret_cast<const float*>(bytes.data())[i];
      else if (l.sample_format == SAMPLEFORMAT_INT) v = reinterpret_cast<const int16_t*>(bytes.data())[i];
      else v = reinterpret_cast<const double*>(bytes.data())[i];
      wrong += reinterpret_cast<const float*>(got.data())[i] != static_cast<float>(v);
    } else if (d.type == PixelType::kUint16) {
      wrong += reinterpret_cast<const uint16_t*>(got.data())[i] != reinterpret_cast<const uint16_t*>(bytes.data())[i];
    } else if (l.bits == 16) {
      const unsigned v = reinterpret_cast<const uint16_t*>(bytes.data())[i];
      wrong += got[i] != (v * 255 + 32767) / 65535;
    } else {
      wrong += got[i] != bytes[i];
    }
  }
  EXPECT_EQ(wrong, 0u);
  // A rectangle away from the origin, crossing chunks.
  std::vector<uint8_t> part(size_t(50) * 40 * d.bytes_per_pixel());
  ASSERT_TRUE(f->source->ReadRect(0, 77, 33, 50, 40, part.data(), 50 * d.bytes_per_pixel()).ok());
  for (int r = 0; r < 40; ++r) {
    ASSERT_EQ(0, std::memcmp(&part[r * 50 * d.bytes_per_pixel()], &got[((33 + r) * w + 77) * d.bytes_per_pixel()], 50 * d.bytes_per_pixel()));
  }
  std::filesystem::remove(path);
}

TiffLayout L(std::initializer_list<std::function<void(TiffLayout&)>> edits) {
  TiffLayout l;
  for (auto& e : edits) e(l);
  return l;
}

INSTANTIATE_TEST_SUITE_P(
    Layouts, GeneratedTiffTest,
    ::testing::Values(
        GenCase{"u8_strips", L({}), PixelType::kUint8, 1},
        GenCase{"u8_one_strip_lzw", L({[](auto& l) { l.rows_per_strip = 117; l.compression = COMPRESSION_LZW; }}), PixelType::kUint8, 1},
        GenCase{"u16_tiles_deflate_pred", L({[](auto& l) { l.bits = 16; l.tiled = true; l.tile_w = 32; l.tile_h = 48; l.compression = COMPRESSION_ADOBE_DEFLATE; l.predictor = 2; }}), PixelType::kUint16, 1},
        GenCase{"u16_bigtiff_tiles", L({[](auto& l) { l.bits = 16; l.bigtiff = true; l.tiled = true; l.tile_w = 64; l.tile_h = 16; }}), PixelType::kUint16, 1},
        GenCase{"f32_strips_pred3", L({[](auto& l) { l.bits = 32; l.sample_format = SAMPLEFORMAT_IEEEFP; l.compression = COMPRESSION_ADOBE_DEFLATE; l.predictor = 3; }}), PixelType::kFloat32, 1},
        GenCase{"f64_tiles_to_f32", L({[](auto& l) { l.bits = 64; l.sample_format = SAMPLEFORMAT_IEEEFP; l.tiled = true; l.tile_w = 48; l.tile_h = 32; }}), PixelType::kFloat32, 1},
        GenCase{"i16_to_f32", L({[](auto& l) { l.bits = 16; l.sample_format = SAMPLEFORMAT_INT; }}), PixelType::kFloat32, 1},
        GenCase{"rgb8_contig_lzw", L({[](auto& l) { l.samples = 3; l.photometric = PHOTOMETRIC_RGB; l.compression = COMPRESSION_LZW; }}), PixelType::kUint8, 3},
        GenCase{"rgb8_separate_tiles", L({[](auto& l) { l.samples = 3; l.photometric = PHOTOMETRIC_RGB; l.separate = true; l.tiled = true; l.tile_w = 32; l.tile_h = 32; }}), PixelType::kUint8, 3},
        GenCase{"rgba8_separate_strips_bigtiff", L({[](auto& l) { l.samples = 4; l.photometric = PHOTOMETRIC_RGB; l.extra_alpha = EXTRASAMPLE_UNASSALPHA; l.separate = true; l.bigtiff = true; }}), PixelType::kUint8, 4},
        GenCase{"rgb16_to_rgb8", L({[](auto& l) { l.samples = 3; l.bits = 16; l.photometric = PHOTOMETRIC_RGB; }}), PixelType::kUint8, 3}),
    [](const auto& info) { return std::string(info.param.name); });

TEST(TiffMalformedTest, RefusedBeforeAllocating) {
  TestTempDir tmp;
  const std::string dir = tmp.path() + "/";
  // Absurd dimensions in an otherwise valid header: refused from the header alone.
  {
    const std::string path = dir + "absurd.tif";
    TIFF* t = TIFFOpen(path.c_str(), "w8");
    TIFFSetField(t, TIFFTAG_IMAGEWIDTH, 4000000000u);
    TIFFSetField(t, TIFFTAG_IMAGELENGTH, 4000000000u);
    TIFFSetField(t, TIFFTAG_BITSPERSAMPLE, 16);
    TIFFSetField(t, TIFFTAG_SAMPLESPERPIXEL, 1);
    TIFFSetField(t, TIFFTAG_PHOTOMETRIC, PHOTOMETRIC_MINISBLACK);
    TIFFSetField(t, TIFFTAG_ROWSPERSTRIP, 1);
    TIFFWriteCheck(t, 0, "absurd");
    TIFFWriteDirectory(t);
    TIFFClose(t);
    auto r = OpenImageFile(path);
    EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument) << r.status().ToString();
  }
  // Absurd tile dimensions: their product overflows 64 bits unless checked; refused from the header.
  for (uint32_t side : {uint32_t{1} << 31, uint32_t{1} << 20}) {
    const std::string path = dir + "hugetile.tif";
    TIFF* t = TIFFOpen(path.c_str(), "w8");
    TIFFSetField(t, TIFFTAG_IMAGEWIDTH, 64u);
    TIFFSetField(t, TIFFTAG_IMAGELENGTH, 64u);
    TIFFSetField(t, TIFFTAG_BITSPERSAMPLE, 8);
    TIFFSetField(t, TIFFTAG_SAMPLESPERPIXEL, 1);
    TIFFSetField(t, TIFFTAG_PHOTOMETRIC, PHOTOMETRIC_MINISBLACK);
    TIFFSetField(t, TIFFTAG_TILEWIDTH, side);
    TIFFSetField(t, TIFFTAG_TILELENGTH, side);
    TIFFWriteCheck(t, 1, "hugetile");
    TIFFWriteDirectory(t);
    TIFFClose(t);
    auto r = OpenImageFile(path);
    EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument) << side << ": " << r.status().ToString();
  }
  // A file cut short is refused, at open (its directory is gone) or at load (a strip or tile is
  // missing: loading reads the whole small image for its value range): INVALID_ARGUMENT naming the
  // file, and nothing stays behind. Never loaded with what could not be read filled in.
  auto refusal = [](const std::string& path) -> Status {
    auto f = OpenImageFile(path);
    if (!f.ok()) return f.status();
    Engine& e = TestEngine();
    e.Flush();
    const EngineStats before = e.stats();
    Status s = e.LoadImage(f->source).status();
    e.Flush();
    EXPECT_EQ(e.stats().gpu_bytes_used, before.gpu_bytes_used) << path;
    return s;
  };
  for (const char* name : {"rgb-3c-8b.tiff", "quad-tile.jpg.tiff", "minisblack-1c-16b.tiff"}) {
    std::ifstream in(kDir + "/" + name, std::ios::binary);
    std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    for (size_t cut : {size_t{8}, size_t{200}, bytes.size() / 2}) {
      const std::string path = dir + "cut.tif";
      std::ofstream(path, std::ios::binary).write(bytes.data(), static_cast<std::streamsize>(std::min(cut, bytes.size())));
      const Status s = refusal(path);
      EXPECT_EQ(s.code(), StatusCode::kInvalidArgument) << name << " cut at " << cut << ": " << s.ToString();
      EXPECT_NE(s.message().find("cut.tif"), std::string::npos) << s.message();
    }
  }
  // A directory that is whole over data that is not: an uncompressed 8-bit 16 x 16 image in four
  // strips of four rows, its directory first (libtiff writes it last, so a cut file above loses its
  // directory), cut inside strip 2. Whole, it reads back exactly; cut, it is refused for the strip.
  std::string tiff("II*\0\x08\0\0\0", 8);
  auto u16 = [&](uint32_t v) { tiff += static_cast<char>(v & 255), tiff += static_cast<char>(v >> 8); };
  auto u32 = [&](uint32_t v) { u16(v & 0xffff), u16(v >> 16); };
  const uint32_t offsets_at = 8 + 2 + 10 * 12 + 4, counts_at = offsets_at + 16, data_at = counts_at + 16;
  u16(10);
  for (auto [tag, type, count, value] : std::vector<std::array<uint32_t, 4>>{
           {256, 3, 1, 16}, {257, 3, 1, 16}, {258, 3, 1, 8}, {259, 3, 1, 1}, {262, 3, 1, 1},
           {273, 4, 4, offsets_at}, {277, 3, 1, 1}, {278, 3, 1, 4}, {279, 4, 4, counts_at}, {284, 3, 1, 1}}) {
    u16(tag), u16(type), u32(count);
    if (type == 3 && count == 1) {
      u16(value), u16(0);  // a SHORT value, left-justified in the 4-byte field
    } else {
      u32(value);
    }
  }
  u32(0);  // no next directory
  for (uint32_t i = 0; i < 4; ++i) u32(data_at + 64 * i);
  for (uint32_t i = 0; i < 4; ++i) u32(64);
  std::vector<uint8_t> pixels(256);
  for (size_t i = 0; i < pixels.size(); ++i) pixels[i] = static_cast<uint8_t>(i * 7 + 3);
  tiff.append(pixels.begin(), pixels.end());
  ASSERT_EQ(tiff.size(), data_at + 256u);
  {
    const std::string path = dir + "whole.tif";
    std::ofstream(path, std::ios::binary) << tiff;
    auto f = OpenImageFile(path);
    ASSERT_TRUE(f.ok()) << f.status().ToString();
    ASSERT_EQ(f->source->desc().ToString(), "16x16 uint8 x1");
    std::vector<uint8_t> back(256);
    ASSERT_TRUE(f->source->ReadRect(0, 0, 0, 16, 16, back.data(), 16).ok());
    EXPECT_EQ(back, pixels);
  }
  const std::string path = dir + "cut.tif";
  std::ofstream(path, std::ios::binary) << tiff.substr(0, data_at + 2 * 64 + 10);
  const Status s = refusal(path);
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument) << s.ToString();
  EXPECT_NE(s.message().find("cut.tif"), std::string::npos) << s.message();
  EXPECT_NE(s.message().find("strip"), std::string::npos) << s.message();
}

}  // namespace
}  // namespace tilerender::testing
