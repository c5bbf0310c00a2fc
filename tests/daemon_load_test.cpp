// Many clients at once: all renders succeed (or are refused with RESOURCE_EXHAUSTED when the queue is
// made small on purpose), and the daemon's memory stays flat.
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <map>
#include <signal.h>

#include <thread>

#include "tests/daemon_fixture.h"

namespace tilerender::testing {
namespace {

namespace v1 = ::tilerender::v1;

v1::RenderRequest Request(int i) {
  v1::RenderRequest r;
  r.set_width(256 + (i % 3) * 64);
  r.set_height(192);
  r.mutable_camera()->set_rotation_deg(i * 7.0);
  r.mutable_camera()->set_zoom(0.5 + (i % 5) * 0.3);
  v1::Layer* l = r.add_layers();
  l->set_image_id("img");
  l->mutable_colormap()->set_name(i % 2 ? "viridis" : "magma");
  l->set_interpolation(i % 2 ? v1::LINEAR : v1::NEAREST);
  return r;
}

void LoadFixtureImage(Daemon& d) {
  std::vector<uint16_t> px(1500 * 1000);
  for (size_t i = 0; i < px.size(); ++i) px[i] = static_cast<uint16_t>((i * 2654435761u) >> 16);
  WriteNpy(d.data_root() + "/img.npy", "<u2", {1000, 1500}, px.data(), px.size() * 2);
  ASSERT_TRUE(d.client().Load("img.npy", "img").ok());
}

// Runs `threads` clients, each with its own channel, `per_thread` renders each; counts codes.
std::map<StatusCode, int> Hammer(const std::string& address, int threads, int per_thread) {
  std::mutex mu;
  std::map<StatusCode, int> codes;
  std::vector<std::thread> workers;
  for (int t = 0; t < threads; ++t) {
    workers.emplace_back([&, t] {
      auto c = client::Client::Connect(address);
      for (int i = 0; i < per_thread; ++i) {
        auto r = c->Render(Request(t * per_thread + i));
        std::lock_guard lock(mu);
        ++codes[r.status().code()];
        if (r.ok() && r->data().size() < 100) ++codes[StatusCode::kInternal];  // not a PNG
      }
    });
  }
  for (auto& w : workers) w.join();
  return codes;
}

// Waits until `n` renders wait in the daemon's queue (they are held there by PauseRenders).
void WaitForQueueDepth(Daemon& d, int n) {
  const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  int depth = -1;
  while (std::chrono::steady_clock::now() < until) {
    auto s = d.client().Stats();
    ASSERT_TRUE(s.ok()) << s.status().ToString();
    if ((depth = s->queue_depth()) == n) return;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  FAIL() << "queue depth " << depth << ", waited for " << n;
}

// Least-squares slope of ys against 0, 1, 2, ...
double Slope(const std::vector<double>& ys) {
  const double n = ys.size(), mx = (n - 1) / 2;
  double my = 0, sxy = 0, sxx = 0;
  for (double y : ys) my += y / n;
  for (size_t i = 0; i < ys.size(); ++i) sxy += (i - mx) * (ys[i] - my), sxx += (i - mx) * (i - mx);
  return sxy / sxx;
}

// Under AddressSanitizer freed memory waits in a quarantine of up to 256 MB: RSS grows by design.
#if defined(__SANITIZE_ADDRESS__)
#define TILERENDER_TEST_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define TILERENDER_TEST_ASAN 1
#endif
#endif

TEST(DaemonLoadTest, EightClientsFiftyRendersEachAndFlatMemory) {
  Daemon d;
  LoadFixtureImage(d);
  // The first 50 renders warm every path (shaders, framebuffers of each size, encoders).
  auto warm = Hammer(d.address(), 1, 50);
  EXPECT_EQ(warm[StatusCode::kOk], 50);
  // Then 8 clients in 20 rounds of 40 renders, the RSS sampled after each. One sample against
  // another says little (RSS wanders by a MB or two as the allocator's arenas grow and shrink; a
  // small leak hides in a 10 % bound); the trend over the rounds does. Measured on llvmpipe: the
  // slope over 18 rounds stays within +-50 KiB a round; a leak of 16 KiB a render (one 64 x 64
  // RGBA tile) would be 640.
  std::vector<double> rss_kib = {static_cast<double>(d.RssKib())};
  int ok = 0, total = 0;
  for (int round = 0; round < 20; ++round) {
    auto codes = Hammer(d.address(), 8, 5);
    ok += codes[StatusCode::kOk];
    for (const auto& [code, n] : codes) total += n;
    rss_kib.push_back(static_cast<double>(d.RssKib()));
  }
  EXPECT_EQ(ok, 800);
  EXPECT_EQ(total, 800) << "only OK expected";
  std::string samples;
  for (double r : rss_kib) samples += " " + std::to_string(static_cast<long>(r));
  std::printf("daemon RSS (KiB) after warm-up and after each round of 40 renders:%s\n", samples.c_str());
#ifndef TILERENDER_TEST_ASAN
  // From the third round on (the 8 threads' arenas settled): slope under 256 KiB a round (6 KiB a
  // render), and no sample above the warm one by more than 10 %.
  const double slope = Slope(std::vector<double>(rss_kib.begin() + 3, rss_kib.end()));
  EXPECT_LT(slope, 256) << "RSS grows " << slope << " KiB per round of 40 renders:" << samples;
  EXPECT_LE(*std::max_element(rss_kib.begin(), rss_kib.end()), rss_kib[0] * 1.1) << "RSS grew more than 10 %:" << samples;
#endif
  auto stats = d.client().Stats();
  ASSERT_TRUE(stats.ok());
  EXPECT_EQ(stats->renders_served(), 850);
  EXPECT_GT(stats->latency_p50_ms(), 0);
  EXPECT_GE(stats->latency_p99_ms(), stats->latency_p50_ms());
  EXPECT_EQ(d.Stop(), 0);
}

TEST(DaemonLoadTest, FullQueueRefusesWithResourceExhausted) {
  Daemon d({"--max-queue-depth", "2"});
  LoadFixtureImage(d);
  // Two renders held in the queue (each client call blocks, so each on a thread of its own): it is
  // full, however fast the renderer, and the next render is refused at once.
  d.PauseRenders();
  StatusCode held[2] = {StatusCode::kInternal, StatusCode::kInternal};
  std::vector<std::thread> clients;
  for (int i = 0; i < 2; ++i) {
    clients.emplace_back([&, i] { held[i] = client::Client::Connect(d.address())->Render(Request(i)).status().code(); });
  }
  WaitForQueueDepth(d, 2);
  const auto start = std::chrono::steady_clock::now();
  auto refused = d.client().Render(Request(2), std::chrono::seconds(10));  // a deadline: queued, it would wait
  EXPECT_EQ(refused.status().code(), StatusCode::kResourceExhausted) << refused.status().ToString();
  EXPECT_NE(refused.status().message().find("queue is full"), std::string::npos) << refused.status().ToString();
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(5)) << "refused at once, not after a wait";
  d.ResumeRenders();
  for (auto& c : clients) c.join();
  EXPECT_EQ(held[0], StatusCode::kOk);
  EXPECT_EQ(held[1], StatusCode::kOk);
  auto stats = d.client().Stats();
  ASSERT_TRUE(stats.ok());
  EXPECT_EQ(stats->renders_served(), 2);
  EXPECT_EQ(stats->render_errors(), 1);
  EXPECT_EQ(stats->queue_depth(), 0);
  // Under load with a queue of 2 every render is served or refused, nothing else.
  auto codes = Hammer(d.address(), 8, 10);
  EXPECT_EQ(codes[StatusCode::kOk] + codes[StatusCode::kResourceExhausted], 80);
  EXPECT_GT(codes[StatusCode::kOk], 0);
  // Refusals cost nothing lasting: a lone render still works.
  EXPECT_TRUE(d.client().Render(Request(0)).ok());
  EXPECT_EQ(d.Stop(), 0);
}

}  // namespace
}  // namespace tilerender::testing

