#include "bench/bench_util.h"

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdarg>
#include <cstdio>
#include <filesystem>
#include <fstream>

extern char** environ;

namespace tilerender::bench {

double Ms(Clock::time_point a, Clock::time_point b) {
  return std::chrono::duration<double, std::milli>(b - a).count();
}

double Median(std::vector<double> v) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  const size_t n = v.size();
  return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

double Percentile(std::vector<double> v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  const size_t k = std::min(v.size() - 1, static_cast<size_t>(std::ceil(p * v.size())) - (p > 0 ? 1 : 0));
  return v[k];
}

double TimeMs(int reps, const std::function<void()>& f) {
  f();
  std::vector<double> t;
  for (int i = 0; i < reps; ++i) {
    const auto a = Clock::now();
    f();
    t.push_back(Ms(a, Clock::now()));
  }
  return Median(t);
}

int64_t ProcStatusKib(pid_t pid, const char* key) {
  std::ifstream f("/proc/" + (pid ? std::to_string(pid) : std::string("self")) + "/status");
  std::string k;
  while (f >> k) {
    if (k == key) {
      int64_t v;
      f >> v;
      return v;
    }
  }
  return -1;
}

void ResetPeakRss(pid_t pid) {
  std::ofstream("/proc/" + (pid ? std::to_string(pid) : std::string("self")) + "/clear_refs") << "5";
}

void DropFromPageCache(const std::string& path) {
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec)) {  // a store of many files (OME-Zarr): every file in it
    for (const auto& e : std::filesystem::recursive_directory_iterator(path, ec)) {
      if (e.is_regular_file(ec)) DropFromPageCache(e.path().string());
    }
    return;
  }
  const int fd = ::open(path.c_str(), O_RDONLY);
  if (fd < 0) return;
  ::fdatasync(fd);
  ::posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
  ::close(fd);
}

double ReadFileMs(const std::string& path, std::vector<uint8_t>& buf) {
  const auto a = Clock::now();
  const int fd = ::open(path.c_str(), O_RDONLY);
  size_t off = 0;
  buf.resize(std::filesystem::file_size(path));
  while (off < buf.size()) {
    const ssize_t n = ::read(fd, buf.data() + off, buf.size() - off);
    if (n <= 0) break;
    off += static_cast<size_t>(n);
  }
  ::close(fd);
  return Ms(a, Clock::now());
}

std::string Fmt(const char* fmt, ...) {
  char buf[1024];
  va_list ap;
  va_start(ap, fmt);
  std::vsnprintf(buf, sizeof buf, fmt, ap);
  va_end(ap);
  return buf;
}

void Summary(const std::string& measure, const std::string& text) {
  std::printf("SUMMARY %-10s %s\n", measure.c_str(), text.c_str());
  std::fflush(stdout);
}

double RunMs(const std::vector<std::string>& args) {
  std::vector<char*> argv;
  std::vector<std::string> copy = args;
  for (auto& a : copy) argv.push_back(a.data());
  argv.push_back(nullptr);
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, STDOUT_FILENO, "/dev/null", O_WRONLY, 0);
  posix_spawn_file_actions_addopen(&fa, STDERR_FILENO, "/dev/null", O_WRONLY, 0);
  const auto t0 = Clock::now();
  pid_t pid = -1;
  const int err = posix_spawnp(&pid, argv[0], &fa, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&fa);
  if (err != 0) return -1;
  int status = 0;
  waitpid(pid, &status, 0);
  const double ms = Ms(t0, Clock::now());
  return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? ms : -1;
}

DaemonProcess::DaemonProcess(const std::string& binary, const std::string& data_root,
                             const std::vector<std::string>& flags) {
  int out[2];
  if (pipe(out) != 0) return;
  std::vector<std::string> args = {binary, "--listen", "127.0.0.1:0", "--data-root", data_root, "--log-level", "warn"};
  args.insert(args.end(), flags.begin(), flags.end());
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_adddup2(&fa, out[1], STDOUT_FILENO);
  posix_spawn_file_actions_addclose(&fa, out[0]);
  posix_spawn(&pid_, argv[0], &fa, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&fa);
  close(out[1]);
  FILE* f = fdopen(out[0], "r");
  char line[256] = {};
  if (f && std::fgets(line, sizeof line, f)) {
    std::string l(line);
    const std::string prefix = "tilerenderd listening on ";
    if (l.rfind(prefix, 0) == 0) address_ = l.substr(prefix.size(), l.size() - prefix.size() - 1);
  }
  // With --http-listen, the HTTP address follows on a second line.
  if (std::find(flags.begin(), flags.end(), "--http-listen") != flags.end() && f && std::fgets(line, sizeof line, f)) {
    std::string l(line);
    const std::string prefix = "tilerenderd http listening on ";
    if (l.rfind(prefix, 0) == 0) http_address_ = l.substr(prefix.size(), l.size() - prefix.size() - 1);
  }
  if (f) std::fclose(f);
  client_ = client::Client::Connect(address_);
  ok_ = !address_.empty() && client_->WaitForServing(std::chrono::seconds(60)).ok();
}

DaemonProcess::~DaemonProcess() {
  client_.reset();
  if (pid_ > 0) {
    kill(pid_, SIGTERM);
    waitpid(pid_, nullptr, 0);
  }
}

}  // namespace tilerender::bench
