// storyloom backup create | list [--json] | verify PATH | restore PATH --data-dir NEW [--database
// URL]
#include <fmt/format.h>

#include <cstdio>
#include <nlohmann/json.hpp>

#include "api/admin_views.h"
#include "api/json_views.h"
#include "cli/commands.h"
#include "cli/output.h"
#include "core/clock.h"
#include "files/file_store.h"
#include "ops/backup.h"

namespace storyloom::cli {
namespace {

struct BackupFlags {
  std::string path;
  std::string target_data_dir;
  std::string target_database;
  bool json = false;
};

int Create(const GlobalFlags& flags) {
  return WithStore(flags, /*migrate=*/false, [&](const core::Config& config, Store& store) {
    files::FileStore files(config.OutputsDir());
    ops::BackupOptions o;
    o.backups_dir = config.BackupsDir();
    auto progress = std::make_unique<StageProgress>();
    o.on_progress = progress->Fn();
    auto r = ops::CreateBackup(store, files, o);
    progress.reset();
    if (!r) return Die("backup failed: " + r.error().message);
    std::printf("backed up the database and %lld file(s) (%.1f MiB; %lld linked, %lld copied)\n",
                static_cast<long long>(r->files), r->bytes / 1048576.0,
                static_cast<long long>(r->linked), static_cast<long long>(r->copied));
    for (const auto& m : r->missing)
      std::printf("warning: %s was deleted before it was copied\n", m.c_str());
    for (const auto& c : r->changed)
      std::printf(
          "warning: %s was replaced after the database snapshot (the backup holds the new "
          "bytes)\n",
          c.c_str());
    std::printf("%s\n", r->path.c_str());  // last line: the path, for scripts
    return 0;
  });
}

int List(const GlobalFlags& flags, bool json) {
  return WithStore(flags, /*migrate=*/false, [&](Store& store) {
    auto list = ops::ListBackups(store);
    if (!list) return Die(list.error().message);
    if (json) {
      nlohmann::json items = nlohmann::json::array();
      for (const auto& b : *list) items.push_back(api::BackupJson(b));
      PrintJson({{"items", items}});
      return 0;
    }
    std::printf("%-24s %-9s %-7s %10s %8s  %s\n", "created", "kind", "status", "MiB", "files",
                "path");
    for (const auto& b : *list) {
      std::printf("%-24s %-9s %-7s %10.1f %8lld  %s\n", core::FormatRfc3339(b.created_at).c_str(),
                  b.kind.c_str(), b.status.c_str(), b.size_bytes / 1048576.0,
                  static_cast<long long>(b.files), b.path.c_str());
    }
    return 0;
  });
}

int Verify(const GlobalFlags& flags, const BackupFlags& bf) {
  const core::Config config = LoadConfigAndLogging(flags);
  auto progress = std::make_unique<StageProgress>();
  auto r = ops::VerifyBackup(bf.path, progress->Fn());
  progress.reset();
  if (!r) return Die(r.error().message);
  for (const auto& w : r->warnings) std::printf("warning: %s\n", w.c_str());
  for (const auto& p : r->problems) std::printf("BAD %s\n", p.c_str());
  if (!r->ok()) return Die(fmt::format("{} problem(s) in {}", r->problems.size(), bf.path));
  std::printf("ok: database and %lld file(s) match the manifest\n",
              static_cast<long long>(r->files_checked));
  return 0;
}

int Restore(const GlobalFlags& flags, const BackupFlags& bf) {
  const core::Config config = LoadConfigAndLogging(flags);
  ops::RestoreOptions o;
  o.data_dir = bf.target_data_dir;
  o.database_url = bf.target_database;
  auto progress = std::make_unique<StageProgress>();
  o.on_progress = progress->Fn();
  auto r = ops::RestoreBackup(bf.path, o);
  progress.reset();
  if (!r) return Die("restore failed: " + r.error().message);
  std::printf("restored schema version %d (now %d), %lld file(s)%s into %s\n", r->schema_version,
              r->migrated_to, static_cast<long long>(r->files),
              r->rows ? fmt::format(", {} rows", r->rows).c_str() : "", bf.target_data_dir.c_str());
  std::printf("database %s\n", r->database_url.c_str());
  return 0;
}

}  // namespace

void AddBackupCommand(CLI::App& app, GlobalFlags& flags, Action& action) {
  static BackupFlags bf;
  CLI::App* cmd = app.add_subcommand("backup", "Backups: create, list, verify, restore");
  cmd->require_subcommand(1);
  cmd->add_subcommand("create",
                      "Back up the database and every tracked file (prints the path last)")
      ->callback([&] { action = [&] { return Create(flags); }; });
  CLI::App* list = cmd->add_subcommand("list", "List backups, newest first");
  AddJsonFlag(list, bf.json);
  list->callback([&] { action = [&] { return List(flags, bf.json); }; });
  CLI::App* verify = cmd->add_subcommand("verify", "Check a backup against its manifest");
  verify->add_option("path", bf.path, "backup directory")->required();
  verify->callback([&] { action = [&] { return Verify(flags, bf); }; });
  CLI::App* restore =
      cmd->add_subcommand("restore", "Restore a backup into an empty data directory");
  restore->add_option("path", bf.path, "backup directory")->required();
  // Own --data-dir/--database: here they name the restore target, not the live instance.
  restore->add_option("--data-dir", bf.target_data_dir, "empty data directory to restore into");
  restore->add_option("--database", bf.target_database,
                      "empty database URL to restore into (default: SQLite in the new data dir)");
  restore->callback([&] {
    action = [&] {
      if (bf.target_data_dir.empty()) return Die("restore needs --data-dir NEW", 2);
      return Restore(flags, bf);
    };
  });
}

}  // namespace storyloom::cli
