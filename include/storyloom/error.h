// Error and Result: the one error type of libstoryloom. Plain values; any thread.
//
// Functions that can fail return Result<T> = std::expected<T, Error>. The canonical codes
// are mapped to HTTP statuses in exactly one place (src/http/status_map.cc).
#pragma once

#include <expected>
#include <string>
#include <string_view>
#include <utility>

namespace storyloom {

enum class ErrorCode {
  kInvalidArgument,     // malformed or invalid input (400/422)
  kNotFound,            // 404
  kAlreadyExists,       // 409
  kFailedPrecondition,  // state conflict (409)
  kUnavailable,         // database or service unreachable (503)
  kAborted,             // concurrent change; retry (409)
  kResourceExhausted,   // limits, budgets (429)
  kUnauthenticated,     // 401
  kPermissionDenied,    // 403
  kInternal,            // a bug or an unexpected failure (500)
};

// Returns the snake_case name of `code` as used in the JSON error format.
std::string_view ErrorCodeName(ErrorCode code);

// Why an error happened, where callers branch on more than the canonical code. Set where the
// error is made; read through Error's predicates, never shown to clients as such.
enum class ErrorReason {
  kNone,
  kMalformed,            // invalid_argument: the request cannot be read at all (HTTP 400)
  kForeignKey,           // failed_precondition: a referenced row does not exist
  kInterrupted,          // aborted: a cancel or stop request cut the operation short
  kInsufficientStorage,  // resource_exhausted: the disk or a quota is full (HTTP 507)
  kStorageIo,            // unavailable: a read, write or sync of storage failed
  kDatabaseUnavailable,  // unavailable: the database is unreachable, busy or closing
  kOverloaded,           // unavailable: too much work is waiting; retry in a moment (HTTP 503
                         // with Retry-After)
  kQuotaExceeded,        // resource_exhausted: a user's storage quota is full (HTTP 507)
};

struct Error {
  ErrorCode code = ErrorCode::kInternal;
  std::string message;
  // Optional machine-readable detail: the offending field for invalid_argument, or a
  // more specific code the API or api_usage.error_code reports ("budget_exceeded",
  // "insufficient_storage", "rate_limited"). Never a sentinel to branch on: see `reason`.
  std::string detail;
  ErrorReason reason = ErrorReason::kNone;

  static Error InvalidArgument(std::string msg, std::string field = {}) {
    return {ErrorCode::kInvalidArgument, std::move(msg), std::move(field)};
  }
  static Error NotFound(std::string msg) { return {ErrorCode::kNotFound, std::move(msg), {}}; }
  static Error AlreadyExists(std::string msg) {
    return {ErrorCode::kAlreadyExists, std::move(msg), {}};
  }
  static Error FailedPrecondition(std::string msg, std::string detail = {}) {
    return {ErrorCode::kFailedPrecondition, std::move(msg), std::move(detail)};
  }
  static Error Unavailable(std::string msg) {
    return {ErrorCode::kUnavailable, std::move(msg), {}};
  }
  static Error Aborted(std::string msg) { return {ErrorCode::kAborted, std::move(msg), {}}; }
  static Error ResourceExhausted(std::string msg, std::string detail = {}) {
    return {ErrorCode::kResourceExhausted, std::move(msg), std::move(detail)};
  }
  static Error Unauthenticated(std::string msg) {
    return {ErrorCode::kUnauthenticated, std::move(msg), {}};
  }
  static Error PermissionDenied(std::string msg) {
    return {ErrorCode::kPermissionDenied, std::move(msg), {}};
  }
  static Error Internal(std::string msg) { return {ErrorCode::kInternal, std::move(msg), {}}; }
  // The disk (or a quota) is full: ENOSPC, SQLITE_FULL, PostgreSQL's disk_full. HTTP 507
  // insufficient_storage (the API code, kept in detail); it passes once space is freed.
  static Error InsufficientStorage(std::string msg) {
    return {ErrorCode::kResourceExhausted, std::move(msg), "insufficient_storage",
            ErrorReason::kInsufficientStorage};
  }
  // A user's files would outgrow their storage quota. HTTP 507 resource_exhausted; unlike
  // InsufficientStorage it is the request's (or the workflow's) own doing, not the server's.
  static Error QuotaExceeded(std::string msg) {
    return {ErrorCode::kResourceExhausted, std::move(msg), {}, ErrorReason::kQuotaExceeded};
  }
  // A read, write or sync of storage failed (EIO and the like). HTTP 503.
  static Error StorageIo(std::string msg) {
    return {ErrorCode::kUnavailable, std::move(msg), {}, ErrorReason::kStorageIo};
  }
  // The request body or target cannot be read at all (HTTP 400 malformed_request).
  static Error Malformed(std::string msg) {
    return {ErrorCode::kInvalidArgument, std::move(msg), {}, ErrorReason::kMalformed};
  }
  // A write names a row that does not exist (a foreign key constraint failed).
  static Error ForeignKey(std::string msg) {
    return {ErrorCode::kFailedPrecondition, std::move(msg), {}, ErrorReason::kForeignKey};
  }
  // A cancel or stop request ended the operation; not a failure of what it worked on.
  static Error Interrupted(std::string msg) {
    return {ErrorCode::kAborted, std::move(msg), {}, ErrorReason::kInterrupted};
  }
  // The database cannot be reached, is busy past its timeout, or is closing. HTTP 503.
  static Error DatabaseUnavailable(std::string msg) {
    return {ErrorCode::kUnavailable, std::move(msg), {}, ErrorReason::kDatabaseUnavailable};
  }
  static Error Overloaded(std::string msg) {
    return {ErrorCode::kUnavailable, std::move(msg), {}, ErrorReason::kOverloaded};
  }

