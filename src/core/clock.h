// Wall clock in milliseconds and RFC 3339 formatting. Tests may shift the clock with
// SetClockOffsetForTesting. Thread-safe.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "storyloom/types.h"

namespace storyloom::core {

// Milliseconds since the Unix epoch (UTC), plus the testing offset.
Millis WallMillis();
// Adds `offset_ms` to every later WallMillis() (tests of retention and budgets).
void SetClockOffsetForTesting(Millis offset_ms);

// "2026-11-25T18:05:24.123Z"
std::string FormatRfc3339(Millis ms);
// Parses RFC 3339 ("2026-11-25T18:05:24Z", with optional fraction and offset) or a plain
// date "2026-11-25" (midnight UTC). Returns nullopt if malformed.
std::optional<Millis> ParseRfc3339(std::string_view s);
// "2026-11-25" (UTC day of `ms`).
std::string FormatDay(Millis ms);
// The first millisecond of the UTC month containing `ms`, and of the next month.
Millis MonthStart(Millis ms);
Millis NextMonthStart(Millis ms);

}  // namespace storyloom::core
