// Faults while rendering (issue #14): a source whose reads fail on the k-th call, and tile textures
// the driver cannot allocate (GL_OUT_OF_MEMORY, through the engine's test hook). Every fault is its documented status, the engine serves on, the next render
// equals a render of a healthy copy byte for byte, and nothing leaks: after the images go, the live
// textures and cache bytes are back to where they started.
#include <gtest/gtest.h>

#include <atomic>

#include "tests/test_util.h"

namespace tilerender::testing {
namespace {

// An image read in 64 x 64 chunks from memory, whose reads fail (DATA_LOSS) while `failing` is set
// from the `fail_from`-th read on: a disk error, a file gone bad on a network mount.
class FaultySource final : public ChunkedSource {
 public:
  using ChunkedSource::ChunkedSource;
  Status ReadChunk(int index, int plane, int64_t cx, int64_t cy, uint8_t* dst, size_t dst_stride) override {
    const int64_t n = reads.fetch_add(1) + 1;
    if (failing.load() && n >= fail_from.load()) {
      return DataLoss("read " + std::to_string(n) + " of chunk (" + std::to_string(cx) + ", " + std::to_string(cy) + ") failed");
    }
    return Copy(index, plane, cx, cy, dst, dst_stride);
  }
  std::atomic<int64_t> fail_from{0};
  std::atomic<bool> failing{false};
};

RenderRequest View(const ImageHandle& image, double zoom) {
  RenderRequest r;
  r.width = 200;
  r.height = 150;
  r.format = OutputFormat::kRawRgba8;
  r.camera.zoom = zoom;
  r.camera.rotation_deg = 17;
  Layer l;
  l.image = image;
  l.interpolation = Interpolation::kLinear;
  l.contrast = Contrast{0, 60000};
  l.colormap.name = "viridis";
  r.layers.push_back(l);
  return r;
}

TEST(FaultTest, ReadErrorsMidRenderAreDataLossAndLeaveNothingBehind) {
  std::unique_ptr<Engine> engine = MakeEngine({.host_cache_bytes = 8 << 20, .warm_up_all = false});
  const ImageDesc desc{2100, 2100, PixelType::kUint16, 1};  // over 4 MP: a load reads only 16 chunks
  auto pixels = MakeImage<uint16_t>(desc, [](int64_t x, int64_t y, int) { return (x * 131 + y * 71) % 60000; });
  // The baseline: an image that stays, rendered (the renderer's own textures exist by then).
  auto warm = engine->LoadImage(std::make_shared<FaultySource>(pixels));
  ASSERT_TRUE(warm.ok() && engine->Render(View(*warm, 1)).ok());
  const EngineStats base = engine->stats();
  {
    auto healthy = engine->LoadImage(std::make_shared<FaultySource>(pixels));
    ASSERT_TRUE(healthy.ok()) << healthy.status().ToString();
    for (double zoom : {1.7, 0.3}) {  // level 0, and a level the engine derives from it
      auto want = engine->Render(View(*healthy, zoom));
      ASSERT_TRUE(want.ok()) << want.status().ToString();
      for (int64_t k : {1, 2, 5}) {
        auto faulty_source = std::make_shared<FaultySource>(pixels);  // a new image: cold caches
        auto faulty = engine->LoadImage(faulty_source);
        ASSERT_TRUE(faulty.ok());
        faulty_source->fail_from = faulty_source->reads.load() + k;
        faulty_source->failing = true;
        auto broken = engine->Render(View(*faulty, zoom));
        EXPECT_EQ(broken.status().code(), StatusCode::kDataLoss) << "zoom " << zoom << ", read " << k << ": " << broken.status().ToString();
        faulty_source->failing = false;
        auto again = engine->Render(View(*faulty, zoom));
        ASSERT_TRUE(again.ok()) << again.status().ToString();
        EXPECT_EQ(again->data, want->data) << "zoom " << zoom << ": the render after the fault differs";
      }
    }
  }
  // The others gone: textures and bytes back to the baseline (textures are deleted on the render
  // thread, in order: the same render again runs after them).
  ASSERT_TRUE(engine->Render(View(*warm, 1)).ok());
  const EngineStats after = engine->stats();
  EXPECT_EQ(after.images, base.images);
  EXPECT_EQ(after.gpu_bytes_used, base.gpu_bytes_used);
  EXPECT_EQ(after.live_textures, base.live_textures);
}


// GL_OUT_OF_MEMORY on a tile upload: the driver has less memory than the budget assumed. Once: the
// cache evicts every tile the draw does not need, tries again, and the render succeeds unchanged.
// Every time: RESOURCE_EXHAUSTED "GPU out of memory", nothing half-made stays resident, and the
// same render succeeds byte for byte once memory is back. Live textures and bytes end at baseline.
TEST(FaultTest, GpuOutOfMemoryOnUploadIsRetriedThenResourceExhausted) {
  std::atomic<int64_t> allocations{0}, fail_from{INT64_MAX}, fail_to{INT64_MAX};  // [from, to) fail
  EngineOptions o{.gpu_budget_bytes = 256 << 20, .host_cache_bytes = 8 << 20, .warm_up_all = false};
  o.fail_tile_allocation_for_test = [&] {
    const int64_t n = allocations.fetch_add(1) + 1;
    return n >= fail_from.load() && n < fail_to.load();
  };
  std::unique_ptr<Engine> engine = MakeEngine(o);
  const ImageDesc desc{2100, 2100, PixelType::kUint16, 1};
  auto pixels = MakeImage<uint16_t>(desc, [](int64_t x, int64_t y, int) { return (x * 131 + y * 71) % 60000; });
  auto warm = engine->LoadImage(std::make_shared<FaultySource>(pixels));
  ASSERT_TRUE(warm.ok() && engine->Render(View(*warm, 1)).ok());
  const EngineStats base = engine->stats();
  ASSERT_GT(base.gpu_bytes_used, 0) << "the warm image's tiles are resident";
  ASSERT_EQ(base.gpu.out_of_memory, 0);
  {
    // Images stay loaded to the end: a dropped image's textures would be reused without an allocation.
    std::vector<ImageHandle> keep;
    auto healthy = engine->LoadImage(std::make_shared<FaultySource>(pixels));
    ASSERT_TRUE(healthy.ok()) << healthy.status().ToString();
    keep.push_back(*healthy);
    int64_t refused = 0, retried_ok = 0;
    for (double zoom : {1.7, 0.3}) {  // level 0, and a level the engine derives from it
      auto want = engine->Render(View(*healthy, zoom));
      ASSERT_TRUE(want.ok()) << want.status().ToString();
      // The textures a cold image's render allocates; the first and the last of them fail.
      auto probe = engine->LoadImage(std::make_shared<FaultySource>(pixels));
      ASSERT_TRUE(probe.ok());
      keep.push_back(*probe);
      const int64_t first = allocations.load();
      ASSERT_TRUE(engine->Render(View(*probe, zoom)).ok());
      const int64_t n = allocations.load() - first;
      ASSERT_GE(n, 1);
      for (int64_t k : n > 1 ? std::vector<int64_t>{1, n} : std::vector<int64_t>{1}) {
        // Once, on the k-th new texture of a cold image's render: retried after evicting.
        auto once = engine->LoadImage(std::make_shared<FaultySource>(pixels));
        ASSERT_TRUE(once.ok());
        keep.push_back(*once);
        const EngineStats before = engine->stats();
        fail_from = allocations.load() + k;
        fail_to = fail_from.load() + 1;
        auto retried = engine->Render(View(*once, zoom));
        ASSERT_TRUE(retried.ok()) << "zoom " << zoom << ", allocation " << k << ": " << retried.status().ToString();
        EXPECT_EQ(retried->data, want->data) << "zoom " << zoom << ": a render retried after GL_OUT_OF_MEMORY differs";
        ++retried_ok;
        const EngineStats after = engine->stats();
        EXPECT_EQ(after.gpu.out_of_memory, before.gpu.out_of_memory + 1);
        EXPECT_GT(after.gpu.evictions, before.gpu.evictions) << "the retry evicts the tiles the draw does not need";
        EXPECT_GT(allocations.load(), fail_from.load()) << "the failing allocation happened, and one after it";

        // From the k-th new texture on: refused, then the same render once memory is back.
        auto starved = engine->LoadImage(std::make_shared<FaultySource>(pixels));
        ASSERT_TRUE(starved.ok());
        keep.push_back(*starved);
        fail_from = allocations.load() + k;
        fail_to = INT64_MAX;
        auto broken = engine->Render(View(*starved, zoom));
        EXPECT_EQ(broken.status().code(), StatusCode::kResourceExhausted) << broken.status().ToString();
        EXPECT_NE(broken.status().message().find("GPU out of memory: allocating a "), std::string::npos)
            << broken.status().message();
        ++refused;
        fail_from = INT64_MAX;
        auto again = engine->Render(View(*starved, zoom));
        ASSERT_TRUE(again.ok()) << again.status().ToString();
        EXPECT_EQ(again->data, want->data) << "zoom " << zoom << ": the render after GL_OUT_OF_MEMORY differs";
        // Other images are still served.
        auto other = engine->Render(View(*healthy, zoom));
        ASSERT_TRUE(other.ok());
        EXPECT_EQ(other->data, want->data);
      }
    }
    // Each refusal counted its first failure and the failed retry.
    EXPECT_EQ(engine->stats().gpu.out_of_memory, retried_ok + 2 * refused);
    EXPECT_GE(refused, 3);
  }
  ASSERT_TRUE(engine->Render(View(*warm, 1)).ok());
  const EngineStats after = engine->stats();
  EXPECT_EQ(after.images, base.images);
  EXPECT_EQ(after.live_textures, base.live_textures);
  EXPECT_EQ(after.gpu_bytes_used, base.gpu_bytes_used);
}

}  // namespace
}  // namespace tilerender::testing
