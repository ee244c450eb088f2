// OpenStoryArchive: the rows of a finished workflow's files, then the archive over them.
#include "ops/story_export.h"

#include <fmt/format.h>

namespace storyloom::ops {

namespace {

Result<std::vector<GeneratedFile>> AllFiles(StoreTx& tx, const std::string& workflow_id) {
  std::vector<GeneratedFile> out;
  FileFilter f;
  f.workflow_id = workflow_id;
  f.oldest_first = true;
  f.limit = 200;
  for (;;) {
    SL_ASSIGN_OR_RETURN(auto page, tx.files().List(f));
    for (auto& file : page.items) out.push_back(std::move(file));
    if (out.size() > kMaxArchiveFiles) {
      return Fail(Error::FailedPrecondition(fmt::format(
          "the story has more than {} files, too many for one archive", kMaxArchiveFiles)));
    }
    if (page.next_cursor.empty()) return out;
    f.cursor = page.next_cursor;
  }
}

}  // namespace

Result<files::StoryArchive> OpenStoryArchive(Store& store, const files::FileStore& files,
                                             const Workflow& w) {
  if (!IsTerminal(w.status)) {
    return Fail(Error::FailedPrecondition(fmt::format(
        "the story is {}; its archive can be made once it has finished", ToString(w.status))));
  }
  SL_ASSIGN_OR_RETURN(auto rows, store.ReadOne<std::vector<GeneratedFile>>(
                                     [&](StoreTx& tx) { return AllFiles(tx, w.id); }));
  return files::MakeStoryArchive(files, w, rows);
}

}  // namespace storyloom::ops
