#include "server/response_cache.h"

namespace tilerender::server {
namespace {

int64_t Cost(const std::string& key, const ResponseCache::Entry& e) {
  return static_cast<int64_t>(key.size() + e.content_type.size() + e.body.size()) + 128;  // + bookkeeping
}

}  // namespace

std::shared_ptr<const ResponseCache::Entry> ResponseCache::Get(const std::string& key) {
  std::lock_guard lock(mu_);
  auto it = index_.find(key);
  if (it == index_.end()) {
    ++stats_.misses;
    return nullptr;
  }
  lru_.splice(lru_.begin(), lru_, it->second);
  ++stats_.hits;
  return it->second->second;
}

void ResponseCache::Put(const std::string& key, std::string content_type, std::string body) {
  auto entry = std::make_shared<const Entry>(Entry{std::move(content_type), std::move(body)});
  const int64_t cost = Cost(key, *entry);
  if (budget_ <= 0 || cost > budget_ / 8) return;
  std::lock_guard lock(mu_);
  if (index_.count(key) != 0) return;  // another request rendered it meanwhile: the same bytes
  lru_.emplace_front(key, std::move(entry));
  index_[key] = lru_.begin();
  stats_.bytes += cost;
  ++stats_.entries;
  while (stats_.bytes > budget_ && !lru_.empty()) {
    const auto& [k, e] = lru_.back();
    stats_.bytes -= Cost(k, *e);
    --stats_.entries;
    index_.erase(k);
    lru_.pop_back();
  }
}

ResponseCache::Stats ResponseCache::stats() const {
  std::lock_guard lock(mu_);
  return stats_;
}

}  // namespace tilerender::server
