#include "engine/pricing.h"

#include <fmt/format.h>

#include <algorithm>
#include <cstdint>
#include <tuple>
#include <utility>

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

Result<NanoUsd> CostOf(const ModelPrice& price, const ApiUsage& u) {
  auto too_large = [] {
    return Fail(Error::InvalidArgument(
        fmt::format("the cost of this call would exceed ${}", FormatNanoUsd(kMaxCallCostNusd)),
        "cost"));
  };
  const std::int64_t counts[] = {u.input_tokens, u.cached_input_tokens, u.output_tokens,
                                 u.images,       u.characters,          u.audio_ms};
  for (std::int64_t n : counts) {
    if (n < 0) return Fail(Error::InvalidArgument("counts must not be negative", "usage"));
  }
  const std::int64_t in_rate = price.input_per_mtok_nusd.value_or(0);
  const std::int64_t rates[] = {in_rate,
                                price.cached_input_per_mtok_nusd.value_or(in_rate),
                                price.output_per_mtok_nusd.value_or(0),
                                price.per_image_nusd.value_or(0),
                                price.per_mchar_nusd.value_or(0),
                                price.per_minute_nusd.value_or(0)};
  for (std::int64_t r : rates) {
    if (r < 0) return Fail(Error::InvalidArgument("prices must not be negative", "price"));
  }
  const std::int64_t cached = std::min(u.cached_input_tokens, u.input_tokens);
  // Each product of two int64 values fits in 127 bits; the sums are checked too.
  using I = __int128;
  I token_part = 0, product = 0;
  const std::pair<std::int64_t, std::int64_t> tokens[] = {
      {u.input_tokens - cached, rates[0]}, {cached, rates[1]}, {u.output_tokens, rates[2]}};
  for (const auto& [n, rate] : tokens) {
    if (__builtin_mul_overflow(static_cast<I>(n), static_cast<I>(rate), &product) ||
        __builtin_add_overflow(token_part, product, &token_part)) {
      return too_large();
    }
  }
  // Each part rounded half up to a whole nano-dollar, then added.
  const I parts[] = {(token_part + 500000) / 1000000, static_cast<I>(u.images) * rates[3],
                     (static_cast<I>(u.characters) * rates[4] + 500000) / 1000000,
                     (static_cast<I>(u.audio_ms) * rates[5] + 30000) / 60000};
  I cost = 0;
  for (I part : parts) {
    if (__builtin_add_overflow(cost, part, &cost) || cost > kMaxCallCostNusd) return too_large();
  }
  return static_cast<NanoUsd>(cost);
}

NanoUsd SaturatingAdd(NanoUsd a, NanoUsd b) {
  NanoUsd out = 0;
  if (__builtin_add_overflow(a, b, &out)) return b > 0 ? INT64_MAX : 0;
  return std::max<NanoUsd>(out, 0);
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
