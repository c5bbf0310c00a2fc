#pragma once
// Encoded renders served over HTTP, by their key (the image version and the whole URL: a render is
// a function of them), least recently used out past a byte budget. The same fit view, region or
// rendered tile asked again, by any client, is answered without a render. Thread-safe.

#include <cstdint>
#include <list>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>

namespace tilerender::server {

class ResponseCache {
 public:
  struct Entry {
    std::string content_type;
    std::string body;
  };
  struct Stats {
    int64_t hits = 0, misses = 0, bytes = 0, entries = 0;
  };

  /// 0: off (every Get misses, Put keeps nothing). Bodies over an eighth of it are not kept.
  explicit ResponseCache(int64_t budget_bytes) : budget_(budget_bytes) {}

  std::shared_ptr<const Entry> Get(const std::string& key);
  void Put(const std::string& key, std::string content_type, std::string body);
  Stats stats() const;

 private:
  using Lru = std::list<std::pair<std::string, std::shared_ptr<const Entry>>>;
  const int64_t budget_;
  mutable std::mutex mu_;
  Lru lru_;  // most recent first
  std::unordered_map<std::string, Lru::iterator> index_;
  Stats stats_;
};

}  // namespace tilerender::server
