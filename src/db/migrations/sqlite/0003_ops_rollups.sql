-- Storyloom schema, version 3: rollups for operations and analytics
-- (GET /api/v1/analytics/summary answers from these, never from a scan of workflows or
-- api_usage). Triggers keep them current whoever writes (engine, API, CLI, restore), in the
-- same transaction as the change. Rows with user_id '*' hold the all-users totals so an
-- admin's summary reads one row per day instead of one per user.
--
-- Histograms store a count per bucket whose upper bound is `le_*` (9223372036854775807 is
-- +Inf); the bounds are listed in src/ops/analytics.cc. History is kept: deleting a
-- workflow (cleanup) does not take it out of workflow_daily or the duration and cost
-- histograms; file_stats_daily follows the files that exist.

-- Workflows created per UTC day (of created_at) and their current status.
CREATE TABLE workflow_daily (
  user_id TEXT NOT NULL,
  day TEXT NOT NULL,
  status TEXT NOT NULL,
  workflows INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY (user_id, day, status)
);

-- Phase durations (finished_at - started_at of completed phases), by UTC day finished.
CREATE TABLE phase_duration_daily (
  user_id TEXT NOT NULL,
  day TEXT NOT NULL,
  phase TEXT NOT NULL,
  le_ms INTEGER NOT NULL,
  phases INTEGER NOT NULL DEFAULT 0,
  sum_ms INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY (user_id, day, phase, le_ms)
);

-- Cost per finished workflow (sum of its priced api_usage when it finished), by the UTC day
-- the workflow was created.
CREATE TABLE workflow_cost_daily (
  user_id TEXT NOT NULL,
  day TEXT NOT NULL,
  le_nusd INTEGER NOT NULL,
  workflows INTEGER NOT NULL DEFAULT 0,
  sum_nusd INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY (user_id, day, le_nusd)
);
-- What each finished workflow added to workflow_cost_daily, so a retry can take it back.
CREATE TABLE workflow_cost_state (
  workflow_id TEXT PRIMARY KEY REFERENCES workflows (id) ON DELETE CASCADE,
  user_id TEXT NOT NULL,
  day TEXT NOT NULL,
  le_nusd INTEGER NOT NULL,
  cost_nusd INTEGER NOT NULL
);

-- Tracked files and bytes by UTC day created and type (files that exist now).
CREATE TABLE file_stats_daily (
  user_id TEXT NOT NULL,
  day TEXT NOT NULL,
  file_type TEXT NOT NULL,
  files INTEGER NOT NULL DEFAULT 0,
  bytes INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY (user_id, day, file_type)
);

-- usage_daily summed over users (cost by model) and over models (cost by user).
CREATE TABLE usage_model_daily (
  day TEXT NOT NULL,
  provider TEXT NOT NULL,
  model TEXT NOT NULL,
  calls INTEGER NOT NULL DEFAULT 0,
  errors INTEGER NOT NULL DEFAULT 0,
  input_tokens INTEGER NOT NULL DEFAULT 0,
  output_tokens INTEGER NOT NULL DEFAULT 0,
  cost_nusd INTEGER NOT NULL DEFAULT 0,
  unpriced_calls INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY (day, provider, model)
);
CREATE TABLE usage_user_daily (
  day TEXT NOT NULL,
  user_id TEXT NOT NULL,
  calls INTEGER NOT NULL DEFAULT 0,
  errors INTEGER NOT NULL DEFAULT 0,
  input_tokens INTEGER NOT NULL DEFAULT 0,
  output_tokens INTEGER NOT NULL DEFAULT 0,
  cost_nusd INTEGER NOT NULL DEFAULT 0,
  unpriced_calls INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY (day, user_id)
);

-- Cleanup finds finished workflows by age through workflows_status_finished (0001).

-- ---- triggers ----------------------------------------------------------------------

CREATE TRIGGER workflows_rollup_insert AFTER INSERT ON workflows BEGIN
  INSERT INTO workflow_daily (user_id, day, status, workflows) VALUES
    (new.user_id, strftime('%Y-%m-%d', new.created_at / 1000, 'unixepoch'), new.status, 1),
    ('*', strftime('%Y-%m-%d', new.created_at / 1000, 'unixepoch'), new.status, 1)
  ON CONFLICT (user_id, day, status) DO UPDATE SET workflows = workflow_daily.workflows + 1;
