// Money and calls: provider-call rows and their daily rollup (UsageRepo), the price list
// (PriceRepo) and monthly budgets with their reservations (BudgetRepo). Reached from a
// transaction (tx.usage(), tx.prices(), tx.budgets()); used on its thread only.
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "storyloom/error.h"
#include "storyloom/types.h"

namespace storyloom {

namespace db {
class Connection;
}  // namespace db

struct UsageFilter {
  std::string user_id;  // "" = every user
  std::string workflow_id;
  Millis from = 0;
  Millis to = 0;  // exclusive; 0 = no bound
  int limit = 100;
  std::string cursor;
};

// Which provider calls UsageRepo::ListCalls returns; "" and 0 mean "any".
struct UsageCallFilter {
  std::string user_id;
  std::string workflow_id;
  std::string provider;
  std::string model;
  std::string operation;  // chat | image | speech
  std::string status;     // ok | error
  Millis from = 0;
  Millis to = 0;  // exclusive
  int limit = 50;
  std::string cursor;  // the previous page's next_cursor
};

// Latency and reliability of one provider, model and operation over a time range.
// Percentiles are percentile_cont's (linear between the two nearest ranks) of duration_ms.
struct CallPerformance {
  std::string provider;
  std::string model;
  std::string operation;
  std::int64_t calls = 0;    // rows: every attempt is one
  std::int64_t errors = 0;   // status = 'error'
  std::int64_t retries = 0;  // attempt > 1
  double p50_ms = 0;
  double p95_ms = 0;
  double p99_ms = 0;
  double mean_ms = 0;
  std::int64_t max_ms = 0;
};

// Usage of one workflow over a time range (api_usage grouped by workflow_id).
struct WorkflowUsage : UsageTotals {
  std::string workflow_id;  // "" for calls outside any workflow
};

class UsageRepo {
 public:
  explicit UsageRepo(db::Connection& c) : c_(c) {}

  // Records one provider call attempt and adds it to usage_daily. Returns it with its id.
  [[nodiscard]] Result<ApiUsage> Record(const ApiUsage& u);
  [[nodiscard]] Result<Page<ApiUsage>> List(const UsageFilter& f);
  // One page of calls matching `f`, newest first (created_at, then id, descending), and the
  // cursor of the next page ("" on the last). invalid_argument (field "cursor") for a cursor
  // this server did not issue; the page size is clamped to 1..200.
  [[nodiscard]] Result<Page<ApiUsage>> ListCalls(const UsageCallFilter& f);
  // Calls with from <= created_at < to (0 = unbounded) of user ("" = all), per provider,
  // model and operation, in that order. Exact on both backends: PostgreSQL's
  // percentile_cont, and on SQLite the same interpolation over the (duration, count) pairs
  // SQL groups and orders.
  [[nodiscard]] Result<std::vector<CallPerformance>> Performance(Millis from, Millis to,
                                                                 std::string_view user_id);
  // Sum of priced cost of a workflow's usage rows (0 when none), and whether any was unpriced.
  [[nodiscard]] Result<std::pair<NanoUsd, bool>> WorkflowCost(std::string_view workflow_id);
  // usage_daily rows with from_day <= day < to_day ("" = unbounded), for user ("" = all).
  [[nodiscard]] Result<std::vector<UsageDaily>> ListDaily(std::string_view from_day,
                                                          std::string_view to_day,
                                                          std::string_view user_id);
  // Usage rows with from <= created_at < to (0 = unbounded) for user ("" = all), summed
  // per workflow, most expensive first.
  [[nodiscard]] Result<std::vector<WorkflowUsage>> ByWorkflow(Millis from, Millis to,
                                                              std::string_view user_id);
  // Rows recorded before `cutoff` (retention; usage_daily keeps their sums).
  [[nodiscard]] Result<std::int64_t> CountBefore(Millis cutoff);
  // Deletes up to `limit` of them, oldest first; returns how many.
  [[nodiscard]] Result<std::int64_t> DeleteBefore(Millis cutoff, int limit);

 private:
  db::Connection& c_;
};

class PriceRepo {
 public:
  explicit PriceRepo(db::Connection& c) : c_(c) {}

  // Every price row, newest first; with `current_only`, only rows in effect at `at`.
  [[nodiscard]] Result<std::vector<ModelPrice>> List(bool current_only, Millis at);
  // Rows of `provider` and `operation` in effect at `at` (any model pattern).
  [[nodiscard]] Result<std::vector<ModelPrice>> InEffect(std::string_view provider,
                                                         std::string_view operation, Millis at);
  // Adds a price row. The row with the same provider, model_pattern, operation, size and
  // quality that is open at p.effective_from gets effective_to = p.effective_from.
  // invalid_argument for a bad operation, a missing field or a negative rate.
  [[nodiscard]] Result<ModelPrice> Add(const ModelPrice& p);

 private:
  db::Connection& c_;
};

class BudgetRepo {
 public:
  explicit BudgetRepo(db::Connection& c) : c_(c) {}

  // Serializes budget reservations across connections until the transaction ends
  // (PostgreSQL advisory lock; SQLite's single writer already does). Write only.
  [[nodiscard]] Result<void> Lock();
  // The user's monthly limits; not_found if no user has `user_id`.
  [[nodiscard]] Result<BudgetLimits> GetLimits(std::string_view user_id);
  [[nodiscard]] Result<void> SetLimits(std::string_view user_id, const BudgetLimits& b);
  // Priced cost in usage_daily with day >= from_day for user ("" = every user).
  [[nodiscard]] Result<NanoUsd> CostSince(std::string_view from_day, std::string_view user_id);
  // Sum of reservations not expired at `now` for user ("" = every user).
  [[nodiscard]] Result<NanoUsd> LiveReservations(Millis now, std::string_view user_id);
  // Both of the above read in one statement, hence from one snapshot even under READ
  // COMMITTED: a reservation settled meanwhile is counted once, as cost or as reservation.
  [[nodiscard]] Result<std::pair<NanoUsd, NanoUsd>> SpentAndReserved(std::string_view from_day,
                                                                     Millis now,
                                                                     std::string_view user_id);
  // Inserts a reservation and returns its id.
  [[nodiscard]] Result<std::string> AddReservation(std::string_view user_id, NanoUsd amount,
                                                   Millis now, Millis expires_at);
  // Deletes a reservation (no error when it is already gone).
  [[nodiscard]] Result<void> DeleteReservation(std::string_view id);
  // Deletes reservations that expired before `now`; returns how many.
  [[nodiscard]] Result<std::int64_t> DeleteExpiredReservations(Millis now);
  // Records that the `kind` alert of `scope` ("global" or a user id) fired in `period`
  // (YYYY-MM); true the first time, false when it already had.
  [[nodiscard]] Result<bool> MarkAlert(std::string_view scope, std::string_view period,
                                       std::string_view kind, Millis now);

 private:
  db::Connection& c_;
};

}  // namespace storyloom
