#include "engine/usage_recorder.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <nlohmann/json.hpp>

#include "core/clock.h"
#include "engine/pricing.h"

namespace storyloom::engine {

namespace {

std::string Period(Millis at) { return core::FormatDay(at).substr(0, 7); }
std::string MonthStart(Millis at) { return Period(at) + "-01"; }

// Prices `u` in `tx`: sets cost_nusd, cost_source and price_id.
Result<void> Price(StoreTx& tx, ApiUsage& u) {
  if (u.provider == "offline") {
    u.cost_nusd = 0;
    u.cost_source = "offline";
    u.price_id.reset();
    return {};
  }
  SL_ASSIGN_OR_RETURN(auto rows, tx.prices().InEffect(u.provider, u.operation, u.created_at));
  auto price = SelectPrice(rows, u.model, u.image_size, u.image_quality);
  if (!price) {
    u.cost_nusd.reset();
    u.cost_source.clear();
    u.price_id.reset();
    return {};
  }
  SL_ASSIGN_OR_RETURN(const NanoUsd cost, CostOf(*price, u));
  u.cost_nusd = cost;
  u.cost_source = "price_table";
  u.price_id = price->id;
  return {};
}

Error BudgetExceeded(std::string_view whose, NanoUsd limit, NanoUsd used, NanoUsd worst) {
  return Error::ResourceExhausted(
      fmt::format("the monthly budget of {} would be exceeded: ${} of ${} spent or reserved, "
                  "and this call may cost up to ${}",
                  whose, FormatNanoUsd(used), FormatNanoUsd(limit), FormatNanoUsd(worst)),
      "budget_exceeded");
}

}  // namespace

Result<std::string> UsageRecorder::Reserve(const ApiUsage& planned) {
  if (planned.provider == "offline") return std::string();
  std::string id;
  SL_RETURN_IF_ERROR(store_.Write([&](StoreTx& tx) -> Result<void> {
    id.clear();
    SL_ASSIGN_OR_RETURN(BudgetLimits user, tx.budgets().GetLimits(planned.user_id));
    if (!user.hard_nusd && !budgets_.global_hard_nusd) return {};
    // From here on no other reservation can interleave until this transaction commits.
    SL_RETURN_IF_ERROR(tx.budgets().Lock());
    const Millis now = core::WallMillis();
    ApiUsage worst_case = planned;
    worst_case.created_at = now;
    SL_RETURN_IF_ERROR(Price(tx, worst_case));
    const NanoUsd worst = worst_case.cost_nusd.value_or(0);
    const std::string from_day = MonthStart(now);
    if (user.hard_nusd) {
      SL_ASSIGN_OR_RETURN(auto used, tx.budgets().SpentAndReserved(from_day, now, planned.user_id));
      const auto [spent, held] = used;
      // Saturating: totals near INT64_MAX must refuse, never wrap to "plenty left".
      if (SaturatingAdd(SaturatingAdd(spent, held), worst) > *user.hard_nusd) {
        return Fail(
            BudgetExceeded("this user", *user.hard_nusd, SaturatingAdd(spent, held), worst));
      }
    }
    if (budgets_.global_hard_nusd) {
      SL_ASSIGN_OR_RETURN(auto used, tx.budgets().SpentAndReserved(from_day, now, ""));
      const auto [spent, held] = used;
      // Saturating: totals near INT64_MAX must refuse, never wrap to "plenty left".
      if (SaturatingAdd(SaturatingAdd(spent, held), worst) > *budgets_.global_hard_nusd) {
        return Fail(BudgetExceeded("the server", *budgets_.global_hard_nusd,
                                   SaturatingAdd(spent, held), worst));
      }
    }
    SL_RETURN_IF_ERROR(tx.budgets().DeleteExpiredReservations(now));
    SL_ASSIGN_OR_RETURN(id, tx.budgets().AddReservation(planned.user_id, worst, now,
                                                        now + budgets_.reservation_ttl_ms));
    return {};
  }));
  return id;
}

void UsageRecorder::Release(std::string_view reservation_id) {
  if (reservation_id.empty()) return;
  auto r =
      store_.Write([&](StoreTx& tx) { return tx.budgets().DeleteReservation(reservation_id); });
  if (!r) spdlog::warn("could not release budget reservation: {}", r.error().message);
}

Result<void> UsageRecorder::Record(ApiUsage& u, std::string_view reservation_id) {
  if (u.created_at == 0) u.created_at = core::WallMillis();
  ApiUsage saved;
  std::vector<WorkflowEvent> events;
  SL_RETURN_IF_ERROR(store_.Write([&](StoreTx& tx) -> Result<void> {
    events.clear();
    ApiUsage priced = u;
    SL_RETURN_IF_ERROR(Price(tx, priced));
    SL_ASSIGN_OR_RETURN(saved, tx.usage().Record(priced));
    if (!reservation_id.empty()) SL_RETURN_IF_ERROR(tx.budgets().DeleteReservation(reservation_id));
    if (saved.cost_nusd.value_or(0) <= 0) return {};
    // Soft limits: one warning per scope and month.
    const std::string period = Period(saved.created_at);
    const std::string from_day = MonthStart(saved.created_at);
    SL_ASSIGN_OR_RETURN(BudgetLimits user, tx.budgets().GetLimits(saved.user_id));
    struct Scope {
      std::string key, who;
      std::optional<NanoUsd> soft;
    };
    const Scope scopes[] = {{saved.user_id, "user", user.soft_nusd},
                            {"global", "server", budgets_.global_soft_nusd}};
    for (const Scope& s : scopes) {
      if (!s.soft) continue;
      SL_ASSIGN_OR_RETURN(NanoUsd spent,
                          tx.budgets().CostSince(from_day, s.key == "global" ? "" : s.key));
      if (spent < *s.soft) continue;
      SL_ASSIGN_OR_RETURN(bool first,
                          tx.budgets().MarkAlert(s.key, period, "soft", saved.created_at));
      if (!first) continue;
      const std::string message =
          fmt::format("the {} reached its monthly soft budget: ${} spent of ${} ({})", s.who,
                      FormatNanoUsd(spent), FormatNanoUsd(*s.soft), period);
      spdlog::warn("{}", message);
      if (saved.workflow_id.empty()) continue;
      nlohmann::json data = {{"code", "budget_soft_limit"},
                             {"scope", s.who},
                             {"period", period},
                             {"message", message},
                             {"spent_usd", FormatNanoUsd(spent)},
                             {"soft_limit_usd", FormatNanoUsd(*s.soft)}};
      SL_ASSIGN_OR_RETURN(auto e, tx.events().Append(saved.workflow_id, "warning", data.dump()));
      events.push_back(std::move(e));
    }
    return {};
  }));
  u = saved;
  if (observer_) observer_(u);
  if (bus_ && !events.empty()) bus_->Publish(events);
  return {};
}

Result<BudgetStatus> UsageRecorder::Status(std::string_view user_id) {
  return store_.ReadOne<BudgetStatus>([&](StoreTx& tx) -> Result<BudgetStatus> {
    BudgetStatus st;
    const Millis now = core::WallMillis();
    st.period = Period(now);
    if (user_id.empty()) {
      st.limits = {budgets_.global_hard_nusd, budgets_.global_soft_nusd};
    } else {
      SL_ASSIGN_OR_RETURN(st.limits, tx.budgets().GetLimits(user_id));
    }
    SL_ASSIGN_OR_RETURN(st.spent_nusd, tx.budgets().CostSince(MonthStart(now), user_id));
    SL_ASSIGN_OR_RETURN(st.reserved_nusd, tx.budgets().LiveReservations(now, user_id));
    return st;
  });
}

}  // namespace storyloom::engine
