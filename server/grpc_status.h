#pragma once
// The one place a core Status becomes a gRPC status.

#include <grpcpp/support/status.h>

#include "core/status.h"

namespace tilerender::server {

grpc::Status ToGrpcStatus(const Status& status);

}  // namespace tilerender::server
