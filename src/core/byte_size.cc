// Human byte counts (see byte_size.h).
#include "core/byte_size.h"

#include <fmt/format.h>

#include <array>
#include <cctype>
#include <cmath>

namespace storyloom::core {

namespace {

constexpr std::string_view kUnits = "KMGTP";

Error Bad(const std::string& field) {
  return Error::InvalidArgument(
      field +
          " must be a number of bytes, optionally with K, M, G, T or P (like 500M or 2G), "
          "up to 1P",
      field);
}

}  // namespace

Result<std::int64_t> ParseByteSize(std::string_view text, const std::string& field) {
  std::string_view s = text;
  while (!s.empty() && s.front() == ' ') s.remove_prefix(1);
  while (!s.empty() && s.back() == ' ') s.remove_suffix(1);
  if (s.empty() || s.size() > 32) return Fail(Bad(field));
  std::int64_t whole = 0;
  std::int64_t frac = 0, frac_scale = 1;  // up to 6 decimal digits
  std::size_t i = 0;
  bool digits = false;
  for (; i < s.size() && std::isdigit(static_cast<unsigned char>(s[i])); ++i) {
    whole = whole * 10 + (s[i] - '0');
    if (whole > kMaxByteSize) return Fail(Bad(field));
    digits = true;
  }
  bool point = false;
  if (i < s.size() && s[i] == '.') {
    point = true;
    for (++i; i < s.size() && std::isdigit(static_cast<unsigned char>(s[i])); ++i) {
      if (frac_scale < 1000000) {
        frac = frac * 10 + (s[i] - '0');
        frac_scale *= 10;
      }
      digits = true;
    }
  }
  if (!digits) return Fail(Bad(field));
  while (i < s.size() && s[i] == ' ') ++i;
  std::string_view unit = s.substr(i);
  int power = 0;
  if (!unit.empty()) {
    const auto at =
        kUnits.find(static_cast<char>(std::toupper(static_cast<unsigned char>(unit[0]))));
    if (at != std::string_view::npos) {
      power = static_cast<int>(at) + 1;
      unit.remove_prefix(1);
      if (!unit.empty() && (unit[0] == 'i' || unit[0] == 'I')) unit.remove_prefix(1);
    }
    if (unit == "B" || unit == "b") unit = {};
    if (!unit.empty()) return Fail(Bad(field));
  }
  if (point && power == 0 && frac != 0) return Fail(Bad(field));  // no fractions of a byte
  std::int64_t mult = 1;
  for (int p = 0; p < power; ++p) mult *= 1024;
  if (whole > kMaxByteSize / mult) return Fail(Bad(field));
  const std::int64_t bytes = whole * mult + frac * mult / frac_scale;
  if (bytes > kMaxByteSize) return Fail(Bad(field));
  return bytes;
}

std::string FormatByteSize(std::int64_t bytes) {
  static constexpr std::array<const char*, 6> kNames = {"B", "KiB", "MiB", "GiB", "TiB", "PiB"};
  if (bytes < 1024) return fmt::format("{} B", bytes);
  double v = static_cast<double>(bytes);
  std::size_t u = 0;
  while (v >= 1024 && u + 1 < kNames.size()) {
    v /= 1024;
    ++u;
  }
  const std::int64_t tenths = std::llround(v * 10);
  if (tenths % 10 == 0) return fmt::format("{} {}", tenths / 10, kNames[u]);
  return fmt::format("{}.{} {}", tenths / 10, tenths % 10, kNames[u]);
}

}  // namespace storyloom::core
