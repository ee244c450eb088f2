-- Storyloom schema, version 1, PostgreSQL dialect: the same tables, columns, constraints
-- and indexes as sqlite/0001_init.sql. Ids are UUIDv7 text; logs use BIGINT identity ids;
-- times are BIGINT ms since the Unix epoch (UTC); money is BIGINT nano-USD, NULL meaning
-- unpriced; JSON is JSONB (the store binds and reads it as text). Flags stay INTEGER 0/1
-- so the store's SQL is the same on both backends.

CREATE TABLE users (
  id TEXT PRIMARY KEY,
  username TEXT NOT NULL UNIQUE,
  email TEXT,
  role TEXT NOT NULL DEFAULT 'user' CHECK (role IN ('admin', 'user')),
  password_hash TEXT NOT NULL DEFAULT '',
  disabled INTEGER NOT NULL DEFAULT 0 CHECK (disabled IN (0, 1)),
  monthly_budget_nusd BIGINT CHECK (monthly_budget_nusd >= 0),
  soft_budget_nusd BIGINT CHECK (soft_budget_nusd >= 0),
  created_at BIGINT NOT NULL,
  updated_at BIGINT NOT NULL
);
CREATE UNIQUE INDEX users_email ON users (email) WHERE email IS NOT NULL;

CREATE TABLE api_tokens (
  id TEXT PRIMARY KEY,
  user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  name TEXT NOT NULL DEFAULT '',
  kind TEXT NOT NULL DEFAULT 'api' CHECK (kind IN ('api', 'session', 'login')),
  token_hash TEXT NOT NULL UNIQUE,
  created_at BIGINT NOT NULL,
  expires_at BIGINT,
  last_used_at BIGINT,
  revoked_at BIGINT
);
CREATE INDEX api_tokens_user ON api_tokens (user_id, id);

-- No seq column: SQLite needs it only as the rowid of its text-search index; here the
-- trigram indexes of 0002 sit on the table itself.
CREATE TABLE workflows (
  id TEXT PRIMARY KEY,
  user_id TEXT NOT NULL REFERENCES users (id) ON DELETE RESTRICT,
  title TEXT NOT NULL DEFAULT '',
  original_prompt TEXT NOT NULL,
  enhanced_story TEXT NOT NULL DEFAULT '',
  status TEXT NOT NULL DEFAULT 'queued'
    CHECK (status IN ('queued', 'running', 'completed', 'failed', 'cancelled')),
  current_phase TEXT NOT NULL DEFAULT ''
    CHECK (current_phase IN ('', 'story', 'scenes', 'images', 'narration', 'assemble')),
  progress DOUBLE PRECISION NOT NULL DEFAULT 0 CHECK (progress >= 0 AND progress <= 1),
  options JSONB NOT NULL DEFAULT '{}',
  error_code TEXT,
  error_message TEXT,
  idempotency_key TEXT,
  attempt INTEGER NOT NULL DEFAULT 0,
  cancel_requested INTEGER NOT NULL DEFAULT 0 CHECK (cancel_requested IN (0, 1)),
  lease_owner TEXT,
  lease_expires_at BIGINT,
  created_at BIGINT NOT NULL,
  updated_at BIGINT NOT NULL,
  started_at BIGINT,
  finished_at BIGINT
);
CREATE UNIQUE INDEX workflows_idempotency ON workflows (user_id, idempotency_key)
  WHERE idempotency_key IS NOT NULL;
CREATE INDEX workflows_user ON workflows (user_id, id);
CREATE INDEX workflows_user_status ON workflows (user_id, status, id);
CREATE INDEX workflows_status ON workflows (status, id);
CREATE INDEX workflows_status_finished ON workflows (status, finished_at);
CREATE INDEX workflows_created ON workflows (created_at);

CREATE TABLE workflow_phases (
  workflow_id TEXT NOT NULL REFERENCES workflows (id) ON DELETE CASCADE,
  phase TEXT NOT NULL CHECK (phase IN ('story', 'scenes', 'images', 'narration', 'assemble')),
  status TEXT NOT NULL DEFAULT 'pending'
    CHECK (status IN ('pending', 'running', 'completed', 'failed', 'skipped')),
  attempts INTEGER NOT NULL DEFAULT 0,
  started_at BIGINT,
  finished_at BIGINT,
  error TEXT,
  output JSONB,
  PRIMARY KEY (workflow_id, phase)
);
CREATE INDEX workflow_phases_finished ON workflow_phases (phase, finished_at);

