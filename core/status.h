#pragma once
/// The one error type of core: a code and a message. No exceptions cross the core API; the server maps
/// a Status to a gRPC status in exactly one place (server/grpc_status.cpp).

#include <cassert>
#include <string>
#include <utility>
#include <variant>

namespace tilerender {

/// Codes mirror the gRPC canonical codes that the service uses, so the mapping stays one table.
enum class StatusCode {
  kOk = 0,
  kCancelled = 1,
  kUnknown = 2,
  kInvalidArgument = 3,
  kDeadlineExceeded = 4,
  kNotFound = 5,
  kAlreadyExists = 6,
  kPermissionDenied = 7,
  kResourceExhausted = 8,
  kFailedPrecondition = 9,
  kUnimplemented = 12,
  kInternal = 13,
  kUnavailable = 14,
  kDataLoss = 15,  ///< a file's data cannot be decoded (a corrupt tile found while rendering)
  kUnauthenticated = 16,  ///< no valid credentials (a missing or unknown token)
};

const char* StatusCodeName(StatusCode code);

class [[nodiscard]] Status {
 public:
  Status() = default;
  Status(StatusCode code, std::string message) : code_(code), message_(std::move(message)) {}

  static Status Ok() { return {}; }

  bool ok() const { return code_ == StatusCode::kOk; }
  StatusCode code() const { return code_; }
  const std::string& message() const { return message_; }
  /// "INVALID_ARGUMENT: message", for logs and test failure output.
  std::string ToString() const;

 private:
  StatusCode code_ = StatusCode::kOk;
  std::string message_;
};

Status InvalidArgument(std::string message);
Status NotFound(std::string message);
Status AlreadyExists(std::string message);
Status PermissionDenied(std::string message);
Status ResourceExhausted(std::string message);
Status FailedPrecondition(std::string message);
Status Internal(std::string message);
Status Unavailable(std::string message);
Status Cancelled(std::string message);
Status Unimplemented(std::string message);
Status DataLoss(std::string message);
Status Unauthenticated(std::string message);

/// A value or an error.
template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::move(value)) {}  // NOLINT: implicit by design, like absl::StatusOr
  Result(Status status) : v_(std::move(status)) {
    assert(!std::get<Status>(v_).ok() && "Result constructed from an OK status");
  }

  bool ok() const { return std::holds_alternative<T>(v_); }
  Status status() const { return ok() ? Status::Ok() : std::get<Status>(v_); }
  T& value() & { return std::get<T>(v_); }
  const T& value() const& { return std::get<T>(v_); }
  T&& value() && { return std::get<T>(std::move(v_)); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }

 private:
  std::variant<T, Status> v_;
};

}  // namespace tilerender

#define TR_CONCAT_INNER(a, b) a##b
#define TR_CONCAT(a, b) TR_CONCAT_INNER(a, b)

/// Returns the Status from the enclosing function when it is not OK.
#define TR_RETURN_IF_ERROR(expr)                     \
  do {                                               \
    ::tilerender::Status tr_status_ = (expr);        \
    if (!tr_status_.ok()) return tr_status_;         \
  } while (0)

#define TR_ASSIGN_OR_RETURN_IMPL(tmp, lhs, expr) \
  auto tmp = (expr);                             \
  if (!tmp.ok()) return tmp.status();            \
  lhs = std::move(tmp).value()

/// `TR_ASSIGN_OR_RETURN(auto x, F());` declares x from a Result or returns its error.
#define TR_ASSIGN_OR_RETURN(lhs, expr) \
  TR_ASSIGN_OR_RETURN_IMPL(TR_CONCAT(tr_result_, __LINE__), lhs, expr)
