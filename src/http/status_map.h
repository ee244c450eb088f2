// The one mapping from canonical error codes (storyloom/error.h) to HTTP statuses and the
// JSON error body. Pure functions; any thread.
#pragma once

#include "http/http.h"
#include "storyloom/error.h"

namespace storyloom::http {

// Returns the HTTP status for `error`: invalid_argument is 422 when `detail` names the
// offending field and 400 otherwise; not_found 404; already_exists, failed_precondition and
// aborted 409; resource_exhausted 429; unauthenticated 401; permission_denied 403;
// unavailable 503; internal 500.
int HttpStatus(const Error& error);

// Returns {"error":{"code":"<ErrorCodeName>","message":"<message>"}} with HttpStatus(error).
Response ErrorResponse(const Error& error);

}  // namespace storyloom::http
