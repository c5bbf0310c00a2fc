// NPY reading: byte orders, C and Fortran order, dtype conversions, shapes, memory mapping, and
// malformed headers.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <limits>

#include "core/image/image_file.h"
#include "tests/npy_writer.h"
#include "tests/temp_dir.h"

namespace tilerender::testing {
namespace {

// Every test writes its files in a directory of its own (removed after it).
class NpyTest : public ::testing::Test {
 protected:
  std::string Tmp(const std::string& name) const { return dir_ / name; }
  TestTempDir dir_;
};

template <typename T>
std::vector<uint8_t> Bytes(const std::vector<T>& v, bool big_endian = false) {
  std::vector<uint8_t> b(v.size() * sizeof(T));
  std::memcpy(b.data(), v.data(), b.size());
  if (big_endian) {
    for (size_t i = 0; i < b.size(); i += sizeof(T)) std::reverse(b.begin() + i, b.begin() + i + sizeof(T));
  }
  return b;
}

template <typename Out>
std::vector<Out> ReadAll(ImageSource& s) {
  const ImageDesc& d = s.desc();
  std::vector<Out> out(d.width * d.height * d.channels);
  EXPECT_TRUE(s.ReadRect(0, 0, 0, d.width, d.height, reinterpret_cast<uint8_t*>(out.data()), d.row_bytes()).ok());
  return out;
}

TEST_F(NpyTest, LittleEndianCOrderIsReadInPlace) {
  std::vector<uint16_t> v(30 * 20);
  for (size_t i = 0; i < v.size(); ++i) v[i] = static_cast<uint16_t>(i * 97);
  WriteNpy(Tmp("u2.npy"), "<u2", {20, 30}, v.data(), v.size() * 2);
  auto f = OpenImageFile(Tmp("u2.npy"));
  ASSERT_TRUE(f.ok()) << f.status().ToString();
  EXPECT_EQ(f->source->desc().ToString(), "30x20 uint16 x1");
  EXPECT_EQ(f->source->contiguous(0), nullptr) << "never a memory map (SIGBUS when the file shrinks)";
  EXPECT_TRUE(f->source->reads_without_decoding());
  EXPECT_EQ(ReadAll<uint16_t>(*f->source), v);
  EXPECT_TRUE(f->notes.empty());
}

// Rows over 64 KiB are read in 1024 x 1024 chunks (a pread per row piece), shorter ones in bands of
// whole rows of about 2 MiB (at most 1024 rows); either way every pixel lands where it belongs, edges
// included.
TEST_F(NpyTest, ChunksOfWideAndNarrowFiles) {
  for (const auto& [h, w] : std::vector<std::pair<int64_t, int64_t>>{{1100, 33000}, {1100, 2600}, {2100, 300}}) {
    std::vector<uint16_t> v(static_cast<size_t>(h * w));
    for (size_t i = 0; i < v.size(); ++i) v[i] = static_cast<uint16_t>(i * 2654435761u >> 7);
    WriteNpy(Tmp("wide.npy"), "<u2", {h, w}, v.data(), v.size() * 2);
    auto f = OpenImageFile(Tmp("wide.npy"));
    ASSERT_TRUE(f.ok()) << f.status().ToString();
    const SourceLevel l = f->source->levels().front();
    const int64_t row = w * 2;
    EXPECT_EQ(l.chunk_width, row > 65536 ? 1024 : w);
    EXPECT_EQ(l.chunk_height, row > 65536 ? 1024 : std::min<int64_t>(1024, (2 << 20) / row));
    EXPECT_EQ(ReadAll<uint16_t>(*f->source), v);
    // The last chunk, partial in both directions, into a padded buffer.
    const int64_t cx = (w - 1) / l.chunk_width, cy = (h - 1) / l.chunk_height;
    const size_t stride = static_cast<size_t>(l.chunk_width + 3) * 2;
    std::vector<uint8_t> chunk(stride * static_cast<size_t>(l.chunk_height));
    ASSERT_TRUE(f->source->ReadChunk(0, 0, cx, cy, chunk.data(), stride).ok());
    uint16_t last;
    std::memcpy(&last, chunk.data() + static_cast<size_t>(h - 1 - cy * l.chunk_height) * stride +
                           static_cast<size_t>(w - 1 - cx * l.chunk_width) * 2, 2);
    EXPECT_EQ(last, v.back());
    EXPECT_EQ(f->source->ReadChunk(0, 0, cx + 1, 0, chunk.data(), stride).code(), StatusCode::kInvalidArgument);
  }
}

TEST_F(NpyTest, BigEndianAndFortranOrderAreConverted) {
  const int64_t h = 7, w = 5;
  std::vector<uint16_t> c(h * w);
  for (size_t i = 0; i < c.size(); ++i) c[i] = static_cast<uint16_t>(1000 + i * 311);
  WriteNpy(Tmp("be.npy"), ">u2", {h, w}, Bytes(c, true).data(), c.size() * 2);
  auto be = OpenImageFile(Tmp("be.npy"));
  ASSERT_TRUE(be.ok());
  EXPECT_EQ(ReadAll<uint16_t>(*be->source), c);
  EXPECT_FALSE(be->notes.empty());
  // Fortran order: element (y, x) is stored at x * h + y.
  std::vector<uint16_t> f(h * w);
  for (int64_t y = 0; y < h; ++y) for (int64_t x = 0; x < w; ++x) f[x * h + y] = c[y * w + x];
  WriteNpy(Tmp("f.npy"), "<u2", {h, w}, f.data(), f.size() * 2, /*fortran=*/true);
  auto fo = OpenImageFile(Tmp("f.npy"));
  ASSERT_TRUE(fo.ok());
  EXPECT_EQ(ReadAll<uint16_t>(*fo->source), c);
  // Fortran-order RGB: channel is the slowest index.
  std::vector<uint8_t> rgb_c(h * w * 3), rgb_f(h * w * 3);
  for (int64_t y = 0; y < h; ++y) for (int64_t x = 0; x < w; ++x) for (int k = 0; k < 3; ++k) {
    const uint8_t v = static_cast<uint8_t>(y * 30 + x * 5 + k);
    rgb_c[(y * w + x) * 3 + k] = v;
    rgb_f[(k * w + x) * h + y] = v;
  }
  WriteNpy(Tmp("frgb.npy"), "|u1", {h, w, 3}, rgb_f.data(), rgb_f.size(), true);
  auto frgb = OpenImageFile(Tmp("frgb.npy"));
  ASSERT_TRUE(frgb.ok());
  EXPECT_EQ(ReadAll<uint8_t>(*frgb->source), rgb_c);
}

TEST_F(NpyTest, OtherDtypesBecomeFloat32WithANote) {
  std::vector<double> d = {1.5, -2.25, NAN, 1e30, 0, 7};
  WriteNpy(Tmp("f8.npy"), "<f8", {2, 3}, d.data(), d.size() * 8);
  auto f8 = OpenImageFile(Tmp("f8.npy"));
  ASSERT_TRUE(f8.ok());
  EXPECT_EQ(f8->source->desc().type, PixelType::kFloat32);
  ASSERT_EQ(f8->notes.size(), 1u);
  EXPECT_NE(f8->notes[0].find("float64"), std::string::npos) << f8->notes[0];
  auto v = ReadAll<float>(*f8->source);
  EXPECT_EQ(v[0], 1.5f);
  EXPECT_EQ(v[1], -2.25f);
  EXPECT_TRUE(std::isnan(v[2]));
  std::vector<int16_t> i2 = {-32768, -1, 0, 1, 32767, 5};
  WriteNpy(Tmp("i2.npy"), ">i2", {3, 2}, Bytes(i2, true).data(), 12);
  auto fi = OpenImageFile(Tmp("i2.npy"));
  ASSERT_TRUE(fi.ok());
  EXPECT_EQ(ReadAll<float>(*fi->source), (std::vector<float>{-32768, -1, 0, 1, 32767, 5}));
  std::vector<int32_t> i4 = {-100000, 100000};
  WriteNpy(Tmp("i4.npy"), "<i4", {1, 2}, i4.data(), 8);
  EXPECT_EQ(ReadAll<float>(*OpenImageFile(Tmp("i4.npy"))->source), (std::vector<float>{-100000, 100000}));
  std::vector<float> f4 = {0.5f, -0.5f};
  WriteNpy(Tmp("f4.npy"), "<f4", {1, 2}, f4.data(), 8);
  auto ff = OpenImageFile(Tmp("f4.npy"));
  EXPECT_TRUE(ff->source->reads_without_decoding()) << "float32 is read in place";
  EXPECT_EQ(ReadAll<float>(*ff->source), f4);
  EXPECT_TRUE(ff->notes.empty());
}

TEST_F(NpyTest, Shapes) {
  std::vector<uint8_t> px(4 * 6 * 4, 9);
  WriteNpy(Tmp("rgba.npy"), "|u1", {4, 6, 4}, px.data(), px.size());
  EXPECT_EQ(OpenImageFile(Tmp("rgba.npy"))->source->desc().ToString(), "6x4 uint8 x4");
  WriteNpy(Tmp("one.npy"), "|u1", {4, 6, 1}, px.data(), 24);
  EXPECT_EQ(OpenImageFile(Tmp("one.npy"))->source->desc().ToString(), "6x4 uint8 x1");
  for (auto shape : std::vector<std::vector<int64_t>>{{24}, {2, 3, 4, 1}, {4, 3, 2}, {0, 5}}) {
    WriteNpy(Tmp("bad.npy"), "|u1", shape, px.data(), px.size());
    EXPECT_EQ(OpenImageFile(Tmp("bad.npy")).status().code(), StatusCode::kInvalidArgument) << shape.size();
  }
  // RGB must be uint8.
  WriteNpy(Tmp("rgb16.npy"), "<u2", {2, 2, 3}, px.data(), 24);
  EXPECT_EQ(OpenImageFile(Tmp("rgb16.npy")).status().code(), StatusCode::kInvalidArgument);
}

TEST_F(NpyTest, MalformedFilesAreRefused) {
  std::vector<uint8_t> px(100, 1);
  WriteNpy(Tmp("trunc.npy"), "<u2", {10, 10}, px.data(), px.size());  // 100 of 200 bytes
  EXPECT_EQ(OpenImageFile(Tmp("trunc.npy")).status().code(), StatusCode::kInvalidArgument);
  WriteNpy(Tmp("huge.npy"), "<f4", {3000000000, 3000000000}, px.data(), 10);
  EXPECT_EQ(OpenImageFile(Tmp("huge.npy")).status().code(), StatusCode::kInvalidArgument);
  WriteNpy(Tmp("struct.npy"), "<c8", {2, 2}, px.data(), 32);
  EXPECT_EQ(OpenImageFile(Tmp("struct.npy")).status().code(), StatusCode::kInvalidArgument);
  std::ofstream(Tmp("junk.npy"), std::ios::binary) << "\x93NUMPY\x01\x00\xff\xff{'descr'";
  EXPECT_EQ(OpenImageFile(Tmp("junk.npy")).status().code(), StatusCode::kInvalidArgument);
  std::ofstream(Tmp("nodescr.npy"), std::ios::binary) << std::string("\x93NUMPY\x01\x00\x10\x00{'shape': (2,2)}", 26);
  EXPECT_EQ(OpenImageFile(Tmp("nodescr.npy")).status().code(), StatusCode::kInvalidArgument);
}

// Files written by numpy itself, not by our writer (whose header comes from core): numpy's own
// headers (padding, key order, shape spelling, format versions 1.0, 2.0 and 3.0), its byte orders
// and Fortran layouts, read against values computed here with the formulas the script used.
// numpy comes from Debian's python3-numpy (scripts/install-deps.sh); without it the test skips.
constexpr int64_t kH = 7, kW = 5;
int U1(int64_t y, int64_t x) { return (y * 31 + x * 7) % 256; }
int U2(int64_t y, int64_t x) { return (y * 1031 + x * 97 + 60000) % 65536; }
float F(int64_t y, int64_t x) {
  if (y == 1 && x == 2) return std::numeric_limits<float>::quiet_NaN();
  if (y == 3 && x == 4) return std::numeric_limits<float>::infinity();
  if (y == 6 && x == 0) return -std::numeric_limits<float>::infinity();
  return static_cast<float>((y * kW + x) / 3.0 - 4);  // double arithmetic, then rounded, as numpy does
}

constexpr const char* kNumpyScript = R"(import sys
import numpy as np
d = sys.argv[1]
y, x = np.mgrid[0:7, 0:5]
u1 = ((y * 31 + x * 7) % 256).astype(np.uint8)
u2 = ((y * 1031 + x * 97 + 60000) % 65536).astype(np.uint16)
f = ((y * 5 + x) / 3.0 - 4).astype(np.float32)
f[1, 2] = np.nan
f[3, 4] = np.inf
f[6, 0] = -np.inf
rgb = np.stack([u1, (u1 * 3) % 256, 255 - u1], axis=2).astype(np.uint8)
np.save(d + '/u1.npy', u1)
np.save(d + '/u2le.npy', u2.astype('<u2'))
np.save(d + '/u2be.npy', u2.astype('>u2'))
np.save(d + '/u2fortran.npy', np.asfortranarray(u2))
np.save(d + '/f4.npy', f.astype('<f4'))
np.save(d + '/f8.npy', f.astype('<f8'))
np.save(d + '/bool.npy', (y + x) % 3 == 0)
np.save(d + '/rgb.npy', rgb)
np.save(d + '/rgbfortran.npy', np.asfortranarray(rgb))
for v in (2, 3):
    with open(d + '/u2v%d.npy' % v, 'wb') as fh:
        np.lib.format.write_array(fh, u2, version=(v, 0))
)";

std::string Header(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  std::string s(256, '\0');
  f.read(s.data(), 256);
  s.resize(f.gcount());
  return s;
}

TEST_F(NpyTest, FilesWrittenByNumpy) {
  if (std::system("/usr/bin/python3 -c 'import numpy' 2>/dev/null") != 0) GTEST_SKIP() << "no python3-numpy";
  std::ofstream(Tmp("write.py")) << kNumpyScript;
  ASSERT_EQ(std::system(("/usr/bin/python3 " + Tmp("write.py") + " " + dir_.path()).c_str()), 0);
  // What numpy wrote is what this test means to read.
  const std::pair<const char*, const char*> headers[] = {
      {"u1.npy", "'descr': '|u1', 'fortran_order': False, 'shape': (7, 5)"},
      {"u2le.npy", "'descr': '<u2', 'fortran_order': False"},
      {"u2be.npy", "'descr': '>u2', 'fortran_order': False"},
      {"u2fortran.npy", "'descr': '<u2', 'fortran_order': True, 'shape': (7, 5)"},
      {"f4.npy", "'descr': '<f4'"},
      {"f8.npy", "'descr': '<f8'"},
      {"bool.npy", "'descr': '|b1'"},
      {"rgb.npy", "'descr': '|u1', 'fortran_order': False, 'shape': (7, 5, 3)"},
      {"rgbfortran.npy", "'descr': '|u1', 'fortran_order': True, 'shape': (7, 5, 3)"},
      {"u2v2.npy", "\x93NUMPY\x02\x00"},
      {"u2v3.npy", "\x93NUMPY\x03\x00"},
  };
  for (const auto& [file, expect] : headers) EXPECT_NE(Header(Tmp(file)).find(expect), std::string::npos) << file;

  std::vector<uint8_t> u1, bools, rgb;
  std::vector<uint16_t> u2;
  std::vector<float> f;
  for (int64_t y = 0; y < kH; ++y) {
    for (int64_t x = 0; x < kW; ++x) {
      u1.push_back(static_cast<uint8_t>(U1(y, x)));
      u2.push_back(static_cast<uint16_t>(U2(y, x)));
      f.push_back(F(y, x));
      bools.push_back((y + x) % 3 == 0);
      for (int v : {U1(y, x), U1(y, x) * 3 % 256, 255 - U1(y, x)}) rgb.push_back(static_cast<uint8_t>(v));
    }
  }
  auto open = [&](const std::string& file, const std::string& desc) -> std::shared_ptr<ImageSource> {
    auto o = OpenImageFile(Tmp(file));
    EXPECT_TRUE(o.ok()) << file << ": " << o.status().ToString();
    if (!o.ok()) return nullptr;
    EXPECT_EQ(o->source->desc().ToString(), desc) << file;
    return o->source;
  };
  if (auto s = open("u1.npy", "5x7 uint8 x1")) {
    EXPECT_EQ(ReadAll<uint8_t>(*s), u1);
  }
  for (const char* file : {"u2le.npy", "u2be.npy", "u2fortran.npy", "u2v2.npy", "u2v3.npy"}) {
    if (auto s = open(file, "5x7 uint16 x1")) {
      EXPECT_EQ(ReadAll<uint16_t>(*s), u2) << file;
    }
  }
  if (auto s = open("bool.npy", "5x7 uint8 x1")) {
    EXPECT_EQ(ReadAll<uint8_t>(*s), bools);
  }
  for (const char* file : {"rgb.npy", "rgbfortran.npy"}) {
    if (auto s = open(file, "5x7 uint8 x3")) {
      EXPECT_EQ(ReadAll<uint8_t>(*s), rgb) << file;
    }
  }
  for (const char* file : {"f4.npy", "f8.npy"}) {
    if (auto s = open(file, "5x7 float32 x1")) {
      const std::vector<float> got = ReadAll<float>(*s);
      ASSERT_EQ(got.size(), f.size());
      for (size_t i = 0; i < f.size(); ++i) {
        // The float64 file holds the float32 values exactly: converted back, bit for bit.
        if (std::isnan(f[i])) {
          EXPECT_TRUE(std::isnan(got[i])) << file << " element " << i;
        } else {
          EXPECT_EQ(got[i], f[i]) << file << " element " << i;
        }
      }
    }
  }
}

}  // namespace
}  // namespace tilerender::testing
