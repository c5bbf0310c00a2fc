#include "core/tiles/host_cache.h"

#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <exception>
#include <new>

namespace tilerender {

namespace {
// Chunks from this size up get a mapping of their own.
constexpr size_t kMapFrom = size_t{64} << 10;
}  // namespace

HostChunk::~HostChunk() {
  if (data == nullptr) return;
  if (mapped) {
    ::munmap(data, bytes);
  } else {
    delete[] data;
  }
}

Result<std::shared_ptr<HostChunk>> HostChunk::Allocate(size_t stride, int64_t rows) {
  auto c = std::make_shared<HostChunk>();
  const size_t want = std::max<size_t>(1, stride * static_cast<size_t>(rows));
  c->stride = stride;
  if (want >= kMapFrom) {
    const size_t page = static_cast<size_t>(sysconf(_SC_PAGE_SIZE));
    const size_t bytes = (want + page - 1) / page * page;
    void* p = ::mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) return ResourceExhausted("cannot allocate " + std::to_string(bytes) + " bytes for a tile");
    c->data = static_cast<uint8_t*>(p);
    c->bytes = bytes;
    c->mapped = true;
  } else {
    c->data = new (std::nothrow) uint8_t[want];
    if (c->data == nullptr) return ResourceExhausted("cannot allocate " + std::to_string(want) + " bytes for a tile");
    c->bytes = want;
  }
  return c;
}

Result<ChunkRef> HostCache::Get(const ChunkKey& key, const Maker& make) {
  std::promise<Result<ChunkRef>> promise;
  {
    std::unique_lock lock(mu_);
    if (auto it = entries_.find(key); it != entries_.end()) {
      lru_.splice(lru_.begin(), lru_, it->second.lru);
      ++hits_;
      return it->second.chunk;
    }
    if (auto it = in_flight_.find(key); it != in_flight_.end()) {
      std::shared_future<Result<ChunkRef>> f = it->second;
      ++hits_;
      lock.unlock();
      return f.get();
    }
    in_flight_.emplace(key, promise.get_future().share());
    ++misses_;
  }
  // Waiters must always get an answer: nothing may escape between here and set_value.
  Result<std::shared_ptr<HostChunk>> made = Internal("making a tile failed");
  try {
    made = make();
  } catch (const std::bad_alloc&) {
    made = ResourceExhausted("out of memory making a tile");
  } catch (const std::exception& e) {
    made = Internal(std::string("making a tile failed: ") + e.what());
  }
  Result<ChunkRef> result = made.ok() ? Result<ChunkRef>(ChunkRef(std::move(made).value())) : Result<ChunkRef>(made.status());
  {
    std::lock_guard lock(mu_);
    in_flight_.erase(key);
    if (result.ok()) {
      const int64_t bytes = static_cast<int64_t>((*result)->bytes);
      bytes_made_ += bytes;
      if (MakeRoom(bytes)) {
        lru_.push_front(key);
        entries_.emplace(key, Entry{*result, lru_.begin()});
        bytes_ += bytes;
      } else {
        ++not_kept_;
      }
    }
  }
  promise.set_value(result);
  return result;
}

bool HostCache::MakeRoom(int64_t bytes) {
  if (bytes > budget_) return false;
  auto it = lru_.end();
  while (bytes_ + bytes > budget_ && it != lru_.begin()) {
    --it;
    auto e = entries_.find(*it);
    // Referenced elsewhere (a render holds it): it stays. The count only falls without the lock.
    if (e->second.chunk.use_count() > 1) continue;
    bytes_ -= static_cast<int64_t>(e->second.chunk->bytes);
    entries_.erase(e);
    it = lru_.erase(it);
    ++evictions_;
  }
  return bytes_ + bytes <= budget_;
}

void HostCache::EraseImage(uint64_t image) {
  std::lock_guard lock(mu_);
  for (auto it = lru_.begin(); it != lru_.end();) {
    if (it->image != image) {
      ++it;
      continue;
    }
    auto e = entries_.find(*it);
    bytes_ -= static_cast<int64_t>(e->second.chunk->bytes);
    entries_.erase(e);
    it = lru_.erase(it);
  }
}

HostCacheStats HostCache::stats() const {
  std::lock_guard lock(mu_);
  HostCacheStats s;
  s.budget_bytes = budget_;
  s.bytes = bytes_;
  s.entries = static_cast<int64_t>(entries_.size());
  s.hits = hits_;
  s.misses = misses_;
  s.evictions = evictions_;
  s.bytes_made = bytes_made_;
  s.not_kept = not_kept_;
  return s;
}

}  // namespace tilerender