-- scenes and generated_files reference each other: both tables first, then the
-- foreign keys between them.
CREATE TABLE scenes (
  id TEXT PRIMARY KEY,
  workflow_id TEXT NOT NULL REFERENCES workflows (id) ON DELETE CASCADE,
  scene_number INTEGER NOT NULL CHECK (scene_number >= 1),
  title TEXT NOT NULL DEFAULT '',
  description TEXT NOT NULL DEFAULT '',
  image_prompt TEXT NOT NULL DEFAULT '',
  narration TEXT NOT NULL DEFAULT '',
  image_file_id TEXT,
  audio_file_id TEXT,
  created_at BIGINT NOT NULL,
  updated_at BIGINT NOT NULL,
  UNIQUE (workflow_id, scene_number)
);
CREATE INDEX scenes_image_file ON scenes (image_file_id);
CREATE INDEX scenes_audio_file ON scenes (audio_file_id);

CREATE TABLE generated_files (
  id TEXT PRIMARY KEY,
  workflow_id TEXT NOT NULL REFERENCES workflows (id) ON DELETE CASCADE,
  user_id TEXT NOT NULL REFERENCES users (id) ON DELETE RESTRICT,
  scene_id TEXT,
  file_type TEXT NOT NULL CHECK (file_type IN ('image', 'audio', 'video', 'text', 'json', 'other')),
  file_path TEXT NOT NULL UNIQUE,
  file_name TEXT NOT NULL,
  mime_type TEXT NOT NULL,
  file_size BIGINT NOT NULL CHECK (file_size >= 0),
  sha256 TEXT NOT NULL CHECK (length(sha256) = 64),
  metadata JSONB NOT NULL DEFAULT '{}',
  state TEXT NOT NULL DEFAULT 'ok' CHECK (state IN ('ok', 'missing')),
  created_at BIGINT NOT NULL
);
CREATE INDEX generated_files_workflow ON generated_files (workflow_id, file_type, id);
CREATE INDEX generated_files_user ON generated_files (user_id, file_type, id);
CREATE INDEX generated_files_scene ON generated_files (scene_id);
CREATE INDEX generated_files_type_created ON generated_files (file_type, created_at);

ALTER TABLE scenes
  ADD CONSTRAINT scenes_image_file_id_fkey FOREIGN KEY (image_file_id)
    REFERENCES generated_files (id) ON DELETE SET NULL,
  ADD CONSTRAINT scenes_audio_file_id_fkey FOREIGN KEY (audio_file_id)
    REFERENCES generated_files (id) ON DELETE SET NULL;
ALTER TABLE generated_files
  ADD CONSTRAINT generated_files_scene_id_fkey FOREIGN KEY (scene_id)
    REFERENCES scenes (id) ON DELETE SET NULL;

CREATE TABLE model_prices (
  id BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
  provider TEXT NOT NULL,
  model_pattern TEXT NOT NULL,
  operation TEXT NOT NULL CHECK (operation IN ('chat', 'image', 'speech')),
  image_size TEXT,
  image_quality TEXT,
  input_per_mtok_nusd BIGINT,
  cached_input_per_mtok_nusd BIGINT,
  output_per_mtok_nusd BIGINT,
  per_image_nusd BIGINT,
  per_mchar_nusd BIGINT,
  per_minute_nusd BIGINT,
  effective_from BIGINT NOT NULL,
  effective_to BIGINT,
  source TEXT NOT NULL DEFAULT '',
  created_at BIGINT NOT NULL,
  CHECK (effective_to IS NULL OR effective_to > effective_from)
);
CREATE INDEX model_prices_lookup ON model_prices (provider, operation, effective_from);

