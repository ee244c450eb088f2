// Bounded parsing of untrusted JSON and TOML. Pure functions; any thread.
//
// nlohmann::json builds, copies and dumps documents recursively, and toml++ and our own
// walkers recurse over nested tables, so a deeply nested document from a client, a
// provider, a backup or a config file could exhaust a thread's stack. Every parse of such
// text goes through ParseJson (or CheckTomlNesting first), which measures the nesting with
// a linear, non-recursive scan BEFORE anything recursive runs.
#pragma once

#include <cstdint>
#include <expected>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include "storyloom/error.h"

namespace storyloom::core {

// Deepest nesting of arrays/objects (JSON) or tables/arrays/dotted keys (TOML) accepted
// anywhere: real documents use fewer than ten levels.
inline constexpr int kMaxNestingDepth = 64;

struct JsonParseError {
  bool too_deep = false;  // nested deeper than the limit (else: not valid JSON)
  std::string message;    // one line, names the limit when too_deep
};

// The deepest array/object nesting in `text`, counting only brackets outside strings
// (escapes honoured). Stops counting once it passes `stop_after`. Linear, no recursion.
int JsonNestingDepth(std::string_view text, int stop_after = kMaxNestingDepth);

// Parses `text` as JSON if it nests at most `max_depth` levels.
std::expected<nlohmann::json, JsonParseError> ParseJson(std::string_view text,
                                                        int max_depth = kMaxNestingDepth);

// Parses `text` (from `what`, e.g. "the provider response") and returns an Error of `code`
// with a one-line message on failure. For non-HTTP callers (providers, backups, ...).
Result<nlohmann::json> ParseJsonOr(std::string_view text, std::string_view what,
                                   ErrorCode code = ErrorCode::kInvalidArgument);

// invalid_argument naming the limit when TOML `text` nests tables, arrays, inline tables or
// dotted-key segments deeper than `max_depth`. Conservative: it counts the dots of every
// run of key or value characters outside strings and comments.
Result<void> CheckTomlNesting(std::string_view text, int max_depth = kMaxNestingDepth);

}  // namespace storyloom::core
