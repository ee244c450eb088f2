-- Several instances: a workflow that becomes claimable (created or retried as queued, or
-- its lease released by an instance that stopped) sends NOTIFY storyloom_queue, so an idle
-- instance claims it at once instead of at its next poll. Claims (lease_owner set) and
-- heartbeats (lease_expires_at only) send nothing.
CREATE FUNCTION sl_notify_queue() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM pg_notify('storyloom_queue', '');
  RETURN NULL;
END $$;

CREATE TRIGGER workflows_queue_notify AFTER INSERT OR UPDATE OF status, lease_owner ON workflows
  FOR EACH ROW WHEN (NEW.status IN ('queued', 'running') AND NEW.lease_owner IS NULL)
  EXECUTE FUNCTION sl_notify_queue();
