-- Deleting a workflow that a run holds (issue #12, class 14). The DELETE marks the
-- workflow and answers at once; from then on the API sees it as gone. Its runner deletes
-- it (rows, then files) when the run stops, wherever it runs; a workflow whose runner died
-- is deleted by any instance once the lease has expired, or by `storyloom cleanup`.
ALTER TABLE workflows ADD COLUMN delete_requested INTEGER NOT NULL DEFAULT 0
  CHECK (delete_requested IN (0, 1));
CREATE INDEX workflows_delete_requested ON workflows (id) WHERE delete_requested = 1;
