#pragma once
/// The one thread that owns the GL context. Everything GL runs here as a job; other threads post jobs
/// and wait on futures. Jobs run in the order posted.

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <future>
#include <memory>
#include <mutex>
#include <thread>
#include <type_traits>

#include "core/status.h"

namespace tilerender {

class RenderThread {
 public:
  /// Starts the thread and runs `init` on it (context creation); fails with init's status.
  /// `shutdown` runs on the thread after the last job (destroys GL objects, then the context).
  static Result<std::shared_ptr<RenderThread>> Start(std::function<Status()> init,
                                                     std::function<void()> shutdown);
  /// Runs every job already posted, then `shutdown`, then joins.
  ~RenderThread();

  /// Posts a job that may not be refused (uploads, frees).
  void Post(std::function<void()> job);

  /// Posts a render job unless `limit` render jobs are already waiting: RESOURCE_EXHAUSTED then,
  /// at once, instead of an unbounded wait. `limit` <= 0 means unbounded.
  Status PostBounded(std::function<void()> job, int limit);

  /// Posts `f` and returns a future of its result.
  template <typename F>
  auto Async(F f) -> std::future<std::invoke_result_t<F&>> {
    using R = std::invoke_result_t<F&>;
    auto task = std::make_shared<std::packaged_task<R()>>(std::move(f));
    std::future<R> fut = task->get_future();
    Post([task] { (*task)(); });
    return fut;
  }
  /// Runs `f` on the render thread and waits for its result.
  template <typename F>
  auto Call(F f) -> std::invoke_result_t<F&> {
    return Async(std::move(f)).get();
  }

  /// Render jobs waiting (not yet started).
  int queued_renders() const;
  bool on_this_thread() const { return std::this_thread::get_id() == thread_.get_id(); }

 private:
  RenderThread() = default;
  void Loop(std::function<Status()> init, std::promise<Status> started);

  struct Job {
    std::function<void()> fn;
    bool bounded;
  };
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Job> jobs_;
  int queued_bounded_ = 0;
  bool stopping_ = false;
  std::function<void()> shutdown_;
  std::thread thread_;
};

}  // namespace tilerender
