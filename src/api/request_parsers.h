// Parsers of client input that need no App, store or socket: the Range, Cookie and
// Authorization headers and the fields of a usage record. Moved unchanged out of
// files_api.cc, auth.cc and usage_api.cc so the fuzz targets (fuzz/) can call them.
// Pure functions; any thread.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include "storyloom/error.h"
#include "storyloom/types.h"

namespace storyloom::api {

// Parses "bytes=a-b", "bytes=a-" or "bytes=-n" against `size`. Returns nullopt when the
// header should be ignored (multiple ranges, other units) and an error for an
// unsatisfiable range.
Result<std::optional<std::pair<std::uint64_t, std::uint64_t>>> ParseRange(std::string_view h,
                                                                          std::uint64_t size);

// Value of cookie `name` in a Cookie header's value ("" if absent).
std::string CookieValue(std::string_view header, std::string_view name);

// The secret of an `Authorization: Bearer <token>` header value (trailing spaces removed);
// unauthenticated for any other form.
Result<std::string> BearerSecret(std::string_view header);

// The client-supplied fields of a usage record (POST /api/v1/usage body, already a JSON
// object) into `u`: strings, counts, attempt, http_status; invalid_argument naming the field.
Result<void> ParseUsageFields(const nlohmann::json& body, ApiUsage& u);

}  // namespace storyloom::api