  bool IsMalformed() const { return reason == ErrorReason::kMalformed; }
  bool IsForeignKey() const { return reason == ErrorReason::kForeignKey; }
  bool IsInterrupted() const { return reason == ErrorReason::kInterrupted; }
  bool IsInsufficientStorage() const { return reason == ErrorReason::kInsufficientStorage; }
  bool IsStorageIo() const { return reason == ErrorReason::kStorageIo; }
  // Full disk or I/O error: the storage, not the request, is at fault; retry later.
  bool IsStorageFault() const { return IsInsufficientStorage() || IsStorageIo(); }
  bool IsDatabaseUnavailable() const { return reason == ErrorReason::kDatabaseUnavailable; }
  bool IsOverloaded() const { return reason == ErrorReason::kOverloaded; }
  bool IsQuotaExceeded() const { return reason == ErrorReason::kQuotaExceeded; }

  // "not_found: workflow 0190… does not exist"
  std::string ToString() const;
};

template <typename T = void>
using Result = std::expected<T, Error>;

inline std::unexpected<Error> Fail(Error e) { return std::unexpected<Error>(std::move(e)); }

}  // namespace storyloom

// Propagates the error of a Result<void> expression.
#define SL_RETURN_IF_ERROR(expr)                                                 \
  do {                                                                           \
    if (auto sl_status_ = (expr); !sl_status_) {                                 \
      return std::unexpected<::storyloom::Error>(std::move(sl_status_).error()); \
    }                                                                            \
  } while (0)

#define SL_CONCAT_INNER_(a, b) a##b
#define SL_CONCAT_(a, b) SL_CONCAT_INNER_(a, b)
// Declares `lhs` from a Result<T> expression, or returns its error.
#define SL_ASSIGN_OR_RETURN(lhs, expr) \
  SL_ASSIGN_OR_RETURN_IMPL_(SL_CONCAT_(sl_result_, __LINE__), lhs, expr)
// NOLINTBEGIN(bugprone-macro-parentheses): tmp is a name being declared, lhs a declaration
#define SL_ASSIGN_OR_RETURN_IMPL_(tmp, lhs, expr)                               \
  auto tmp = (expr);                                                            \
  if (!tmp) return std::unexpected<::storyloom::Error>(std::move(tmp).error()); \
  lhs = std::move(*tmp)
// NOLINTEND(bugprone-macro-parentheses)
