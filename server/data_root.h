#pragma once
// LoadImage paths resolve inside --data-root only.

#include <string>

#include "core/status.h"

namespace tilerender::server {

/// `root` must be a canonical (realpath) directory. Returns the canonical path of `path` (relative
/// to root, or absolute inside it). PERMISSION_DENIED when it leaves the root, lexically ('..') or
/// through a symlink; NOT_FOUND when it does not exist.
Result<std::string> ResolveUnderRoot(const std::string& root, const std::string& path);

}  // namespace tilerender::server
