// storyloom db migrate | status | check
#include <fmt/format.h>

#include <cstdio>
#include <filesystem>

#include "cli/commands.h"
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

int Status(const GlobalFlags& flags) {
  return WithDatabase(flags, [&](const core::Config& config, db::Database& db) {
    std::printf("database       %s\n", db.display_url().c_str());
    auto st = db::GetMigrationStatus(db);
    if (!st) return Die(st.error().message);
    std::printf("schema         version %d of %d%s\n", st->current_version, st->latest_version,
                st->pending.empty() ? "" : " (migrations pending: run storyloom db migrate)");
    for (const auto& m : st->pending)
      std::printf("  pending      %04d_%s\n", m.version, m.name.c_str());
    if (db.capabilities().embedded && st->current_version > 0) {
      auto r = db.Read([&](db::Connection& c) -> Result<void> {
        SL_ASSIGN_OR_RETURN(auto pages, c.QueryOne("PRAGMA page_count"));
        SL_ASSIGN_OR_RETURN(auto size, c.QueryOne("PRAGMA page_size"));
        SL_ASSIGN_OR_RETURN(auto freelist, c.QueryOne("PRAGMA freelist_count"));
        const double total = static_cast<double>(pages.Int(0)) * static_cast<double>(size.Int(0));
        std::printf("size           %.1f MiB (%lld pages of %lld bytes)\n", total / 1048576.0,
                    static_cast<long long>(pages.Int(0)), static_cast<long long>(size.Int(0)));
        std::printf("free pages     %lld (%.1f%% fragmentation)\n",
                    static_cast<long long>(freelist.Int(0)),
                    pages.Int(0) ? 100.0 * freelist.Int(0) / pages.Int(0) : 0.0);
        // quick_check: integrity_check without the index cross-checks, fast enough for status.
        SL_ASSIGN_OR_RETURN(auto quick, c.Query("PRAGMA quick_check"));
        const bool sound = quick.size() == 1 && quick[0].Text(0) == "ok";
        std::printf("integrity      %s\n",
                    sound
                        ? "ok (quick_check; db check runs the full one)"
                        : fmt::format("{} problem(s): {}", quick.size(), quick[0].Text(0)).c_str());
        SL_ASSIGN_OR_RETURN(auto wf, c.QueryOne("SELECT count(*) FROM workflows"));
        SL_ASSIGN_OR_RETURN(
            auto files,
            c.QueryOne("SELECT count(*), coalesce(sum(file_size), 0) FROM generated_files"));
        SL_ASSIGN_OR_RETURN(auto usage, c.QueryOne("SELECT count(*) FROM api_usage"));
        std::printf("workflows      %lld\n", static_cast<long long>(wf.Int(0)));
        std::printf("files          %lld (%.1f MiB)\n", static_cast<long long>(files.Int(0)),
                    files.Int(1) / 1048576.0);
        std::printf("usage rows     %lld\n", static_cast<long long>(usage.Int(0)));
        SL_ASSIGN_OR_RETURN(auto last,
                            c.QueryOpt("SELECT created_at, path FROM backups WHERE status "
                                       "= 'ok' ORDER BY created_at DESC LIMIT 1"));
        if (last) {
          std::printf("last backup    %s (%s)\n", core::FormatRfc3339(last->Int(0)).c_str(),
                      last->Text(1).c_str());
        } else {
          std::printf("last backup    never\n");
        }
        return {};
      });
      if (!r) return Die(r.error().message);
      std::error_code ec;
      const std::string path =
          db::ParseDatabaseUrl(config.DatabaseUrl()).value_or(db::DatabaseUrl{}).sqlite_path;
      const auto wal = std::filesystem::file_size(path + "-wal", ec);
      std::printf("wal            %.1f MiB\n", ec ? 0.0 : wal / 1048576.0);
    }
    return 0;
  });
}

int Check(const GlobalFlags& flags) {
  return WithDatabase(flags, [&](const core::Config&, db::Database& db) {
    int problems = 0;
    auto r = db.Read([&](db::Connection& c) -> Result<void> {
      if (!db.capabilities().embedded) {
        SL_RETURN_IF_ERROR(c.Query("SELECT 1"));
        std::printf("connection     ok\n");
        return {};
      }
      SL_ASSIGN_OR_RETURN(auto integrity, c.Query("PRAGMA integrity_check"));
      for (const auto& row : integrity) {
        if (row.Text(0) != "ok") {
          ++problems;
          std::printf("integrity: %s\n", row.Text(0).c_str());
        }
      }
      if (problems == 0) std::printf("integrity_check    ok\n");
      SL_ASSIGN_OR_RETURN(auto fks, c.Query("PRAGMA foreign_key_check"));
      for (const auto& row : fks) {
        ++problems;
        std::printf("foreign key: %s row %lld references missing %s\n", row.Text(0).c_str(),
                    static_cast<long long>(row.Int(1)), row.Text(2).c_str());
      }
      if (fks.empty()) std::printf("foreign_key_check  ok\n");
      return {};
    });
    if (!r) return Die(r.error().message);
    auto st = db::GetMigrationStatus(db);
    if (!st) {
      ++problems;
      std::printf("migrations: %s\n", st.error().message.c_str());
    } else {
      std::printf("migrations         %s\n", st->pending.empty() ? "current" : "pending");
    }
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
  db->add_subcommand("status", "Schema version, size, WAL, fragmentation, last backup")
      ->callback([&] { action = [&] { return Status(flags); }; });
  db->add_subcommand("check", "Run integrity_check and foreign_key_check")->callback([&] {
    action = [&] { return Check(flags); };
  });
}

}  // namespace storyloom::cli