CREATE TABLE api_usage (
  id BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
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
  input_tokens BIGINT NOT NULL DEFAULT 0 CHECK (input_tokens >= 0),
  cached_input_tokens BIGINT NOT NULL DEFAULT 0 CHECK (cached_input_tokens >= 0),
  output_tokens BIGINT NOT NULL DEFAULT 0 CHECK (output_tokens >= 0),
  reasoning_tokens BIGINT NOT NULL DEFAULT 0 CHECK (reasoning_tokens >= 0),
  images BIGINT NOT NULL DEFAULT 0 CHECK (images >= 0),
  image_size TEXT,
  image_quality TEXT,
  characters BIGINT NOT NULL DEFAULT 0 CHECK (characters >= 0),
  audio_ms BIGINT NOT NULL DEFAULT 0 CHECK (audio_ms >= 0),
  duration_ms BIGINT NOT NULL DEFAULT 0 CHECK (duration_ms >= 0),
  cost_nusd BIGINT,
  cost_source TEXT,
  price_id BIGINT REFERENCES model_prices (id) ON DELETE RESTRICT,
  created_at BIGINT NOT NULL
);
CREATE INDEX api_usage_workflow ON api_usage (workflow_id);
CREATE INDEX api_usage_user_created ON api_usage (user_id, created_at);
CREATE INDEX api_usage_created ON api_usage (created_at);
CREATE INDEX api_usage_price ON api_usage (price_id);

CREATE TABLE usage_daily (
  day TEXT NOT NULL,
  user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  provider TEXT NOT NULL,
  model TEXT NOT NULL,
  operation TEXT NOT NULL,
  calls BIGINT NOT NULL DEFAULT 0,
  errors BIGINT NOT NULL DEFAULT 0,
  input_tokens BIGINT NOT NULL DEFAULT 0,
  cached_input_tokens BIGINT NOT NULL DEFAULT 0,
  output_tokens BIGINT NOT NULL DEFAULT 0,
  reasoning_tokens BIGINT NOT NULL DEFAULT 0,
  images BIGINT NOT NULL DEFAULT 0,
  characters BIGINT NOT NULL DEFAULT 0,
  audio_ms BIGINT NOT NULL DEFAULT 0,
  duration_ms BIGINT NOT NULL DEFAULT 0,
  cost_nusd BIGINT NOT NULL DEFAULT 0,
  unpriced_calls BIGINT NOT NULL DEFAULT 0,
  PRIMARY KEY (day, user_id, provider, model, operation)
);
CREATE INDEX usage_daily_user_day ON usage_daily (user_id, day);

CREATE TABLE budget_reservations (
  id TEXT PRIMARY KEY,
  user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  amount_nusd BIGINT NOT NULL CHECK (amount_nusd >= 0),
  created_at BIGINT NOT NULL,
  expires_at BIGINT NOT NULL
);
CREATE INDEX budget_reservations_user ON budget_reservations (user_id, expires_at);
CREATE INDEX budget_reservations_expires ON budget_reservations (expires_at);

CREATE TABLE workflow_events (
  id BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
  workflow_id TEXT NOT NULL REFERENCES workflows (id) ON DELETE CASCADE,
  type TEXT NOT NULL,
  data JSONB NOT NULL DEFAULT '{}',
  request_id TEXT,
  created_at BIGINT NOT NULL
);
CREATE INDEX workflow_events_workflow ON workflow_events (workflow_id, id);

CREATE TABLE audit_log (
  id BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
  user_id TEXT REFERENCES users (id) ON DELETE SET NULL,
  action TEXT NOT NULL,
  target TEXT NOT NULL DEFAULT '',
  detail JSONB NOT NULL DEFAULT '{}',
  remote_addr TEXT NOT NULL DEFAULT '',
  created_at BIGINT NOT NULL
);
CREATE INDEX audit_log_user ON audit_log (user_id, id);
CREATE INDEX audit_log_created ON audit_log (created_at);

CREATE TABLE backups (
  id TEXT PRIMARY KEY,
  path TEXT NOT NULL,
  kind TEXT NOT NULL CHECK (kind IN ('manual', 'scheduled', 'pre_migration')),
  status TEXT NOT NULL CHECK (status IN ('running', 'ok', 'failed')),
  size_bytes BIGINT,
  files BIGINT,
  manifest_sha256 TEXT,
  error TEXT,
  created_at BIGINT NOT NULL,
  finished_at BIGINT
);
CREATE INDEX backups_created ON backups (created_at);
