#pragma once
// A directory of one test's own: a fresh name under $TEST_TMPDIR (or /tmp), made with mkdtemp, and
// removed with everything in it when the object goes. Fixed names under /tmp are shared between
// tests, test binaries run in parallel (ctest -j) and builds run side by side (the sanitizer suite),
// so one run could read what another wrote.

#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <string>
#include <system_error>

namespace tilerender::testing {

class TestTempDir {
 public:
  TestTempDir() {
    std::string tmpl = ::testing::TempDir();
    if (!tmpl.empty() && tmpl.back() != '/') tmpl += '/';
    tmpl += "tilerender-XXXXXX";
    if (mkdtemp(tmpl.data()) == nullptr) ADD_FAILURE() << "mkdtemp " << tmpl;
    path_ = tmpl;
  }
  ~TestTempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  TestTempDir(const TestTempDir&) = delete;
  TestTempDir& operator=(const TestTempDir&) = delete;

  const std::string& path() const { return path_; }
  /// path()/name
  std::string operator/(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

}  // namespace tilerender::testing
