// storyloom db migrate | status [--json] | check [--json]
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <cstdio>
#include <nlohmann/json.hpp>

#include "api/db_health_views.h"
#include "cli/commands.h"
#include "cli/output.h"
#include "core/durable_dirs.h"
#include "db/database.h"
#include "db/migrations.h"
#include "ops/db_health.h"

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

// Opens the database without the schema check (db status and db check describe a database
// whatever its migrations), and the names of its pending migrations.
struct OpenedDatabase {
  std::unique_ptr<Store> store;
  nlohmann::json pending = nlohmann::json::array();
};

Result<OpenedDatabase> OpenForHealth(const core::Config& config) {
  SL_ASSIGN_OR_RETURN(auto database, db::Open(config.DatabaseUrl()));
  OpenedDatabase out;
  SL_ASSIGN_OR_RETURN(auto st, db::GetMigrationStatus(*database));
  for (const auto& m : st.pending) {
    out.pending.push_back({{"version", m.version}, {"name", m.name}});
  }
  out.store = std::make_unique<Store>(std::move(database));
  return out;
}

std::string Mib(std::int64_t bytes) {
  return fmt::format("{:.1f} MiB", static_cast<double>(bytes) / 1048576.0);
}

std::string TimeOrNever(const nlohmann::json& t) {
  return t.is_string() ? t.get<std::string>() : std::string("never");
}

void PrintSqliteStatus(const nlohmann::json& s) {
  const auto num = [&](const char* key) { return s[key].get<std::int64_t>(); };
  std::printf("size           %s (%lld pages of %lld bytes)\n", Mib(num("size_bytes")).c_str(),
              static_cast<long long>(num("page_count")), static_cast<long long>(num("page_size")));
  std::printf(
      "free pages     %lld (%.1f%% fragmentation)\n", static_cast<long long>(num("free_pages")),
      num("page_count")
          ? 100.0 * static_cast<double>(num("free_pages")) / static_cast<double>(num("page_count"))
          : 0.0);
  const auto& problems = s["quick_check"]["problems"];
  std::printf("integrity      %s\n", problems.empty()
                                         ? "ok (quick_check; db check runs the full one)"
                                         : fmt::format("{} problem(s): {}", problems.size(),
                                                       problems[0].get<std::string>())
                                               .c_str());
  std::printf("workflows      %lld\n", static_cast<long long>(num("workflows")));
  std::printf("files          %lld (%s)\n", static_cast<long long>(num("files")),
              Mib(num("file_bytes")).c_str());
  std::printf("usage rows     %lld\n", static_cast<long long>(num("usage_rows")));
}

void PrintPostgresStatus(const nlohmann::json& s) {
  std::printf("size           %s\n", Mib(s["size_bytes"].get<std::int64_t>()).c_str());
  const auto& conns = s["connections"];
  std::string states;
  for (const auto& [state, n] : conns["by_state"].items()) {
    states += fmt::format("{}{} {}", states.empty() ? "" : ", ", n.get<std::int64_t>(), state);
  }
  std::printf("connections    %lld of %lld (%s)\n",
              static_cast<long long>(conns["total"].get<std::int64_t>()),
              static_cast<long long>(conns["max"].get<std::int64_t>()), states.c_str());
  if (s["replication"]["in_recovery"].get<bool>()) std::printf("replication    a standby\n");
  for (const auto& r : s["replication"]["replicas"]) {
    std::printf("replica        %s %s %s (%s)\n", r["application"].get<std::string>().c_str(),
                r["client_addr"].get<std::string>().c_str(), r["state"].get<std::string>().c_str(),
                r["sync_state"].get<std::string>().c_str());
  }
  const auto& long_tx = s["long_transactions"];
  std::printf("long transactions (open more than %llds): %zu\n",
              static_cast<long long>(long_tx["threshold_ms"].get<std::int64_t>() / 1000),
              long_tx["items"].size());
  for (const auto& t : long_tx["items"]) {
    std::printf("  pid %lld  %s  %llds  %s\n", static_cast<long long>(t["pid"].get<std::int64_t>()),
                t["state"].get<std::string>().c_str(),
                static_cast<long long>(t["age_ms"].get<std::int64_t>() / 1000),
                t["query"].get<std::string>().c_str());
  }
  std::printf("%-24s %12s %11s %11s %10s  %s\n", "table", "rows (est.)", "table", "indexes",
              "dead rows", "last vacuum / autovacuum");
  for (const auto& t : s["tables"]) {
    std::printf("%-24s %12lld %11s %11s %10lld  %s / %s\n", t["name"].get<std::string>().c_str(),
                static_cast<long long>(t["rows_estimate"].get<std::int64_t>()),
                Mib(t["table_bytes"].get<std::int64_t>()).c_str(),
                Mib(t["index_bytes"].get<std::int64_t>()).c_str(),
                static_cast<long long>(t["dead_rows"].get<std::int64_t>()),
                TimeOrNever(t["last_vacuum"]).c_str(), TimeOrNever(t["last_autovacuum"]).c_str());
  }
}

