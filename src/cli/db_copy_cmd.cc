// storyloom db copy --from URL --to URL [--force]: every table of one database into another
// (SQLite <-> PostgreSQL), then verified table by table; exits 1 on any mismatch.
#include <fmt/format.h>

#include <cstdio>
#include <memory>

#include "cli/commands.h"
#include "db/db_copy.h"

namespace storyloom::cli {
namespace {

struct CopyFlags {
  std::string from;
  std::string to;
  bool force = false;
};

int Copy(const GlobalFlags& flags, const CopyFlags& cf) {
  LoadConfigAndLogging(flags);  // for logging only: both databases come from --from and --to
  StageProgress progress;
  db::CopyOptions options;
  options.force = cf.force;
  options.on_progress = progress.Fn();
  auto report = db::CopyDatabase(cf.from, cf.to, options);
  progress.Finish();
  if (!report) return Die(report.error().message);
  int mismatches = 0;
  for (const auto& t : report->tables) {
    if (t.ok()) continue;
    ++mismatches;
    std::fprintf(stderr, "mismatch in %s: source %lld rows (%s), target %lld rows (%s)\n",
                 t.name.c_str(), static_cast<long long>(t.source_rows), t.source_checksum.c_str(),
                 static_cast<long long>(t.target_rows), t.target_checksum.c_str());
  }
  const double rate = report->copy_seconds > 0 ? report->rows / report->copy_seconds : 0;
  std::printf("copied %lld rows in %zu tables in %.2f s (%.0f rows/s); verified in %.2f s\n",
              static_cast<long long>(report->rows), report->tables.size(), report->copy_seconds,
              rate, report->verify_seconds);
  if (mismatches > 0) {
    return Die(fmt::format("verification failed: {} table(s) differ", mismatches));
  }
  std::printf("row counts and checksums match in every table\n");
  return 0;
}

}  // namespace

void AddDbCopyCommand(CLI::App& app, GlobalFlags& flags, Action& action) {
  CLI::App* db = app.get_subcommand("db");
  auto cf = std::make_shared<CopyFlags>();
  CLI::App* copy = db->add_subcommand(
      "copy", "Copy every table into another database (SQLite <-> PostgreSQL) and verify it");
  copy->add_option("--from", cf->from, "Source database URL")->required();
  copy->add_option("--to", cf->to, "Target database URL (migrated first)")->required();
  copy->add_flag("--force", cf->force, "Replace the contents of a non-empty target");
  copy->callback([&flags, &action, cf] { action = [&flags, cf] { return Copy(flags, *cf); }; });
}

}  // namespace storyloom::cli
