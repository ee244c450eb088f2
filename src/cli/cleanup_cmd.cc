// storyloom cleanup [--dry-run] [--json]: apply the retention policies (retention.* settings).
#include <fmt/format.h>

#include <cstdio>
#include <nlohmann/json.hpp>

#include "api/admin_views.h"
#include "api/json_views.h"
#include "cli/commands.h"
#include "cli/output.h"
#include "core/clock.h"
#include "files/file_store.h"
#include "ops/cleanup.h"

namespace storyloom::cli {
namespace {

void PrintText(const ops::CleanupReport& r, bool dry_run) {
  for (const auto& w : r.workflows) {
    std::printf("%s workflow %s (%s, finished %s): %lld file(s), %lld bytes\n",
                dry_run ? "would delete" : "deleted", w.workflow_id.c_str(), w.status.c_str(),
                core::FormatRfc3339(w.finished_at).c_str(), static_cast<long long>(w.files),
                static_cast<long long>(w.bytes));
  }
  std::printf(
      "%s %zu workflow(s), %lld file(s), %lld bytes (%.1f MiB), %lld usage row(s), %lld expired "
      "session(s)\n",
      dry_run ? "would delete" : "deleted", r.workflows.size(), static_cast<long long>(r.files),
      static_cast<long long>(r.bytes), static_cast<double>(r.bytes) / 1048576.0,
      static_cast<long long>(r.usage_rows), static_cast<long long>(r.sessions));
  if (!dry_run && r.vacuumed_pages > 0) {
    std::printf("handed %lld free database page(s) back to the filesystem\n",
                static_cast<long long>(r.vacuumed_pages));
  }
}

int Cleanup(const GlobalFlags& flags, bool dry_run, bool json) {
  return WithStore(flags, /*migrate=*/false, [&](const core::Config& config, Store& store) {
    files::FileStore files(config.OutputsDir());
    ops::CleanupOptions o;
    o.completed_days = config.retention_completed_days;
    o.failed_days = config.retention_failed_days;
    o.usage_days = config.retention_usage_days;
    o.dry_run = dry_run;
    auto r = ops::RunCleanup(store, files, o);
    if (!r) return Die("cleanup failed: " + r.error().message);
    if (json) {
      PrintJson(api::CleanupJson(*r, o));
    } else {
      PrintText(*r, dry_run);
    }
    if (r->file_errors > 0) {
      return Die(fmt::format("{} file(s) could not be removed (see the log; fsck will list them)",
                             r->file_errors));
    }
    return 0;
  });
}

}  // namespace

void AddCleanupCommand(CLI::App& app, GlobalFlags& flags, Action& action) {
  static bool dry_run = false;
  CLI::App* cmd = app.add_subcommand(
      "cleanup", "Delete workflows, files and usage rows past retention, then reclaim space");
  static bool json = false;
  cmd->add_flag("--dry-run", dry_run,
                "list what would be deleted and how many bytes; change nothing");
  AddJsonFlag(cmd, json);
  cmd->callback([&] { action = [&] { return Cleanup(flags, dry_run, json); }; });
}

}  // namespace storyloom::cli