END;

CREATE TRIGGER workflows_rollup_status AFTER UPDATE OF status ON workflows
WHEN old.status <> new.status BEGIN
  UPDATE workflow_daily SET workflows = workflows - 1
    WHERE user_id IN (old.user_id, '*')
      AND day = strftime('%Y-%m-%d', old.created_at / 1000, 'unixepoch') AND status = old.status;
  INSERT INTO workflow_daily (user_id, day, status, workflows) VALUES
    (new.user_id, strftime('%Y-%m-%d', new.created_at / 1000, 'unixepoch'), new.status, 1),
    ('*', strftime('%Y-%m-%d', new.created_at / 1000, 'unixepoch'), new.status, 1)
  ON CONFLICT (user_id, day, status) DO UPDATE SET workflows = workflow_daily.workflows + 1;
END;

-- Entering a final status: the workflow's cost goes into the histogram.
CREATE TRIGGER workflows_cost_finish AFTER UPDATE OF status ON workflows
WHEN new.status IN ('completed', 'failed', 'cancelled')
 AND old.status NOT IN ('completed', 'failed', 'cancelled') BEGIN
  INSERT OR REPLACE INTO workflow_cost_state (workflow_id, user_id, day, le_nusd, cost_nusd)
    SELECT new.id, new.user_id, strftime('%Y-%m-%d', new.created_at / 1000, 'unixepoch'),
           CASE WHEN coalesce(sum(cost_nusd), 0) <= 0 THEN 0 WHEN coalesce(sum(cost_nusd), 0) <= 100000 THEN 100000 WHEN coalesce(sum(cost_nusd), 0) <= 250000 THEN 250000 WHEN coalesce(sum(cost_nusd), 0) <= 500000 THEN 500000 WHEN coalesce(sum(cost_nusd), 0) <= 1000000 THEN 1000000 WHEN coalesce(sum(cost_nusd), 0) <= 2500000 THEN 2500000 WHEN coalesce(sum(cost_nusd), 0) <= 5000000 THEN 5000000 WHEN coalesce(sum(cost_nusd), 0) <= 10000000 THEN 10000000 WHEN coalesce(sum(cost_nusd), 0) <= 25000000 THEN 25000000 WHEN coalesce(sum(cost_nusd), 0) <= 50000000 THEN 50000000 WHEN coalesce(sum(cost_nusd), 0) <= 100000000 THEN 100000000 WHEN coalesce(sum(cost_nusd), 0) <= 250000000 THEN 250000000 WHEN coalesce(sum(cost_nusd), 0) <= 500000000 THEN 500000000 WHEN coalesce(sum(cost_nusd), 0) <= 1000000000 THEN 1000000000 WHEN coalesce(sum(cost_nusd), 0) <= 2500000000 THEN 2500000000 WHEN coalesce(sum(cost_nusd), 0) <= 5000000000 THEN 5000000000 WHEN coalesce(sum(cost_nusd), 0) <= 10000000000 THEN 10000000000 WHEN coalesce(sum(cost_nusd), 0) <= 25000000000 THEN 25000000000 WHEN coalesce(sum(cost_nusd), 0) <= 50000000000 THEN 50000000000 WHEN coalesce(sum(cost_nusd), 0) <= 100000000000 THEN 100000000000 ELSE 9223372036854775807 END, coalesce(sum(cost_nusd), 0)
    FROM api_usage WHERE workflow_id = new.id;
  INSERT INTO workflow_cost_daily (user_id, day, le_nusd, workflows, sum_nusd)
    SELECT u.uid, s.day, s.le_nusd, 1, s.cost_nusd
    FROM workflow_cost_state s, (SELECT new.user_id AS uid UNION ALL SELECT '*') u
    WHERE s.workflow_id = new.id
  ON CONFLICT (user_id, day, le_nusd) DO UPDATE SET
    workflows = workflow_cost_daily.workflows + 1,
    sum_nusd = workflow_cost_daily.sum_nusd + excluded.sum_nusd;
END;

