#pragma once
// The one place a core Status becomes an HTTP status.

#include "core/status.h"

namespace tilerender::server {

/// 400 bad request, 404 unknown, 403 outside the data root, 409 conflicts, 501 not offered,
/// 503 a full queue or a renderer shutting down (retry), 504 deadline, 500 internal or data loss.
int HttpStatusOf(const Status& status);

}  // namespace tilerender::server
