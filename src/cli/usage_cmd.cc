// storyloom usage report [--from DATE] [--to DATE] [--by
// day|model|provider|operation|user|workflow] [--json]
#include <fmt/format.h>

#include <map>
#include <nlohmann/json.hpp>

#include "cli/commands.h"
#include "cli/output.h"
#include "core/clock.h"
#include "engine/pricing.h"

namespace storyloom::cli {
namespace {

struct UsageFlags {
  std::string from;
  std::string to;
  std::string by = "day";
  std::string user;
  std::string format = "table";
  bool json = false;  // --json: --format json
};

Result<Millis> ParseDate(const std::string& flag, const std::string& s) {
  auto t = core::ParseRfc3339(s);
  if (!t)
    return Fail(Error::InvalidArgument(flag + " must be a YYYY-MM-DD date or an RFC 3339 time"));
  return *t;
}

int Report(const GlobalFlags& flags, const UsageFlags& uf) {
  return WithStore(flags, /*migrate=*/false, [&](Store& store) {
    Millis from = 0, to = 0;
    if (!uf.from.empty()) {
      auto t = ParseDate("--from", uf.from);
      if (!t) return Die(t.error().message, 2);
      from = *t;
    }
    if (!uf.to.empty()) {
      auto t = ParseDate("--to", uf.to);
      if (!t) return Die(t.error().message, 2);
      to = *t;
    }
    std::string user_id;
    std::map<std::string, std::string> user_names;
    auto users = store.ReadOne<std::vector<User>>([](StoreTx& tx) { return tx.users().List(); });
    if (!users) return Die(users.error().message);
    for (const auto& u : *users) {
      user_names[u.id] = u.username;
      if (u.username == uf.user) user_id = u.id;
    }
    if (!uf.user.empty() && user_id.empty()) return Die("no user named " + uf.user);

    std::map<std::string, UsageTotals> groups;
    if (uf.by == "workflow") {
      auto rows = store.ReadOne<std::vector<WorkflowUsage>>(
          [&](StoreTx& tx) { return tx.usage().ByWorkflow(from, to, user_id); });
      if (!rows) return Die(rows.error().message);
      for (const auto& w : *rows) {
        groups[w.workflow_id.empty() ? "(none)" : w.workflow_id].Add(w);
      }
    } else {
      auto rows = store.ReadOne<std::vector<UsageDaily>>([&](StoreTx& tx) {
        return tx.usage().ListDaily(from ? core::FormatDay(from) : "",
                                    to ? core::FormatDay(to) : "", user_id);
      });
      if (!rows) return Die(rows.error().message);
      for (const auto& d : *rows) {
        std::string key =
            uf.by == "day"        ? d.day
            : uf.by == "model"    ? d.provider + "/" + d.model
            : uf.by == "provider" ? d.provider
            : uf.by == "operation"
                ? d.operation
                : (user_names.contains(d.user_id) ? user_names[d.user_id] : d.user_id);
        groups[key].Add(d);
      }
    }
    UsageTotals total;
    for (const auto& [k, t] : groups) total.Add(t);
    if (uf.json || uf.format == "json") {
      nlohmann::json items = nlohmann::json::array();
      // The CLI's row leaves out reasoning_tokens and audio_ms (the table has no room for them).
      auto row = [](const UsageTotals& t) {
        return nlohmann::json{{"calls", t.calls},
                              {"errors", t.errors},
                              {"input_tokens", t.input_tokens},
                              {"cached_input_tokens", t.cached_input_tokens},
                              {"output_tokens", t.output_tokens},
                              {"images", t.images},
                              {"characters", t.characters},
                              {"cost_nusd", t.cost_nusd},
                              {"cost_usd", engine::FormatNanoUsd(t.cost_nusd)},
                              {"unpriced_calls", t.unpriced_calls}};
      };
      for (const auto& [k, t] : groups) {
        auto j = row(t);
        j[uf.by] = k;
        items.push_back(std::move(j));
      }
      std::printf(
          "%s\n",
          nlohmann::json{{"by", uf.by}, {"items", items}, {"total", row(total)}}.dump(2).c_str());
      return 0;
    }
    const int w = uf.by == "workflow" ? 36 : 28;
    auto line = [&](const std::string& key, const UsageTotals& t) {
      std::printf(
          "%s\n",
          fmt::format("{:<{}} {:>7} {:>6} {:>11} {:>10} {:>10} {:>6} {:>9} {:>14} {:>8}", key, w,
                      t.calls, t.errors, t.input_tokens, t.cached_input_tokens, t.output_tokens,
                      t.images, t.characters, engine::FormatNanoUsd(t.cost_nusd), t.unpriced_calls)
              .c_str());
    };
    std::printf("%s\n",
                fmt::format("{:<{}} {:>7} {:>6} {:>11} {:>10} {:>10} {:>6} {:>9} {:>14} {:>8}",
                            fmt::format("{}", uf.by == "model" ? "PROVIDER/MODEL" : uf.by), w,
                            "CALLS", "ERRORS", "INPUT_TOK", "CACHED", "OUTPUT_TOK", "IMAGES",
                            "CHARS", "COST_USD", "UNPRICED")
                    .c_str());
    for (const auto& [k, t] : groups) line(k, t);
    line("TOTAL", total);
    if (total.unpriced_calls > 0) {
      std::printf(
          "%lld call(s) had no price and are not in COST_USD; see `storyloom prices list`\n",
          static_cast<long long>(total.unpriced_calls));
    }
    return 0;
  });
}

}  // namespace

void AddUsageCommand(CLI::App& app, GlobalFlags& flags, Action& action) {
  static UsageFlags uf;
  CLI::App* usage = app.add_subcommand("usage", "API usage and costs");
  usage->require_subcommand(1);
  CLI::App* report = usage->add_subcommand("report", "Print usage and cost totals as a table");
  report->add_option("--from", uf.from, "first day (YYYY-MM-DD, UTC)");
  report->add_option("--to", uf.to, "end day, exclusive (YYYY-MM-DD, UTC)");
  report->add_option("--by", uf.by, "group by day, model, provider, operation, user or workflow")
      ->check(CLI::IsMember({"day", "model", "provider", "operation", "user", "workflow"}));
  report->add_option("--user", uf.user, "only this user's usage");
  CLI::Option* format = report->add_option("--format", uf.format, "table or json")
                            ->check(CLI::IsMember({"table", "json"}));
  AddJsonFlag(report, uf.json)->excludes(format);
  report->callback([&] { action = [&] { return Report(flags, uf); }; });
  AddUsageCallsCommand(usage, flags, action);
}

}  // namespace storyloom::cli
