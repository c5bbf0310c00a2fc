// NPY reading: byte orders, C and Fortran order, dtype conversions, shapes, memory mapping, and
// malformed headers.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <fstream>

#include "core/image/image_file.h"
#include "tests/npy_writer.h"

namespace tilerender::testing {
namespace {

std::string Tmp(const std::string& name) { return ::testing::TempDir() + name; }

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

TEST(NpyTest, LittleEndianCOrderIsMemoryMapped) {
  std::vector<uint16_t> v(30 * 20);
  for (size_t i = 0; i < v.size(); ++i) v[i] = static_cast<uint16_t>(i * 97);
  WriteNpy(Tmp("u2.npy"), "<u2", {20, 30}, v.data(), v.size() * 2);
  auto f = OpenImageFile(Tmp("u2.npy"));
  ASSERT_TRUE(f.ok()) << f.status().ToString();
  EXPECT_EQ(f->source->desc().ToString(), "30x20 uint16 x1");
  ASSERT_NE(f->source->contiguous(0), nullptr) << "uploads read straight from the map";
  EXPECT_EQ(0, std::memcmp(f->source->contiguous(0), v.data(), v.size() * 2));
  EXPECT_TRUE(f->notes.empty());
}

TEST(NpyTest, BigEndianAndFortranOrderAreConverted) {
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

TEST(NpyTest, OtherDtypesBecomeFloat32WithANote) {
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
  EXPECT_NE(ff->source->contiguous(0), nullptr);
  EXPECT_TRUE(ff->notes.empty());
}

TEST(NpyTest, Shapes) {
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

TEST(NpyTest, MalformedFilesAreRefused) {
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

}  // namespace
}  // namespace tilerender::testing
