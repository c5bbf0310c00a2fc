// The harnesses without libFuzzer (the normal build, any compiler): feeds every file named on the
// command line, or found in a directory named there, to LLVMFuzzerTestOneInput once, so the seeds
// and the crashers found so far (tests/fuzz/regressions) run in every ctest. An input that crashes
// fails the test by itself; one slower than --timeout seconds (default 10, libFuzzer's -timeout
// in scripts/fuzz.sh) fails it too. Address space is capped (--max-gb, default 4) so an input that
// makes a reader allocate gigabytes fails here as it would under libFuzzer's -rss_limit_mb.
#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#if defined(__SANITIZE_ADDRESS__)
#define REPLAY_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define REPLAY_ASAN 1
#endif
#endif

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size);

int main(int argc, char** argv) {
  namespace fs = std::filesystem;
  double timeout_s = 10;
  double max_gb = 4;
  std::vector<fs::path> inputs;
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--timeout") == 0 && i + 1 < argc) {
      timeout_s = std::atof(argv[++i]);
    } else if (std::strcmp(argv[i], "--max-gb") == 0 && i + 1 < argc) {
      max_gb = std::atof(argv[++i]);
    } else if (fs::is_directory(argv[i])) {
      for (const auto& e : fs::recursive_directory_iterator(argv[i])) {
        if (e.is_regular_file() && e.path().filename().string()[0] != '.' && e.path().filename() != "README.md") {
          inputs.push_back(e.path());
        }
      }
    } else if (fs::exists(argv[i])) {
      inputs.push_back(argv[i]);
    } else {
      std::fprintf(stderr, "replay: %s does not exist (skipped)\n", argv[i]);
    }
  }
  std::sort(inputs.begin(), inputs.end());
  if (max_gb > 0) {
    // Sanitizer builds reserve terabytes of shadow address space: no cap there.
#ifndef REPLAY_ASAN
    const rlim_t cap = static_cast<rlim_t>(max_gb * (1 << 30));
    rlimit rl{cap, cap};
    setrlimit(RLIMIT_AS, &rl);
#endif
  }
  int slow = 0;
  double slowest = 0;
  std::string slowest_name;
  for (const fs::path& p : inputs) {
    std::ifstream f(p, std::ios::binary);
    const std::vector<uint8_t> bytes((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
    std::fprintf(stderr, "replay: %s (%zu bytes)\n", p.c_str(), bytes.size());
    const auto t0 = std::chrono::steady_clock::now();
    LLVMFuzzerTestOneInput(bytes.data(), bytes.size());
    const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    if (s > slowest) slowest = s, slowest_name = p.string();
    if (s > timeout_s) {
      std::fprintf(stderr, "replay: %s took %.1f s (more than %.0f s)\n", p.c_str(), s, timeout_s);
      ++slow;
    }
  }
  std::printf("replay: %zu inputs, slowest %.3f s (%s), %d too slow\n", inputs.size(), slowest, slowest_name.c_str(), slow);
  return slow == 0 && !inputs.empty() ? 0 : 1;
}
