// Canonical error code -> HTTP status (see status_map.h).
#include "http/status_map.h"

namespace storyloom::http {

int HttpStatus(const Error& error) {
  switch (error.code) {
    case ErrorCode::kInvalidArgument:
      return error.detail.empty() ? 400 : 422;
    case ErrorCode::kNotFound:
      return 404;
    case ErrorCode::kAlreadyExists:
    case ErrorCode::kFailedPrecondition:
    case ErrorCode::kAborted:
      return 409;
    case ErrorCode::kUnavailable:
      return 503;
    case ErrorCode::kResourceExhausted:
      return 429;
    case ErrorCode::kUnauthenticated:
      return 401;
    case ErrorCode::kPermissionDenied:
      return 403;
    case ErrorCode::kInternal:
      return 500;
  }
  return 500;
}

Response ErrorResponse(const Error& error) {
  return Response::Error(HttpStatus(error), ErrorCodeName(error.code), error.message);
}

}  // namespace storyloom::http
