// UsageRecorder: turns a provider's report of one call attempt into a durable api_usage
// row with its cost, and enforces monthly budgets by reserving the worst-case cost of a
// paid call before it is made (Reserve) and settling it with the real cost (Record).
// Thread-safe; one per process, shared by every worker and the HTTP handlers.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "engine/event_bus.h"
#include "storyloom/error.h"
#include "storyloom/store.h"
#include "storyloom/types.h"

namespace storyloom::engine {

struct BudgetOptions {
  std::optional<NanoUsd> global_hard_nusd;  // whole server, per calendar month (UTC)
  std::optional<NanoUsd> global_soft_nusd;
  // A reservation left by a crashed process stops counting after this long.
  Millis reservation_ttl_ms = Millis{15} * 60 * 1000;
};

// Month-to-date spending against the limits of one user or of the server.
struct BudgetStatus {
  std::string period;  // YYYY-MM (UTC)
  BudgetLimits limits;
  NanoUsd spent_nusd = 0;     // priced usage recorded this month
  NanoUsd reserved_nusd = 0;  // live reservations of calls in flight
};

class UsageRecorder {
 public:
  explicit UsageRecorder(Store& store, BudgetOptions budgets = {}, EventBus* bus = nullptr)
      : store_(store), budgets_(budgets), bus_(bus) {}
  virtual ~UsageRecorder() = default;

  // Called before a paid call with its worst-case usage. Reserves its worst-case cost when a
  // hard limit applies to planned.user_id, checking month-to-date cost plus live
  // reservations in the same write transaction, so concurrent calls cannot together
  // overshoot. Returns the reservation id ("" when none was needed), or resource_exhausted
  // with detail "budget_exceeded" when the call would exceed a hard limit.
  [[nodiscard]] virtual Result<std::string> Reserve(const ApiUsage& planned);
  // Prices (provider "offline": exactly 0; otherwise from the price row in effect, or NULL
  // when none matches) and records one attempt, deleting `reservation_id` in the same
  // transaction. Fills u.id, u.created_at, u.cost_nusd, u.cost_source and u.price_id.
  // Emits a `warning` event the first time in a month a soft limit is reached.
  [[nodiscard]] virtual Result<void> Record(ApiUsage& u, std::string_view reservation_id = {});
  // Drops a reservation whose call was never made. Best effort.
  virtual void Release(std::string_view reservation_id);

  // Month-to-date status of `user_id`, or of the whole server when "".
  [[nodiscard]] Result<BudgetStatus> Status(std::string_view user_id);
  const BudgetOptions& budgets() const { return budgets_; }
  // Called with every row Record stores, after its commit, on the recording thread (the
  // metrics' provider-call histogram). Set it before anything records.
  void SetRecordObserver(std::function<void(const ApiUsage&)> observer) {
    observer_ = std::move(observer);
  }

 protected:
  Store& store_;
  BudgetOptions budgets_;
  EventBus* bus_;
  std::function<void(const ApiUsage&)> observer_;
};

}  // namespace storyloom::engine
