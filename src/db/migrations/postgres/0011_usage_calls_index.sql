-- GET /api/v1/usage/calls (issue 16): one page of provider calls, newest first, keyset on
-- (created_at, id). A B-tree answers `(created_at, id) < (?, ?) ORDER BY created_at DESC,
-- id DESC LIMIT n` by walking backwards only when it holds both columns in that order: one
-- index for every user (administrators), one per user, one per story.
CREATE INDEX api_usage_created_id ON api_usage (created_at, id);
CREATE INDEX api_usage_user_created_id ON api_usage (user_id, created_at, id);
CREATE INDEX api_usage_workflow_created_id ON api_usage (workflow_id, created_at, id);