-- Leaving a final status (retry): take back what finishing added.
CREATE TRIGGER workflows_cost_reopen AFTER UPDATE OF status ON workflows
WHEN old.status IN ('completed', 'failed', 'cancelled')
 AND new.status NOT IN ('completed', 'failed', 'cancelled') BEGIN
  UPDATE workflow_cost_daily SET
    workflows = workflows - 1,
    sum_nusd = sum_nusd - (SELECT cost_nusd FROM workflow_cost_state WHERE workflow_id = new.id)
    WHERE user_id IN (old.user_id, '*')
      AND (day, le_nusd) IN (SELECT day, le_nusd FROM workflow_cost_state WHERE workflow_id = new.id);
  DELETE FROM workflow_cost_state WHERE workflow_id = new.id;
END;

CREATE TRIGGER workflow_phases_rollup_insert AFTER INSERT ON workflow_phases
WHEN new.status = 'completed' AND new.started_at IS NOT NULL AND new.finished_at IS NOT NULL BEGIN
  INSERT INTO phase_duration_daily (user_id, day, phase, le_ms, phases, sum_ms)
    SELECT u.uid, strftime('%Y-%m-%d', new.finished_at / 1000, 'unixepoch'), new.phase,
           CASE WHEN max(new.finished_at - new.started_at, 0) <= 10 THEN 10 WHEN max(new.finished_at - new.started_at, 0) <= 25 THEN 25 WHEN max(new.finished_at - new.started_at, 0) <= 50 THEN 50 WHEN max(new.finished_at - new.started_at, 0) <= 100 THEN 100 WHEN max(new.finished_at - new.started_at, 0) <= 250 THEN 250 WHEN max(new.finished_at - new.started_at, 0) <= 500 THEN 500 WHEN max(new.finished_at - new.started_at, 0) <= 1000 THEN 1000 WHEN max(new.finished_at - new.started_at, 0) <= 2500 THEN 2500 WHEN max(new.finished_at - new.started_at, 0) <= 5000 THEN 5000 WHEN max(new.finished_at - new.started_at, 0) <= 10000 THEN 10000 WHEN max(new.finished_at - new.started_at, 0) <= 25000 THEN 25000 WHEN max(new.finished_at - new.started_at, 0) <= 50000 THEN 50000 WHEN max(new.finished_at - new.started_at, 0) <= 100000 THEN 100000 WHEN max(new.finished_at - new.started_at, 0) <= 250000 THEN 250000 WHEN max(new.finished_at - new.started_at, 0) <= 500000 THEN 500000 WHEN max(new.finished_at - new.started_at, 0) <= 1000000 THEN 1000000 WHEN max(new.finished_at - new.started_at, 0) <= 2500000 THEN 2500000 WHEN max(new.finished_at - new.started_at, 0) <= 5000000 THEN 5000000 ELSE 9223372036854775807 END, 1, max(new.finished_at - new.started_at, 0)
    FROM (SELECT user_id AS uid FROM workflows WHERE id = new.workflow_id UNION ALL SELECT '*') u
    WHERE true
  ON CONFLICT (user_id, day, phase, le_ms) DO UPDATE SET
    phases = phase_duration_daily.phases + 1,
    sum_ms = phase_duration_daily.sum_ms + excluded.sum_ms;
END;

CREATE TRIGGER workflow_phases_rollup_update AFTER UPDATE OF status ON workflow_phases
WHEN new.status = 'completed' AND old.status <> 'completed'
 AND new.started_at IS NOT NULL AND new.finished_at IS NOT NULL BEGIN
  INSERT INTO phase_duration_daily (user_id, day, phase, le_ms, phases, sum_ms)
    SELECT u.uid, strftime('%Y-%m-%d', new.finished_at / 1000, 'unixepoch'), new.phase,
           CASE WHEN max(new.finished_at - new.started_at, 0) <= 10 THEN 10 WHEN max(new.finished_at - new.started_at, 0) <= 25 THEN 25 WHEN max(new.finished_at - new.started_at, 0) <= 50 THEN 50 WHEN max(new.finished_at - new.started_at, 0) <= 100 THEN 100 WHEN max(new.finished_at - new.started_at, 0) <= 250 THEN 250 WHEN max(new.finished_at - new.started_at, 0) <= 500 THEN 500 WHEN max(new.finished_at - new.started_at, 0) <= 1000 THEN 1000 WHEN max(new.finished_at - new.started_at, 0) <= 2500 THEN 2500 WHEN max(new.finished_at - new.started_at, 0) <= 5000 THEN 5000 WHEN max(new.finished_at - new.started_at, 0) <= 10000 THEN 10000 WHEN max(new.finished_at - new.started_at, 0) <= 25000 THEN 25000 WHEN max(new.finished_at - new.started_at, 0) <= 50000 THEN 50000 WHEN max(new.finished_at - new.started_at, 0) <= 100000 THEN 100000 WHEN max(new.finished_at - new.started_at, 0) <= 250000 THEN 250000 WHEN max(new.finished_at - new.started_at, 0) <= 500000 THEN 500000 WHEN max(new.finished_at - new.started_at, 0) <= 1000000 THEN 1000000 WHEN max(new.finished_at - new.started_at, 0) <= 2500000 THEN 2500000 WHEN max(new.finished_at - new.started_at, 0) <= 5000000 THEN 5000000 ELSE 9223372036854775807 END, 1, max(new.finished_at - new.started_at, 0)
    FROM (SELECT user_id AS uid FROM workflows WHERE id = new.workflow_id UNION ALL SELECT '*') u
    WHERE true
  ON CONFLICT (user_id, day, phase, le_ms) DO UPDATE SET
    phases = phase_duration_daily.phases + 1,
    sum_ms = phase_duration_daily.sum_ms + excluded.sum_ms;
