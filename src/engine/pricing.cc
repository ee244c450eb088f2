#include "engine/pricing.h"

#include <fmt/format.h>

#include <tuple>

namespace storyloom::engine {

namespace {

// Glob match with backtracking on the last `*` (patterns are short).
bool Glob(std::string_view p, std::string_view s) {
  std::size_t pi = 0, si = 0, star = std::string_view::npos, mark = 0;
  while (si < s.size()) {
    if (pi < p.size() && (p[pi] == '?' || p[pi] == s[si])) {
      ++pi;
      ++si;
    } else if (pi < p.size() && p[pi] == '*') {
      star = pi++;
      mark = si;
    } else if (star != std::string_view::npos) {
      pi = star + 1;
      si = ++mark;
    } else {
      return false;
    }
  }
  while (pi < p.size() && p[pi] == '*') ++pi;
  return pi == p.size();
}

bool IsGlob(std::string_view p) { return p.find_first_of("*?") != std::string_view::npos; }

// a * b / d rounded half up, for non-negative values; 128-bit so large counts cannot overflow.
NanoUsd MulDiv(std::int64_t a, std::int64_t b, std::int64_t d) {
  const __int128 n = static_cast<__int128>(a) * b;
  return static_cast<NanoUsd>((n + d / 2) / d);
}

}  // namespace

bool ModelMatches(std::string_view pattern, std::string_view model) {
  if (!IsGlob(pattern)) return pattern == model;
  return Glob(pattern, model);
}

std::optional<ModelPrice> SelectPrice(const std::vector<ModelPrice>& candidates,
                                      std::string_view model, std::string_view image_size,
                                      std::string_view image_quality) {
  const ModelPrice* best = nullptr;
  auto rank = [](const ModelPrice& p) {
    const bool exact = !IsGlob(p.model_pattern);
    const int literal = static_cast<int>(p.model_pattern.size());
    const int specific = (p.image_size.empty() ? 0 : 1) + (p.image_quality.empty() ? 0 : 1);
    return std::make_tuple(exact, literal, specific, p.effective_from, p.id);
  };
  for (const ModelPrice& p : candidates) {
    if (!ModelMatches(p.model_pattern, model)) continue;
    if (!p.image_size.empty() && p.image_size != image_size) continue;
    if (!p.image_quality.empty() && p.image_quality != image_quality) continue;
    if (!best || rank(p) > rank(*best)) best = &p;
  }
  if (!best) return std::nullopt;
  return *best;
}

NanoUsd CostOf(const ModelPrice& price, const ApiUsage& u) {
  const std::int64_t cached = std::min(u.cached_input_tokens, u.input_tokens);
  const std::int64_t uncached = u.input_tokens - cached;
  const std::int64_t in_rate = price.input_per_mtok_nusd.value_or(0);
  const std::int64_t cached_rate = price.cached_input_per_mtok_nusd.value_or(in_rate);
  const __int128 token_part =
      static_cast<__int128>(uncached) * in_rate + static_cast<__int128>(cached) * cached_rate +
      static_cast<__int128>(u.output_tokens) * price.output_per_mtok_nusd.value_or(0);
  NanoUsd cost = static_cast<NanoUsd>((token_part + 500000) / 1000000);
  cost += u.images * price.per_image_nusd.value_or(0);
  cost += MulDiv(u.characters, price.per_mchar_nusd.value_or(0), 1000000) +
          MulDiv(u.audio_ms, price.per_minute_nusd.value_or(0), 60000);
  return cost;
}

Result<NanoUsd> ParseUsdNano(std::string_view text) {
  auto bad = [&] {
    return Fail(Error::InvalidArgument(
        fmt::format("'{}' is not an amount in USD (like 0.15)", text), "usd"));
  };
  std::string_view s = text;
  if (!s.empty() && s.front() == '$') s.remove_prefix(1);
  if (s.empty()) return bad();
  const auto dot = s.find('.');
  const std::string_view whole = s.substr(0, dot);
  std::string_view frac = dot == std::string_view::npos ? std::string_view{} : s.substr(dot + 1);
  if (whole.empty() && frac.empty()) return bad();
  while (frac.size() > 9 && frac.back() == '0') frac.remove_suffix(1);
  if (frac.size() > 9 || whole.size() > 9) return bad();
  std::int64_t w = 0, f = 0;
  for (char c : whole) {
    if (c < '0' || c > '9') return bad();
    w = w * 10 + (c - '0');
  }
  for (std::size_t i = 0; i < 9; ++i) {
    const char c = i < frac.size() ? frac[i] : '0';
    if (c < '0' || c > '9') return bad();
    f = f * 10 + (c - '0');
  }
  return w * 1000000000LL + f;
}

std::string FormatNanoUsd(NanoUsd nusd) {
  const bool neg = nusd < 0;
  const unsigned long long v = neg ? -static_cast<unsigned long long>(nusd) : nusd;
  std::string frac = fmt::format("{:09}", v % 1000000000ULL);
  while (frac.size() > 2 && frac.back() == '0') frac.pop_back();
  return fmt::format("{}{}.{}", neg ? "-" : "", v / 1000000000ULL, frac);
}

}  // namespace storyloom::engine
