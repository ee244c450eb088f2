// storyloom users budget NAME [USD] [--soft USD] [--clear] [--json]: a user's monthly budget.
#include <fmt/format.h>

#include <algorithm>
#include <nlohmann/json.hpp>

#include "api/admin_views.h"
#include "cli/commands.h"
#include "cli/output.h"
#include "engine/pricing.h"
#include "engine/usage_recorder.h"

namespace storyloom::cli {
namespace {

struct BudgetFlags {
  std::string name;
  std::string hard;
  std::string soft;
  bool clear = false;
  bool json = false;
};

std::string Usd(const std::optional<NanoUsd>& v) {
  return v ? "$" + engine::FormatNanoUsd(*v) : std::string("none");
}

int Budget(const GlobalFlags& flags, const BudgetFlags& bf) {
  return WithStore(flags, /*migrate=*/true, [&](Store& store) {
    BudgetLimits next;
    if (!bf.hard.empty()) {
      auto v = engine::ParseUsdNano(bf.hard);
      if (!v) return Die(v.error().message, 2);
      next.hard_nusd = *v;
    }
    if (!bf.soft.empty()) {
      auto v = engine::ParseUsdNano(bf.soft);
      if (!v) return Die(v.error().message, 2);
      next.soft_nusd = *v;
    }
    const bool change = bf.clear || !bf.hard.empty() || !bf.soft.empty();
    BudgetLimits shown;
    User user;
    auto r = store.Write([&](StoreTx& tx) -> Result<void> {
      SL_ASSIGN_OR_RETURN(User u, tx.users().FindByName(bf.name));
      user = u;
      SL_ASSIGN_OR_RETURN(BudgetLimits cur, tx.budgets().GetLimits(u.id));
      shown = cur;
      if (!change) return {};
      if (!bf.clear) {
        if (!next.hard_nusd) next.hard_nusd = cur.hard_nusd;
        if (!next.soft_nusd) next.soft_nusd = cur.soft_nusd;
      }
      SL_RETURN_IF_ERROR(tx.budgets().SetLimits(u.id, next));
      shown = next;
      AuditEntry a;
      a.action = "user.budget";
      a.target = u.username;
      a.detail_json = fmt::format(R"({{"monthly_nusd":{},"soft_nusd":{}}})",
                                  next.hard_nusd ? std::to_string(*next.hard_nusd) : "null",
                                  next.soft_nusd ? std::to_string(*next.soft_nusd) : "null");
      return tx.audit().Append(a);
    });
    if (!r) return Die(r.error().message);
    if (bf.json) {
      // GET /api/v1/budgets's user item: the limits and the month to date.
      auto st = engine::UsageRecorder(store).Status(user.id);
      if (!st) return Die(st.error().message);
      PrintJson(api::UserBudgetJson(user, *st));
      return 0;
    }
    std::printf("%s: monthly budget %s, soft limit %s\n", bf.name.c_str(),
                Usd(shown.hard_nusd).c_str(), Usd(shown.soft_nusd).c_str());
    return 0;
  });
}

}  // namespace

void AddBudgetCommand(CLI::App& app, GlobalFlags& flags, Action& action) {
  static BudgetFlags bf;
  // Lives under `users`, registered by users_cmd.cc; created here if it is not (yet).
  CLI::App* users = nullptr;
  try {
    users = app.get_subcommand("users");
  } catch (const CLI::OptionNotFound&) {
    users = app.add_subcommand("users", "Manage user accounts");
  }
  CLI::App* budget = users->add_subcommand(
      "budget", "Show or set a user's monthly budget in USD (hard limit; --soft for a warning)");
  budget->add_option("name", bf.name, "username")->required();
  budget->add_option("usd", bf.hard, "monthly hard limit in USD");
  budget->add_option("--soft", bf.soft, "monthly soft limit in USD (a warning event)");
  budget->add_flag("--clear", bf.clear, "remove the limits not given");
  AddJsonFlag(budget, bf.json);
  budget->callback([&] { action = [&] { return Budget(flags, bf); }; });
}

}  // namespace storyloom::cli