int Status(const GlobalFlags& flags, bool json, int long_transaction_seconds) {
  const core::Config config = LoadConfigAndLogging(flags);
  auto opened = OpenForHealth(config);
  if (!opened) return Die(opened.error().message);
  HealthOptions o;
  o.long_transaction_ms = Millis{long_transaction_seconds} * 1000;
  auto report = ops::CollectDbStatus(*opened->store, o);
  if (!report) return Die(report.error().message);
  nlohmann::json s = api::DbStatusJson(*report);
  s["pending_migrations"] = opened->pending;
  if (json) {
    PrintJson(s);
    return 0;
  }
  std::printf(
      "database       %s (%s%s)\n", s["database"].get<std::string>().c_str(),
      s["backend"].get<std::string>().c_str(),
      s.contains("server_version") ? (" " + s["server_version"].get<std::string>()).c_str() : "");
  std::printf(
      "schema         version %d of %d%s\n", s["schema_version"].get<int>(),
      s["latest_version"].get<int>(),
      s["pending_migrations"].empty() ? "" : " (migrations pending: run storyloom db migrate)");
  for (const auto& m : s["pending_migrations"]) {
    std::printf("  pending      %04d_%s\n", m["version"].get<int>(),
                m["name"].get<std::string>().c_str());
  }
  if (!s.contains("size_bytes")) return 0;
  if (report->backend == "sqlite") {
    PrintSqliteStatus(s);
  } else {
    PrintPostgresStatus(s);
  }
  if (s["last_backup"].is_object()) {
    std::printf("last backup    %s (%s)\n",
                s["last_backup"]["created_at"].get<std::string>().c_str(),
                s["last_backup"]["path"].get<std::string>().c_str());
  } else {
    std::printf("last backup    never\n");
  }
  if (s.contains("wal_bytes")) {
    std::printf("wal            %s\n", Mib(s["wal_bytes"].get<std::int64_t>()).c_str());
  }
  return 0;
}

void PrintCheck(const nlohmann::json& c) {
  if (c.contains("integrity_check")) {
    for (const auto& p : c["integrity_check"]) {
      std::printf("integrity: %s\n", p.get<std::string>().c_str());
    }
    if (c["integrity_check"].empty()) std::printf("integrity_check    ok\n");
  }
  if (c.contains("foreign_key_check")) {
    for (const auto& f : c["foreign_key_check"]) {
      std::printf("foreign key: %s row %lld references missing %s\n",
                  f["table"].get<std::string>().c_str(),
                  static_cast<long long>(f["rowid"].get<std::int64_t>()),
                  f["parent"].get<std::string>().c_str());
    }
    if (c["foreign_key_check"].empty()) std::printf("foreign_key_check  ok\n");
  }
  if (c.contains("amcheck")) {
    const auto& a = c["amcheck"];
    const std::string message = a["message"].get<std::string>();
    if (a["status"] == "ok") {
      for (const auto& p : a["problems"]) {
        std::printf("amcheck: index %s on %s: %s\n", p["index"].get<std::string>().c_str(),
                    p["table"].get<std::string>().c_str(), p["message"].get<std::string>().c_str());
      }
      std::printf("amcheck            %s (%lld indexes checked%s)\n",
                  a["problems"].empty() ? "ok" : "problems",
                  static_cast<long long>(a["indexes_checked"].get<std::int64_t>()),
                  message.empty() ? "" : ("; " + message).c_str());
    } else {
      std::printf("amcheck            skipped: %s\n", message.c_str());
    }
  }
  if (c.contains("constraints")) {
    for (const auto& p : c["constraints"]) std::printf("%s\n", p.get<std::string>().c_str());
    if (c["constraints"].empty()) std::printf("constraints        ok\n");
  }
  const std::string migrations = c["migrations"].get<std::string>();
  if (migrations == "current" || migrations == "pending") {
    std::printf("migrations         %s\n", migrations.c_str());
  } else {
    std::printf("migrations: %s\n", migrations.c_str());
  }
}

int Check(const GlobalFlags& flags, bool json) {
  const core::Config config = LoadConfigAndLogging(flags);
  auto opened = OpenForHealth(config);
  if (!opened) return Die(opened.error().message);
  Store& store = *opened->store;
  auto report = ops::RunDbCheck(store, {});
  if (!report) return Die(report.error().message);
  const nlohmann::json c = api::DbCheckJson(*report);
  // The admin view shows the last check, whoever ran it; best effort (the database may be
  // what is broken, or not yet migrated).
  AuditEntry e;
  e.action = "db.check";
  e.detail_json = c.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  if (auto r = store.Write([&](StoreTx& tx) { return tx.audit().Append(e); }); !r) {
    spdlog::debug("could not record the check in the audit log: {}", r.error().message);
  }
  if (json) {
    PrintJson(c);
  } else {
    PrintCheck(c);
  }
  if (!report->ok()) return Die(fmt::format("{} problem(s) found", report->problems()));
  return 0;
}

}  // namespace

void AddDbCommand(CLI::App& app, GlobalFlags& flags, Action& action) {
  CLI::App* db = app.add_subcommand("db", "Database: migrate, status, check");
  db->require_subcommand(1);
  db->add_subcommand("migrate", "Apply pending schema migrations (backs up SQLite first)")
      ->callback([&] { action = [&] { return Migrate(flags); }; });
  static bool status_json = false;
  static int long_transaction_seconds = 60;
  CLI::App* status = db->add_subcommand(
      "status",
      "Schema, size, last backup; SQLite: WAL, fragmentation; PostgreSQL: tables, dead rows, "
      "vacuums, connections, long transactions");
  AddJsonFlag(status, status_json);
  status
      ->add_option("--long-transaction-seconds", long_transaction_seconds,
                   "PostgreSQL: list transactions open longer than this (default 60)")
      ->check(CLI::Range(1, 86400));
  status->callback(
      [&] { action = [&] { return Status(flags, status_json, long_transaction_seconds); }; });
  static bool check_json = false;
  CLI::App* check = db->add_subcommand(
      "check",
      "SQLite: integrity_check, foreign_key_check; PostgreSQL: amcheck on every index, "
      "invalid indexes and constraints");
  AddJsonFlag(check, check_json);
  check->callback([&] { action = [&] { return Check(flags, check_json); }; });
}

}  // namespace storyloom::cli
