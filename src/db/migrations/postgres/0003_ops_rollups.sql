-- Storyloom schema, version 3, PostgreSQL dialect: the rollups of sqlite/0003_ops_rollups.sql
-- (same tables, keys and meaning), kept current by PL/pgSQL triggers in the writer's
-- transaction. Rows with user_id '*' hold the all-users totals. Histogram bounds are listed
-- in src/ops/analytics.cc; 9223372036854775807 is +Inf. History is kept: deleting a
-- workflow does not take it out of workflow_daily or the histograms.

CREATE TABLE workflow_daily (
  user_id TEXT NOT NULL,
  day TEXT NOT NULL,
  status TEXT NOT NULL,
  workflows BIGINT NOT NULL DEFAULT 0,
  PRIMARY KEY (user_id, day, status)
);

CREATE TABLE phase_duration_daily (
  user_id TEXT NOT NULL,
  day TEXT NOT NULL,
  phase TEXT NOT NULL,
  le_ms BIGINT NOT NULL,
  phases BIGINT NOT NULL DEFAULT 0,
  sum_ms BIGINT NOT NULL DEFAULT 0,
  PRIMARY KEY (user_id, day, phase, le_ms)
);

CREATE TABLE workflow_cost_daily (
  user_id TEXT NOT NULL,
  day TEXT NOT NULL,
  le_nusd BIGINT NOT NULL,
  workflows BIGINT NOT NULL DEFAULT 0,
  sum_nusd BIGINT NOT NULL DEFAULT 0,
  PRIMARY KEY (user_id, day, le_nusd)
);
CREATE TABLE workflow_cost_state (
  workflow_id TEXT PRIMARY KEY REFERENCES workflows (id) ON DELETE CASCADE,
  user_id TEXT NOT NULL,
  day TEXT NOT NULL,
  le_nusd BIGINT NOT NULL,
  cost_nusd BIGINT NOT NULL
);

CREATE TABLE file_stats_daily (
  user_id TEXT NOT NULL,
  day TEXT NOT NULL,
  file_type TEXT NOT NULL,
  files BIGINT NOT NULL DEFAULT 0,
  bytes BIGINT NOT NULL DEFAULT 0,
  PRIMARY KEY (user_id, day, file_type)
);

CREATE TABLE usage_model_daily (
  day TEXT NOT NULL,
  provider TEXT NOT NULL,
  model TEXT NOT NULL,
  calls BIGINT NOT NULL DEFAULT 0,
  errors BIGINT NOT NULL DEFAULT 0,
  input_tokens BIGINT NOT NULL DEFAULT 0,
  output_tokens BIGINT NOT NULL DEFAULT 0,
  cost_nusd BIGINT NOT NULL DEFAULT 0,
  unpriced_calls BIGINT NOT NULL DEFAULT 0,
  PRIMARY KEY (day, provider, model)
);
CREATE TABLE usage_user_daily (
  day TEXT NOT NULL,
  user_id TEXT NOT NULL,
  calls BIGINT NOT NULL DEFAULT 0,
  errors BIGINT NOT NULL DEFAULT 0,
  input_tokens BIGINT NOT NULL DEFAULT 0,
  output_tokens BIGINT NOT NULL DEFAULT 0,
  cost_nusd BIGINT NOT NULL DEFAULT 0,
  unpriced_calls BIGINT NOT NULL DEFAULT 0,
  PRIMARY KEY (day, user_id)
);

-- ---- helpers -------------------------------------------------------------------------

CREATE FUNCTION sl_day(ms BIGINT) RETURNS TEXT LANGUAGE sql IMMUTABLE AS $$
  SELECT to_char(to_timestamp(ms / 1000) AT TIME ZONE 'UTC', 'YYYY-MM-DD')
$$;
CREATE FUNCTION sl_duration_le(ms BIGINT) RETURNS BIGINT LANGUAGE sql IMMUTABLE AS $$
  SELECT CASE WHEN ms <= 10 THEN 10 WHEN ms <= 25 THEN 25 WHEN ms <= 50 THEN 50 WHEN ms <= 100 THEN 100 WHEN ms <= 250 THEN 250 WHEN ms <= 500 THEN 500 WHEN ms <= 1000 THEN 1000 WHEN ms <= 2500 THEN 2500 WHEN ms <= 5000 THEN 5000 WHEN ms <= 10000 THEN 10000 WHEN ms <= 25000 THEN 25000 WHEN ms <= 50000 THEN 50000 WHEN ms <= 100000 THEN 100000 WHEN ms <= 250000 THEN 250000 WHEN ms <= 500000 THEN 500000 WHEN ms <= 1000000 THEN 1000000 WHEN ms <= 2500000 THEN 2500000 WHEN ms <= 5000000 THEN 5000000 ELSE 9223372036854775807 END
