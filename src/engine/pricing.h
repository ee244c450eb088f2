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

// The cost of `u` under `price`.
NanoUsd CostOf(const ModelPrice& price, const ApiUsage& u);

// Parses a decimal amount of USD ("0.15", "$2", "12.000000001") exactly into nano-USD.
// invalid_argument for anything else (signs, exponents, more than nine decimals).
Result<NanoUsd> ParseUsdNano(std::string_view text);

// "0.000150" style: USD with as many decimals as needed (at least two).
std::string FormatNanoUsd(NanoUsd nusd);

}  // namespace storyloom::engine
