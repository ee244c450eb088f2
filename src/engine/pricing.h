// Pricing: picks the price row that applies to a call and computes its cost in integer
// nano-USD. Pure functions over values; any thread.
//
// Cost of a call under a row (each rate nano-USD; a rate the row leaves NULL adds nothing):
//   tokens:  ((input - cached) * input_rate + cached * cached_rate + output * output_rate)
//            / 1e6, where cached_rate defaults to input_rate; reasoning tokens are part of
//            output tokens and are not added again
//   images:  images * per_image
//   speech:  characters * per_mchar / 1e6 + audio_ms * per_minute / 60000
// Each of the three parts is rounded half up to a whole nano-dollar, then they are added.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "storyloom/error.h"
#include "storyloom/types.h"

namespace storyloom::engine {

// True when `model` matches `pattern`: the exact name, or a glob where `*` matches any run
// of characters and `?` one character.
bool ModelMatches(std::string_view pattern, std::string_view model);

// The most specific row of `candidates` (already filtered to the provider, operation and
// time) for `model` with `image_size`/`image_quality`: an exact model name beats a glob,
// a longer glob beats a shorter one, a row naming size/quality beats one that does not,
// then the latest effective_from. nullopt when none matches: the call is unpriced.
std::optional<ModelPrice> SelectPrice(const std::vector<ModelPrice>& candidates,
                                      std::string_view model, std::string_view image_size,
                                      std::string_view image_quality);

// What one recorded call may report; larger values are refused at input (422) and by
// RecordUsage. With these bounds no per-row arithmetic can overflow, and a sum of counts
// would need more than 9e10 rows to reach 2^63 (docs/API.md, "Limits").
inline constexpr std::int64_t kMaxUsageTokens = 100'000'000;  // each token field
inline constexpr std::int64_t kMaxUsageImages = 10'000;
inline constexpr std::int64_t kMaxUsageCharacters = 100'000'000;
inline constexpr std::int64_t kMaxUsageMillis = 86'400'000;  // audio_ms, duration_ms: 24 h
inline constexpr int kMaxUsageAttempt = 1000;
// The most one call may cost ($10,000), and the most a price row may charge per unit
// ($1,000,000 per million tokens, image, million characters or minute).
inline constexpr NanoUsd kMaxCallCostNusd = 10'000'000'000'000;
inline constexpr NanoUsd kMaxRateNusd = 1'000'000'000'000'000;

// The cost of `u` under `price`, computed with overflow checks: invalid_argument when a
// count or rate is negative, or the cost exceeds kMaxCallCostNusd; never wraps.
Result<NanoUsd> CostOf(const ModelPrice& price, const ApiUsage& u);

// a + b, saturated to [0, INT64_MAX] for non-negative totals (sums of costs and counts).
NanoUsd SaturatingAdd(NanoUsd a, NanoUsd b);

// Parses a decimal amount of USD ("0.15", "$2", "12.000000001") exactly into nano-USD.
// invalid_argument for anything else (signs, exponents, more than nine decimals).
Result<NanoUsd> ParseUsdNano(std::string_view text);

// "0.000150" style: USD with as many decimals as needed (at least two).
std::string FormatNanoUsd(NanoUsd nusd);

}  // namespace storyloom::engine
