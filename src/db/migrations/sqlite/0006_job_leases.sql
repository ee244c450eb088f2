-- Background jobs that must run on one instance at a time (scheduled backups and cleanups):
-- an instance runs a job only while it holds the job's lease row (claimed when absent or
-- expired, released when the job ends; a crashed holder's lease expires on its own).
CREATE TABLE job_leases (
  name TEXT PRIMARY KEY,
  holder TEXT NOT NULL,
  expires_at INTEGER NOT NULL
);

-- Cleanup deletes browser sessions and one-time sign-in links a day after they expired or
-- were revoked; this index finds them without reading every token.
CREATE INDEX api_tokens_kind_expires ON api_tokens (kind, expires_at);