END;

CREATE TRIGGER generated_files_rollup_insert AFTER INSERT ON generated_files BEGIN
  INSERT INTO file_stats_daily (user_id, day, file_type, files, bytes) VALUES
    (new.user_id, strftime('%Y-%m-%d', new.created_at / 1000, 'unixepoch'), new.file_type, 1, new.file_size),
    ('*', strftime('%Y-%m-%d', new.created_at / 1000, 'unixepoch'), new.file_type, 1, new.file_size)
  ON CONFLICT (user_id, day, file_type) DO UPDATE SET
    files = file_stats_daily.files + 1, bytes = file_stats_daily.bytes + excluded.bytes;
END;

CREATE TRIGGER generated_files_rollup_delete AFTER DELETE ON generated_files BEGIN
  UPDATE file_stats_daily SET files = files - 1, bytes = bytes - old.file_size
    WHERE user_id IN (old.user_id, '*')
      AND day = strftime('%Y-%m-%d', old.created_at / 1000, 'unixepoch') AND file_type = old.file_type;
END;

CREATE TRIGGER usage_daily_rollup_insert AFTER INSERT ON usage_daily BEGIN
  INSERT INTO usage_model_daily (day, provider, model, calls, errors, input_tokens, output_tokens,
                                 cost_nusd, unpriced_calls)
    VALUES (new.day, new.provider, new.model, new.calls, new.errors, new.input_tokens,
            new.output_tokens, new.cost_nusd, new.unpriced_calls)
  ON CONFLICT (day, provider, model) DO UPDATE SET
    calls = usage_model_daily.calls + excluded.calls,
    errors = usage_model_daily.errors + excluded.errors,
    input_tokens = usage_model_daily.input_tokens + excluded.input_tokens,
    output_tokens = usage_model_daily.output_tokens + excluded.output_tokens,
    cost_nusd = usage_model_daily.cost_nusd + excluded.cost_nusd,
    unpriced_calls = usage_model_daily.unpriced_calls + excluded.unpriced_calls;
  INSERT INTO usage_user_daily (day, user_id, calls, errors, input_tokens, output_tokens,
                                cost_nusd, unpriced_calls)
    VALUES (new.day, new.user_id, new.calls, new.errors, new.input_tokens, new.output_tokens,
            new.cost_nusd, new.unpriced_calls)
  ON CONFLICT (day, user_id) DO UPDATE SET
    calls = usage_user_daily.calls + excluded.calls,
    errors = usage_user_daily.errors + excluded.errors,
    input_tokens = usage_user_daily.input_tokens + excluded.input_tokens,
    output_tokens = usage_user_daily.output_tokens + excluded.output_tokens,
    cost_nusd = usage_user_daily.cost_nusd + excluded.cost_nusd,
    unpriced_calls = usage_user_daily.unpriced_calls + excluded.unpriced_calls;
END;

