-- Sign-up by invitation (issue 16, part 4). An administrator makes a one-time invite; only
-- the SHA-256 of its secret is stored. Signing up consumes it in the same transaction that
-- creates the user (InviteRepo::Consume: a conditional UPDATE, so of two concurrent uses
-- exactly one wins).
CREATE TABLE invites (
  id TEXT PRIMARY KEY,
  token_hash TEXT NOT NULL UNIQUE,
  role TEXT NOT NULL DEFAULT 'user' CHECK (role IN ('admin', 'user')),
  created_by TEXT REFERENCES users (id) ON DELETE SET NULL,
  created_at INTEGER NOT NULL,
  expires_at INTEGER NOT NULL,
  used_at INTEGER,
  used_by TEXT REFERENCES users (id) ON DELETE SET NULL,
  revoked_at INTEGER
);
-- GET /api/v1/invites lists the pending ones, newest first.
CREATE INDEX invites_pending ON invites (id) WHERE used_at IS NULL AND revoked_at IS NULL;
CREATE INDEX invites_created_by ON invites (created_by);
CREATE INDEX invites_used_by ON invites (used_by);
