#pragma once
// Helpers shared by the benchmarks: timing, medians and percentiles, process memory, the page
// cache, the real daemon as a child process, and other programs (the libvips peer) run and timed.

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "client/client.h"

namespace tilerender::bench {

using Clock = std::chrono::steady_clock;

double Ms(Clock::time_point a, Clock::time_point b);
double Median(std::vector<double> v);
/// p in [0, 1], nearest rank.
double Percentile(std::vector<double> v, double p);
/// Median of `reps` timed runs of f (ms), after one untimed warm-up run.
double TimeMs(int reps, const std::function<void()>& f);

/// A /proc/<pid>/status field in KiB (pid 0: this process), -1 if absent.
int64_t ProcStatusKib(pid_t pid, const char* key);
/// Resets the peak-RSS mark (VmHWM) of a process (0: this one).
void ResetPeakRss(pid_t pid = 0);
/// Asks the kernel to forget a file's cached pages (every file under it for a directory).
void DropFromPageCache(const std::string& path);
double ReadFileMs(const std::string& path, std::vector<uint8_t>& buf);

std::string Fmt(const char* fmt, ...) __attribute__((format(printf, 1, 2)));
/// One machine-readable line per measure: "SUMMARY <measure> <text>".
void Summary(const std::string& measure, const std::string& text);

/// Runs a program to completion (stdout and stderr to /dev/null): its wall time in ms, or -1 when
/// it could not start or exited non-zero.
double RunMs(const std::vector<std::string>& argv);

/// tilerenderd as a child process on a free loopback port, with extra flags; SIGTERM on
/// destruction.
class DaemonProcess {
 public:
  DaemonProcess(const std::string& binary, const std::string& data_root, const std::vector<std::string>& flags);
  ~DaemonProcess();
  bool ok() const { return ok_; }
  const std::string& address() const { return address_; }
  const std::string& http_address() const { return http_address_; }  ///< with --http-listen
  client::Client& client() { return *client_; }
  pid_t pid() const { return pid_; }

 private:
  pid_t pid_ = -1;
  std::string address_;
  std::string http_address_;
  std::unique_ptr<client::Client> client_;
  bool ok_ = false;
};

}  // namespace tilerender::bench
