// Usage rows for tests: a provider call whose counters are all different, so a counter read
// from the wrong column, or not read at all, shows in what a test reads back. Test support.
#pragma once

#include <string>

#include "storyloom/types.h"

namespace storyloom::testing {

// An ok chat call of openai/gpt-4o-mini on 2025-11-24 by `user_id` in `workflow_id`:
// input 1100 (700 cached), output 1300, reasoning 1700, 19 images, 2300 characters,
// 2900 audio ms, costing `cost_nusd`.
ApiUsage DistinctUsageCall(const std::string& user_id, const std::string& workflow_id,
                           NanoUsd cost_nusd);

}  // namespace storyloom::testing
