-- Per-user storage quotas and single-file deletes (issue 16, part 3a).
-- users.storage_quota_bytes: the user's own quota on the bytes of their tracked files;
-- NULL = the server's storage.default_quota (none when that is unset).
ALTER TABLE users ADD COLUMN storage_quota_bytes INTEGER CHECK (storage_quota_bytes >= 0);
-- A deleted file's bytes waiting to be unlinked. DELETE /api/v1/files/{id} removes the row
-- and adds this one in one transaction, then unlinks the file and drops this row; a crash
-- in between leaves the row, and whoever finishes it (the server at start, `storyloom
-- cleanup`, `storyloom fsck --repair`) unlinks the file only if no row tracks the path again
-- and the bytes there are still the deleted ones (sha256). fsck never calls such a file an
-- orphan.
CREATE TABLE file_deletes (
  file_path TEXT PRIMARY KEY,
  sha256 TEXT NOT NULL,
  requested_at INTEGER NOT NULL
);
