// Many clients at once: all renders succeed (or are refused with RESOURCE_EXHAUSTED when the queue is
// made small on purpose), and the daemon's memory stays flat.
#include <gtest/gtest.h>

#include <atomic>
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

TEST(DaemonLoadTest, EightClientsFiftyRendersEachAndFlatMemory) {
  Daemon d;
  LoadFixtureImage(d);
  // The first 50 renders warm every path (shaders, framebuffers of each size, encoders).
  auto warm = Hammer(d.address(), 1, 50);
  EXPECT_EQ(warm[StatusCode::kOk], 50);
  const int64_t rss_warm = d.RssKib();
  auto codes = Hammer(d.address(), 8, 50);
  EXPECT_EQ(codes[StatusCode::kOk], 400);
  EXPECT_EQ(codes.size(), 1u) << "only OK expected";
  const int64_t rss_after = d.RssKib();
  std::printf("daemon RSS after 50 renders: %ld KiB, after 8 x 50 more: %ld KiB\n",
              static_cast<long>(rss_warm), static_cast<long>(rss_after));
  EXPECT_LE(rss_after, rss_warm * 11 / 10) << "RSS grew more than 10 %";
  auto stats = d.client().Stats();
  ASSERT_TRUE(stats.ok());
  EXPECT_EQ(stats->renders_served(), 450);
  EXPECT_GT(stats->latency_p50_ms(), 0);
  EXPECT_GE(stats->latency_p99_ms(), stats->latency_p50_ms());
  EXPECT_EQ(d.Stop(), 0);
}

TEST(DaemonLoadTest, SmallQueueRefusesWithResourceExhausted) {
  Daemon d({"--max-queue-depth", "1"});
  LoadFixtureImage(d);
  auto codes = Hammer(d.address(), 8, 25);
  EXPECT_EQ(codes[StatusCode::kOk] + codes[StatusCode::kResourceExhausted], 200);
  EXPECT_GT(codes[StatusCode::kOk], 0);
  EXPECT_GT(codes[StatusCode::kResourceExhausted], 0) << "8 clients against a queue of 1 must overflow";
  // Refusals cost nothing lasting: a lone render still works.
  EXPECT_TRUE(d.client().Render(Request(0)).ok());
  EXPECT_EQ(d.Stop(), 0);
}

}  // namespace
}  // namespace tilerender::testing

namespace tilerender::testing {
namespace {

TEST(DaemonShutdownTest, SigtermDrainsInFlightWorkAndExitsZero) {
  Daemon d;
  LoadFixtureImage(d);
  std::vector<v1::RenderRequest> reqs;
  for (int i = 0; i < 16; ++i) reqs.push_back(Request(i));
  int ok = 0, answered = 0;
  auto c = client::Client::Connect(d.address());
  const Status s = c->RenderStream(reqs, [&](size_t, Result<v1::RenderResponse> r) {
    // SIGTERM as soon as the first answer arrives: the rest of the stream is in flight.
    if (answered++ == 0) kill(d.pid(), SIGTERM);
    ok += r.ok();
  });
  EXPECT_TRUE(s.ok()) << s.ToString();
  EXPECT_EQ(answered, 16);
  EXPECT_EQ(ok, 16);
  c.reset();
  EXPECT_EQ(d.Stop(), 0);
  // New calls are refused once it stopped.
  auto late = client::Client::Connect(d.address());
  EXPECT_FALSE(late->Info().ok());
}

}  // namespace
}  // namespace tilerender::testing
