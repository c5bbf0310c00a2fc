#pragma once
// Shared state of an Engine: what outlives a call (the render thread, the caches, counters) and
// what lives on the render thread (context, renderer). Internal to core.

#include <atomic>
#include <memory>
#include <mutex>
#include <thread>

#include "core/engine.h"
#include "core/render/renderer.h"
#include "core/render_thread.h"
#include "core/tiles/gpu_cache.h"
#include "core/tiles/host_cache.h"
#include "core/tiles/tile_fetch.h"
#include "core/tiles/worker_pool.h"

namespace tilerender {

struct EngineState {
  GpuInfo info;
  EngineLimits limits;
  std::atomic<std::thread::id> render_thread_id{};

  std::atomic<int64_t> images{0};
  std::atomic<int64_t> renders{0};
  std::atomic<uint64_t> next_image_id{1};
  bool one_pass_composite = true;  ///< EngineOptions::one_pass_composite (set before any render)
  bool cpu_identity_views = true;  ///< EngineOptions::cpu_identity_views

  // Any thread (thread-safe themselves).
  std::unique_ptr<HostCache> host;
  std::unique_ptr<TileFetcher> fetcher;
  std::unique_ptr<WorkerPool> pool;
  /// Encodes frames of SubmitEncoded renders (PNG, JPEG, WebP), one per core up to eight.
  std::unique_ptr<WorkerPool> encoders;
  /// Made on the render thread once the budget is known; Resident() and stats() from any thread,
  /// everything else on the render thread.
  std::unique_ptr<GpuTileCache> gpu;

  // Render thread only.
  std::unique_ptr<EglContext> context;
  std::unique_ptr<Renderer> renderer;

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
    // The old thread is joined here, outside the lock: its last jobs may drop images' tiles.
  }

 private:
  mutable std::mutex mu;
  std::shared_ptr<RenderThread> thread_;
};

}  // namespace tilerender
