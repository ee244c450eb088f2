// storyloom fsck [--repair] [--json]: tracked files against the disk, and orphans under
// save_outputs/.
#include <fmt/format.h>

#include <cstdio>
#include <nlohmann/json.hpp>

#include "cli/commands.h"
#include "cli/output.h"
#include "files/file_store.h"
#include "ops/fsck.h"

namespace storyloom::cli {
namespace {

struct FsckFlags {
  bool repair = false;
  int grace_minutes = 15;
  bool json = false;
};

nlohmann::json FsckJson(const ops::FsckReport& r) {
  nlohmann::json problems = nlohmann::json::array();
  for (const auto& p : r.problems) {
    problems.push_back(
        {{"kind", p.kind}, {"file_id", p.file_id}, {"path", p.path}, {"detail", p.detail}});
  }
  return {{"ok", r.ok()},
          {"checked", r.checked},
          {"problems", problems},
          {"known_missing", r.known_missing},
          {"orphans", r.orphans},
          {"quarantined", r.quarantined},
          {"marked_missing", r.marked_missing}};
}

void PrintText(const ops::FsckReport& r, bool repair) {
  for (const auto& p : r.problems) {
    std::printf("BAD %-8s %s (file %s): %s\n", p.kind.c_str(), p.path.c_str(), p.file_id.c_str(),
                p.detail.c_str());
  }
  for (const auto& m : r.known_missing) std::printf("missing (marked earlier) %s\n", m.c_str());
  for (std::size_t i = 0; i < r.orphans.size(); ++i) {
    if (i < r.quarantined.size()) {
      std::printf("ORPHAN %s -> quarantined to %s\n", r.orphans[i].c_str(),
                  r.quarantined[i].c_str());
    } else {
      std::printf("ORPHAN %s (no row tracks it; --repair quarantines it)\n", r.orphans[i].c_str());
    }
  }
  if (repair && r.marked_missing > 0) {
    std::printf("marked %lld row(s) as missing\n", static_cast<long long>(r.marked_missing));
  }
  std::printf("checked %lld tracked file(s): %zu bad, %zu orphan(s)\n",
              static_cast<long long>(r.checked), r.problems.size(), r.orphans.size());
}

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
    if (ff.json) {
      PrintJson(FsckJson(*r));
    } else {
      PrintText(*r, ff.repair);
    }
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
  AddJsonFlag(cmd, ff.json);
  cmd->callback([&] { action = [&] { return Fsck(flags, ff); }; });
}

}  // namespace storyloom::cli