$$;
CREATE FUNCTION sl_cost_le(nusd BIGINT) RETURNS BIGINT LANGUAGE sql IMMUTABLE AS $$
  SELECT CASE WHEN nusd <= 0 THEN 0 WHEN nusd <= 100000 THEN 100000 WHEN nusd <= 250000 THEN 250000 WHEN nusd <= 500000 THEN 500000 WHEN nusd <= 1000000 THEN 1000000 WHEN nusd <= 2500000 THEN 2500000 WHEN nusd <= 5000000 THEN 5000000 WHEN nusd <= 10000000 THEN 10000000 WHEN nusd <= 25000000 THEN 25000000 WHEN nusd <= 50000000 THEN 50000000 WHEN nusd <= 100000000 THEN 100000000 WHEN nusd <= 250000000 THEN 250000000 WHEN nusd <= 500000000 THEN 500000000 WHEN nusd <= 1000000000 THEN 1000000000 WHEN nusd <= 2500000000 THEN 2500000000 WHEN nusd <= 5000000000 THEN 5000000000 WHEN nusd <= 10000000000 THEN 10000000000 WHEN nusd <= 25000000000 THEN 25000000000 WHEN nusd <= 50000000000 THEN 50000000000 WHEN nusd <= 100000000000 THEN 100000000000 ELSE 9223372036854775807 END
$$;

-- ---- triggers ----------------------------------------------------------------------

CREATE FUNCTION sl_workflows_rollup() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  st workflow_cost_state%ROWTYPE;
  cost BIGINT;
BEGIN
  IF TG_OP = 'UPDATE' THEN
    IF OLD.status = NEW.status THEN
      RETURN NULL;
    END IF;
    UPDATE workflow_daily SET workflows = workflows - 1
      WHERE user_id IN (OLD.user_id, '*') AND day = sl_day(OLD.created_at) AND status = OLD.status;
  END IF;
  INSERT INTO workflow_daily (user_id, day, status, workflows)
    VALUES (NEW.user_id, sl_day(NEW.created_at), NEW.status, 1),
           ('*', sl_day(NEW.created_at), NEW.status, 1)
    ON CONFLICT (user_id, day, status) DO UPDATE SET workflows = workflow_daily.workflows + 1;
  IF TG_OP = 'UPDATE' THEN
    IF NEW.status IN ('completed', 'failed', 'cancelled')
       AND OLD.status NOT IN ('completed', 'failed', 'cancelled') THEN
      SELECT coalesce(sum(cost_nusd), 0) INTO cost FROM api_usage WHERE workflow_id = NEW.id;
      INSERT INTO workflow_cost_state (workflow_id, user_id, day, le_nusd, cost_nusd)
        VALUES (NEW.id, NEW.user_id, sl_day(NEW.created_at), sl_cost_le(cost), cost)
        ON CONFLICT (workflow_id) DO UPDATE SET user_id = excluded.user_id, day = excluded.day,
          le_nusd = excluded.le_nusd, cost_nusd = excluded.cost_nusd;
      INSERT INTO workflow_cost_daily (user_id, day, le_nusd, workflows, sum_nusd)
        VALUES (NEW.user_id, sl_day(NEW.created_at), sl_cost_le(cost), 1, cost),
               ('*', sl_day(NEW.created_at), sl_cost_le(cost), 1, cost)
        ON CONFLICT (user_id, day, le_nusd) DO UPDATE SET
          workflows = workflow_cost_daily.workflows + 1,
          sum_nusd = workflow_cost_daily.sum_nusd + excluded.sum_nusd;
    ELSIF OLD.status IN ('completed', 'failed', 'cancelled')
          AND NEW.status NOT IN ('completed', 'failed', 'cancelled') THEN
      SELECT * INTO st FROM workflow_cost_state WHERE workflow_id = NEW.id;
      IF FOUND THEN
        UPDATE workflow_cost_daily SET workflows = workflows - 1, sum_nusd = sum_nusd - st.cost_nusd
          WHERE user_id IN (OLD.user_id, '*') AND day = st.day AND le_nusd = st.le_nusd;
        DELETE FROM workflow_cost_state WHERE workflow_id = NEW.id;
      END IF;
    END IF;
  END IF;
  RETURN NULL;
