// storyloom import DIR [--user NAME] [--link] [--dry-run] [--json]: adopts an existing
// save_outputs/ tree as completed, imported workflows (ops/import.h). Idempotent.
#include <fmt/format.h>

#include <cstdio>
#include <nlohmann/json.hpp>

#include "cli/app_wiring.h"
#include "cli/commands.h"
#include "cli/output.h"
#include "files/file_store.h"
#include "ops/backup_io.h"
#include "ops/import.h"

namespace storyloom::cli {
namespace {

struct ImportFlags {
  std::string dir;
  std::string user;
  bool link = false;
  bool dry_run = false;
  bool json = false;
  std::int64_t max_files = ops::ImportLimits{}.max_files;
  std::int64_t max_file_bytes = ops::ImportLimits{}.max_file_bytes;
};

nlohmann::json ImportJson(const ops::ImportPlan& plan, const ops::ImportReport& r,
                          const User& owner, bool dry_run) {
  nlohmann::json stories = nlohmann::json::array();
  for (const auto& s : r.stories) {
    stories.push_back(
        {{"folder", s.source.empty() ? "." : s.source},
         {"title", s.title},
         {"workflow_id", s.workflow_id.empty() ? nlohmann::json() : nlohmann::json(s.workflow_id)},
         {"created", s.created},
         {"files_added", s.files_added},
         {"files_present", s.files_present},
         {"bytes_added", s.bytes_added}});
  }
  nlohmann::json skipped = nlohmann::json::array();
  for (const auto& k : plan.skipped) {
    skipped.push_back({{"path", k.source}, {"reason", k.reason}, {"error", k.error}});
  }
  nlohmann::json failed = nlohmann::json::array();
  for (const auto& k : r.failed) failed.push_back({{"path", k.source}, {"reason", k.reason}});
  return {{"dry_run", dry_run},
          {"source", plan.root},
          {"user", owner.username},
          {"files_scanned", plan.files},
          {"workflows_created", r.workflows_created},
          {"files_added", r.files_added},
          {"files_present", r.files_present},
          {"bytes_added", r.bytes_added},
          {"linked", r.linked},
          {"stories", stories},
          {"skipped", skipped},
          {"skipped_total", plan.skipped_total},
          {"failed", failed}};
}

void PrintText(const ops::ImportPlan& plan, const ops::ImportReport& r, const User& owner,
               bool dry_run) {
  for (const auto& s : r.stories) {
    const std::string id = s.workflow_id.empty() ? "(new)" : s.workflow_id;
    std::printf("%s workflow %s %s (%s): %lld new file(s), %lld already imported\n",
                s.created ? (dry_run ? "would create" : "created") : "existing", id.c_str(),
                ops::Quote(s.title).c_str(), ops::Quote(s.source.empty() ? "." : s.source).c_str(),
                static_cast<long long>(s.files_added), static_cast<long long>(s.files_present));
  }
  for (const auto& k : plan.skipped) {
    std::printf("%s %s: %s\n", k.error ? "UNREADABLE" : "skipped", ops::Quote(k.source).c_str(),
                k.reason.c_str());
  }
  if (plan.skipped_total > static_cast<std::int64_t>(plan.skipped.size())) {
    std::printf("... and %lld more skipped\n",
                static_cast<long long>(plan.skipped_total -
                                       static_cast<std::int64_t>(plan.skipped.size())));
  }
  for (const auto& k : r.failed) {
    std::printf("FAILED %s: %s\n", ops::Quote(k.source).c_str(), k.reason.c_str());
  }
  std::printf(
      "%s%lld new workflow(s) and %lld new file(s) (%.1f MiB, %lld hard-linked) for %s; %lld "
      "file(s) already imported, %lld skipped\n",
      dry_run ? "dry run, nothing written: would add " : "imported ",
      static_cast<long long>(r.workflows_created), static_cast<long long>(r.files_added),
      static_cast<double>(r.bytes_added) / 1048576.0, static_cast<long long>(r.linked),
      owner.username.c_str(), static_cast<long long>(r.files_present),
      static_cast<long long>(plan.skipped_total));
}

int Import(const GlobalFlags& flags, const ImportFlags& f) {
  return WithStore(flags, /*migrate=*/true, [&](const core::Config& config, Store& store) {
    auto owner = CliUser(store, f.user);
    if (!owner) return Die(owner.error().message);
    ops::ImportLimits limits;
    limits.max_files = f.max_files;
    limits.max_file_bytes = f.max_file_bytes;
    auto plan = ops::ScanImportTree(f.dir, config.data_dir, limits);
    if (!plan) return Die("import: " + plan.error().message);
    files::FileStore files(config.OutputsDir());
    ops::ImportOptions o;
    o.user_id = owner->id;
    o.tmp_dir = config.TmpDir();
    o.link = f.link;
    o.dry_run = f.dry_run;
    o.max_file_bytes = limits.max_file_bytes;
    StageProgress progress("import");
    o.on_progress = progress.Fn();
    auto r = ops::ApplyImportPlan(store, files, *plan, o);
    progress.Finish();
    if (!r) return Die("import failed: " + r.error().message);
    if (f.json) {
      PrintJson(ImportJson(*plan, *r, *owner, f.dry_run));
    } else {
      PrintText(*plan, *r, *owner, f.dry_run);
    }
    const auto bad = static_cast<std::int64_t>(r->failed.size()) + plan->skipped_errors;
    if (bad > 0) {
      return Die(fmt::format("{} file(s) or folder(s) could not be read; the rest {}", bad,
                             f.dry_run ? "would be imported" : "was imported"));
    }
    return 0;
  });
}

}  // namespace

void AddImportCommand(CLI::App& app, GlobalFlags& flags, Action& action) {
  static ImportFlags f;
  CLI::App* cmd = app.add_subcommand(
      "import", "Adopt an existing save_outputs/ tree as completed, imported workflows");
  cmd->add_option("dir", f.dir, "the tree to import (read only; never changed)")->required();
  cmd->add_option("--user", f.user, "owner of the workflows (default: the first admin)");
  cmd->add_flag("--link", f.link,
                "hard-link files instead of copying them where the file system allows (the "
                "original and the tracked file are then one file: edit neither)");
  cmd->add_flag("--dry-run", f.dry_run, "report what would be imported; write nothing");
  cmd->add_option("--max-files", f.max_files, "refuse a tree with more files (default 100000)")
      ->check(CLI::Range(std::int64_t{1}, std::int64_t{10'000'000}));
  cmd->add_option("--max-file-size", f.max_file_bytes,
                  "skip files larger than this many bytes (default 16 GiB)")
      ->check(CLI::Range(std::int64_t{0}, std::int64_t{1} << 42));
  AddJsonFlag(cmd, f.json);
  cmd->callback([&] { action = [&] { return Import(flags, f); }; });
}

}  // namespace storyloom::cli
