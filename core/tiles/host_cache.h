#pragma once
/// The host cache: decoded (or derived) chunks of every image, between the files and the GPU, so a
/// tile evicted from the GPU is not decoded again. A byte budget, least recently used out; a chunk
/// still referenced (by a render or a tile being assembled) is never evicted, and one that cannot
/// be placed within the budget is handed out without being kept. Thread-safe; a chunk asked for
/// by several threads at once is made once.

#include <atomic>
#include <cstdint>
#include <functional>
#include <future>
#include <list>
#include <memory>
#include <mutex>
#include <unordered_map>

#include "core/status.h"

namespace tilerender {

struct ChunkKey {
  uint64_t image = 0;
  int level = 0;
  int plane = 0;
  int64_t cx = 0, cy = 0;
  bool operator==(const ChunkKey&) const = default;
};

struct ChunkKeyHash {
  size_t operator()(const ChunkKey& k) const {
    uint64_t h = k.image * 0x9E3779B97F4A7C15ull;
    h ^= static_cast<uint64_t>(k.level) * 131 + static_cast<uint64_t>(k.plane) + 0x7F4A7C15ull + (h << 6) + (h >> 2);
    h ^= static_cast<uint64_t>(k.cx) * 0xC2B2AE3D27D4EB4Full + (h << 6) + (h >> 2);
    h ^= static_cast<uint64_t>(k.cy) * 0x165667B19E3779F9ull + (h << 6) + (h >> 2);
    return static_cast<size_t>(h);
  }
};

/// Decoded pixels of one chunk, rows `stride` bytes apart. A large chunk is mapped for itself alone
/// and unmapped when it goes, so the process gives back what the cache evicts (chunks freed into the
/// malloc heap would stay in the process, scattered among live ones); a small one comes from the
/// heap (a mapping per 256-byte tile would waste pages and mappings).
struct HostChunk {
  HostChunk() = default;
  ~HostChunk();
  HostChunk(const HostChunk&) = delete;
  HostChunk& operator=(const HostChunk&) = delete;

  uint8_t* data = nullptr;
  size_t bytes = 0;   ///< memory held: counted against the budget (a mapping's whole pages)
  size_t stride = 0;
  bool mapped = false;
  /// Allocates `rows` rows of `stride` bytes; RESOURCE_EXHAUSTED when that fails.
  static Result<std::shared_ptr<HostChunk>> Allocate(size_t stride, int64_t rows);
};
using ChunkRef = std::shared_ptr<const HostChunk>;

struct HostCacheStats {
  int64_t budget_bytes = 0;
  int64_t bytes = 0;      ///< held now (always <= budget_bytes)
  int64_t entries = 0;
  int64_t hits = 0;       ///< found (or being made by another thread)
  int64_t misses = 0;     ///< made: decoded from a file or derived
  int64_t evictions = 0;
  int64_t bytes_made = 0; ///< bytes of chunks made
  int64_t not_kept = 0;   ///< made but not kept: no room within the budget
};

class HostCache {
 public:
  explicit HostCache(int64_t budget_bytes) : budget_(budget_bytes) {}

  using Maker = std::function<Result<std::shared_ptr<HostChunk>>()>;
  /// The chunk under `key`, made by `make` on this thread when absent; threads asking for it
  /// meanwhile wait for that result. Failures are returned to every waiter and not kept.
  Result<ChunkRef> Get(const ChunkKey& key, const Maker& make);

  /// Drops every chunk of an image (unloaded; its renders are over).
  void EraseImage(uint64_t image);
  HostCacheStats stats() const;

 private:
  struct Entry {
    ChunkRef chunk;
    std::list<ChunkKey>::iterator lru;
  };
  // Frees unreferenced chunks, least recently used first, until `bytes` more fit. Lock held.
  bool MakeRoom(int64_t bytes);

  const int64_t budget_;
  mutable std::mutex mu_;
  std::unordered_map<ChunkKey, Entry, ChunkKeyHash> entries_;
  std::list<ChunkKey> lru_;  // front: most recently used
  std::unordered_map<ChunkKey, std::shared_future<Result<ChunkRef>>, ChunkKeyHash> in_flight_;
  int64_t bytes_ = 0;
  int64_t hits_ = 0, misses_ = 0, evictions_ = 0, bytes_made_ = 0, not_kept_ = 0;
};

}  // namespace tilerender
