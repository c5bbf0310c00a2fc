// OME-Zarr: the shared blobs images (Zarr v2 blosc-lz4 and v3 zstd, written by other people's
// writers) against an independent decode; generated stores covering every codec, both separators,
// dtypes, byte orders, Fortran order, transpose, CRC-32C, missing chunks, t/z selection, a pyramid
// whose chunks do not align with tiles, a corrupted chunk, and malformed metadata.
#include <blosc.h>
#include <gtest/gtest.h>
#include <zstd.h>

#include <chrono>
#include <cmath>
#include <filesystem>
#include <fstream>

#include "core/image/image_file.h"
#include "core/image/zarr_array.h"
#include "tests/temp_dir.h"
#include "tests/test_util.h"
#include "tests/zarr_writer.h"

namespace tilerender::testing {
namespace {

namespace fs = std::filesystem;
const std::string kDir = std::string(TESTDATA_DIR) + "/ome-zarr";

std::vector<uint8_t> ReadAll(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>()};
}

// A plane of an opened source as floats (level 0, read through ReadRect).
std::vector<float> PlaneValues(ImageSource& src, int plane) {
  const ImageDesc& d = src.desc();
  std::vector<uint8_t> bytes(d.plane_bytes());
  EXPECT_TRUE(src.ReadRect(plane, 0, 0, d.width, d.height, bytes.data(), d.row_bytes()).ok());
  std::vector<float> v(static_cast<size_t>(d.width * d.height));
  for (size_t i = 0; i < v.size(); ++i) {
    switch (d.type) {
      case PixelType::kUint8: v[i] = bytes[i]; break;
      case PixelType::kUint16: { uint16_t x; std::memcpy(&x, &bytes[2 * i], 2); v[i] = x; break; }
      case PixelType::kFloat32: std::memcpy(&v[i], &bytes[4 * i], 4); break;
      case PixelType::kUint32: { uint32_t x; std::memcpy(&x, &bytes[4 * i], 4); v[i] = static_cast<float>(x); break; }
    }
  }
  return v;
}

TEST(OmeZarrBlobsTest, BothVersionsEqualAnIndependentDecode) {
  // The chunk files decoded here with blosc and zstd themselves: (3, 12, 12) float64, C order.
  std::vector<double> expect(3 * 12 * 12);
  {
    const std::vector<uint8_t> raw = ReadAll(kDir + "/blobs_image_v04.ome.zarr/0/0/0/0");
    ASSERT_EQ(blosc_decompress(raw.data(), expect.data(), expect.size() * 8), static_cast<int>(expect.size() * 8));
  }
  std::vector<double> v3(expect.size());
  {
    const std::vector<uint8_t> raw = ReadAll(kDir + "/blobs_image_v05.ome.zarr/0/c/0/0/0");
    ASSERT_EQ(ZSTD_decompress(v3.data(), v3.size() * 8, raw.data(), raw.size()), v3.size() * 8);
  }
  EXPECT_EQ(expect, v3) << "the two stores hold the same image";
  double hi = 0;
  for (double x : expect) hi = std::max(hi, x);
  EXPECT_GT(hi, 0) << "not all zero";
  for (const char* store : {"blobs_image_v04.ome.zarr", "blobs_image_v05.ome.zarr"}) {
    auto f = OpenImageFile(kDir + "/" + store);
    ASSERT_TRUE(f.ok()) << f.status().ToString();
    const ImageDesc d = f->source->desc();
    EXPECT_EQ(d.width, 12);
    EXPECT_EQ(d.height, 12);
    EXPECT_EQ(d.planes, 3);
    EXPECT_EQ(d.type, PixelType::kFloat32);
    EXPECT_EQ(f->notes.front(), "float64 converted to float32");
    for (int c = 0; c < 3; ++c) {
      const std::vector<float> got = PlaneValues(*f->source, c);
      for (int i = 0; i < 144; ++i) ASSERT_EQ(got[i], static_cast<float>(expect[c * 144 + i])) << store << " channel " << c << " pixel " << i;
    }
    // And rendered: channel c at identity, gray over the channel's own range.
    ImageHandle img = Load(f->source);
    ASSERT_TRUE(img);
    ASSERT_EQ(img->info().channel_info.size(), 3u);
    EXPECT_EQ(img->info().channel_info[1].name, "1") << "omero labels";
    for (int c = 0; c < 3; ++c) {
      RenderRequest req{.width = 12, .height = 12};
      req.camera.zoom = 1;
      req.layers.push_back({.image = img, .channel = c, .contrast = Contrast{0, 1}});
      const std::vector<uint8_t> px = RenderRgba(req);
      for (int i = 0; i < 144; ++i) {
        const double t = std::clamp(expect[c * 144 + i], 0.0, 1.0);
        ASSERT_NEAR(px[i * 4], t * 255, 1.0) << store << " channel " << c << " pixel " << i;
      }
    }
  }
}

double Value(const std::vector<int64_t>& idx) {
  // The last two indices are y, x; the others (c, t, z) shift the pattern.
  const size_t n = idx.size();
  double v = static_cast<double>((idx[n - 1] * 7 + idx[n - 2] * 13) % 200);
  for (size_t k = 0; k + 2 < n; ++k) v += 200.0 * (k + 1) * idx[k];
  return v;
}

struct Layout {
  std::string name;
  ZarrSpec spec;
};


TEST(OmeZarrStoreTest, EveryCodecLayoutAndDtypeReadsBackExactly) {
  TestTempDir tmp;
  std::vector<Layout> layouts;
  for (int version : {2, 3}) {
    for (const char* codec : {"none", "blosc-lz4", "blosc-zstd", "zstd", "zlib", "gzip", "lz4"}) {
      if (version == 3 && (std::string(codec) == "zlib" || std::string(codec) == "lz4")) continue;  // not v3 codecs
      for (char sep : {'/', '.'}) {
        ZarrSpec s{.version = version, .shape = {2, 150, 130}, .chunks = {1, 40, 50}, .codec = codec, .separator = sep};
        s.fill = 7;
        s.missing = {{0, 1, 1}, {1, 3, 2}};  // partly-filled edge chunk too
        layouts.push_back({"v" + std::to_string(version) + "-" + codec + "-" + (sep == '/' ? "slash" : "dot"), s});
      }
    }
  }
  for (const char* dtype : {"uint8", "int16", "uint32", "float32", "float64"}) {
    layouts.push_back({std::string("dtype-") + dtype, {.version = 3, .shape = {2, 150, 130}, .chunks = {2, 64, 64}, .dtype = dtype, .codec = "zstd"}});
  }
  layouts.push_back({"v2-big-endian", {.version = 2, .shape = {2, 150, 130}, .chunks = {1, 64, 64}, .big_endian = true, .codec = "zlib"}});
  layouts.push_back({"v2-fortran", {.version = 2, .shape = {2, 150, 130}, .chunks = {2, 64, 48}, .codec = "blosc-lz4", .fortran = true}});
  layouts.push_back({"v3-big-endian", {.version = 3, .shape = {2, 150, 130}, .chunks = {1, 64, 64}, .big_endian = true}});
  layouts.push_back({"v3-transpose-crc", {.version = 3, .shape = {2, 150, 130}, .chunks = {2, 64, 48}, .codec = "gzip",
                                          .transpose = {2, 0, 1}, .crc32c = true}});
  for (const Layout& l : layouts) {
    SCOPED_TRACE(l.name);
    const std::string dir = tmp / l.name;
    WriteOmeGroup(dir, l.spec.version, "cyx", 1);
    WriteZarrArray(dir + "/0", l.spec, Value);
    auto f = OpenImageFile(dir);
    ASSERT_TRUE(f.ok()) << f.status().ToString();
    ASSERT_EQ(f->source->desc().planes, 2);
    const bool native = l.spec.dtype == "uint8" || l.spec.dtype == "uint16" || l.spec.dtype == "float32";
    EXPECT_EQ(f->notes.empty(), native) << (f->notes.empty() ? "" : f->notes.front());
    for (int c = 0; c < 2; ++c) {
      const std::vector<float> got = PlaneValues(*f->source, c);
      size_t wrong = 0;
      for (int64_t y = 0; y < 150; ++y) {
        for (int64_t x = 0; x < 130; ++x) {
          const std::vector<int64_t> chunk = {c / l.spec.chunks[0], y / l.spec.chunks[1], x / l.spec.chunks[2]};
          double want = l.spec.missing.count(chunk) ? l.spec.fill : Value({c, y, x});
          if (l.spec.dtype == "uint8") want = static_cast<uint8_t>(static_cast<int64_t>(want));
          wrong += got[y * 130 + x] != static_cast<float>(want);
        }
      }
      EXPECT_EQ(wrong, 0u) << "channel " << c;
    }
  }
}

TEST(OmeZarrStoreTest, ChooseTimeAndZOfAFiveDimensionalImage) {
  TestTempDir tmp;
  const std::string dir = tmp / "tczyx";
  WriteOmeGroup(dir, 2, "tczyx", 1, {{"channels", {{{"label", "DAPI"}, {"color", "0000FF"}}, {{"label", "GFP"}, {"color", "00FF00"}}}}});
  WriteZarrArray(dir + "/0", {.version = 2, .shape = {2, 2, 3, 40, 50}, .chunks = {1, 1, 2, 20, 25}, .codec = "zstd"}, Value);
  OpenOptions o;
  o.t = 1;
  o.z = 2;
  auto f = OpenImageFile(dir, o);
  ASSERT_TRUE(f.ok()) << f.status().ToString();
  EXPECT_EQ(f->source->desc().planes, 2);
  for (int c = 0; c < 2; ++c) {
    const std::vector<float> got = PlaneValues(*f->source, c);
    size_t wrong = 0;
    for (int64_t y = 0; y < 40; ++y) {
      for (int64_t x = 0; x < 50; ++x) wrong += got[y * 50 + x] != static_cast<float>(Value({1, c, 2, y, x}));
    }
    EXPECT_EQ(wrong, 0u) << "channel " << c;
  }
  const std::vector<PlaneInfo> names = f->source->plane_info();
  ASSERT_EQ(names.size(), 2u);
  EXPECT_EQ(names[0].name, "DAPI");
  EXPECT_EQ(names[1].color, 0x00FF00FFu);
  o.z = 3;
  auto bad = OpenImageFile(dir, o);
  EXPECT_EQ(bad.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(bad.status().message().find("z 3 is out of range"), std::string::npos) << bad.status().message();
}

TEST(OmeZarrStoreTest, OmeroWindowIsTheChannelsDefaultContrast) {
  TestTempDir tmp;
  const std::string dir = tmp / "window";
  WriteOmeGroup(dir, 3, "cyx", 1,
                {{"channels", {{{"label", "A"}, {"window", {{"start", 10}, {"end", 60}, {"min", 0}, {"max", 65535}}}},
                               {{"label", "B"}, {"window", {{"start", "ten"}, {"end", 60}}}}}}});
  WriteZarrArray(dir + "/0", {.version = 3, .shape = {2, 40, 50}, .chunks = {1, 20, 25}, .codec = "zstd"},
                 [](const std::vector<int64_t>& i) { return 3.0 * (i[1] + i[2]) + 5 * i[0]; });
  auto f = OpenImageFile(dir);
  ASSERT_TRUE(f.ok()) << f.status().ToString();
  ImageHandle img = Load(f->source);
  ASSERT_TRUE(img);
  const auto& ch = img->info().channel_info;
  ASSERT_EQ(ch.size(), 2u);
  EXPECT_TRUE(ch[0].has_window());
  EXPECT_EQ(ch[0].window_lo, 10);
  EXPECT_EQ(ch[0].window_hi, 60);
  EXPECT_FALSE(ch[1].has_window()) << "a window that is not two numbers is ignored";
  // Channel 0 without a contrast: drawn through 10..60, not its value range 0..264.
  auto render = [&](int channel, std::optional<Contrast> contrast) {
    RenderRequest req{.width = 50, .height = 40, .format = OutputFormat::kRawRgba8};
    req.camera = {.center_x = 25, .center_y = 20, .zoom = 1};
    req.layers.push_back({.image = img, .channel = channel, .contrast = contrast});
    auto out = TestEngine().Render(req);
    EXPECT_TRUE(out.ok()) << out.status().ToString();
    return out.ok() ? out->data : std::vector<uint8_t>{};
  };
  const std::vector<uint8_t> by_default = render(0, std::nullopt);
  EXPECT_EQ(by_default, render(0, Contrast{10, 60}));
  ASSERT_EQ(by_default.size(), 50u * 40 * 4);
  // Independently: value 3 (x + y) maps to (v - 10) / 50, clamped.
  size_t wrong = 0;
  for (int y = 0; y < 40; ++y) {
    for (int x = 0; x < 50; ++x) {
      const double t = std::clamp((3.0 * (x + y) - 10) / 50, 0.0, 1.0);
      wrong += std::abs(by_default[(y * 50 + x) * 4] - std::lround(255 * t)) > 1;
    }
  }
  EXPECT_EQ(wrong, 0u);
  EXPECT_EQ(render(1, std::nullopt), render(1, Contrast{5, 5 + 3.0 * 88})) << "channel 1: its value range";
}

TEST(OmeZarrStoreTest, PyramidWhoseChunksDoNotAlignWithTilesIsDrawnLevelByLevel) {
  TestTempDir tmp;
  // Three datasets whose values say which level they are (1000 k + x + y, not downsamples), in
  // 70 x 45 chunks against 64-pixel tiles.
  const std::string dir = tmp / "pyramid";
  WriteOmeGroup(dir, 3, "yx", 3);
  const int64_t w0 = 300, h0 = 200;
  for (int k = 0; k < 3; ++k) {
    ZarrSpec s{.version = 3, .shape = {h0 >> k, w0 >> k}, .chunks = {45, 70}, .codec = "blosc-zstd"};
    WriteZarrArray(dir + "/" + std::to_string(k), s, [k](const std::vector<int64_t>& i) { return 1000.0 * k + i[0] + i[1]; });
  }
  auto f = OpenImageFile(dir);
  ASSERT_TRUE(f.ok()) << f.status().ToString();
  ASSERT_EQ(f->source->levels().size(), 3u);
  ImageHandle img = Load(f->source, 64);
  ASSERT_TRUE(img);
  for (int k = 0; k < 3; ++k) {
    ASSERT_TRUE(img->info().level_info[k].from_source);
    const int64_t w = w0 >> k, h = h0 >> k;
    RenderRequest req{.width = static_cast<int>(w), .height = static_cast<int>(h), .format = OutputFormat::kRawRgba8};
    const double scale = std::ldexp(1.0, k);
    req.camera = {.center_x = w * scale / 2, .center_y = h * scale / 2, .zoom = 1 / scale};
    req.layers.push_back({.image = img, .contrast = Contrast{1000.0 * k, 1000.0 * k + 255}});
    auto out = TestEngine().Render(req);
    ASSERT_TRUE(out.ok());
    size_t wrong = 0;
    for (int64_t y = 0; y < h; ++y) {
      for (int64_t x = 0; x < w; ++x) wrong += out->data[(y * w + x) * 4] != std::min<int64_t>(255, x + y);
    }
    EXPECT_EQ(wrong, 0u) << "level " << k;
  }
}

TEST(OmeZarrStoreTest, CorruptedChunkFailsOnlyTheRendersThatNeedIt) {
  TestTempDir tmp;
  const std::string dir = tmp / "corrupt";
  WriteOmeGroup(dir, 2, "yx", 2);
  WriteZarrArray(dir + "/0", {.version = 2, .shape = {600, 800}, .chunks = {100, 100}, .codec = "zstd"}, Value);
  WriteZarrArray(dir + "/1", {.version = 2, .shape = {300, 400}, .chunks = {100, 100}, .codec = "zstd"}, Value);
  std::ofstream(dir + "/0/4/6", std::ios::binary | std::ios::trunc) << "this is not zstd data";
  auto f = OpenImageFile(dir);
  ASSERT_TRUE(f.ok());
  ImageHandle img = Load(f->source, 128);
  ASSERT_TRUE(img) << "loading reads the coarser level only";
  RenderRequest bad{.width = 100, .height = 100};
  bad.camera = {.center_x = 650, .center_y = 450, .zoom = 1};
  bad.layers.push_back({.image = img});
  auto r = TestEngine().Render(bad);
  ASSERT_EQ(r.status().code(), StatusCode::kDataLoss) << r.status().ToString();
  EXPECT_NE(r.status().message().find("chunk 4/6"), std::string::npos) << r.status().message();
  RenderRequest good = bad;
  good.camera = {.center_x = 150, .center_y = 150, .zoom = 1};
  EXPECT_TRUE(TestEngine().Render(good).ok());
  good.camera = {};  // the fit view draws the sound level 1
  EXPECT_TRUE(TestEngine().Render(good).ok());
}

// Peak resident memory of this process since the last ResetPeakRss(), in KiB.
int64_t PeakRssKib() {
  std::ifstream f("/proc/self/status");
  for (std::string line; std::getline(f, line);) {
    if (line.rfind("VmHWM:", 0) == 0) return std::stoll(line.substr(6));
  }
  return -1;
}
void ResetPeakRss() { std::ofstream("/proc/self/clear_refs") << "5"; }

// A chunk file must be able to hold its chunk before the chunk costs memory (#14): a store of a few
// hundred bytes claiming one 512 MiB chunk (16384 x 16384 uint16, the largest allowed), its chunk a
// real stream of the codec that decodes to 64 KiB. Every codec: DATA_LOSS naming the chunk, in a few
// milliseconds, before a byte of the 512 MiB is allocated; a load through the engine: INVALID_ARGUMENT
// with the same words, peak RSS + < 100 MB.
TEST(OmeZarrStoreTest, ChunkFilesThatCannotHoldTheirChunkCostNothing) {
  TestTempDir tmp;
  for (const std::string codec : {"gzip", "zlib", "zstd", "lz4", "blosc-zstd", "blosc-lz4"}) {
    const std::string dir = tmp / ("bomb-" + codec);
    WriteOmeGroup(dir, 2, "yx", 1);
    WriteZarrArray(dir + "/0", {.version = 2, .shape = {16384, 16384}, .chunks = {16384, 16384}, .codec = codec, .missing = {{0, 0}}},
                   Value);
    const std::vector<uint8_t> enc = Encode(codec, std::vector<uint8_t>(64 << 10, 0), 2);
    std::filesystem::create_directories(dir + "/0/0");
    std::ofstream(dir + "/0/0/0", std::ios::binary).write(reinterpret_cast<const char*>(enc.data()), static_cast<std::streamsize>(enc.size()));
    auto array = ZarrArray::Open(dir + "/0", "bomb");
    ASSERT_TRUE(array.ok()) << codec << ": " << array.status().ToString();
    ResetPeakRss();
    const int64_t peak0 = PeakRssKib();
    std::vector<uint8_t> out;
    const auto t0 = std::chrono::steady_clock::now();
    const Status st = array->ReadChunk({0, 0}, &out, "bomb");
    const double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
    EXPECT_EQ(st.code(), StatusCode::kDataLoss) << codec << ": " << st.ToString();
    EXPECT_NE(st.message().find("bomb: chunk 0/0: " + std::to_string(enc.size()) + " bytes of "), std::string::npos)
        << codec << ": " << st.message();
    EXPECT_NE(st.message().find("data cannot decode to its 536870912 bytes"), std::string::npos) << st.message();
    EXPECT_LT(ms, 100) << codec;
    EXPECT_LT(PeakRssKib() - peak0, 16 * 1024) << codec << ": the 512 MiB chunk was allocated";

    auto f = OpenImageFile(dir);
    ASSERT_TRUE(f.ok()) << f.status().ToString();
    TestEngine();  // made (EGL context, shaders: ~100 MB under ASan) before the measure, not in it
    ResetPeakRss();
    const int64_t peak1 = PeakRssKib();
    auto img = TestEngine().LoadImage(f->source);
    // A load refuses a file that cannot hold its pixels (INVALID_ARGUMENT, like a TIFF's missing strip).
    EXPECT_EQ(img.status().code(), StatusCode::kInvalidArgument) << codec << ": " << img.status().ToString();
    EXPECT_NE(img.status().message().find("data cannot decode to its 536870912 bytes"), std::string::npos) << img.status().message();
    EXPECT_LT(PeakRssKib() - peak1, 100 * 1024) << codec << ": peak RSS grew loading it";
  }
}

TEST(OmeZarrStoreTest, MalformedMetadataIsRefusedWithWhatIsWrong) {
  TestTempDir tmp;
  auto expect = [](const std::string& dir, StatusCode code, const std::string& says) {
    auto f = OpenImageFile(dir);
    EXPECT_EQ(f.status().code(), code) << dir << ": " << f.status().ToString();
    EXPECT_NE(f.status().message().find(says), std::string::npos) << f.status().message();
  };
  const ZarrSpec good{.version = 2, .shape = {64, 64}, .chunks = {32, 32}};
  {
    const std::string dir = tmp / "badjson";
    WriteOmeGroup(dir, 2, "yx", 1);
    WriteZarrArray(dir + "/0", good, Value);
    std::ofstream(dir + "/.zattrs") << "{\"multiscales\": [";
    expect(dir, StatusCode::kInvalidArgument, "invalid JSON in .zattrs");
  }
  {
    const std::string dir = tmp / "dims";
    WriteOmeGroup(dir, 2, "cyx", 1);
    WriteZarrArray(dir + "/0", good, Value);
    expect(dir, StatusCode::kInvalidArgument, "3 axes but arrays of 2 dimensions");
  }
  {
    const std::string dir = tmp / "levels";
    WriteOmeGroup(dir, 2, "cyx", 2);
    WriteZarrArray(dir + "/0", {.version = 2, .shape = {2, 64, 64}, .chunks = {1, 32, 32}}, Value);
    WriteZarrArray(dir + "/1", {.version = 2, .shape = {3, 32, 32}, .chunks = {1, 32, 32}}, Value);
    expect(dir, StatusCode::kInvalidArgument, "dataset 1's shape disagrees with dataset 0 on axis \"c\"");
  }
  {
    const std::string dir = tmp / "absurd";
    WriteOmeGroup(dir, 2, "yx", 1);
    WriteZarrArray(dir + "/0", {.version = 2, .shape = {8, 8}, .chunks = {8, 8}}, Value);
    std::ofstream(dir + "/0/.zarray") << R"({"zarr_format": 2, "shape": [100000, 100000], "chunks": [100000, 100000],
        "dtype": "<u2", "compressor": null, "fill_value": 0, "order": "C", "filters": null})";
    expect(dir, StatusCode::kInvalidArgument, "larger than 512 MiB");
  }
  {
    const std::string dir = tmp / "codec";
    WriteOmeGroup(dir, 2, "yx", 1);
    WriteZarrArray(dir + "/0", good, Value);
    std::ofstream(dir + "/0/.zarray") << R"({"zarr_format": 2, "shape": [64, 64], "chunks": [32, 32],
        "dtype": "<u2", "compressor": {"id": "bz2"}, "fill_value": 0, "order": "C", "filters": null})";
    expect(dir, StatusCode::kInvalidArgument, "unknown compressor \"bz2\"");
  }
  {
    const std::string dir = tmp / "sharded";
    WriteOmeGroup(dir, 3, "yx", 1);
    WriteZarrArray(dir + "/0", {.version = 3, .shape = {64, 64}, .chunks = {32, 32}}, Value);
    std::ofstream(dir + "/0/zarr.json") << R"({"zarr_format": 3, "node_type": "array", "shape": [64, 64],
        "data_type": "uint16", "chunk_grid": {"name": "regular", "configuration": {"chunk_shape": [32, 32]}},
        "chunk_key_encoding": {"name": "default"}, "fill_value": 0,
        "codecs": [{"name": "sharding_indexed", "configuration": {}}]})";
    expect(dir, StatusCode::kUnimplemented, "sharding");
  }
  {
    const std::string dir = tmp / "noaxes-y";
    WriteOmeGroup(dir, 2, "cx", 1);
    WriteZarrArray(dir + "/0", good, Value);
    expect(dir, StatusCode::kInvalidArgument, "no y and x axes");
  }
  {
    const std::string dir = tmp / "plain-dir";
    fs::create_directories(dir);
    expect(dir, StatusCode::kInvalidArgument, "is a directory, not an OME-Zarr image");
  }
}

}  // namespace
}  // namespace tilerender::testing
