// storyloom fsck [--repair]: tracked files against the disk, and orphans under save_outputs/.
#include <fmt/format.h>

#include <cstdio>

#include "cli/commands.h"
#include "files/file_store.h"
#include "ops/fsck.h"

namespace storyloom::cli {
namespace {

struct FsckFlags {
  bool repair = false;
  int grace_minutes = 15;
};

int Fsck(const GlobalFlags& flags, const FsckFlags& ff) {
  return WithStore(flags, /*migrate=*/false, [&](const core::Config& config, Store& store) {
    files::FileStore files(config.OutputsDir());
    ops::FsckOptions o;
    o.repair = ff.repair;
    o.orphan_grace_ms = static_cast<Millis>(ff.grace_minutes) * 60 * 1000;
    StageProgress progress("fsck");
    o.on_progress = progress.Fn();
    auto r = ops::RunFsck(store, files, o);
    progress.Finish();
    if (!r) return Die("fsck failed: " + r.error().message);
    for (const auto& p : r->problems) {
      std::printf("BAD %-8s %s (file %s): %s\n", p.kind.c_str(), p.path.c_str(), p.file_id.c_str(),
                  p.detail.c_str());
    }
    for (const auto& m : r->known_missing) std::printf("missing (marked earlier) %s\n", m.c_str());
    for (std::size_t i = 0; i < r->orphans.size(); ++i) {
      if (i < r->quarantined.size()) {
        std::printf("ORPHAN %s -> quarantined to %s\n", r->orphans[i].c_str(),
                    r->quarantined[i].c_str());
      } else {
        std::printf("ORPHAN %s (no row tracks it; --repair quarantines it)\n",
                    r->orphans[i].c_str());
      }
    }
    if (ff.repair && r->marked_missing > 0) {
      std::printf("marked %lld row(s) as missing\n", static_cast<long long>(r->marked_missing));
    }
    std::printf("checked %lld tracked file(s): %zu bad, %zu orphan(s)\n",
                static_cast<long long>(r->checked), r->problems.size(), r->orphans.size());
    if (!r->ok())
      return Die(fmt::format("{} problem(s) found",
                             r->problems.size() + r->orphans.size() - r->quarantined.size()));
    return 0;
  });
}

}  // namespace

void AddFsckCommand(CLI::App& app, GlobalFlags& flags, Action& action) {
  static FsckFlags ff;
  CLI::App* cmd = app.add_subcommand("fsck", "Check tracked files (size, sha256) and find orphans");
  cmd->add_flag(
      "--repair", ff.repair,
      "quarantine orphans and mark rows whose file is missing (never deletes a tracked file)");
  cmd->add_option(
         "--grace-minutes", ff.grace_minutes,
         "ignore untracked files younger than this (a write may be committing; default 15)")
      ->check(CLI::Range(0, 100000));
  cmd->callback([&] { action = [&] { return Fsck(flags, ff); }; });
}

}  // namespace storyloom::cli
