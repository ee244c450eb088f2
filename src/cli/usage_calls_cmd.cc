// storyloom usage calls [--workflow ID] [--user NAME] [--provider P] [--model M]
// [--operation chat|image|speech] [--status ok|error] [--from DATE] [--to DATE] [--limit N]
// [--cursor C] [--json | --csv]: provider calls one by one, newest first.
#include <fmt/format.h>

#include <nlohmann/json.hpp>

#include "api/json_views.h"
#include "cli/commands.h"
#include "cli/output.h"
#include "core/clock.h"
#include "engine/pricing.h"

namespace storyloom::cli {
namespace {

struct CallsFlags {
  std::string workflow, user, provider, model, operation, status, from, to, cursor;
  int limit = 50;
  bool json = false;
  bool csv = false;
};

// One CSV cell (RFC 4180), with a leading quote on what a spreadsheet would run as a formula.
std::string CsvCell(const std::string& s) {
  const bool formula = !s.empty() && (s[0] == '=' || s[0] == '+' || s[0] == '-' || s[0] == '@');
  if (!formula && s.find_first_of(",\"\r\n") == std::string::npos) return s;
  std::string q = formula ? "\"'" : "\"";
  for (char c : s) {
    if (c == '"') q += '"';
    q += c;
  }
  return q + "\"";
}

void PrintCsv(const Page<ApiUsage>& page) {
  std::string out =
      "id,created_at,workflow_id,user_id,phase,provider,model,operation,status,attempt,"
      "duration_ms,input_tokens,output_tokens,images,characters,cost_usd,priced,error_code,"
      "http_status\n";
  for (const auto& u : page.items) {
    out += fmt::format(
        "{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{}\n", u.id,
        core::FormatRfc3339(u.created_at), u.workflow_id, u.user_id, CsvCell(u.phase),
        CsvCell(u.provider), CsvCell(u.model), u.operation, u.status, u.attempt, u.duration_ms,
        u.input_tokens, u.output_tokens, u.images, u.characters,
        u.cost_nusd ? engine::FormatNanoUsd(*u.cost_nusd) : "", u.cost_nusd ? "true" : "false",
        CsvCell(u.error_code), u.http_status ? std::to_string(*u.http_status) : "");
  }
  std::fputs(out.c_str(), stdout);
}

void PrintTable(const Page<ApiUsage>& page) {
  const auto line = [](auto&&... cols) {
    std::printf("%s\n", fmt::format("{:<24} {:<30} {:<9} {:<6} {:>3} {:>9} {:>9} {:>9} {:>6} "
                                    "{:>9} {:>12} {}",
                                    cols...)
                            .c_str());
  };
  line("CREATED_AT", "PROVIDER/MODEL", "OPERATION", "STATUS", "TRY", "MS", "IN_TOK", "OUT_TOK",
       "IMAGES", "CHARS", "COST_USD", "ERROR");
  for (const auto& u : page.items) {
    std::string error = u.error_code;
    if (u.http_status && *u.http_status >= 400) {
      error += (error.empty() ? "" : " ") + fmt::format("(HTTP {})", *u.http_status);
    }
    line(core::FormatRfc3339(u.created_at), u.provider + "/" + u.model, u.operation, u.status,
         u.attempt, u.duration_ms, u.input_tokens, u.output_tokens, u.images, u.characters,
         u.cost_nusd ? engine::FormatNanoUsd(*u.cost_nusd) : "unpriced", error);
  }
  if (!page.next_cursor.empty()) {
    std::printf("more: add --cursor %s\n", page.next_cursor.c_str());
  }
}

Result<Millis> ParseTime(const std::string& flag, const std::string& s) {
  auto t = core::ParseRfc3339(s);
  if (!t)
    return Fail(Error::InvalidArgument(flag + " must be a YYYY-MM-DD date or an RFC 3339 time"));
  return *t;
}

int Calls(const GlobalFlags& flags, const CallsFlags& cf) {
  UsageCallFilter f;
  f.workflow_id = cf.workflow;
  f.provider = cf.provider;
  f.model = cf.model;
  f.operation = cf.operation;
  f.status = cf.status;
  f.limit = cf.limit;
  f.cursor = cf.cursor;
  for (auto [flag, text, out] :
       {std::tuple{"--from", &cf.from, &f.from}, std::tuple{"--to", &cf.to, &f.to}}) {
    if (text->empty()) continue;
    auto t = ParseTime(flag, *text);
    if (!t) return Die(t.error().message, 2);
    *out = *t;
  }
  if (f.from > 0 && f.to > 0 && f.from >= f.to) return Die("--from must be before --to", 2);
  return WithStore(flags, /*migrate=*/false, [&](Store& store) {
    if (!cf.user.empty()) {
      auto u = store.ReadOne<User>([&](StoreTx& tx) { return tx.users().FindByName(cf.user); });
      if (!u) return Die("no user named " + cf.user);
      f.user_id = u->id;
    }
    auto page = store.ReadOne<Page<ApiUsage>>([&](StoreTx& tx) { return tx.usage().ListCalls(f); });
    if (!page) return Die(page.error().message);
    if (cf.json) {
      nlohmann::json items = nlohmann::json::array();
      for (const auto& u : page->items) items.push_back(api::UsageCallJson(u));
      PrintJson({{"items", items},
                 {"next_cursor", page->next_cursor.empty() ? nlohmann::json(nullptr)
                                                           : nlohmann::json(page->next_cursor)}});
    } else if (cf.csv) {
      PrintCsv(*page);
    } else {
      PrintTable(*page);
    }
    return 0;
  });
}

}  // namespace

void AddUsageCallsCommand(CLI::App* usage, GlobalFlags& flags, Action& action) {
  static CallsFlags cf;
  CLI::App* cmd =
      usage->add_subcommand("calls", "List provider calls one by one, newest first (a page)");
  cmd->add_option("--workflow", cf.workflow, "only this workflow's calls (its id)");
  cmd->add_option("--user", cf.user, "only this user's calls (a username)");
  cmd->add_option("--provider", cf.provider, "only this provider's calls");
  cmd->add_option("--model", cf.model, "only this model's calls");
  cmd->add_option("--operation", cf.operation, "chat, image or speech")
      ->check(CLI::IsMember({"chat", "image", "speech"}));
  cmd->add_option("--status", cf.status, "ok or error")->check(CLI::IsMember({"ok", "error"}));
  cmd->add_option("--from", cf.from, "first time (YYYY-MM-DD or RFC 3339, UTC)");
  cmd->add_option("--to", cf.to, "end time, exclusive (YYYY-MM-DD or RFC 3339, UTC)");
  cmd->add_option("--limit", cf.limit, "calls per page (1-200, default 50)")
      ->check(CLI::Range(1, 200));
  cmd->add_option("--cursor", cf.cursor, "the next page, as the previous one printed it");
  CLI::Option* json = AddJsonFlag(cmd, cf.json);
  cmd->add_flag("--csv", cf.csv, "print CSV (one header line, one line per call)")->excludes(json);
  cmd->callback([&] { action = [&] { return Calls(flags, cf); }; });
}

}  // namespace storyloom::cli
