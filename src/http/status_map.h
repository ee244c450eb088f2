// The one mapping from canonical error codes (storyloom/error.h) to HTTP statuses and the
// JSON error body {"error":{"code":"…","message":"…","field":"…"}}. Pure functions; any
// thread.
#pragma once

#include <string>

#include "http/http.h"
#include "storyloom/error.h"

namespace storyloom::http {

// Returns the HTTP status for `error`: invalid_argument is 422 (an invalid field), or 400
// when `error.IsMalformed()` (the request itself cannot be read); not_found 404;
// already_exists, failed_precondition and aborted 409; resource_exhausted 429;
// unauthenticated 401; permission_denied 403; unavailable 503; internal 500.
int HttpStatus(const Error& error);

// The API's error code: a specific code carried in `detail` where there is one
// ("budget_exceeded", "conflict"), else the canonical name ("not_found").
std::string ApiErrorCode(const Error& error);

// The JSON error response for `error`, naming the field for invalid_argument. Internal
// errors do not echo their message to the client.
Response ErrorResponse(const Error& error);

// An invalid_argument for a request body or target that cannot be read at all (400).
Error Malformed(std::string message);

}  // namespace storyloom::http
