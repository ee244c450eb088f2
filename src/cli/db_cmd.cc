// storyloom db migrate | status [--json] | check [--json]
#include <fmt/format.h>

#include <cstdio>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "cli/commands.h"
#include "cli/output.h"
#include "core/clock.h"
#include "core/durable_dirs.h"
#include "db/database.h"
#include "db/migrations.h"
#include "db/url.h"

namespace storyloom::cli {
namespace {

int Migrate(const GlobalFlags& flags) {
  const core::Config config = LoadConfigAndLogging(flags);
  if (auto made = core::MakeDirsDurable(config.data_dir); !made) return Die(made.error().message);
  auto db = db::Open(config.DatabaseUrl());
  if (!db) return Die(db.error().message);
  db::MigrateOptions mo;
  mo.backup_dir = config.BackupsDir();
  mo.on_apply = [](const db::Migration& m) {
    std::printf("applying %04d_%s\n", m.version, m.name.c_str());
  };
  auto report = db::Migrate(**db, mo);
  if (!report) return Die(report.error().message);
  if (!report->backup_path.empty())
    std::printf("backed up the database to %s first\n", report->backup_path.c_str());
  if (report->applied.empty()) {
    std::printf("the database is up to date (version %d)\n", report->status.current_version);
  } else {
    std::printf("migrated to version %d (%zu applied)\n", report->status.current_version,
                report->applied.size());
  }
  return 0;
}

// What `db status` shows, as one JSON object (`db status --json` prints it as it is):
// database and schema always; for SQLite also size, fragmentation, quick_check, row counts,
// the last backup and the WAL.
Result<nlohmann::json> StatusJson(const core::Config& config, db::Database& db) {
  using nlohmann::json;
  json out = {{"database", db.display_url()}};
  SL_ASSIGN_OR_RETURN(auto st, db::GetMigrationStatus(db));
  json pending = json::array();
  for (const auto& m : st.pending) pending.push_back({{"version", m.version}, {"name", m.name}});
  out["schema_version"] = st.current_version;
  out["latest_version"] = st.latest_version;
  out["pending_migrations"] = pending;
  if (!db.capabilities().embedded || st.current_version == 0) return out;
  SL_RETURN_IF_ERROR(db.Read([&](db::Connection& c) -> Result<void> {
    SL_ASSIGN_OR_RETURN(auto pages, c.QueryOne("PRAGMA page_count"));
    SL_ASSIGN_OR_RETURN(auto size, c.QueryOne("PRAGMA page_size"));
    SL_ASSIGN_OR_RETURN(auto freelist, c.QueryOne("PRAGMA freelist_count"));
    out["page_count"] = pages.Int(0);
    out["page_size"] = size.Int(0);
    out["size_bytes"] = pages.Int(0) * size.Int(0);
    out["free_pages"] = freelist.Int(0);
    // quick_check: integrity_check without the index cross-checks, fast enough for status.
    SL_ASSIGN_OR_RETURN(auto quick, c.Query("PRAGMA quick_check"));
    json problems = json::array();
    for (const auto& row : quick) {
      if (row.Text(0) != "ok") problems.push_back(row.Text(0));
    }
    out["quick_check"] = {{"ok", problems.empty()}, {"problems", problems}};
    SL_ASSIGN_OR_RETURN(auto wf, c.QueryOne("SELECT count(*) FROM workflows"));
    SL_ASSIGN_OR_RETURN(
        auto files,
        c.QueryOne("SELECT count(*), coalesce(sum(file_size), 0) FROM generated_files"));
    SL_ASSIGN_OR_RETURN(auto usage, c.QueryOne("SELECT count(*) FROM api_usage"));
    out["workflows"] = wf.Int(0);
    out["files"] = files.Int(0);
    out["file_bytes"] = files.Int(1);
    out["usage_rows"] = usage.Int(0);
    SL_ASSIGN_OR_RETURN(auto last, c.QueryOpt("SELECT created_at, path FROM backups WHERE status "
                                              "= 'ok' ORDER BY created_at DESC LIMIT 1"));
    out["last_backup"] =
        last ? json{{"created_at", core::FormatRfc3339(last->Int(0))}, {"path", last->Text(1)}}
             : json(nullptr);
    return {};
  }));
  std::error_code ec;
  const std::string path =
      db::ParseDatabaseUrl(config.DatabaseUrl()).value_or(db::DatabaseUrl{}).sqlite_path;
  const auto wal = std::filesystem::file_size(path + "-wal", ec);
  out["wal_bytes"] = ec ? 0 : static_cast<std::int64_t>(wal);
  return out;
}

int Status(const GlobalFlags& flags, bool json) {
  return WithDatabase(flags, [&](const core::Config& config, db::Database& db) {
    auto got = StatusJson(config, db);
    if (!got) return Die(got.error().message);
    const nlohmann::json& s = *got;
    if (json) {
      PrintJson(s);
      return 0;
    }
    const auto num = [&](const char* key) {
      return static_cast<long long>(s[key].get<std::int64_t>());
    };
    std::printf("database       %s\n", s["database"].get<std::string>().c_str());
    std::printf(
        "schema         version %d of %d%s\n", s["schema_version"].get<int>(),
        s["latest_version"].get<int>(),
        s["pending_migrations"].empty() ? "" : " (migrations pending: run storyloom db migrate)");
    for (const auto& m : s["pending_migrations"]) {
      std::printf("  pending      %04d_%s\n", m["version"].get<int>(),
                  m["name"].get<std::string>().c_str());
    }
    if (!s.contains("size_bytes")) return 0;
    std::printf("size           %.1f MiB (%lld pages of %lld bytes)\n",
                static_cast<double>(num("size_bytes")) / 1048576.0, num("page_count"),
                num("page_size"));
    std::printf("free pages     %lld (%.1f%% fragmentation)\n", num("free_pages"),
                num("page_count") ? 100.0 * static_cast<double>(num("free_pages")) /
                                        static_cast<double>(num("page_count"))
                                  : 0.0);
    const auto& problems = s["quick_check"]["problems"];
    std::printf("integrity      %s\n", problems.empty()
                                           ? "ok (quick_check; db check runs the full one)"
                                           : fmt::format("{} problem(s): {}", problems.size(),
                                                         problems[0].get<std::string>())
                                                 .c_str());
    std::printf("workflows      %lld\n", num("workflows"));
    std::printf("files          %lld (%.1f MiB)\n", num("files"),
                static_cast<double>(num("file_bytes")) / 1048576.0);
    std::printf("usage rows     %lld\n", num("usage_rows"));
    if (s["last_backup"].is_object()) {
      std::printf("last backup    %s (%s)\n",
                  s["last_backup"]["created_at"].get<std::string>().c_str(),
                  s["last_backup"]["path"].get<std::string>().c_str());
    } else {
      std::printf("last backup    never\n");
    }
    std::printf("wal            %.1f MiB\n", static_cast<double>(num("wal_bytes")) / 1048576.0);
    return 0;
  });
}

// What `db check` found, as `db check --json` prints it: for SQLite the integrity_check
// and foreign_key_check findings, for PostgreSQL that the connection works; the migrations.
Result<nlohmann::json> CheckJson(db::Database& db) {
  using nlohmann::json;
  json out = json::object();
  SL_RETURN_IF_ERROR(db.Read([&](db::Connection& c) -> Result<void> {
    if (!db.capabilities().embedded) {
      SL_RETURN_IF_ERROR(c.Query("SELECT 1"));
      out["connection"] = "ok";
      return {};
    }
    SL_ASSIGN_OR_RETURN(auto integrity, c.Query("PRAGMA integrity_check"));
    json problems = json::array();
    for (const auto& row : integrity) {
      if (row.Text(0) != "ok") problems.push_back(row.Text(0));
    }
    out["integrity_check"] = problems;
    SL_ASSIGN_OR_RETURN(auto fks, c.Query("PRAGMA foreign_key_check"));
    json missing = json::array();
    for (const auto& row : fks) {
      missing.push_back({{"table", row.Text(0)}, {"rowid", row.Int(1)}, {"parent", row.Text(2)}});
    }
    out["foreign_key_check"] = missing;
    return {};
  }));
  std::size_t problems = out.value("integrity_check", json::array()).size() +
                         out.value("foreign_key_check", json::array()).size();
  auto st = db::GetMigrationStatus(db);
  if (!st) {
    ++problems;
    out["migrations"] = st.error().message;
  } else {
    out["migrations"] = st->pending.empty() ? "current" : "pending";
  }
  out["problems"] = problems;
  out["ok"] = problems == 0;
  return out;
}

int Check(const GlobalFlags& flags, bool json) {
  return WithDatabase(flags, [&](const core::Config&, db::Database& db) {
    auto got = CheckJson(db);
    if (!got) return Die(got.error().message);
    const nlohmann::json& c = *got;
    if (json) {
      PrintJson(c);
    } else if (c.contains("connection")) {
      std::printf("connection     ok\n");
    } else {
      for (const auto& p : c["integrity_check"]) {
        std::printf("integrity: %s\n", p.get<std::string>().c_str());
      }
      if (c["integrity_check"].empty()) std::printf("integrity_check    ok\n");
      for (const auto& f : c["foreign_key_check"]) {
        std::printf("foreign key: %s row %lld references missing %s\n",
                    f["table"].get<std::string>().c_str(),
                    static_cast<long long>(f["rowid"].get<std::int64_t>()),
                    f["parent"].get<std::string>().c_str());
      }
      if (c["foreign_key_check"].empty()) std::printf("foreign_key_check  ok\n");
    }
    const std::string migrations = c["migrations"].get<std::string>();
    if (!json) {
      if (migrations == "current" || migrations == "pending") {
        std::printf("migrations         %s\n", migrations.c_str());
      } else {
        std::printf("migrations: %s\n", migrations.c_str());
      }
    }
    const auto problems = c["problems"].get<std::size_t>();
    if (problems > 0) return Die(fmt::format("{} problem(s) found", problems));
    return 0;
  });
}

}  // namespace

void AddDbCommand(CLI::App& app, GlobalFlags& flags, Action& action) {
  CLI::App* db = app.add_subcommand("db", "Database: migrate, status, check");
  db->require_subcommand(1);
  db->add_subcommand("migrate", "Apply pending schema migrations (backs up SQLite first)")
      ->callback([&] { action = [&] { return Migrate(flags); }; });
  static bool status_json = false;
  CLI::App* status =
      db->add_subcommand("status", "Schema version, size, WAL, fragmentation, last backup");
  AddJsonFlag(status, status_json);
  status->callback([&] { action = [&] { return Status(flags, status_json); }; });
  static bool check_json = false;
  CLI::App* check = db->add_subcommand("check", "Run integrity_check and foreign_key_check");
  AddJsonFlag(check, check_json);
  check->callback([&] { action = [&] { return Check(flags, check_json); }; });
}

}  // namespace storyloom::cli
