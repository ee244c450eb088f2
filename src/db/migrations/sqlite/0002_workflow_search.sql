-- Text search over workflow titles and prompts (`GET /api/v1/workflows?q=`) without a
-- table scan: a trigram FTS5 index (external content, keyed by workflows.seq) matches any
-- substring of three or more characters.
CREATE VIRTUAL TABLE workflows_fts USING fts5 (
  title, original_prompt, content = 'workflows', content_rowid = 'seq', tokenize = 'trigram'
);
INSERT INTO workflows_fts (workflows_fts) VALUES ('rebuild');
CREATE TRIGGER workflows_fts_insert AFTER INSERT ON workflows BEGIN
  INSERT INTO workflows_fts (rowid, title, original_prompt)
    VALUES (new.seq, new.title, new.original_prompt);
END;
CREATE TRIGGER workflows_fts_delete AFTER DELETE ON workflows BEGIN
  INSERT INTO workflows_fts (workflows_fts, rowid, title, original_prompt)
    VALUES ('delete', old.seq, old.title, old.original_prompt);
END;
CREATE TRIGGER workflows_fts_update AFTER UPDATE OF title, original_prompt ON workflows BEGIN
  INSERT INTO workflows_fts (workflows_fts, rowid, title, original_prompt)
    VALUES ('delete', old.seq, old.title, old.original_prompt);
  INSERT INTO workflows_fts (rowid, title, original_prompt)
    VALUES (new.seq, new.title, new.original_prompt);
END;
