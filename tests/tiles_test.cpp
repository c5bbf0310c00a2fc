// Tiles on the GPU: tile-size invariance, chunked sources, images wider than GL_MAX_TEXTURE_SIZE,
// exact byte accounting, no leaked textures or cached tiles, alias-free zoomed-out views, only
// visible tiles drawn.
#include <gtest/gtest.h>

#include <atomic>
#include <cmath>
#include <limits>
#include <vector>

#include "core/tiles/downsample.h"
#include "core/tiles/tile_grid.h"
#include "tests/cpu_reference.h"
#include "tests/test_util.h"

namespace tilerender::testing {
namespace {

struct View {
  const char* name;
  std::optional<double> cx, cy, zoom;
  double rotation;
};

class TileInvarianceTest : public ::testing::TestWithParam<std::tuple<int, PixelType, int>> {};

TEST_P(TileInvarianceTest, SameRenderForEveryTileSize) {
  const auto [channels, type, seed] = GetParam();
  const ImageDesc desc{437, 301, type, channels};
  auto value = [seed = seed](int64_t x, int64_t y, int c) {
    const uint32_t h = static_cast<uint32_t>((x + seed) * 2654435761u ^ (y * 40503u) ^ (c * 977u));
    return (h >> 8) % 251 + 0.25 * ((x + y) % 4);
  };
  std::shared_ptr<BufferSource> src;
  if (type == PixelType::kUint8) src = MakeImage<uint8_t>(desc, value);
  if (type == PixelType::kUint16) src = MakeImage<uint16_t>(desc, [&](int64_t x, int64_t y, int c) { return value(x, y, c) * 200; });
  if (type == PixelType::kFloat32) src = MakeImage<float>(desc, value);

  ImageHandle t64 = Load(src, 64), t100 = Load(src, 100), untiled = Load(src, 16384);
  ASSERT_GT(t64->info().tiles, t100->info().tiles);
  ASSERT_EQ(untiled->info().levels, t64->info().levels);
  // A tile corner of the T = 64 grid (a boundary where four tiles meet).
  const int64_t xs[] = {0, 64, 128, 192}, ys[] = {0, 64, 128, 192};
  const View views[] = {
      {"fit", {}, {}, {}, 0},
      {"rotated zoomed out", 210.5, 140.2, 0.37, 27},
      {"far out", {}, {}, 0.11, -63},
      {"tile corner zoom 4", static_cast<double>(xs[3]), static_cast<double>(ys[2]), 4.0, 0},
      {"tile corner rotated", static_cast<double>(xs[2]), static_cast<double>(ys[3]), 2.5, 45},
      {"zoom 1 odd center", 100.5, 99.5, 1.0, 0},
  };
  for (const View& v : views) {
    for (Interpolation interp : {Interpolation::kNearest, Interpolation::kLinear}) {
      std::vector<uint8_t> out[3];
      const ImageHandle imgs[3] = {t64, t100, untiled};
      for (int i = 0; i < 3; ++i) {
        RenderRequest req{.width = 160, .height = 120};
        req.camera = {.center_x = v.cx, .center_y = v.cy, .zoom = v.zoom, .rotation_deg = v.rotation};
        req.layers.push_back({.image = imgs[i], .interpolation = interp});
        if (channels == 1) req.layers.back().colormap.name = "viridis";
        out[i] = RenderRgba(req);
      }
      // Byte-identical, nearest and linear (README, "Tile-size invariance").
      for (int i : {0, 1}) {
        const Diff d = CompareRgba(out[i], out[2], 0);
        EXPECT_EQ(d.over, 0u) << v.name << ", " << InterpolationName(interp) << ", T="
                              << (i == 0 ? 64 : 100) << ": worst " << d.max_abs;
      }
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Types, TileInvarianceTest,
                         ::testing::Values(std::tuple{1, PixelType::kUint8, 1},
                                           std::tuple{1, PixelType::kUint16, 2},
                                           std::tuple{1, PixelType::kFloat32, 3},
                                           std::tuple{3, PixelType::kUint8, 4},
                                           std::tuple{4, PixelType::kUint8, 5}));

// A source read in chunks, like a tiled file: 50 x 30 chunks that line up with no tile size.
class ChunkedSource : public ImageSource {
 public:
  explicit ChunkedSource(std::shared_ptr<BufferSource> inner) : inner_(std::move(inner)) {}
  const ImageDesc& desc() const override { return inner_->desc(); }
  std::vector<SourceLevel> levels() const override { return {{0, desc().width, desc().height, 50, 30}}; }
  Status ReadChunk(int index, int, int64_t cx, int64_t cy, uint8_t* dst, size_t stride) override {
    EXPECT_EQ(index, 0);
    EXPECT_GE(stride, 50 * desc().bytes_per_pixel());
    reads.fetch_add(1);
    const int64_t w = std::min<int64_t>(50, desc().width - cx * 50), h = std::min<int64_t>(30, desc().height - cy * 30);
    CopyRect(inner_->data(), desc().row_bytes(), desc(), cx * 50, cy * 30, w, h, dst, stride);
    return Status::Ok();
  }
  std::atomic<int> reads{0};

 private:
  std::shared_ptr<BufferSource> inner_;
};

TEST(TilesTest, ChunkedSourceRendersLikeMemory) {
  for (int channels : {1, 3}) {
    const ImageDesc desc{437, 301, channels == 1 ? PixelType::kUint16 : PixelType::kUint8, channels};
    std::shared_ptr<BufferSource> src;
    if (channels == 1) src = MakeImage<uint16_t>(desc, [](int64_t x, int64_t y, int) { return x * 97 + y * 31; });
    else src = MakeImage<uint8_t>(desc, [](int64_t x, int64_t y, int c) { return x * 7 + y * 3 + c * 50; });
    auto chunked = std::make_shared<ChunkedSource>(src);
    ImageHandle from_chunks = Load(chunked, 64);
    ImageHandle direct = Load(src, 64);
    ASSERT_TRUE(from_chunks && direct);
    EXPECT_EQ(from_chunks->info().range.min, direct->info().range.min);
    EXPECT_EQ(from_chunks->info().range.max, direct->info().range.max);
    for (double zoom : {1.0, 0.3, 0.08}) {
      RenderRequest req{.width = 200, .height = 150};
      req.camera = {.center_x = 220, .center_y = 140, .zoom = zoom, .rotation_deg = 10};
      req.layers.push_back({.image = from_chunks, .interpolation = Interpolation::kLinear});
      const auto a = RenderRgba(req);
      req.layers[0].image = direct;
      EXPECT_EQ(a, RenderRgba(req)) << channels << " channels, zoom " << zoom;
    }
  }
}

TEST(TilesTest, WiderThanMaxTextureSizeAtFullResolution) {
  const int max_tex = TestEngine().gpu_info().max_texture_size;
  const int64_t width = std::max<int64_t>(20000, max_tex + 3000);
  const ImageDesc desc{width, 64, PixelType::kUint8, 1};
  auto src = MakeImage<uint8_t>(desc, [](int64_t x, int64_t y, int) { return (x * 131 + y * 7) % 256; });
  ImageHandle img = Load(src, max_tex);  // tiles as wide as the driver allows
  ASSERT_GE(img->info().tiles, 2);
  for (double right_edge_x : {static_cast<double>(width) - 128, static_cast<double>(max_tex)}) {
    RenderRequest req{.width = 256, .height = 64};
    req.camera = {.center_x = right_edge_x, .center_y = 32, .zoom = 1};
    req.layers.push_back({.image = img, .contrast = Contrast{0, 255}});
    const std::vector<uint8_t> px = RenderRgba(req);
    size_t wrong = 0;
    const int64_t x0 = static_cast<int64_t>(right_edge_x) - 128;
    for (int v = 0; v < 64; ++v) {
      for (int u = 0; u < 256; ++u) {
        const int64_t x = x0 + u;
        const int expect = x < width ? src->contiguous(0)[v * width + x] : 0;
        wrong += px[(v * 256 + u) * 4] != expect;
      }
    }
    EXPECT_EQ(wrong, 0u) << "view centred at x = " << right_edge_x;
  }
}

TEST(TilesTest, GpuBytesAreTheRawBytesPlusGutters) {
  const ImageDesc u16{4000, 3000, PixelType::kUint16, 1};
  auto src = BufferSource::Allocate(u16);
  ASSERT_TRUE(src.ok());
  std::fill_n((*src)->mutable_data(), u16.byte_size(), uint8_t{7});
  std::shared_ptr<BufferSource> shared = std::move(src).value();
  // Textures hold their tiles' pixels and a one-texel gutter right and below where a neighbour is.
  for (auto [t, columns, rows] : {std::tuple{0, 8, 6}, std::tuple{256, 16, 12}, std::tuple{100, 40, 30}}) {
    ImageHandle img = Load(shared, t);
    EXPECT_EQ(img->info().gpu_bytes_level0, (4000 + columns - 1) * (3000 + rows - 1) * 2) << "T = " << t;
    EXPECT_LE(img->info().gpu_bytes_level0, 24'000'000 * 1.02) << "T = " << t;
    EXPECT_LE(img->info().gpu_bytes, img->info().gpu_bytes_level0 * 4 / 3 + 100'000) << "pyramid adds at most 1/3";
  }
  // RGB is stored as R8 texels, 3 bytes per pixel, not padded to 4.
  const ImageDesc rgb{2000, 1500, PixelType::kUint8, 3};
  auto rgb_src = MakeImage<uint8_t>(rgb, [](int64_t, int64_t, int) { return 9; });
  ImageHandle rgb_img = Load(rgb_src);
  ASSERT_GT(rgb_img->info().tiles, 1);
  EXPECT_EQ(rgb_img->info().gpu_bytes_level0, (2000 + 3) * 3 * (1500 + 2));
  // What is resident is what renders paged in: a 1:1 view of 300 x 200 across a tile corner.
  Engine& e = TestEngine();
  EXPECT_EQ(e.ResidentGpuBytes(*rgb_img), 0) << "loading uploads nothing";
  RenderRequest req{.width = 300, .height = 200};
  // Half a pixel off the texel grid: drawn (an RGB identity view on the grid is copied on the CPU).
  req.camera = {.center_x = 512.5, .center_y = 512, .zoom = 1};
  req.layers.push_back({.image = rgb_img});
  auto out = e.Render(req);
  ASSERT_TRUE(out.ok());
  EXPECT_EQ(out->timings.tiles_drawn, 4) << "the view straddles the corner of four 512-pixel tiles";
  EXPECT_EQ(e.ResidentGpuBytes(*rgb_img), 4 * 513 * 513 * 3);
}

TEST(TilesTest, HundredLoadsRendersAndUnloadsLeakNothing) {
  Engine& e = TestEngine();
  e.Flush();
  const EngineStats before = e.stats();
  const ImageDesc desc{300, 200, PixelType::kUint16, 1};
  auto src = MakeImage<uint16_t>(desc, [](int64_t x, int64_t y, int) { return x + y; });
  for (int i = 0; i < 100; ++i) {
    ImageHandle img = Load(src, 64);
    ASSERT_TRUE(img);
    EXPECT_GT(img->info().tiles, 20);
    RenderRequest req{.width = 64, .height = 48};
    req.camera.zoom = i % 2 ? 1.0 : 0.2;
    req.layers.push_back({.image = img, .interpolation = Interpolation::kLinear});
    ASSERT_TRUE(e.Render(req).ok());
  }
  e.Flush();
  const EngineStats after = e.stats();
  EXPECT_EQ(after.live_textures, before.live_textures);
  EXPECT_EQ(after.images, before.images);
  EXPECT_EQ(after.gpu_bytes_used, before.gpu_bytes_used);
  EXPECT_EQ(after.host.bytes, before.host.bytes);
}

TEST(TilesTest, ZoomedOutViewIsAliasFree) {
  // A one-pixel checkerboard: sampled at 1/8 without a pyramid it aliases to stripes/noise.
  const ImageDesc desc{1024, 1024, PixelType::kUint8, 1};
  auto src = MakeImage<uint8_t>(desc, [](int64_t x, int64_t y, int) { return ((x + y) % 2) * 255; });
  ImageHandle img = Load(src, 256);
  ASSERT_GT(img->info().levels, 3);
  RenderRequest req{.width = 120, .height = 120};
  req.camera = {.zoom = 0.117, .rotation_deg = 13};
  req.layers.push_back({.image = img, .interpolation = Interpolation::kLinear});
  const std::vector<uint8_t> px = RenderRgba(req);
  int lo = 255, hi = 0;
  for (int v = 20; v < 100; ++v) {
    for (int u = 20; u < 100; ++u) {
      lo = std::min<int>(lo, px[(v * 120 + u) * 4]);
      hi = std::max<int>(hi, px[(v * 120 + u) * 4]);
    }
  }
  EXPECT_GE(lo, 125);
  EXPECT_LE(hi, 130);
  SavePng("checker_zoomed_out", px, 120, 120);
}

TEST(TilesTest, ZonePlateZoomedOutHasNoGhostRings) {
  // Rings whose frequency grows with the radius, up to 0.5 cycles/pixel at the corners. At zoom 1/8
  // everything beyond 1/16 cycles/pixel of the source is above the output's Nyquist and must
  // average out to flat gray; a 2x2 box pyramid leaves ghost rings there (the box filter's
  // sidelobes), the binomial kernel does not.
  const int64_t n = 2048;
  const double l = std::hypot(n / 2.0, n / 2.0) / 0.5;
  const ImageDesc desc{n, n, PixelType::kUint8, 1};
  auto src = MakeImage<uint8_t>(desc, [&](int64_t x, int64_t y, int) {
    const double dx = x + 0.5 - n / 2.0, dy = y + 0.5 - n / 2.0;
    return std::lround(127.5 + 127.0 * std::cos(M_PI * (dx * dx + dy * dy) / l));
  });
  {
    ImageHandle img = Load(src, 512);
    ASSERT_TRUE(img);
    RenderRequest req{.width = 256, .height = 256};
    req.camera.zoom = 1.0 / 8;
    req.layers.push_back({.image = img, .interpolation = Interpolation::kLinear});
    const std::vector<uint8_t> px = RenderRgba(req);
    int worst = 0;
    for (int v = 0; v < 256; ++v) {
      for (int u = 0; u < 256; ++u) {
        // Local source frequency r / l cycles/pixel; above 1.5 / 16 it is well past Nyquist here.
        const double r = std::hypot((u + 0.5 - 128) * 8, (v + 0.5 - 128) * 8);
        if (r / l > 1.5 / 16) worst = std::max(worst, std::abs(px[(v * 256 + u) * 4] - 127));
      }
    }
    // Measured: the binomial pyramid leaves at most 9 (of 127) there, a 2x2 box pyramid 45.
    EXPECT_LE(worst, 12) << "ghost rings of " << worst;
    SavePng("zone_plate_zoom_eighth", px, 256, 256);
  }
}

TEST(TilesTest, OnlyVisibleTilesAreDrawn) {
  const ImageDesc desc{1000, 1000, PixelType::kUint8, 1};
  auto src = MakeImage<uint8_t>(desc, [](int64_t x, int64_t, int) { return x % 256; });
  ImageHandle img = Load(src, 64);  // 17 x 17 tiles at level 0
  RenderRequest req{.width = 50, .height = 50};
  req.camera = {.center_x = 500.3, .center_y = 500.7, .zoom = 1, .rotation_deg = 45};
  req.layers.push_back({.image = img});
  auto out = TestEngine().Render(req);
  ASSERT_TRUE(out.ok());
  // A 50 px square rotated 45 degrees spans ~71 px: at most 3 x 3 tiles of ~59 px.
  EXPECT_GE(out->timings.tiles_drawn, 1);
  EXPECT_LE(out->timings.tiles_drawn, 9);
}

// The derived-level filter itself (DESIGN §2, core/tiles/downsample.h), on impulses, with every
// expected value worked out by hand here: level-(k+1) pixel (X, Y) is
//   sum over i, j in 0..3 of t[i] t[j] p(2X - 1 + i, 2Y - 1 + j) / 64,  t = [1 3 3 1],
// coordinates clamped to the level's edges; integer data rounded half up; float data leaves NaN
// taps out and divides by the weight of the others (NaN when all are NaN). An impulse at source
// column 3 reaches output column 1 with tap t[2] = 3 and column 2 with t[0] = 1; at source row 4,
// output row 1 with t[3] = 1 and row 2 with t[1] = 3.
template <typename T>
std::vector<T> DownsampleRect(const ImageDesc& d, const std::vector<T>& src, const PixelRect& dst) {
  // Only the source rectangle the filter asks for is passed, addressed from its own corner.
  const PixelRect need = DownsampleSource(dst, d.width, d.height);
  const size_t stride = static_cast<size_t>(d.width) * d.channels * sizeof(T);
  const uint8_t* at = reinterpret_cast<const uint8_t*>(src.data()) + need.y0 * stride + need.x0 * d.channels * sizeof(T);
  std::vector<T> out(static_cast<size_t>(dst.width() * dst.height() * d.channels));
  Downsample(d, at, stride, need, d.width, d.height, dst, reinterpret_cast<uint8_t*>(out.data()),
             static_cast<size_t>(dst.width()) * d.channels * sizeof(T));
  return out;
}

template <typename T>
std::vector<T> DownsampleAll(const ImageDesc& d, const std::vector<T>& src) {
  return DownsampleRect(d, src, {0, 0, (d.width + 1) / 2, (d.height + 1) / 2});
}

TEST(DownsampleTest, Uint8ImpulsesGiveTheBinomialTapsRoundedHalfUp) {
  // 16 x 8: 255 at (3, 4) and 32 at (11, 4), footprints apart (output columns 1-2 and 5-6).
  const ImageDesc d{16, 8, PixelType::kUint8, 1};
  std::vector<uint8_t> src(16 * 8, 0);
  src[4 * 16 + 3] = 255;
  src[4 * 16 + 11] = 32;
  // Weights 3 (row 1) and 9 (row 2) at column 1, 1 and 3 at column 2, over 64:
  // 255: 255/64 = 3.98 -> 4, 765/64 = 11.95 -> 12, 2295/64 = 35.86 -> 36;
  // 32: exactly 0.5 -> 1, 1.5 -> 2, 4.5 -> 5 (half up; truncation gives 0 1 4, half-even 0 2 4).
  const std::vector<uint8_t> expect = {
      0, 0,  0,  0, 0, 0, 0, 0,  //
      0, 12, 4,  0, 0, 2, 1, 0,  //
      0, 36, 12, 0, 0, 5, 2, 0,  //
      0, 0,  0,  0, 0, 0, 0, 0,
  };
  EXPECT_EQ(DownsampleAll(d, src), expect);
}

TEST(DownsampleTest, EdgesClampAndOddSizesRoundUp) {
  // 7 x 5 (level 1: 4 x 3), 64 at the corners (0, 0) and (6, 4). At (0, 0) the taps of output 0
  // are source 0, 0, 1, 2 (-1 clamped): weight 1 + 3 = 4 each way, 64 * 16 / 64 = 16. At (6, 4) the
  // taps of the last output column are 5, 6, 6, 6 (7 and 8 clamped): weight 3 + 3 + 1 = 7; output
  // column 2 has 6 as its last tap (weight 1); rows the same (4 is the last row).
  const ImageDesc d{7, 5, PixelType::kUint8, 1};
  std::vector<uint8_t> src(7 * 5, 0);
  src[0] = 64;
  src[4 * 7 + 6] = 64;
  const std::vector<uint8_t> expect = {
      16, 0, 0, 0,  //
      0,  0, 1, 7,  //
      0,  0, 7, 49,
  };
  EXPECT_EQ(DownsampleAll(d, src), expect);
  // A rectangle at the corner alone, from only the source it asks for: the same pixels.
  EXPECT_EQ(DownsampleSource({2, 1, 4, 3}, 7, 5), (PixelRect{3, 1, 7, 5}));
  EXPECT_EQ(DownsampleRect(d, src, {2, 1, 4, 3}), (std::vector<uint8_t>{1, 7, 7, 49}));
  EXPECT_EQ(DownsampleRect(d, src, {0, 0, 1, 1}), (std::vector<uint8_t>{16}));
}

TEST(DownsampleTest, Uint16ImpulseAndFullScale) {
  const ImageDesc d{8, 8, PixelType::kUint16, 1};
  std::vector<uint16_t> src(64, 0);
  src[4 * 8 + 3] = 65535;
  // 65535 / 64 = 1023.98 -> 1024, x 3 = 3071.95 -> 3072, x 9 = 9215.86 -> 9216.
  const std::vector<uint16_t> expect = {
      0, 0,    0,    0,  //
      0, 3072, 1024, 0,  //
      0, 9216, 3072, 0,  //
      0, 0,    0,    0,
  };
  EXPECT_EQ(DownsampleAll(d, src), expect);
  // Full scale stays full scale (the sum, 64 x 65535, must not overflow or lose bits).
  EXPECT_EQ(DownsampleAll(d, std::vector<uint16_t>(64, 65535)), std::vector<uint16_t>(16, 65535));
}

TEST(DownsampleTest, RgbChannelsAreFilteredApart) {
  // Red constant 100, green the impulse 255 at (3, 4), blue 0.
  const ImageDesc d{8, 8, PixelType::kUint8, 3};
  std::vector<uint8_t> src(64 * 3, 0);
  for (int i = 0; i < 64; ++i) src[3 * i] = 100;
  src[(4 * 8 + 3) * 3 + 1] = 255;
  const uint8_t green[16] = {0, 0, 0, 0, 0, 12, 4, 0, 0, 36, 12, 0, 0, 0, 0, 0};
  const std::vector<uint8_t> out = DownsampleAll(d, src);
  ASSERT_EQ(out.size(), 16u * 3);
  for (int i = 0; i < 16; ++i) {
    EXPECT_EQ(out[3 * i], 100) << i;
    EXPECT_EQ(out[3 * i + 1], green[i]) << i;
    EXPECT_EQ(out[3 * i + 2], 0) << i;
  }
}

TEST(DownsampleTest, FloatNanTapsAreLeftOutAndTheRestRenormalised) {
  // 64 at (3, 4), NaN at its right neighbour (4, 4), zeros elsewhere. Column 4 reaches output column
  // 1 with t[3] = 1 and column 2 with t[1] = 3. Output (X, Y): the impulse's weight w, the NaN's
  // weight n, value 64 w / (64 - n):
  //   (1, 1): w = 3 * 1, n = 1 * 1 -> 192 / 63     (2, 1): w = 1 * 1, n = 3 * 1 -> 64 / 61
  //   (1, 2): w = 3 * 3, n = 1 * 3 -> 576 / 61     (2, 2): w = 1 * 3, n = 3 * 3 -> 192 / 55
  const ImageDesc d{8, 8, PixelType::kFloat32, 1};
  std::vector<float> src(64, 0.f);
  src[4 * 8 + 3] = 64;
  src[4 * 8 + 4] = std::numeric_limits<float>::quiet_NaN();
  const std::vector<float> out = DownsampleAll(d, src);
  const float expect[16] = {0, 0,           0,           0,  //
                            0, 192.f / 63,  64.f / 61,   0,  //
                            0, 576.f / 61,  192.f / 55,  0,  //
                            0, 0,           0,           0};
  ASSERT_EQ(out.size(), 16u);
  for (int i = 0; i < 16; ++i) EXPECT_FLOAT_EQ(out[i], expect[i]) << "output " << i % 4 << "," << i / 4;

  // Ones with a 4 x 4 block of NaN over source [1, 5) x [1, 5): every tap of output (1, 1) is NaN, so
  // it is NaN; every other output keeps some taps, all 1, and renormalised is exactly 1 (e.g. (0, 0):
  // NaN weight (3 + 1) x (3 + 1) = 16 of 64, 48 / 48).
  std::vector<float> block(64, 1.f);
  for (int y = 1; y < 5; ++y) {
    for (int x = 1; x < 5; ++x) block[y * 8 + x] = std::numeric_limits<float>::quiet_NaN();
  }
  const std::vector<float> b = DownsampleAll(d, block);
  for (int i = 0; i < 16; ++i) {
    if (i == 1 * 4 + 1) {
      EXPECT_TRUE(std::isnan(b[i]));
    } else {
      EXPECT_EQ(b[i], 1.f) << "output " << i % 4 << "," << i / 4;
    }
  }
}

// The filter is what a render at zoom 1/2 shows: level 1 drawn nearest, one texel per output
// pixel, sampled at texel centres (output (u, v) samples world (2u + 1, 2v + 1)), gray 0..255 on
// uint8 shows the values themselves.
TEST(DownsampleTest, RenderAtHalfZoomShowsTheFilteredLevel) {
  const ImageDesc desc{64, 64, PixelType::kUint8, 1};
  auto src = MakeImage<uint8_t>(desc, [](int64_t x, int64_t y, int) { return x == 21 && y == 30 ? 255 : 0; });
  ImageHandle img = Load(src, 32);
  ASSERT_GE(img->info().levels, 2);
  RenderRequest req{.width = 32, .height = 32};
  req.camera = {.center_x = 32, .center_y = 32, .zoom = 0.5};
  req.layers.push_back({.image = img, .colormap = {.name = "gray"}, .contrast = Contrast{0, 255}});
  const std::vector<uint8_t> px = RenderRgba(req);
  ASSERT_EQ(px.size(), 32u * 32 * 4);
  // Source column 21 reaches output column 10 with t[2] = 3 and 11 with t[0] = 1; row 30 reaches
  // row 14 with t[3] = 1 and 15 with t[1] = 3: 255 x {3, 1, 9, 3} / 64 -> 12, 4, 36, 12.
  auto expect = [](int u, int v) -> int {
    if (u == 10 && v == 14) return 12;
    if (u == 11 && v == 14) return 4;
    if (u == 10 && v == 15) return 36;
    if (u == 11 && v == 15) return 12;
    return 0;
  };
  size_t wrong = 0;
  for (int v = 0; v < 32; ++v) {
    for (int u = 0; u < 32; ++u) {
      const uint8_t* p = &px[(v * 32 + u) * 4];
      if (p[0] != expect(u, v) || p[1] != expect(u, v) || p[2] != expect(u, v) || p[3] != 255) {
        if (++wrong <= 8) ADD_FAILURE() << "pixel " << u << "," << v << ": " << int{p[0]} << " expected " << expect(u, v);
      }
    }
  }
  EXPECT_EQ(wrong, 0u);
}

}  // namespace
}  // namespace tilerender::testing
