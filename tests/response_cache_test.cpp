// The HTTP response cache: least recently used out past its budget, large bodies not kept, off at 0.
#include "server/response_cache.h"

#include <gtest/gtest.h>

namespace tilerender::server {
namespace {

TEST(ResponseCacheTest, KeepsTheMostRecentlyUsedWithinItsBudget) {
  ResponseCache cache(8 * 1000);  // an entry costs its key, type and body + 128 bytes
  const std::string body(700, 'x');
  for (int i = 0; i < 9; ++i) cache.Put("k" + std::to_string(i), "image/jpeg", body + std::to_string(i));
  auto s = cache.stats();
  EXPECT_LE(s.bytes, 8000);
  EXPECT_EQ(s.entries, 9);  // 9 x ~843 bytes: just fits
  ASSERT_NE(cache.Get("k0"), nullptr);  // k0 is now the most recent
  cache.Put("k9", "image/jpeg", body + "9");
  EXPECT_EQ(cache.Get("k1"), nullptr) << "the least recently used went";
  auto k0 = cache.Get("k0");
  ASSERT_NE(k0, nullptr);
  EXPECT_EQ(k0->body, body + "0");
  EXPECT_EQ(k0->content_type, "image/jpeg");
  s = cache.stats();
  EXPECT_LE(s.bytes, 8000);
  EXPECT_EQ(s.hits, 2);
  EXPECT_EQ(s.misses, 1);
  // A body over an eighth of the budget is not kept; neither is anything when the budget is 0.
  cache.Put("big", "image/png", std::string(1001, 'y'));
  EXPECT_EQ(cache.Get("big"), nullptr);
  ResponseCache off(0);
  off.Put("a", "image/png", "b");
  EXPECT_EQ(off.Get("a"), nullptr);
  EXPECT_EQ(off.stats().entries, 0);
}

}  // namespace
}  // namespace tilerender::server
