#pragma once
// Shared state of an Engine: what outlives a call (the render thread, counters) and what lives on
// the render thread (context, renderer). Internal to core.

#include <atomic>
#include <memory>
#include <mutex>
#include <thread>

#include "core/engine.h"
#include "core/render/renderer.h"
#include "core/render_thread.h"
#include "core/tiles/pyramid.h"

namespace tilerender {

struct EngineState {
  GpuInfo info;
  EngineLimits limits;
  std::atomic<std::thread::id> render_thread_id{};

  std::atomic<int64_t> gpu_bytes_used{0};
  std::atomic<int64_t> images{0};
  std::atomic<int64_t> renders{0};

  // Render thread only.
  std::unique_ptr<EglContext> context;
  std::unique_ptr<Renderer> renderer;
  std::unique_ptr<PyramidBuilder> pyramid;

  /// The render thread, or null once the engine shut down.
  std::shared_ptr<RenderThread> thread() const {
    std::lock_guard lock(mu);
    return thread_;
  }
  void set_thread(std::shared_ptr<RenderThread> t) {
    {
      std::lock_guard lock(mu);
      thread_.swap(t);
    }
    // The old thread is joined here, outside the lock: its last jobs may free images, which ask
    // for the thread (and find none, so they abandon their textures to the dying context).
  }

  /// Reserves GPU budget; RESOURCE_EXHAUSTED (saying what is needed and free) when it does not fit.
  Status Reserve(int64_t bytes, const std::string& what);
  void Unreserve(int64_t bytes) { gpu_bytes_used.fetch_sub(bytes); }

 private:
  mutable std::mutex mu;
  std::shared_ptr<RenderThread> thread_;
};

}  // namespace tilerender
