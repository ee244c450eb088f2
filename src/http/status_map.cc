// Canonical error code -> HTTP status and JSON body (see status_map.h).
#include "http/status_map.h"

#include <spdlog/spdlog.h>

#include <nlohmann/json.hpp>

#include "http/log_limiter.h"

namespace storyloom::http {

Error Malformed(std::string message) { return Error::Malformed(std::move(message)); }

int HttpStatus(const Error& error) {
  switch (error.code) {
    case ErrorCode::kInvalidArgument:
      return error.IsMalformed() ? 400 : 422;
    case ErrorCode::kNotFound:
      return 404;
    case ErrorCode::kAlreadyExists:
    case ErrorCode::kFailedPrecondition:
    case ErrorCode::kAborted:
      return 409;
    case ErrorCode::kUnavailable:
      return 503;
    case ErrorCode::kResourceExhausted:
      return error.IsInsufficientStorage() || error.IsQuotaExceeded() ? 507 : 429;
    case ErrorCode::kUnauthenticated:
      return 401;
    case ErrorCode::kPermissionDenied:
      return 403;
    case ErrorCode::kInternal:
      return 500;
  }
  return 500;
}

std::string ApiErrorCode(const Error& e) {
  if (e.code == ErrorCode::kInvalidArgument) {
    return e.IsMalformed() ? "malformed_request" : "invalid_argument";
  }
  if (e.code == ErrorCode::kFailedPrecondition && !e.detail.empty()) return e.detail;
  if (e.code == ErrorCode::kResourceExhausted && !e.detail.empty()) return e.detail;
  return std::string(ErrorCodeName(e.code));
}

Response ErrorResponse(const Error& e) {
  // Never destroyed: handlers may still answer while static destructors run.
  static auto* const fault_log =
      new LogLimiter(kStorageFaultWindow, 16, kStorageFaultLinesPerWindow);
  return ErrorResponse(e, *fault_log);
}

Response ErrorResponse(const Error& e, LogLimiter& fault_log) {
  // Storage faults name server paths in their message: the client gets what to do instead
  // (the server logs the message).
  std::string message = e.code == ErrorCode::kInternal ? "internal error" : e.message;
  if (e.IsInsufficientStorage()) {
    fault_log.Log(spdlog::level::warn, "insufficient-storage",
                  "insufficient storage: " + e.message);
    message = "the server is out of disk space; try again once space is freed";
  } else if (e.IsStorageIo()) {
    fault_log.Log(spdlog::level::err, "storage-io", "storage I/O error: " + e.message);
    message = "the server could not read or write its storage; try again later";
  }
  nlohmann::json err = {{"code", ApiErrorCode(e)}, {"message", message}};
  if (e.code == ErrorCode::kInvalidArgument && !e.detail.empty()) err["field"] = e.detail;
  Response r =
      Response::Json(HttpStatus(e), nlohmann::json{{"error", err}}.dump(
                                        -1, ' ', false, nlohmann::json::error_handler_t::replace));
  if (e.code == ErrorCode::kUnauthenticated) r.headers.Set("WWW-Authenticate", "Bearer");
  if (e.IsOverloaded()) r.headers.Set("Retry-After", "1");
  return r;
}

}  // namespace storyloom::http
