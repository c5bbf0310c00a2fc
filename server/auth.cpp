#include "server/auth.h"

#include <openssl/crypto.h>
#include <openssl/sha.h>

#include <cctype>
#include <fstream>
#include <mutex>
#include <sstream>

namespace tilerender::server {
namespace {

// Longer than any token we issue; a longer header is refused before it is hashed.
constexpr size_t kMaxAuthorization = 4096;

std::array<unsigned char, 32> Digest(std::string_view s) {
  std::array<unsigned char, 32> d{};
  SHA256(reinterpret_cast<const unsigned char*>(s.data()), s.size(), d.data());
  return d;
}

}  // namespace

Result<std::vector<TokenStore::Entry>> TokenStore::Read(const std::string& path) {
  std::ifstream f(path);
  if (!f) return InvalidArgument("cannot read the token file " + path);
  std::vector<Entry> entries;
  std::string line;
  for (int n = 1; std::getline(f, line); ++n) {
    const size_t hash = line.find('#');
    if (hash != std::string::npos) line.erase(hash);
    std::istringstream fields(line);
    std::string token, role, extra;
    if (!(fields >> token)) continue;  // blank
    if (!(fields >> role) || (fields >> extra) || (role != "render" && role != "admin")) {
      return InvalidArgument("token file " + path + " line " + std::to_string(n) + ": expected TOKEN render|admin");
    }
    if (token.size() > kMaxAuthorization - 7) {
      return InvalidArgument("token file " + path + " line " + std::to_string(n) + ": token too long");
    }
    entries.push_back({Digest(token), role == "admin" ? Role::kAdmin : Role::kRender});
  }
  return entries;
}

Result<std::unique_ptr<TokenStore>> TokenStore::Open(const std::string& path) {
  TR_ASSIGN_OR_RETURN(std::vector<Entry> entries, Read(path));
  std::unique_ptr<TokenStore> store(new TokenStore());
  store->path_ = path;
  store->entries_ = std::move(entries);
  return store;
}

Status TokenStore::Reload() {
  TR_ASSIGN_OR_RETURN(std::vector<Entry> entries, Read(path_));
  std::unique_lock lock(mu_);
  entries_ = std::move(entries);
  return Status::Ok();
}

size_t TokenStore::size() const {
  std::shared_lock lock(mu_);
  return entries_.size();
}

Status TokenStore::Authorize(std::string_view authorization, Permission permission) const {
  const Status refused = Unauthenticated("a valid bearer token is required");
  if (authorization.size() > kMaxAuthorization || authorization.size() < 8) return refused;
  // "Bearer " (the scheme is case-insensitive), then the token.
  const std::string_view scheme = authorization.substr(0, 7);
  for (size_t i = 0; i < 6; ++i) {
    if (std::tolower(static_cast<unsigned char>(scheme[i])) != "bearer"[i]) return refused;
  }
  if (scheme[6] != ' ') return refused;
  const std::array<unsigned char, 32> digest = Digest(authorization.substr(7));
  // Every entry is compared, whatever matched before: the time does not depend on which.
  int role = -1;
  std::shared_lock lock(mu_);
  for (const Entry& e : entries_) {
    const bool match = CRYPTO_memcmp(e.digest.data(), digest.data(), digest.size()) == 0;
    role = match ? static_cast<int>(e.role) : role;
  }
  if (role < 0) return refused;
  if (permission == Permission::kWrite && role != static_cast<int>(Role::kAdmin)) {
    return PermissionDenied("this token may not load, upload or unload images");
  }
  return Status::Ok();
}

}  // namespace tilerender::server
