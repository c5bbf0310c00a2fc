#pragma once
// Starts the real tilerenderd on a loopback port chosen at run time, reads the address from its
// stdout, waits on its health service (no sleeps), and stops it with SIGTERM.

#include <sys/types.h>

#include <memory>
#include <string>
#include <vector>

#include "client/client.h"
#include "core/image/image_desc.h"
#include "tests/npy_writer.h"

namespace tilerender::testing {

class Daemon {
 public:
  /// Starts tilerenderd with a fresh data root and `args`; fails the test if it does not serve.
  /// `connect`: how client() reaches it (TLS, a token).
  explicit Daemon(std::vector<std::string> args = {}, const client::ConnectOptions& connect = {});
  ~Daemon();

  const std::string& address() const { return address_; }
  /// HOST:PORT of the HTTP front end when started with --http-listen, else empty.
  const std::string& http_address() const { return http_address_; }
  /// HOST:PORT of /metrics when started with --metrics-listen, else empty.
  const std::string& metrics_address() const { return metrics_address_; }
  const std::string& data_root() const { return root_; }
  client::Client& client() { return *client_; }
  pid_t pid() const { return pid_; }
  /// Resident set size of the daemon, KiB.
  int64_t RssKib() const;
  /// Its peak resident set size (VmHWM), KiB.
  int64_t PeakRssKib() const;
  /// Holds every render in the daemon's queue (counted in its depth) until ResumeRenders, however
  /// fast the renderer: the TILERENDER_TEST_PAUSE_FILE hook of core/render_thread.cpp.
  void PauseRenders();
  void ResumeRenders();
  /// Resumes renders, SIGTERM, then waits: the exit status (0 expected).
  int Stop();
  /// The daemon's stderr log so far.
  std::string Log() const;

 private:
  /// A "VmXXX:" field of /proc/PID/status, KiB; -1 when absent.
  int64_t StatusKib(const std::string& field) const;
  std::string root_;
  std::string log_path_;
  std::string pause_path_;
  std::string address_;
  std::string http_address_;
  std::string metrics_address_;
  pid_t pid_ = -1;
  std::unique_ptr<client::Client> client_;
};

/// Runs a command, returns its exit code and stdout.
int RunCommand(const std::string& command, std::string* out);

}  // namespace tilerender::testing
