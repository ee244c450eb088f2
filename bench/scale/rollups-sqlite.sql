-- The derived tables of a bulk-seeded SQLite database (bench/scale/seed-sqlite.sql), filled
-- in bulk exactly as the row-by-row triggers of migrations 0002, 0003 and 0008 and
-- UsageRepo::Record would have filled them had the rows gone in one at a time in their final
-- state (the backfill statements of migration 0003, with the histogram bounds of
-- src/ops/analytics.cc in a table instead of a CASE). Run after the base rows and their
-- indexes are in, with the rollup triggers still dropped.

-- Histogram upper bounds (9223372036854775807 is +Inf).
CREATE TEMP TABLE dur_le (le INTEGER PRIMARY KEY);
INSERT INTO dur_le SELECT value FROM json_each('[10,25,50,100,250,500,1000,2500,5000,10000,
  25000,50000,100000,250000,500000,1000000,2500000,5000000,9223372036854775807]');
CREATE TEMP TABLE cost_le (le INTEGER PRIMARY KEY);
INSERT INTO cost_le SELECT value FROM json_each('[0,100000,250000,500000,1000000,2500000,
  5000000,10000000,25000000,50000000,100000000,250000000,500000000,1000000000,2500000000,
  5000000000,10000000000,25000000000,50000000000,100000000000,9223372036854775807]');

-- 0002: the trigram index over title and prompt.
INSERT INTO workflows_fts (workflows_fts) VALUES ('rebuild');

-- 0003 workflows_rollup_insert: per user and '*', by day created and current status.
INSERT INTO workflow_daily (user_id, day, status, workflows)
  SELECT user_id, strftime('%Y-%m-%d', created_at / 1000, 'unixepoch') AS d, status, count(*)
  FROM workflows GROUP BY user_id, d, status;
INSERT INTO workflow_daily (user_id, day, status, workflows)
  SELECT '*', day, status, sum(workflows) FROM workflow_daily GROUP BY day, status;

-- 0003 workflow_phases_rollup_insert: completed phases by day finished and duration bucket.
INSERT INTO phase_duration_daily (user_id, day, phase, le_ms, phases, sum_ms)
  SELECT user_id, d, phase, (SELECT min(le) FROM dur_le WHERE le >= ms) AS le, count(*), sum(ms)
  FROM (SELECT w.user_id, strftime('%Y-%m-%d', p.finished_at / 1000, 'unixepoch') AS d, p.phase,
               max(p.finished_at - p.started_at, 0) AS ms
        FROM workflow_phases p JOIN workflows w ON w.id = p.workflow_id
        WHERE p.status = 'completed' AND p.started_at IS NOT NULL AND p.finished_at IS NOT NULL)
  GROUP BY user_id, d, phase, le;
INSERT INTO phase_duration_daily (user_id, day, phase, le_ms, phases, sum_ms)
  SELECT '*', day, phase, le_ms, sum(phases), sum(sum_ms) FROM phase_duration_daily
  GROUP BY day, phase, le_ms;

-- 0003 workflows_cost_finish: each workflow in a final status, with the sum of its priced
-- usage (all of its usage is recorded before it finishes).
CREATE TEMP TABLE wcost (workflow_id TEXT PRIMARY KEY, cost INTEGER NOT NULL) WITHOUT ROWID;
INSERT INTO wcost
  SELECT workflow_id, coalesce(sum(cost_nusd), 0) FROM api_usage
  WHERE workflow_id IS NOT NULL GROUP BY workflow_id;
INSERT INTO workflow_cost_state (workflow_id, user_id, day, le_nusd, cost_nusd)
  SELECT id, user_id, d, (SELECT min(le) FROM cost_le WHERE le >= cost), cost
  FROM (SELECT w.id, w.user_id, strftime('%Y-%m-%d', w.created_at / 1000, 'unixepoch') AS d,
               coalesce(c.cost, 0) AS cost
        FROM workflows w LEFT JOIN wcost c ON c.workflow_id = w.id
        WHERE w.status IN ('completed', 'failed', 'cancelled'));
INSERT INTO workflow_cost_daily (user_id, day, le_nusd, workflows, sum_nusd)
  SELECT user_id, day, le_nusd, count(*), sum(cost_nusd) FROM workflow_cost_state
  GROUP BY user_id, day, le_nusd;
INSERT INTO workflow_cost_daily (user_id, day, le_nusd, workflows, sum_nusd)
  SELECT '*', day, le_nusd, count(*), sum(cost_nusd) FROM workflow_cost_state
  GROUP BY day, le_nusd;

-- 0003 generated_files_rollup_insert.
INSERT INTO file_stats_daily (user_id, day, file_type, files, bytes)
  SELECT user_id, strftime('%Y-%m-%d', created_at / 1000, 'unixepoch') AS d, file_type, count(*),
         sum(file_size)
  FROM generated_files GROUP BY user_id, d, file_type;
INSERT INTO file_stats_daily (user_id, day, file_type, files, bytes)
  SELECT '*', day, file_type, sum(files), sum(bytes) FROM file_stats_daily GROUP BY day, file_type;

-- UsageRepo::Record: one usage_daily upsert per call (errors count status 'error'; cost NULL
-- counts as 0 and as one unpriced call).
INSERT INTO usage_daily (day, user_id, provider, model, operation, calls, errors, input_tokens,
                         cached_input_tokens, output_tokens, reasoning_tokens, images, characters,
                         audio_ms, duration_ms, cost_nusd, unpriced_calls)
  SELECT strftime('%Y-%m-%d', created_at / 1000, 'unixepoch') AS d, user_id, provider, model,
         operation, count(*), sum(status = 'error'), sum(input_tokens), sum(cached_input_tokens),
         sum(output_tokens), sum(reasoning_tokens), sum(images), sum(characters), sum(audio_ms),
         sum(duration_ms), sum(coalesce(cost_nusd, 0)), sum(cost_nusd IS NULL)
  FROM api_usage GROUP BY d, user_id, provider, model, operation;

-- 0008 usage_daily_rollup_insert: usage_daily summed over users and over models.
INSERT INTO usage_model_daily (day, provider, model, calls, errors, input_tokens, output_tokens,
                               cost_nusd, unpriced_calls)
  SELECT day, provider, model, sum(calls), sum(errors), sum(input_tokens), sum(output_tokens),
         sum(cost_nusd), sum(unpriced_calls)
  FROM usage_daily GROUP BY day, provider, model;
INSERT INTO usage_user_daily (day, user_id, calls, errors, input_tokens, output_tokens, cost_nusd,
                              unpriced_calls)
  SELECT day, user_id, sum(calls), sum(errors), sum(input_tokens), sum(output_tokens),
         sum(cost_nusd), sum(unpriced_calls)
  FROM usage_daily GROUP BY day, user_id;
