// storyloom usage report [--from DATE] [--to DATE] [--by
// day|model|provider|operation|user|workflow]
#include <fmt/format.h>

#include <map>
#include <nlohmann/json.hpp>

#include "cli/commands.h"
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
};

struct Totals {
  std::int64_t calls = 0, errors = 0, input = 0, cached = 0, output = 0, images = 0, chars = 0,
               unpriced = 0;
  NanoUsd cost = 0;
  void Add(const Totals& o) {
    calls += o.calls;
    errors += o.errors;
    input += o.input;
    cached += o.cached;
    output += o.output;
    images += o.images;
    chars += o.chars;
    unpriced += o.unpriced;
    cost += o.cost;
  }
};

Result<Millis> ParseDate(const std::string& flag, const std::string& s) {
  auto t = core::ParseRfc3339(s);
  if (!t)
    return Fail(Error::InvalidArgument(flag + " must be a YYYY-MM-DD date or an RFC 3339 time"));
  return *t;
}

int Report(const GlobalFlags& flags, const UsageFlags& uf) {
  core::Config config = LoadConfigOrExit(flags);
  SetupLogging(config);
  auto store = OpenStore(config, /*migrate=*/false);
  if (!store) return Die(store.error().message);
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
  auto users = (*store)->ReadOne<std::vector<User>>([](StoreTx& tx) { return tx.users().List(); });
  if (!users) return Die(users.error().message);
  for (const auto& u : *users) {
    user_names[u.id] = u.username;
    if (u.username == uf.user) user_id = u.id;
  }
  if (!uf.user.empty() && user_id.empty()) return Die("no user named " + uf.user);

  std::map<std::string, Totals> groups;
  if (uf.by == "workflow") {
    auto rows = (*store)->ReadOne<std::vector<WorkflowUsage>>(
        [&](StoreTx& tx) { return tx.usage().ByWorkflow(from, to, user_id); });
    if (!rows) return Die(rows.error().message);
    for (const auto& w : *rows) {
      groups[w.workflow_id.empty() ? "(none)" : w.workflow_id].Add(
          {w.calls, w.errors, w.input_tokens, w.cached_input_tokens, w.output_tokens, w.images,
           w.characters, w.unpriced_calls, w.cost_nusd});
    }
  } else {
    auto rows = (*store)->ReadOne<std::vector<UsageDaily>>([&](StoreTx& tx) {
      return tx.usage().ListDaily(from ? core::FormatDay(from) : "", to ? core::FormatDay(to) : "",
                                  user_id);
    });
    if (!rows) return Die(rows.error().message);
    for (const auto& d : *rows) {
      std::string key = uf.by == "day"        ? d.day
                        : uf.by == "model"    ? d.provider + "/" + d.model
                        : uf.by == "provider" ? d.provider
                        : uf.by == "operation"
                            ? d.operation
                            : (user_names.contains(d.user_id) ? user_names[d.user_id] : d.user_id);
      groups[key].Add({d.calls, d.errors, d.input_tokens, d.cached_input_tokens, d.output_tokens,
                       d.images, d.characters, d.unpriced_calls, d.cost_nusd});
    }
  }
  Totals total;
  for (const auto& [k, t] : groups) total.Add(t);
  if (uf.format == "json") {
    nlohmann::json items = nlohmann::json::array();
    auto row = [](const Totals& t) {
      return nlohmann::json{{"calls", t.calls},
                            {"errors", t.errors},
                            {"input_tokens", t.input},
                            {"cached_input_tokens", t.cached},
                            {"output_tokens", t.output},
                            {"images", t.images},
                            {"characters", t.chars},
                            {"cost_nusd", t.cost},
                            {"cost_usd", engine::FormatNanoUsd(t.cost)},
                            {"unpriced_calls", t.unpriced}};
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
  auto line = [&](const std::string& key, const Totals& t) {
    std::printf("%s\n",
                fmt::format("{:<{}} {:>7} {:>6} {:>11} {:>10} {:>10} {:>6} {:>9} {:>14} {:>8}", key,
                            w, t.calls, t.errors, t.input, t.cached, t.output, t.images, t.chars,
                            engine::FormatNanoUsd(t.cost), t.unpriced)
                    .c_str());
  };
  std::printf("%s\n",
              fmt::format("{:<{}} {:>7} {:>6} {:>11} {:>10} {:>10} {:>6} {:>9} {:>14} {:>8}",
                          fmt::format("{}", uf.by == "model" ? "PROVIDER/MODEL" : uf.by), w,
                          "CALLS", "ERRORS", "INPUT_TOK", "CACHED", "OUTPUT_TOK", "IMAGES", "CHARS",
                          "COST_USD", "UNPRICED")
                  .c_str());
  for (const auto& [k, t] : groups) line(k, t);
  line("TOTAL", total);
  if (total.unpriced > 0) {
    std::printf("%lld call(s) had no price and are not in COST_USD; see `storyloom prices list`\n",
                static_cast<long long>(total.unpriced));
  }
  return 0;
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
  report->add_option("--format", uf.format, "table or json")
      ->check(CLI::IsMember({"table", "json"}));
  report->callback([&] { action = [&] { return Report(flags, uf); }; });
}

}  // namespace storyloom::cli