CREATE TRIGGER usage_daily_rollup_update AFTER UPDATE ON usage_daily BEGIN
  UPDATE usage_model_daily SET
    calls = calls + new.calls - old.calls,
    errors = errors + new.errors - old.errors,
    input_tokens = input_tokens + new.input_tokens - old.input_tokens,
    output_tokens = output_tokens + new.output_tokens - old.output_tokens,
    cost_nusd = cost_nusd + new.cost_nusd - old.cost_nusd,
    unpriced_calls = unpriced_calls + new.unpriced_calls - old.unpriced_calls
    WHERE day = new.day AND provider = new.provider AND model = new.model;
  UPDATE usage_user_daily SET
    calls = calls + new.calls - old.calls,
    errors = errors + new.errors - old.errors,
    input_tokens = input_tokens + new.input_tokens - old.input_tokens,
    output_tokens = output_tokens + new.output_tokens - old.output_tokens,
    cost_nusd = cost_nusd + new.cost_nusd - old.cost_nusd,
    unpriced_calls = unpriced_calls + new.unpriced_calls - old.unpriced_calls
    WHERE day = new.day AND user_id = new.user_id;
END;

-- ---- backfill from what is already there --------------------------------------------

INSERT INTO workflow_daily (user_id, day, status, workflows)
  SELECT user_id, strftime('%Y-%m-%d', created_at / 1000, 'unixepoch') AS d, status, count(*)
  FROM workflows GROUP BY user_id, d, status;
INSERT INTO workflow_daily (user_id, day, status, workflows)
  SELECT '*', strftime('%Y-%m-%d', created_at / 1000, 'unixepoch') AS d, status, count(*)
  FROM workflows GROUP BY d, status;

INSERT INTO workflow_cost_state (workflow_id, user_id, day, le_nusd, cost_nusd)
  SELECT w.id, w.user_id, strftime('%Y-%m-%d', w.created_at / 1000, 'unixepoch'),
         CASE WHEN coalesce((SELECT sum(cost_nusd) FROM api_usage a WHERE a.workflow_id = w.id), 0) <= 0 THEN 0 WHEN coalesce((SELECT sum(cost_nusd) FROM api_usage a WHERE a.workflow_id = w.id), 0) <= 100000 THEN 100000 WHEN coalesce((SELECT sum(cost_nusd) FROM api_usage a WHERE a.workflow_id = w.id), 0) <= 250000 THEN 250000 WHEN coalesce((SELECT sum(cost_nusd) FROM api_usage a WHERE a.workflow_id = w.id), 0) <= 500000 THEN 500000 WHEN coalesce((SELECT sum(cost_nusd) FROM api_usage a WHERE a.workflow_id = w.id), 0) <= 1000000 THEN 1000000 WHEN coalesce((SELECT sum(cost_nusd) FROM api_usage a WHERE a.workflow_id = w.id), 0) <= 2500000 THEN 2500000 WHEN coalesce((SELECT sum(cost_nusd) FROM api_usage a WHERE a.workflow_id = w.id), 0) <= 5000000 THEN 5000000 WHEN coalesce((SELECT sum(cost_nusd) FROM api_usage a WHERE a.workflow_id = w.id), 0) <= 10000000 THEN 10000000 WHEN coalesce((SELECT sum(cost_nusd) FROM api_usage a WHERE a.workflow_id = w.id), 0) <= 25000000 THEN 25000000 WHEN coalesce((SELECT sum(cost_nusd) FROM api_usage a WHERE a.workflow_id = w.id), 0) <= 50000000 THEN 50000000 WHEN coalesce((SELECT sum(cost_nusd) FROM api_usage a WHERE a.workflow_id = w.id), 0) <= 100000000 THEN 100000000 WHEN coalesce((SELECT sum(cost_nusd) FROM api_usage a WHERE a.workflow_id = w.id), 0) <= 250000000 THEN 250000000 WHEN coalesce((SELECT sum(cost_nusd) FROM api_usage a WHERE a.workflow_id = w.id), 0) <= 500000000 THEN 500000000 WHEN coalesce((SELECT sum(cost_nusd) FROM api_usage a WHERE a.workflow_id = w.id), 0) <= 1000000000 THEN 1000000000 WHEN coalesce((SELECT sum(cost_nusd) FROM api_usage a WHERE a.workflow_id = w.id), 0) <= 2500000000 THEN 2500000000 WHEN coalesce((SELECT sum(cost_nusd) FROM api_usage a WHERE a.workflow_id = w.id), 0) <= 5000000000 THEN 5000000000 WHEN coalesce((SELECT sum(cost_nusd) FROM api_usage a WHERE a.workflow_id = w.id), 0) <= 10000000000 THEN 10000000000 WHEN coalesce((SELECT sum(cost_nusd) FROM api_usage a WHERE a.workflow_id = w.id), 0) <= 25000000000 THEN 25000000000 WHEN coalesce((SELECT sum(cost_nusd) FROM api_usage a WHERE a.workflow_id = w.id), 0) <= 50000000000 THEN 50000000000 WHEN coalesce((SELECT sum(cost_nusd) FROM api_usage a WHERE a.workflow_id = w.id), 0) <= 100000000000 THEN 100000000000 ELSE 9223372036854775807 END,
         coalesce((SELECT sum(cost_nusd) FROM api_usage a WHERE a.workflow_id = w.id), 0)
  FROM workflows w WHERE w.status IN ('completed', 'failed', 'cancelled');
