// The single mapping from Error to HTTP: status codes and the JSON error format
// {"error":{"code":"not_found","message":"…","field":"…"}}. Pure functions; any thread.
#pragma once

#include "http/http.h"
#include "storyloom/error.h"

namespace storyloom::api {

// The HTTP status for `e` (invalid_argument is 422, or 400 when the request itself is
// malformed: detail "malformed").
int HttpStatus(const Error& e);
// The API error code string for `e`: a specific detail code when it has one
// ("budget_exceeded"), else the canonical name.
std::string ApiErrorCode(const Error& e);
http::Response ErrorResponse(const Error& e);
// 400 for a body that is not the JSON the endpoint expects.
Error Malformed(std::string message);

}  // namespace storyloom::api
