// storyloom files delete ID: deletes one file, its row and its bytes, as DELETE
// /api/v1/files/{id} does for an administrator (refused while its workflow is queued or
// running; audited as file.delete from "cli").
#include <cstdio>

#include "cli/commands.h"
#include "files/file_store.h"
#include "ops/file_deletes.h"

namespace storyloom::cli {
namespace {

int Delete(const GlobalFlags& flags, const std::string& id) {
  return WithStore(flags, /*migrate=*/true, [&](const core::Config& config, Store& store) {
    files::FileStore files(config.OutputsDir());
    auto gone = ops::DeleteFile(store, files, id, {"", true, "cli"});
    if (!gone) return Die(gone.error().message);
    std::printf("deleted %s (%s, %lld bytes)\n", gone->file_path.c_str(), gone->id.c_str(),
                static_cast<long long>(gone->file_size));
    return 0;
  });
}

}  // namespace

void AddFilesCommand(CLI::App& app, GlobalFlags& flags, Action& action) {
  static std::string id;
  CLI::App* files = app.add_subcommand("files", "Manage tracked files");
  files->require_subcommand(1);
  CLI::App* del = files->add_subcommand(
      "delete",
      "Delete one file, its row and its bytes (not while its workflow is queued or running)");
  del->add_option("id", id, "the file's id (GET /api/v1/files)")->required();
  del->callback([&] { action = [&] { return Delete(flags, id); }; });
}

}  // namespace storyloom::cli
