-- Cross-instance SSE: every committed workflow event sends NOTIFY storyloom_events with
-- the workflow id as payload, so each instance's SSE streams for that workflow catch up at
-- once instead of at their next poll. Notifications are delivered at commit (never for a
-- rolled-back event), and repeats of one payload in a transaction are sent once.
CREATE FUNCTION sl_notify_workflow_event() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM pg_notify('storyloom_events', NEW.workflow_id);
  RETURN NULL;
END $$;

CREATE TRIGGER workflow_events_notify AFTER INSERT ON workflow_events
  FOR EACH ROW EXECUTE FUNCTION sl_notify_workflow_event();