END
$$;
CREATE TRIGGER workflows_rollup AFTER INSERT OR UPDATE OF status ON workflows
  FOR EACH ROW EXECUTE FUNCTION sl_workflows_rollup();

CREATE FUNCTION sl_workflow_phases_rollup() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  d BIGINT;
  uid TEXT;
BEGIN
  IF NEW.status <> 'completed' OR NEW.started_at IS NULL OR NEW.finished_at IS NULL THEN
    RETURN NULL;
  END IF;
  IF TG_OP = 'UPDATE' AND OLD.status = 'completed' THEN
    RETURN NULL;
  END IF;
  d := greatest(NEW.finished_at - NEW.started_at, 0);
  SELECT user_id INTO uid FROM workflows WHERE id = NEW.workflow_id;
  INSERT INTO phase_duration_daily (user_id, day, phase, le_ms, phases, sum_ms)
    VALUES (uid, sl_day(NEW.finished_at), NEW.phase, sl_duration_le(d), 1, d),
           ('*', sl_day(NEW.finished_at), NEW.phase, sl_duration_le(d), 1, d)
    ON CONFLICT (user_id, day, phase, le_ms) DO UPDATE SET
      phases = phase_duration_daily.phases + 1,
      sum_ms = phase_duration_daily.sum_ms + excluded.sum_ms;
  RETURN NULL;
END
$$;
CREATE TRIGGER workflow_phases_rollup AFTER INSERT OR UPDATE OF status ON workflow_phases
  FOR EACH ROW EXECUTE FUNCTION sl_workflow_phases_rollup();

CREATE FUNCTION sl_generated_files_rollup() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'INSERT' THEN
    INSERT INTO file_stats_daily (user_id, day, file_type, files, bytes)
      VALUES (NEW.user_id, sl_day(NEW.created_at), NEW.file_type, 1, NEW.file_size),
             ('*', sl_day(NEW.created_at), NEW.file_type, 1, NEW.file_size)
      ON CONFLICT (user_id, day, file_type) DO UPDATE SET
        files = file_stats_daily.files + 1, bytes = file_stats_daily.bytes + excluded.bytes;
  ELSE
    UPDATE file_stats_daily SET files = files - 1, bytes = bytes - OLD.file_size
      WHERE user_id IN (OLD.user_id, '*') AND day = sl_day(OLD.created_at)
        AND file_type = OLD.file_type;
  END IF;
  RETURN NULL;
END
$$;
CREATE TRIGGER generated_files_rollup AFTER INSERT OR DELETE ON generated_files
  FOR EACH ROW EXECUTE FUNCTION sl_generated_files_rollup();

CREATE FUNCTION sl_usage_daily_rollup() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  o usage_daily%ROWTYPE;
BEGIN
  IF TG_OP = 'UPDATE' THEN
    o := OLD;
  ELSE
    o.calls := 0; o.errors := 0; o.input_tokens := 0; o.output_tokens := 0;
    o.cost_nusd := 0; o.unpriced_calls := 0;
  END IF;
  INSERT INTO usage_model_daily (day, provider, model, calls, errors, input_tokens, output_tokens,
                                 cost_nusd, unpriced_calls)
    VALUES (NEW.day, NEW.provider, NEW.model, NEW.calls - o.calls, NEW.errors - o.errors,
            NEW.input_tokens - o.input_tokens, NEW.output_tokens - o.output_tokens,
            NEW.cost_nusd - o.cost_nusd, NEW.unpriced_calls - o.unpriced_calls)
    ON CONFLICT (day, provider, model) DO UPDATE SET
      calls = usage_model_daily.calls + excluded.calls,
      errors = usage_model_daily.errors + excluded.errors,
      input_tokens = usage_model_daily.input_tokens + excluded.input_tokens,
      output_tokens = usage_model_daily.output_tokens + excluded.output_tokens,
      cost_nusd = usage_model_daily.cost_nusd + excluded.cost_nusd,
      unpriced_calls = usage_model_daily.unpriced_calls + excluded.unpriced_calls;
  INSERT INTO usage_user_daily (day, user_id, calls, errors, input_tokens, output_tokens,
                                cost_nusd, unpriced_calls)
    VALUES (NEW.day, NEW.user_id, NEW.calls - o.calls, NEW.errors - o.errors,
            NEW.input_tokens - o.input_tokens, NEW.output_tokens - o.output_tokens,
            NEW.cost_nusd - o.cost_nusd, NEW.unpriced_calls - o.unpriced_calls)
    ON CONFLICT (day, user_id) DO UPDATE SET
      calls = usage_user_daily.calls + excluded.calls,
      errors = usage_user_daily.errors + excluded.errors,
      input_tokens = usage_user_daily.input_tokens + excluded.input_tokens,
      output_tokens = usage_user_daily.output_tokens + excluded.output_tokens,
      cost_nusd = usage_user_daily.cost_nusd + excluded.cost_nusd,
      unpriced_calls = usage_user_daily.unpriced_calls + excluded.unpriced_calls;
  RETURN NULL;
