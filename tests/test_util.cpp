#include "tests/test_util.h"

#include <cstdlib>
#include <fstream>

#include "core/encode/png_encoder.h"

namespace tilerender::testing {

std::unique_ptr<Engine> MakeEngine(EngineOptions options) {
  options.warm_up_all = false;  // shader variants compile on first use
  auto e = Engine::Create(options);
  if (!e.ok()) {
    ADD_FAILURE() << "engine: " << e.status().ToString();
    std::abort();
  }
  return std::move(e).value();
}

Engine& TestEngine() {
  static std::unique_ptr<Engine> engine = MakeEngine({});
  return *engine;
}

ImageHandle Load(std::shared_ptr<ImageSource> src, int tile_size, bool pyramid) {
  LoadOptions o;
  o.max_tile_size = tile_size;
  o.build_pyramid = pyramid;
  auto h = TestEngine().LoadImage(std::move(src), o);
  EXPECT_TRUE(h.ok()) << h.status().ToString();
  return h.ok() ? *h : nullptr;
}

std::vector<uint8_t> RenderRgba(const RenderRequest& req) {
  RenderRequest r = req;
  r.format = OutputFormat::kRawRgba8;
  auto out = TestEngine().Render(r);
  EXPECT_TRUE(out.ok()) << out.status().ToString();
  return out.ok() ? out->data : std::vector<uint8_t>{};
}

void SavePng(const std::string& name, const std::vector<uint8_t>& rgba, int w, int h) {
  // Only where asked for (scripts/test.sh sets it): a fixed name under /tmp would be shared.
  const char* dir = std::getenv("TEST_OUTPUT_DIR");
  if (dir == nullptr || *dir == '\0') return;
  const std::string path = std::string(dir) + "/" + name + ".png";
  auto png = EncodePng(rgba.data(), w, h, static_cast<size_t>(w) * 4, {.level = 6});
  ASSERT_TRUE(png.ok());
  std::ofstream(path, std::ios::binary).write(reinterpret_cast<const char*>(png->data()), png->size());
}

}  // namespace tilerender::testing
