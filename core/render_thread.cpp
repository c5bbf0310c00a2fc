#include "core/render_thread.h"

#include <pthread.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <string>

namespace tilerender {

Result<std::shared_ptr<RenderThread>> RenderThread::Start(std::function<Status()> init,
                                                          std::function<void()> shutdown) {
  std::shared_ptr<RenderThread> t(new RenderThread());
  t->shutdown_ = std::move(shutdown);
  std::promise<Status> started;
  std::future<Status> started_future = started.get_future();
  t->thread_ = std::thread(&RenderThread::Loop, t.get(), std::move(init), std::move(started));
  Status s = started_future.get();
  if (!s.ok()) return s;  // the loop has already returned; ~RenderThread joins
  return t;
}

RenderThread::~RenderThread() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void RenderThread::Post(std::function<void()> job) {
  {
    std::lock_guard lock(mu_);
    jobs_.push_back({std::move(job), false});
  }
  cv_.notify_one();
}

Status RenderThread::PostBounded(std::function<void()> job, int limit) {
  {
    std::lock_guard lock(mu_);
    if (limit > 0 && queued_bounded_ >= limit) {
      return ResourceExhausted("render queue is full (" + std::to_string(limit) +
                               " waiting); retry later");
    }
    ++queued_bounded_;
    jobs_.push_back({std::move(job), true});
  }
  cv_.notify_one();
  return Status::Ok();
}

int RenderThread::queued_renders() const {
  std::lock_guard lock(mu_);
  return queued_bounded_;
}

namespace {

// Test hook: with TILERENDER_TEST_PAUSE_FILE=PATH in the environment, render jobs wait in the
// queue (counted in its depth, and holding back what was posted after them) while PATH exists, so
// that a test can hold renders however fast the renderer is: queue overflow, deadlines expiring in
// the queue, shutdown with renders in flight. A daemon stopped while paused waits for the file to
// go. Unset (always, outside tests) it costs nothing.
bool PausedForTest() {
  static const std::string path = [] {
    const char* p = std::getenv("TILERENDER_TEST_PAUSE_FILE");
    return std::string(p ? p : "");
  }();
  return !path.empty() && access(path.c_str(), F_OK) == 0;
}

}  // namespace

void RenderThread::Loop(std::function<Status()> init, std::promise<Status> started) {
  pthread_setname_np(pthread_self(), "tr-render");
  Status s = init();
  const bool ok = s.ok();
  started.set_value(std::move(s));
  if (!ok) {
    if (shutdown_) shutdown_();
    return;
  }
  for (;;) {
    Job job;
    {
      std::unique_lock lock(mu_);
      cv_.wait(lock, [&] { return stopping_ || !jobs_.empty(); });
      if (jobs_.empty()) break;  // stopping, and everything posted has run
      if (jobs_.front().bounded && PausedForTest()) {
        lock.unlock();
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
        continue;
      }
      job = std::move(jobs_.front());
      jobs_.pop_front();
      if (job.bounded) --queued_bounded_;
    }
    job.fn();
  }
  if (shutdown_) shutdown_();
}

}  // namespace tilerender
