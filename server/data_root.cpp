#include "server/data_root.h"

#include <cerrno>
#include <climits>
#include <cstdlib>
#include <cstring>
#include <filesystem>

namespace tilerender::server {

namespace {
bool Inside(const std::string& root, const std::string& p) {
  return p == root || (p.size() > root.size() && p.compare(0, root.size(), root) == 0 &&
                       (root.back() == '/' || p[root.size()] == '/'));
}
}  // namespace

Result<std::string> ResolveUnderRoot(const std::string& root, const std::string& path) {
  if (path.empty()) return InvalidArgument("path is empty");
  if (path.find('\0') != std::string::npos) return InvalidArgument("path holds a NUL byte");
  namespace fs = std::filesystem;
  const fs::path joined = fs::path(path).is_absolute() ? fs::path(path) : fs::path(root) / path;
  // Lexical check first: a path that climbs out is refused whether or not its target exists.
  const std::string lexical = joined.lexically_normal().string();
  if (!Inside(root, lexical)) {
    return PermissionDenied("path '" + path + "' is outside the data root");
  }
  char resolved[PATH_MAX];
  if (::realpath(joined.c_str(), resolved) == nullptr) {
    const int err = errno;
    if (err == ENOENT || err == ENOTDIR) return NotFound("no file '" + path + "' under the data root");
    if (err == EACCES) return PermissionDenied("cannot access '" + path + "': " + std::strerror(err));
    return InvalidArgument("cannot resolve '" + path + "': " + std::strerror(err));
  }
  if (!Inside(root, resolved)) {
    return PermissionDenied("path '" + path + "' leads outside the data root (symlink)");
  }
  return std::string(resolved);
}

}  // namespace tilerender::server
