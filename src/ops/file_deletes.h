// Finishing the deletes of single files (DELETE /api/v1/files/{id}): the row goes, and a
// pending delete is recorded, in one transaction; then the bytes are unlinked and the pending
// delete dropped. What a crash left in between is finished here, by the server at start,
// `storyloom cleanup` and `storyloom fsck --repair`. Thread-safe (no shared state).
#pragma once

#include "files/file_store.h"
#include "storyloom/store.h"

namespace storyloom::ops {

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
