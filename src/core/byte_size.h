// Byte counts as people write them: "500M", "2G", "1.5GiB", "123456". Used by the config
// (storage.default_quota), the CLI (users quota) and the API (quota_bytes as a string).
// Pure functions; any thread.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "storyloom/error.h"

namespace storyloom::core {

// The largest count accepted: 2^50 bytes (1 PiB), far below int64 overflow.
inline constexpr std::int64_t kMaxByteSize = std::int64_t{1} << 50;

// Parses a whole number of bytes, optionally with a binary suffix K, M, G, T or P (case-
// insensitive, "B", "iB" or "B" after it allowed: 500M = 500MB = 500MiB = 500 * 2^20) and a
// decimal fraction before a suffix ("1.5G"). invalid_argument naming `field` for anything
// else, negative numbers, or more than kMaxByteSize.
[[nodiscard]] Result<std::int64_t> ParseByteSize(std::string_view text, const std::string& field);

// "512 B", "1.5 KiB", "500 MiB", "2 GiB": the largest unit with a whole part, one decimal.
std::string FormatByteSize(std::int64_t bytes);

}  // namespace storyloom::core
