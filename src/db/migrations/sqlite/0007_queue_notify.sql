-- Queue notifications exist only on PostgreSQL (see postgres/0007_queue_notify.sql): one
-- server owns a SQLite file and wakes its own scheduler. Kept so both dialects share
-- migration versions.
SELECT 1;
