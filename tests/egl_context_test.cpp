#include "core/egl/egl_context.h"

#include <gtest/gtest.h>

#include <thread>

#include "tests/test_util.h"

namespace tilerender::testing {
namespace {

TEST(EglContextTest, ReportsWhatItGot) {
  const GpuInfo& info = TestEngine().gpu_info();
  std::printf("EGL %s on %s platform (%s)\nGL %s | %s | %s | max texture %d\n", info.egl_version.c_str(),
              info.egl_platform.c_str(), info.egl_device.c_str(), info.gl_version.c_str(),
              info.gl_vendor.c_str(), info.gl_renderer.c_str(), info.max_texture_size);
  EXPECT_FALSE(info.gl_renderer.empty());
  EXPECT_FALSE(info.gl_vendor.empty());
  EXPECT_TRUE(info.egl_platform == "device" || info.egl_platform == "surfaceless");
  EXPECT_GE(info.max_texture_size, 1024);
  EXPECT_TRUE(info.gl_major > 3 || (info.gl_major == 3 && info.gl_minor >= 3));
  EXPECT_EQ(TestEngine().limits().tile_size, std::min(512, info.max_texture_size));
}

Status CreateOnThread(const EglOptions& o) {
  // A context is current on its creating thread; use a fresh one so the test engine is undisturbed.
  Status s;
  std::thread([&] { s = EglContext::Create(o).status(); }).join();
  return s;
}

TEST(EglContextTest, DeviceSelectionErrors) {
  EXPECT_EQ(CreateOnThread({.device = "gpu-please"}).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(CreateOnThread({.device = "-1"}).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(CreateOnThread({.device = "97"}).code(), StatusCode::kNotFound);
  if (TestEngine().gpu_info().software) {
    const Status s = CreateOnThread({.device = "auto", .require_hardware = true});
    EXPECT_EQ(s.code(), StatusCode::kUnavailable);
    EXPECT_NE(s.message().find("EGL"), std::string::npos) << s.message();
  }
  EXPECT_TRUE(CreateOnThread({.device = TestEngine().gpu_info().software ? "surfaceless" : "auto"}).ok());
}

}  // namespace
}  // namespace tilerender::testing
