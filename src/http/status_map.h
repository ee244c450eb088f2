// The one mapping from canonical error codes (storyloom/error.h) to HTTP statuses and the
// JSON error body {"error":{"code":"…","message":"…","field":"…"}}. Pure functions; any
// thread.
#pragma once

#include <chrono>
#include <cstddef>
#include <string>

#include "http/http.h"
#include "storyloom/error.h"

namespace storyloom::http {

class LogLimiter;

// Returns the HTTP status for `error`: invalid_argument is 422 (an invalid field), or 400
// when `error.IsMalformed()` (the request itself cannot be read); not_found 404;
// already_exists, failed_precondition and aborted 409; resource_exhausted 429;
// unauthenticated 401; permission_denied 403; unavailable 503; internal 500.
int HttpStatus(const Error& error);

// The API's error code: a specific code carried in `detail` where there is one
// ("budget_exceeded", "conflict"), else the canonical name ("not_found").
std::string ApiErrorCode(const Error& error);

// The JSON error response for `error`, naming the field for invalid_argument. Internal
// errors do not echo their message to the client. A storage fault (insufficient_storage,
// storage I/O) is logged with its real message through a process-wide limiter: per kind, at
// most kStorageFaultLinesPerWindow lines per kStorageFaultWindow, the next window's first
// line counting those left out, so a full disk under a flood of writes cannot flood the log.
Response ErrorResponse(const Error& error);

// The same, logging storage faults through `fault_log` (keys "insufficient-storage" and
// "storage-io").
Response ErrorResponse(const Error& error, LogLimiter& fault_log);

inline constexpr std::size_t kStorageFaultLinesPerWindow = 5;
inline constexpr std::chrono::seconds kStorageFaultWindow{10};

// An invalid_argument for a request body or target that cannot be read at all (400).
Error Malformed(std::string message);

}  // namespace storyloom::http
