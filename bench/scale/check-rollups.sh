#!/usr/bin/env bash
# Checks that a database seeded by scripts/bench-scale-data (its derived tables filled in
# bulk) holds what the triggers and UsageRepo::Record would have built row by row:
#   KEEP=1 WORKFLOWS=5000 USAGE=50000 BACKENDS= scripts/bench-scale-data   # prints the path
#   bench/scale/check-rollups.sh /var/tmp/storyloom-bench-scale.XXXXXX/sqlite/storyloom.db
# It runs the FTS5 integrity check on the seeded search index; then, on a copy, it deletes
# the base rows, empties the derived tables and puts the rows back the way the application
# writes them (workflows inserted queued, then moved to running and to their final status,
# so the cost triggers read their usage; phases and files inserted; one usage_daily upsert
# per api_usage row in id order), so the triggers rebuild everything; and compares each
# derived table with the seeded one both ways (rows whose count is zero, which only a
# status change leaves behind, are left out, as the analytics reads leave them out).
# Prints one line per table and exits 1 if any differs.
set -euo pipefail
SRC=$(realpath "$1")
TMP=$(mktemp -d /var/tmp/storyloom-check-rollups.XXXXXX)
trap 'rm -rf "$TMP"' EXIT
sqlite3 "$SRC" ".backup $TMP/replay.db"
sqlite3 -bail "$TMP/replay.db" "INSERT INTO workflows_fts (workflows_fts) VALUES ('integrity-check');"
echo "workflows_fts: integrity-check ok"
sqlite3 -bail "$TMP/replay.db" >/dev/null <<'SQL'
PRAGMA foreign_keys = OFF;
PRAGMA journal_mode = OFF;
BEGIN;
CREATE TEMP TABLE wf AS SELECT * FROM workflows;
CREATE TEMP TABLE fin AS SELECT seq, status FROM workflows;
CREATE TEMP TABLE ph AS SELECT * FROM workflow_phases;
CREATE TEMP TABLE fi AS SELECT * FROM generated_files;
-- Their delete triggers take the rows out of the search index and file_stats_daily.
DELETE FROM generated_files;
DELETE FROM workflow_phases;
DELETE FROM workflows;
DELETE FROM workflow_daily;
DELETE FROM phase_duration_daily;
DELETE FROM workflow_cost_state;
DELETE FROM workflow_cost_daily;
DELETE FROM file_stats_daily;
DELETE FROM usage_daily;
DELETE FROM usage_model_daily;
DELETE FROM usage_user_daily;
INSERT INTO workflows_fts (workflows_fts) VALUES ('delete-all');

UPDATE wf SET status = 'queued';
INSERT INTO workflows SELECT * FROM wf ORDER BY seq;
INSERT INTO workflow_phases SELECT * FROM ph;
INSERT INTO generated_files SELECT * FROM fi;
-- UsageRepo::Record's upsert, one call at a time.
INSERT INTO usage_daily (day, user_id, provider, model, operation, calls, errors, input_tokens,
                         cached_input_tokens, output_tokens, reasoning_tokens, images, characters,
                         audio_ms, duration_ms, cost_nusd, unpriced_calls)
  SELECT strftime('%Y-%m-%d', created_at / 1000, 'unixepoch'), user_id, provider, model,
         operation, 1, status = 'error', input_tokens, cached_input_tokens, output_tokens,
         reasoning_tokens, images, characters, audio_ms, duration_ms, coalesce(cost_nusd, 0),
         cost_nusd IS NULL
  FROM api_usage WHERE true ORDER BY id
  ON CONFLICT (day, user_id, provider, model, operation) DO UPDATE SET
    calls = usage_daily.calls + 1, errors = usage_daily.errors + excluded.errors,
    input_tokens = usage_daily.input_tokens + excluded.input_tokens,
    cached_input_tokens = usage_daily.cached_input_tokens + excluded.cached_input_tokens,
    output_tokens = usage_daily.output_tokens + excluded.output_tokens,
    reasoning_tokens = usage_daily.reasoning_tokens + excluded.reasoning_tokens,
    images = usage_daily.images + excluded.images,
    characters = usage_daily.characters + excluded.characters,
    audio_ms = usage_daily.audio_ms + excluded.audio_ms,
    duration_ms = usage_daily.duration_ms + excluded.duration_ms,
    cost_nusd = usage_daily.cost_nusd + excluded.cost_nusd,
    unpriced_calls = usage_daily.unpriced_calls + excluded.unpriced_calls;
UPDATE workflows SET status = 'running'
  WHERE seq IN (SELECT seq FROM fin WHERE status <> 'queued');
UPDATE workflows SET status = (SELECT status FROM fin WHERE fin.seq = workflows.seq)
  WHERE seq IN (SELECT seq FROM fin WHERE status IN ('completed', 'failed', 'cancelled'));
COMMIT;
SQL
bad=0
check() {
  local table=$1 where=$2 n
  n=$(sqlite3 "$TMP/replay.db" "ATTACH '$SRC' AS seeded;
    SELECT (SELECT count(*) FROM (SELECT * FROM main.$table WHERE $where EXCEPT
                                  SELECT * FROM seeded.$table WHERE $where)),
           (SELECT count(*) FROM (SELECT * FROM seeded.$table WHERE $where EXCEPT
                                  SELECT * FROM main.$table WHERE $where)),
           (SELECT count(*) FROM seeded.$table WHERE $where);")
  IFS='|' read -r only_replay only_seeded rows <<<"$n"
  if [ "$only_replay" = 0 ] && [ "$only_seeded" = 0 ]; then
    echo "$table: the same $rows rows"
  else
    echo "$table: DIFFERS ($only_replay rows only in the replay, $only_seeded only seeded, of $rows)"
    bad=1
  fi
}
check workflow_daily "workflows <> 0"
check phase_duration_daily "phases <> 0"
check workflow_cost_state "1"
check workflow_cost_daily "workflows <> 0"
check file_stats_daily "files <> 0"
check usage_daily "1"
check usage_model_daily "1"
check usage_user_daily "1"
for q in chronicle cartographer narwhal zeppelin "cartographer lantern"; do
  a=$(sqlite3 "$TMP/replay.db" "SELECT count(*), total(rowid) FROM workflows_fts WHERE workflows_fts MATCH '\"$q\"'")
  b=$(sqlite3 "$SRC" "SELECT count(*), total(rowid) FROM workflows_fts WHERE workflows_fts MATCH '\"$q\"'")
  if [ "$a" = "$b" ]; then echo "search \"$q\": the same ${a%%|*} rows"; else echo "search \"$q\": DIFFERS ($a / $b)"; bad=1; fi
done
exit "$bad"
