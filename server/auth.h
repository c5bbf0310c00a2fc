#pragma once
// Bearer tokens with roles (--auth-tokens FILE): "render" may read (server info, list, stats,
// render), "admin" may also load, upload and unload. The file holds one "TOKEN ROLE" per line
// ('#' comments, blank lines ignored) and is re-read on SIGHUP (a file that does not parse leaves
// the tokens as they were). Tokens are kept as SHA-256 digests, compared in constant time with
// every known one, never logged; refusals say nothing that helps a guesser. Thread-safe.

#include <array>
#include <memory>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"

namespace tilerender::server {

enum class Permission { kRead, kWrite };

class TokenStore {
 public:
  /// Reads the file; INVALID_ARGUMENT (naming the line, never a token) when it does not parse.
  static Result<std::unique_ptr<TokenStore>> Open(const std::string& path);
  /// Re-reads the file; on error the tokens stay as they were.
  Status Reload();
  /// `authorization`: the header or metadata value, "Bearer TOKEN". OK, UNAUTHENTICATED (missing,
  /// malformed or unknown token) or PERMISSION_DENIED (a render token asking to write).
  Status Authorize(std::string_view authorization, Permission permission) const;
  size_t size() const;
  const std::string& path() const { return path_; }

 private:
  enum class Role { kRender, kAdmin };
  struct Entry {
    std::array<unsigned char, 32> digest;
    Role role;
  };
  static Result<std::vector<Entry>> Read(const std::string& path);

  std::string path_;
  mutable std::shared_mutex mu_;
  std::vector<Entry> entries_;
};

}  // namespace tilerender::server
