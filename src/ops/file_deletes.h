// Finishing the deletes of single files (DELETE /api/v1/files/{id}): the row goes, and a
// pending delete is recorded, in one transaction; then the bytes are unlinked and the pending
// delete dropped. What a crash left in between is finished here, by the server at start,
// `storyloom cleanup` and `storyloom fsck --repair`. Thread-safe (no shared state).
#pragma once

#include <string>

#include "files/file_store.h"
#include "storyloom/store.h"

namespace storyloom::ops {

// Who deletes a file: a user (the API) or the command line (user_id "", an administrator).
struct FileDeleter {
  std::string user_id;
  bool is_admin = false;
  std::string remote_addr;  // for the audit log ("cli" from the command line)
};

// Deletes file `file_id`: not_found if it does not exist or is not `by`'s (unless `by` is an
// administrator), failed_precondition "conflict" while its workflow is queued or running.
// In one transaction the row goes, scenes showing it are unlinked, its pending unlink is
// recorded and the audit entry file.delete is appended; then the bytes are unlinked
// (UnlinkDeletedFile). Returns the row as it was.
[[nodiscard]] Result<GeneratedFile> DeleteFile(Store& store, files::FileStore& files,
                                               const std::string& file_id, const FileDeleter& by);

// Unlinks the bytes of a file whose row was just deleted (by this process, right after the
// commit) and drops its pending delete. Errors are logged; the pending delete then stays for
// FinishFileDeletes.
void UnlinkDeletedFile(Store& store, files::FileStore& files, const std::string& rel_path);

// Finishes up to `limit` pending deletes left by a crash: the bytes are unlinked unless a row
// tracks the path again or the file there is no longer the deleted one (another sha256: it
// is left for fsck to judge). Returns how many pending deletes were finished.
[[nodiscard]] Result<int> FinishFileDeletes(Store& store, files::FileStore& files,
                                            int limit = 1000);

}  // namespace storyloom::ops
