#pragma once
/// A fixed set of threads that decode and derive tiles off the render thread. Tasks never wait on
/// tasks still queued (a task that needs a chunk another thread is making waits for a thread that
/// is running), so the pool cannot deadlock on itself.

#include <condition_variable>
#include <deque>
#include <functional>
#include <future>
#include <memory>
#include <mutex>
#include <thread>
#include <type_traits>
#include <vector>

namespace tilerender {

class WorkerPool {
 public:
  /// `threads` <= 0: one per core, at most 16.
  explicit WorkerPool(int threads = 0);
  /// Runs the tasks already queued, then joins.
  ~WorkerPool();
  WorkerPool(const WorkerPool&) = delete;
  WorkerPool& operator=(const WorkerPool&) = delete;

  int size() const { return static_cast<int>(threads_.size()); }

  template <typename F>
  auto Submit(F f) -> std::future<std::invoke_result_t<F&>> {
    using R = std::invoke_result_t<F&>;
    auto task = std::make_shared<std::packaged_task<R()>>(std::move(f));
    std::future<R> fut = task->get_future();
    Post([task] { (*task)(); });
    return fut;
  }

 private:
  void Post(std::function<void()> job);
  void Loop();

  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::function<void()>> jobs_;
  bool stopping_ = false;
  std::vector<std::thread> threads_;
};

}  // namespace tilerender
