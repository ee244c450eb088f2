-- Storyloom schema, version 8: money and counts are never negative (issue #12, class 4).
-- A usage row with a huge count once wrapped its cost to -8.5e18 nano-USD; the API now
-- bounds every count and computes costs with overflow checks, and the database refuses a
-- negative cost or count in api_usage and in the usage rollups.
--
-- SQLite cannot add a CHECK to a table, so each table is rebuilt: copied aside, dropped,
-- created again with the checks, refilled, and its indexes and triggers recreated. The
-- tables are never renamed, so the triggers of other tables that name them (the workflow
-- cost triggers of 0003 read api_usage) keep working. Nothing references these tables by
-- foreign key; their own foreign keys are checked again as the rows go back in.
-- Rows an overflow already damaged are repaired on the way: a negative api_usage cost
-- becomes NULL ("unpriced", cost_source 'invalid'); rollup totals are clamped to
-- [0, 2^63-1] (an overflowing SQLite addition had left a REAL there).

-- ---- api_usage ----------------------------------------------------------------------
CREATE TABLE api_usage_v7 AS SELECT * FROM api_usage;
DROP TABLE api_usage;
CREATE TABLE api_usage (
  id INTEGER PRIMARY KEY,
  workflow_id TEXT REFERENCES workflows (id) ON DELETE SET NULL,
  user_id TEXT NOT NULL REFERENCES users (id) ON DELETE RESTRICT,
  phase TEXT NOT NULL DEFAULT '',
  provider TEXT NOT NULL,
  model TEXT NOT NULL DEFAULT '',
  operation TEXT NOT NULL CHECK (operation IN ('chat', 'image', 'speech')),
  status TEXT NOT NULL CHECK (status IN ('ok', 'error')),
  http_status INTEGER,
  error_code TEXT,
  attempt INTEGER NOT NULL DEFAULT 1 CHECK (attempt >= 1),
  input_tokens INTEGER NOT NULL DEFAULT 0 CHECK (input_tokens >= 0),
  cached_input_tokens INTEGER NOT NULL DEFAULT 0 CHECK (cached_input_tokens >= 0),
  output_tokens INTEGER NOT NULL DEFAULT 0 CHECK (output_tokens >= 0),
  reasoning_tokens INTEGER NOT NULL DEFAULT 0 CHECK (reasoning_tokens >= 0),
  images INTEGER NOT NULL DEFAULT 0 CHECK (images >= 0),
  image_size TEXT,
  image_quality TEXT,
  characters INTEGER NOT NULL DEFAULT 0 CHECK (characters >= 0),
  audio_ms INTEGER NOT NULL DEFAULT 0 CHECK (audio_ms >= 0),
  duration_ms INTEGER NOT NULL DEFAULT 0 CHECK (duration_ms >= 0),
  cost_nusd INTEGER CHECK (cost_nusd >= 0),
  cost_source TEXT,
  price_id INTEGER REFERENCES model_prices (id) ON DELETE RESTRICT,
  created_at INTEGER NOT NULL
);
INSERT INTO api_usage (id, workflow_id, user_id, phase, provider, model, operation, status, http_status, error_code, attempt, input_tokens, cached_input_tokens, output_tokens, reasoning_tokens, images, image_size, image_quality, characters, audio_ms, duration_ms, cost_nusd, cost_source, price_id, created_at)
  SELECT id, workflow_id, user_id, phase, provider, model, operation, status, http_status, error_code, attempt, input_tokens, cached_input_tokens, output_tokens, reasoning_tokens, images, image_size, image_quality, characters, audio_ms, duration_ms, CASE WHEN cost_nusd < 0 THEN NULL ELSE cost_nusd END, CASE WHEN cost_nusd < 0 THEN 'invalid' ELSE cost_source END, price_id, created_at
  FROM api_usage_v7;
DROP TABLE api_usage_v7;
CREATE INDEX api_usage_workflow ON api_usage (workflow_id);
CREATE INDEX api_usage_user_created ON api_usage (user_id, created_at);
CREATE INDEX api_usage_created ON api_usage (created_at);
CREATE INDEX api_usage_price ON api_usage (price_id);
CREATE INDEX api_usage_created_workflow ON api_usage (created_at, workflow_id);

-- ---- usage_daily ----------------------------------------------------------------------
CREATE TABLE usage_daily_v7 AS SELECT * FROM usage_daily;
DROP TABLE usage_daily;
CREATE TABLE usage_daily (
  day TEXT NOT NULL,
  user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  provider TEXT NOT NULL,
  model TEXT NOT NULL,
  operation TEXT NOT NULL,
  calls INTEGER NOT NULL DEFAULT 0 CHECK (calls >= 0),
  errors INTEGER NOT NULL DEFAULT 0 CHECK (errors >= 0),
  input_tokens INTEGER NOT NULL DEFAULT 0 CHECK (input_tokens >= 0),
  cached_input_tokens INTEGER NOT NULL DEFAULT 0 CHECK (cached_input_tokens >= 0),
  output_tokens INTEGER NOT NULL DEFAULT 0 CHECK (output_tokens >= 0),
  reasoning_tokens INTEGER NOT NULL DEFAULT 0 CHECK (reasoning_tokens >= 0),
  images INTEGER NOT NULL DEFAULT 0 CHECK (images >= 0),
  characters INTEGER NOT NULL DEFAULT 0 CHECK (characters >= 0),
  audio_ms INTEGER NOT NULL DEFAULT 0 CHECK (audio_ms >= 0),
  duration_ms INTEGER NOT NULL DEFAULT 0 CHECK (duration_ms >= 0),
  cost_nusd INTEGER NOT NULL DEFAULT 0 CHECK (cost_nusd >= 0),
  unpriced_calls INTEGER NOT NULL DEFAULT 0 CHECK (unpriced_calls >= 0),
  PRIMARY KEY (day, user_id, provider, model, operation)
);
-- Refilled before its triggers exist, so usage_model_daily and usage_user_daily are not
-- counted twice.
INSERT INTO usage_daily (day, user_id, provider, model, operation, calls, errors, input_tokens, cached_input_tokens, output_tokens, reasoning_tokens, images, characters, audio_ms, duration_ms, cost_nusd, unpriced_calls)
  SELECT day, user_id, provider, model, operation, max(0, min(calls, 9223372036854775807)), max(0, min(errors, 9223372036854775807)), max(0, min(input_tokens, 9223372036854775807)), max(0, min(cached_input_tokens, 9223372036854775807)), max(0, min(output_tokens, 9223372036854775807)), max(0, min(reasoning_tokens, 9223372036854775807)), max(0, min(images, 9223372036854775807)), max(0, min(characters, 9223372036854775807)), max(0, min(audio_ms, 9223372036854775807)), max(0, min(duration_ms, 9223372036854775807)), max(0, min(cost_nusd, 9223372036854775807)), max(0, min(unpriced_calls, 9223372036854775807))
  FROM usage_daily_v7;
DROP TABLE usage_daily_v7;
CREATE INDEX usage_daily_user_day ON usage_daily (user_id, day);

-- ---- usage_model_daily ----------------------------------------------------------------------
CREATE TABLE usage_model_daily_v7 AS SELECT * FROM usage_model_daily;
DROP TABLE usage_model_daily;
CREATE TABLE usage_model_daily (
  day TEXT NOT NULL,
  provider TEXT NOT NULL,
  model TEXT NOT NULL,
  calls INTEGER NOT NULL DEFAULT 0 CHECK (calls >= 0),
  errors INTEGER NOT NULL DEFAULT 0 CHECK (errors >= 0),
  input_tokens INTEGER NOT NULL DEFAULT 0 CHECK (input_tokens >= 0),
  output_tokens INTEGER NOT NULL DEFAULT 0 CHECK (output_tokens >= 0),
  cost_nusd INTEGER NOT NULL DEFAULT 0 CHECK (cost_nusd >= 0),
  unpriced_calls INTEGER NOT NULL DEFAULT 0 CHECK (unpriced_calls >= 0),
  PRIMARY KEY (day, provider, model)
);
INSERT INTO usage_model_daily (day, provider, model, calls, errors, input_tokens, output_tokens, cost_nusd, unpriced_calls)
  SELECT day, provider, model, max(0, min(calls, 9223372036854775807)), max(0, min(errors, 9223372036854775807)), max(0, min(input_tokens, 9223372036854775807)), max(0, min(output_tokens, 9223372036854775807)), max(0, min(cost_nusd, 9223372036854775807)), max(0, min(unpriced_calls, 9223372036854775807)) FROM usage_model_daily_v7;
DROP TABLE usage_model_daily_v7;

-- ---- usage_user_daily ----------------------------------------------------------------------
CREATE TABLE usage_user_daily_v7 AS SELECT * FROM usage_user_daily;
DROP TABLE usage_user_daily;
CREATE TABLE usage_user_daily (
  day TEXT NOT NULL,
  user_id TEXT NOT NULL,
  calls INTEGER NOT NULL DEFAULT 0 CHECK (calls >= 0),
  errors INTEGER NOT NULL DEFAULT 0 CHECK (errors >= 0),
  input_tokens INTEGER NOT NULL DEFAULT 0 CHECK (input_tokens >= 0),
  output_tokens INTEGER NOT NULL DEFAULT 0 CHECK (output_tokens >= 0),
  cost_nusd INTEGER NOT NULL DEFAULT 0 CHECK (cost_nusd >= 0),
  unpriced_calls INTEGER NOT NULL DEFAULT 0 CHECK (unpriced_calls >= 0),
  PRIMARY KEY (day, user_id)
);
INSERT INTO usage_user_daily (day, user_id, calls, errors, input_tokens, output_tokens, cost_nusd, unpriced_calls)
  SELECT day, user_id, max(0, min(calls, 9223372036854775807)), max(0, min(errors, 9223372036854775807)), max(0, min(input_tokens, 9223372036854775807)), max(0, min(output_tokens, 9223372036854775807)), max(0, min(cost_nusd, 9223372036854775807)), max(0, min(unpriced_calls, 9223372036854775807)) FROM usage_user_daily_v7;
DROP TABLE usage_user_daily_v7;

-- ---- the usage_daily triggers of 0003, now saturating at 2^63-1 ----------------------------
CREATE TRIGGER usage_daily_rollup_insert AFTER INSERT ON usage_daily BEGIN
  INSERT INTO usage_model_daily (day, provider, model, calls, errors, input_tokens, output_tokens,
                                 cost_nusd, unpriced_calls)
    VALUES (new.day, new.provider, new.model, new.calls, new.errors, new.input_tokens,
            new.output_tokens, new.cost_nusd, new.unpriced_calls)
  ON CONFLICT (day, provider, model) DO UPDATE SET
    calls = min(usage_model_daily.calls + excluded.calls, 9223372036854775807),
    errors = min(usage_model_daily.errors + excluded.errors, 9223372036854775807),
    input_tokens = min(usage_model_daily.input_tokens + excluded.input_tokens, 9223372036854775807),
    output_tokens = min(usage_model_daily.output_tokens + excluded.output_tokens, 9223372036854775807),
    cost_nusd = min(usage_model_daily.cost_nusd + excluded.cost_nusd, 9223372036854775807),
    unpriced_calls = min(usage_model_daily.unpriced_calls + excluded.unpriced_calls, 9223372036854775807);
  INSERT INTO usage_user_daily (day, user_id, calls, errors, input_tokens, output_tokens,
                                cost_nusd, unpriced_calls)
    VALUES (new.day, new.user_id, new.calls, new.errors, new.input_tokens, new.output_tokens,
            new.cost_nusd, new.unpriced_calls)
  ON CONFLICT (day, user_id) DO UPDATE SET
    calls = min(usage_user_daily.calls + excluded.calls, 9223372036854775807),
    errors = min(usage_user_daily.errors + excluded.errors, 9223372036854775807),
    input_tokens = min(usage_user_daily.input_tokens + excluded.input_tokens, 9223372036854775807),
    output_tokens = min(usage_user_daily.output_tokens + excluded.output_tokens, 9223372036854775807),
    cost_nusd = min(usage_user_daily.cost_nusd + excluded.cost_nusd, 9223372036854775807),
    unpriced_calls = min(usage_user_daily.unpriced_calls + excluded.unpriced_calls, 9223372036854775807);
END;

CREATE TRIGGER usage_daily_rollup_update AFTER UPDATE ON usage_daily BEGIN
  UPDATE usage_model_daily SET
    calls = max(0, min(calls + new.calls - old.calls, 9223372036854775807)),
    errors = max(0, min(errors + new.errors - old.errors, 9223372036854775807)),
    input_tokens = max(0, min(input_tokens + new.input_tokens - old.input_tokens, 9223372036854775807)),
    output_tokens = max(0, min(output_tokens + new.output_tokens - old.output_tokens, 9223372036854775807)),
    cost_nusd = max(0, min(cost_nusd + new.cost_nusd - old.cost_nusd, 9223372036854775807)),
    unpriced_calls = max(0, min(unpriced_calls + new.unpriced_calls - old.unpriced_calls, 9223372036854775807))
    WHERE day = new.day AND provider = new.provider AND model = new.model;
  UPDATE usage_user_daily SET
    calls = max(0, min(calls + new.calls - old.calls, 9223372036854775807)),
    errors = max(0, min(errors + new.errors - old.errors, 9223372036854775807)),
    input_tokens = max(0, min(input_tokens + new.input_tokens - old.input_tokens, 9223372036854775807)),
    output_tokens = max(0, min(output_tokens + new.output_tokens - old.output_tokens, 9223372036854775807)),
    cost_nusd = max(0, min(cost_nusd + new.cost_nusd - old.cost_nusd, 9223372036854775807)),
    unpriced_calls = max(0, min(unpriced_calls + new.unpriced_calls - old.unpriced_calls, 9223372036854775807))
    WHERE day = new.day AND user_id = new.user_id;
END;