END
$$;
CREATE TRIGGER usage_daily_rollup AFTER INSERT OR UPDATE ON usage_daily
  FOR EACH ROW EXECUTE FUNCTION sl_usage_daily_rollup();

-- ---- backfill from what is already there --------------------------------------------

INSERT INTO workflow_daily (user_id, day, status, workflows)
  SELECT user_id, sl_day(created_at), status, count(*) FROM workflows GROUP BY 1, 2, 3;
INSERT INTO workflow_daily (user_id, day, status, workflows)
  SELECT '*', sl_day(created_at), status, count(*) FROM workflows GROUP BY 2, 3;

INSERT INTO workflow_cost_state (workflow_id, user_id, day, le_nusd, cost_nusd)
  SELECT w.id, w.user_id, sl_day(w.created_at), sl_cost_le(c.cost), c.cost
  FROM workflows w,
       LATERAL (SELECT coalesce(sum(cost_nusd), 0)::BIGINT AS cost FROM api_usage a
                WHERE a.workflow_id = w.id) c
  WHERE w.status IN ('completed', 'failed', 'cancelled');
INSERT INTO workflow_cost_daily (user_id, day, le_nusd, workflows, sum_nusd)
  SELECT user_id, day, le_nusd, count(*), sum(cost_nusd) FROM workflow_cost_state GROUP BY 1, 2, 3;
INSERT INTO workflow_cost_daily (user_id, day, le_nusd, workflows, sum_nusd)
  SELECT '*', day, le_nusd, count(*), sum(cost_nusd) FROM workflow_cost_state GROUP BY 2, 3;

INSERT INTO phase_duration_daily (user_id, day, phase, le_ms, phases, sum_ms)
  SELECT w.user_id, sl_day(p.finished_at), p.phase,
         sl_duration_le(greatest(p.finished_at - p.started_at, 0)), count(*),
         sum(greatest(p.finished_at - p.started_at, 0))
  FROM workflow_phases p JOIN workflows w ON w.id = p.workflow_id
  WHERE p.status = 'completed' AND p.started_at IS NOT NULL AND p.finished_at IS NOT NULL
  GROUP BY 1, 2, 3, 4;
INSERT INTO phase_duration_daily (user_id, day, phase, le_ms, phases, sum_ms)
  SELECT '*', day, phase, le_ms, sum(phases), sum(sum_ms) FROM phase_duration_daily
  GROUP BY 2, 3, 4;

INSERT INTO file_stats_daily (user_id, day, file_type, files, bytes)
  SELECT user_id, sl_day(created_at), file_type, count(*), sum(file_size)
  FROM generated_files GROUP BY 1, 2, 3;
INSERT INTO file_stats_daily (user_id, day, file_type, files, bytes)
  SELECT '*', day, file_type, sum(files), sum(bytes) FROM file_stats_daily GROUP BY 2, 3;

INSERT INTO usage_model_daily (day, provider, model, calls, errors, input_tokens, output_tokens,
                               cost_nusd, unpriced_calls)
  SELECT day, provider, model, sum(calls), sum(errors), sum(input_tokens), sum(output_tokens),
         sum(cost_nusd), sum(unpriced_calls)
  FROM usage_daily GROUP BY 1, 2, 3;
INSERT INTO usage_user_daily (day, user_id, calls, errors, input_tokens, output_tokens, cost_nusd,
                              unpriced_calls)
  SELECT day, user_id, sum(calls), sum(errors), sum(input_tokens), sum(output_tokens),
         sum(cost_nusd), sum(unpriced_calls)
  FROM usage_daily GROUP BY 1, 2;
