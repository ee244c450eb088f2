// Budgets: per-user limits, month-to-date cost from usage_daily, live reservations and the
// soft-limit alerts that already fired. Reservations are checked and inserted in one write
// transaction (see engine/usage_recorder.cc).
#include <fmt/format.h>

#include "core/ids.h"
#include "db/database.h"
#include "store/safe_sum.h"
#include "storyloom/store.h"

namespace storyloom {

using db::Value;

namespace {
// pg_advisory_xact_lock key for budget reservations: "sl-budget" folded into 64 bits.
constexpr std::int64_t kBudgetLockKey = 0x736c2d6275646774LL;
}  // namespace

Result<void> BudgetRepo::Lock() {
  if (c_.dialect() != db::Dialect::kPostgres) return {};
  const Value v[] = {kBudgetLockKey};
  SL_RETURN_IF_ERROR(c_.Query("SELECT pg_advisory_xact_lock(?)", v));
  return {};
}

Result<BudgetLimits> BudgetRepo::GetLimits(std::string_view user_id) {
  const Value v[] = {std::string(user_id)};
  SL_ASSIGN_OR_RETURN(
      auto row,
      c_.QueryOpt("SELECT monthly_budget_nusd, soft_budget_nusd FROM users WHERE id = ?", v));
  if (!row) return Fail(Error::NotFound(fmt::format("user {} does not exist", user_id)));
  return BudgetLimits{row->OptInt(0), row->OptInt(1)};
}

Result<void> BudgetRepo::SetLimits(std::string_view user_id, const BudgetLimits& b) {
  if ((b.hard_nusd && *b.hard_nusd < 0) || (b.soft_nusd && *b.soft_nusd < 0)) {
    return Fail(Error::InvalidArgument("budgets must not be negative", "monthly_usd"));
  }
  const Value v[] = {db::OptInt(b.hard_nusd), db::OptInt(b.soft_nusd), std::string(user_id)};
  SL_ASSIGN_OR_RETURN(std::int64_t n,
                      c_.Exec("UPDATE users SET monthly_budget_nusd = ?, soft_budget_nusd = ? "
                              "WHERE id = ?",
                              v));
  if (n == 0) return Fail(Error::NotFound(fmt::format("user {} does not exist", user_id)));
  return {};
}

Result<NanoUsd> BudgetRepo::CostSince(std::string_view from_day, std::string_view user_id) {
  std::vector<Value> v{std::string(from_day)};
  const std::string sum = store::SafeSum(c_.dialect(), "cost_nusd");
  std::string sql = "SELECT " + sum + " FROM usage_daily WHERE day >= ?";
  if (!user_id.empty()) {
    sql = "SELECT " + sum + " FROM usage_daily WHERE user_id = ? AND day >= ?";
    v.insert(v.begin(), std::string(user_id));
  }
  SL_ASSIGN_OR_RETURN(auto row, c_.QueryOne(sql, v));
  return row.Int(0);
}

Result<NanoUsd> BudgetRepo::LiveReservations(Millis now, std::string_view user_id) {
  std::vector<Value> v{now};
  const std::string sum = store::SafeSum(c_.dialect(), "amount_nusd");
  std::string sql = "SELECT " + sum + " FROM budget_reservations WHERE expires_at > ?";
  if (!user_id.empty()) {
    sql = "SELECT " + sum + " FROM budget_reservations WHERE user_id = ? AND expires_at > ?";
    v.insert(v.begin(), std::string(user_id));
  }
  SL_ASSIGN_OR_RETURN(auto row, c_.QueryOne(sql, v));
  return row.Int(0);
}

Result<std::pair<NanoUsd, NanoUsd>> BudgetRepo::SpentAndReserved(std::string_view from_day,
                                                                 Millis now,
                                                                 std::string_view user_id) {
  std::vector<Value> v;
  std::string sql;
  const std::string cost = store::SafeSum(c_.dialect(), "cost_nusd");
  const std::string held = store::SafeSum(c_.dialect(), "amount_nusd");
  if (user_id.empty()) {
    sql = "SELECT (SELECT " + cost + " FROM usage_daily WHERE day >= ?), (SELECT " + held +
          " FROM budget_reservations WHERE expires_at > ?)";
    v = {std::string(from_day), now};
  } else {
    sql = "SELECT (SELECT " + cost + " FROM usage_daily WHERE user_id = ? AND day >= ?), " +
          "(SELECT " + held + " FROM budget_reservations WHERE user_id = ? AND expires_at > ?)";
    v = {std::string(user_id), std::string(from_day), std::string(user_id), now};
  }
  SL_ASSIGN_OR_RETURN(auto row, c_.QueryOne(sql, v));
  return std::pair<NanoUsd, NanoUsd>{row.Int(0), row.Int(1)};
}

Result<std::string> BudgetRepo::AddReservation(std::string_view user_id, NanoUsd amount, Millis now,
                                               Millis expires_at) {
  std::string id = core::NewId();
  const Value v[] = {id, std::string(user_id), amount, now, expires_at};
  SL_RETURN_IF_ERROR(
      c_.Exec("INSERT INTO budget_reservations (id, user_id, amount_nusd, "
              "created_at, expires_at) VALUES (?, ?, ?, ?, ?)",
              v));
  return id;
}

Result<void> BudgetRepo::DeleteReservation(std::string_view id) {
  const Value v[] = {std::string(id)};
  SL_RETURN_IF_ERROR(c_.Exec("DELETE FROM budget_reservations WHERE id = ?", v));
  return {};
}

Result<std::int64_t> BudgetRepo::DeleteExpiredReservations(Millis now) {
  const Value v[] = {now};
  return c_.Exec("DELETE FROM budget_reservations WHERE expires_at <= ?", v);
}

Result<bool> BudgetRepo::MarkAlert(std::string_view scope, std::string_view period,
                                   std::string_view kind, Millis now) {
  const Value v[] = {std::string(scope), std::string(period), std::string(kind), now};
  SL_ASSIGN_OR_RETURN(std::int64_t n,
                      c_.Exec("INSERT INTO budget_alerts (scope, period, kind, created_at) "
                              "VALUES (?, ?, ?, ?) ON CONFLICT (scope, period, kind) DO NOTHING",
                              v));
  return n > 0;
}

}  // namespace storyloom