INSERT INTO workflow_cost_daily (user_id, day, le_nusd, workflows, sum_nusd)
  SELECT user_id, day, le_nusd, count(*), sum(cost_nusd) FROM workflow_cost_state
  GROUP BY user_id, day, le_nusd;
INSERT INTO workflow_cost_daily (user_id, day, le_nusd, workflows, sum_nusd)
  SELECT '*', day, le_nusd, count(*), sum(cost_nusd) FROM workflow_cost_state
  GROUP BY day, le_nusd;

INSERT INTO phase_duration_daily (user_id, day, phase, le_ms, phases, sum_ms)
  SELECT w.user_id, strftime('%Y-%m-%d', p.finished_at / 1000, 'unixepoch') AS d, p.phase,
         CASE WHEN max(p.finished_at - p.started_at, 0) <= 10 THEN 10 WHEN max(p.finished_at - p.started_at, 0) <= 25 THEN 25 WHEN max(p.finished_at - p.started_at, 0) <= 50 THEN 50 WHEN max(p.finished_at - p.started_at, 0) <= 100 THEN 100 WHEN max(p.finished_at - p.started_at, 0) <= 250 THEN 250 WHEN max(p.finished_at - p.started_at, 0) <= 500 THEN 500 WHEN max(p.finished_at - p.started_at, 0) <= 1000 THEN 1000 WHEN max(p.finished_at - p.started_at, 0) <= 2500 THEN 2500 WHEN max(p.finished_at - p.started_at, 0) <= 5000 THEN 5000 WHEN max(p.finished_at - p.started_at, 0) <= 10000 THEN 10000 WHEN max(p.finished_at - p.started_at, 0) <= 25000 THEN 25000 WHEN max(p.finished_at - p.started_at, 0) <= 50000 THEN 50000 WHEN max(p.finished_at - p.started_at, 0) <= 100000 THEN 100000 WHEN max(p.finished_at - p.started_at, 0) <= 250000 THEN 250000 WHEN max(p.finished_at - p.started_at, 0) <= 500000 THEN 500000 WHEN max(p.finished_at - p.started_at, 0) <= 1000000 THEN 1000000 WHEN max(p.finished_at - p.started_at, 0) <= 2500000 THEN 2500000 WHEN max(p.finished_at - p.started_at, 0) <= 5000000 THEN 5000000 ELSE 9223372036854775807 END AS le, count(*), sum(max(p.finished_at - p.started_at, 0))
  FROM workflow_phases p JOIN workflows w ON w.id = p.workflow_id
  WHERE p.status = 'completed' AND p.started_at IS NOT NULL AND p.finished_at IS NOT NULL
  GROUP BY w.user_id, d, p.phase, le;
INSERT INTO phase_duration_daily (user_id, day, phase, le_ms, phases, sum_ms)
  SELECT '*', day, phase, le_ms, sum(phases), sum(sum_ms) FROM phase_duration_daily
  GROUP BY day, phase, le_ms;

INSERT INTO file_stats_daily (user_id, day, file_type, files, bytes)
  SELECT user_id, strftime('%Y-%m-%d', created_at / 1000, 'unixepoch') AS d, file_type, count(*), sum(file_size)
  FROM generated_files GROUP BY user_id, d, file_type;
INSERT INTO file_stats_daily (user_id, day, file_type, files, bytes)
  SELECT '*', day, file_type, sum(files), sum(bytes) FROM file_stats_daily GROUP BY day, file_type;

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
