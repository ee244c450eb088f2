// The rollup tables of migration 0003 and usage_daily, read by analytics and /metrics: one
// row per day and key, never a scan of workflows or api_usage. Reached as tx.rollups();
// used on the transaction's thread only. `who` is a user id or "*" for every user; days are
// YYYY-MM-DD, both bounds inclusive.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "storyloom/error.h"
#include "storyloom/types.h"

namespace storyloom {

namespace db {
class Connection;
}  // namespace db

struct DayStatusCount {
  std::string day;
  std::string status;
  std::int64_t workflows = 0;
};

// One histogram bucket of a rollup: `key` (a phase, or "" for workflow cost), its upper
// bound, how many fell in it and the sum of their values.
struct BucketRow {
  std::string key;
  std::int64_t le = 0;
  std::int64_t count = 0;
  std::int64_t sum = 0;
};

struct CostGroup {
  std::string key;              // "provider/model" or user id
  std::string name;             // username for users
  std::string provider, model;  // by model only
  std::int64_t calls = 0;
  std::int64_t errors = 0;
  std::int64_t input_tokens = 0;
  std::int64_t output_tokens = 0;
  NanoUsd cost_nusd = 0;
  std::int64_t unpriced_calls = 0;
};

struct FileTypeStats {
  std::string file_type;
  std::int64_t files = 0;
  std::int64_t bytes = 0;
};

class RollupRepo {
 public:
  explicit RollupRepo(db::Connection& c) : c_(c) {}

  // Workflows per day and status, zero counts left out, by day then status.
  [[nodiscard]] Result<std::vector<DayStatusCount>> WorkflowDays(std::string_view who,
                                                                 std::string_view from_day,
                                                                 std::string_view to_day);
  // Phase duration buckets (key = phase, sum in ms); from/to "" = all time.
  [[nodiscard]] Result<std::vector<BucketRow>> PhaseDurations(std::string_view who,
                                                              std::string_view from_day,
                                                              std::string_view to_day);
  // Cost-per-workflow buckets (key "", sum in nano-USD).
  [[nodiscard]] Result<std::vector<BucketRow>> WorkflowCosts(std::string_view who,
                                                             std::string_view from_day,
                                                             std::string_view to_day);
  // Usage per provider/model (key "provider/model") of `user_id` ("" = every user), and
  // per user (key user id, name username); saturating sums, so totals near 2^63 still read.
  // from/to "" = all time.
  [[nodiscard]] Result<std::vector<CostGroup>> UsageByModel(std::string_view user_id,
                                                            std::string_view from_day,
                                                            std::string_view to_day);
  [[nodiscard]] Result<std::vector<CostGroup>> UsageByUser(std::string_view user_id,
                                                           std::string_view from_day,
                                                           std::string_view to_day);
  // Files and bytes per file type, types with no file left out.
  [[nodiscard]] Result<std::vector<FileTypeStats>> FileTypes(std::string_view who,
                                                             std::string_view from_day,
                                                             std::string_view to_day);

 private:
  db::Connection& c_;
};

}  // namespace storyloom
