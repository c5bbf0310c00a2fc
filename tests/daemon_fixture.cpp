#include "tests/daemon_fixture.h"

#include <gtest/gtest.h>
#include <signal.h>
#include <spawn.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>

extern char** environ;

namespace tilerender::testing {

Daemon::Daemon(std::vector<std::string> args, const client::ConnectOptions& connect) {
  char tmpl[] = "/tmp/tilerender-test-XXXXXX";
  const char* dir = mkdtemp(tmpl);
  EXPECT_NE(dir, nullptr);
  root_ = std::string(dir) + "/data";
  log_path_ = std::string(dir) + "/daemon.log";
  mkdir(root_.c_str(), 0755);

  std::vector<std::string> argv_s = {TILERENDERD_PATH, "--listen", "127.0.0.1:0", "--data-root", root_};
  argv_s.insert(argv_s.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (std::string& a : argv_s) argv.push_back(a.data());
  argv.push_back(nullptr);
  // The render-pause test hook (core/render_thread.cpp): renders wait while this file exists.
  pause_path_ = std::string(dir) + "/pause-renders";
  const std::string pause_var = "TILERENDER_TEST_PAUSE_FILE";
  std::vector<std::string> env_s = {pause_var + "=" + pause_path_};
  for (char** e = environ; *e; ++e) {
    if (std::string(*e).rfind(pause_var + "=", 0) != 0) env_s.emplace_back(*e);
  }
  std::vector<char*> envp;
  for (std::string& e : env_s) envp.push_back(e.data());
  envp.push_back(nullptr);

  int out[2];
  EXPECT_EQ(pipe(out), 0);
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_adddup2(&fa, out[1], STDOUT_FILENO);
  posix_spawn_file_actions_addclose(&fa, out[0]);
  posix_spawn_file_actions_addopen(&fa, STDERR_FILENO, log_path_.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  const int rc = posix_spawn(&pid_, argv[0], &fa, nullptr, argv.data(), envp.data());
  posix_spawn_file_actions_destroy(&fa);
  close(out[1]);
  EXPECT_EQ(rc, 0) << "spawn " << argv[0];
  // The daemon prints one line once it listens; reading blocks until then (or EOF if it died).
  FILE* f = fdopen(out[0], "r");
  char line[256] = {};
  const std::string prefix = "tilerenderd listening on ";
  if (f && std::fgets(line, sizeof line, f)) {
    std::string l(line);
    if (l.rfind(prefix, 0) == 0) address_ = l.substr(prefix.size(), l.find_last_not_of("\n") + 1 - prefix.size());
  }
  // With --http-listen and --metrics-listen more lines follow (written with the first).
  int more = 0;
  for (const char* flag : {"--http-listen", "--metrics-listen"}) more += std::find(args.begin(), args.end(), flag) != args.end();
  for (int i = 0; i < more && f && std::fgets(line, sizeof line, f); ++i) {
    const std::string l(line);
    for (auto [prefix, out] : {std::pair{std::string("tilerenderd http listening on "), &http_address_},
                               std::pair{std::string("tilerenderd metrics listening on "), &metrics_address_}}) {
      if (l.rfind(prefix, 0) == 0) *out = l.substr(prefix.size(), l.find_last_not_of("\n") + 1 - prefix.size());
    }
  }
  if (f) std::fclose(f);
  EXPECT_FALSE(address_.empty()) << "daemon did not start:\n" << Log();
  auto connected = client::Client::Connect(address_.empty() ? "127.0.0.1:1" : address_, connect);
  EXPECT_TRUE(connected.ok()) << connected.status().ToString();
  client_ = connected.ok() ? std::move(connected).value() : client::Client::Connect("127.0.0.1:1");
  const Status s = client_->WaitForServing(std::chrono::seconds(30));
  EXPECT_TRUE(s.ok()) << s.ToString() << "\n" << Log();
}

Daemon::~Daemon() {
  if (pid_ > 0) Stop();
  if (::testing::Test::HasFailure()) std::fprintf(stderr, "daemon log:\n%s\n", Log().c_str());
  std::string cmd = "rm -rf '" + root_.substr(0, root_.rfind('/')) + "'";
  std::system(cmd.c_str());
}

void Daemon::PauseRenders() { std::ofstream(pause_path_) << "paused\n"; }

void Daemon::ResumeRenders() { unlink(pause_path_.c_str()); }

int Daemon::Stop() {
  if (pid_ <= 0) return -1;
  ResumeRenders();  // a paused daemon would wait for it
  // Close our connection first, as a finished client does (an open one can hold up gRPC's drain).
  client_.reset();
  kill(pid_, SIGTERM);
  int status = 0;
  waitpid(pid_, &status, 0);
  pid_ = -1;
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

int64_t Daemon::RssKib() const { return StatusKib("VmRSS:"); }
int64_t Daemon::PeakRssKib() const { return StatusKib("VmHWM:"); }

int64_t Daemon::StatusKib(const std::string& field) const {
  std::ifstream f("/proc/" + std::to_string(pid_) + "/status");
  std::string key;
  while (f >> key) {
    if (key == field) {
      int64_t kib;
      f >> kib;
      return kib;
    }
  }
  return -1;
}

std::string Daemon::Log() const {
  std::ifstream f(log_path_);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

int RunCommand(const std::string& command, std::string* out) {
  FILE* p = popen(command.c_str(), "r");
  if (p == nullptr) return -1;
  char buf[4096];
  size_t n;
  out->clear();
  while ((n = std::fread(buf, 1, sizeof buf, p)) > 0) out->append(buf, n);
  const int status = pclose(p);
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

}  // namespace tilerender::testing
