-- Cross-instance SSE notifications exist only on PostgreSQL (LISTEN/NOTIFY, see
-- postgres/0005_event_notify.sql); SQLite serves one instance, whose SSE streams hear its
-- own events in-process. Kept so both dialects share migration versions.
SELECT 1;