namespace tilerender::testing {
namespace {

// SIGTERM with renders in flight: six unary renders and a stream of ten are held in the queue (the
// render pause) when the signal arrives; the daemon stops taking calls (health no longer SERVING,
// new calls refused), and only then are the renders let go: every one must be answered, and the
// daemon exit 0.
TEST(DaemonShutdownTest, SigtermDrainsInFlightWorkAndExitsZero) {
  Daemon d({"--max-queue-depth", "32", "--max-stream-in-flight", "4"});
  LoadFixtureImage(d);
  d.PauseRenders();
  std::atomic<int> unary_ok{0}, stream_ok{0}, stream_answered{0};
  std::vector<std::thread> clients;
  for (int i = 0; i < 6; ++i) {
    clients.emplace_back([&, i] { unary_ok += client::Client::Connect(d.address())->Render(Request(i)).ok(); });
  }
  Status stream_status = Internal("not run");
  clients.emplace_back([&] {
    std::vector<v1::RenderRequest> reqs;
    for (int i = 0; i < 10; ++i) reqs.push_back(Request(10 + i));
    stream_status = client::Client::Connect(d.address())->RenderStream(reqs, [&](size_t, Result<v1::RenderResponse> r) {
      ++stream_answered;
      stream_ok += r.ok();
    });
  });
  // Every unary render and the stream's first four (its window) wait in the queue.
  const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  int depth = 0;
  while (std::chrono::steady_clock::now() < until) {
    auto stats = d.client().Stats();
    EXPECT_TRUE(stats.ok()) << stats.status().ToString();
    if (!stats.ok() || (depth = stats->queue_depth()) >= 10) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  EXPECT_EQ(depth, 10);  // no ASSERT: the threads must be let go and joined
  EXPECT_EQ(unary_ok + stream_answered, 0) << "nothing answered before the signal";
  kill(d.pid(), SIGTERM);
  // Shutting down: health is no longer SERVING and new calls are refused; the renders still wait.
  auto probe = client::Client::Connect(d.address());
  while (std::chrono::steady_clock::now() < until && probe->Health().ok()) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  EXPECT_FALSE(probe->Health().ok());
  EXPECT_EQ(unary_ok + stream_answered, 0) << "nothing answered before the renders were let go";
  d.ResumeRenders();
  for (auto& c : clients) c.join();
  EXPECT_EQ(unary_ok, 6);
  EXPECT_TRUE(stream_status.ok()) << stream_status.ToString();
  EXPECT_EQ(stream_answered, 10);
  EXPECT_EQ(stream_ok, 10);
  EXPECT_EQ(d.Stop(), 0);
  // New calls are refused once it stopped.
  auto late = client::Client::Connect(d.address());
  EXPECT_FALSE(late->Info().ok());
}

}  // namespace
}  // namespace tilerender::testing
