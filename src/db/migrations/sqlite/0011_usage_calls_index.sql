-- GET /api/v1/usage/calls (issue 16): one page of provider calls, newest first, keyset on
-- (created_at, id). On SQLite an index carries the rowid (`id`) after its own columns, so
-- api_usage_created answers the unfiltered list and api_usage_user_created a user's; a
-- story's calls need workflow_id followed by created_at.
CREATE INDEX api_usage_workflow_created ON api_usage (workflow_id, created_at);
