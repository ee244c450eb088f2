-- Claiming work at scale (issue 14, make bench-scale). The per-user cap counts each user's
-- live leases (WorkflowRepo::Claim and CountLeased); without an index of its own that count
-- walked every queued workflow to read its lease: about 3 ms at 10,000 queued and 15 ms plus
-- 10 ms a user at 100,000, inside the single writer's transaction. Only workflows that hold
-- a lease are in this index, so it stays as small as the work in flight.
CREATE INDEX workflows_leased ON workflows (user_id, lease_expires_at)
  WHERE lease_owner IS NOT NULL AND status IN ('queued', 'running');
