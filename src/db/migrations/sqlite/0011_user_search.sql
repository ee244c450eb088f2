-- One user's search reads that user's newest workflows first (WorkflowRepo::List) in the
-- order of the text-search index, workflows.seq; workflows_user is in id order, which the
-- writer does not follow exactly. Without this index that window sorted all of the user's
-- workflows (50,000 for a user with 5% of 1,000,000, make bench-scale). PostgreSQL has no
-- seq: its window follows workflows_user.
CREATE INDEX workflows_user_seq ON workflows (user_id, seq);
