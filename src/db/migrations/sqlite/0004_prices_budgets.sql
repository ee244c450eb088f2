-- Prices and budgets. Seeds model_prices with OpenAI's public list prices (USD, converted
-- to integer nano-USD: $0.15 per million tokens = 150000000 per Mtok), effective from
-- 2025-01-01; edit them with `storyloom prices set|import` (a new row closes the old one).
-- budget_alerts remembers which soft-limit warnings already fired in a month.

CREATE TABLE budget_alerts (
  scope TEXT NOT NULL,
  period TEXT NOT NULL,
  kind TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  PRIMARY KEY (scope, period, kind)
);

CREATE INDEX model_prices_key ON model_prices (provider, model_pattern, operation);
CREATE INDEX api_usage_created_workflow ON api_usage (created_at, workflow_id);

INSERT INTO model_prices (provider, model_pattern, operation, image_size, image_quality,
  input_per_mtok_nusd, cached_input_per_mtok_nusd, output_per_mtok_nusd, per_image_nusd,
  per_mchar_nusd, per_minute_nusd, effective_from, source, created_at) VALUES
  ('openai', 'gpt-4o', 'chat', NULL, NULL, 2500000000, 1250000000, 10000000000, NULL, NULL, NULL, 1735689600000, 'openai.com/api/pricing', 1735689600000),
  ('openai', 'gpt-4o-2024-*', 'chat', NULL, NULL, 2500000000, 1250000000, 10000000000, NULL, NULL, NULL, 1735689600000, 'openai.com/api/pricing', 1735689600000),
  ('openai', 'gpt-4o-mini', 'chat', NULL, NULL, 150000000, 75000000, 600000000, NULL, NULL, NULL, 1735689600000, 'openai.com/api/pricing', 1735689600000),
  ('openai', 'gpt-4o-mini-2024-*', 'chat', NULL, NULL, 150000000, 75000000, 600000000, NULL, NULL, NULL, 1735689600000, 'openai.com/api/pricing', 1735689600000),
  ('openai', 'gpt-4.1', 'chat', NULL, NULL, 2000000000, 500000000, 8000000000, NULL, NULL, NULL, 1735689600000, 'openai.com/api/pricing', 1735689600000),
  ('openai', 'gpt-4.1-2025-*', 'chat', NULL, NULL, 2000000000, 500000000, 8000000000, NULL, NULL, NULL, 1735689600000, 'openai.com/api/pricing', 1735689600000),
  ('openai', 'gpt-4.1-mini', 'chat', NULL, NULL, 400000000, 100000000, 1600000000, NULL, NULL, NULL, 1735689600000, 'openai.com/api/pricing', 1735689600000),
  ('openai', 'gpt-4.1-mini-2025-*', 'chat', NULL, NULL, 400000000, 100000000, 1600000000, NULL, NULL, NULL, 1735689600000, 'openai.com/api/pricing', 1735689600000),
  ('openai', 'gpt-4.1-nano', 'chat', NULL, NULL, 100000000, 25000000, 400000000, NULL, NULL, NULL, 1735689600000, 'openai.com/api/pricing', 1735689600000),
  ('openai', 'gpt-4.1-nano-2025-*', 'chat', NULL, NULL, 100000000, 25000000, 400000000, NULL, NULL, NULL, 1735689600000, 'openai.com/api/pricing', 1735689600000),
  ('openai', 'gpt-image-1', 'image', '1024x1024', 'low', NULL, NULL, NULL, 11000000, NULL, NULL, 1735689600000, 'openai.com/api/pricing', 1735689600000),
  ('openai', 'gpt-image-1', 'image', '1024x1536', 'low', NULL, NULL, NULL, 16000000, NULL, NULL, 1735689600000, 'openai.com/api/pricing', 1735689600000),
  ('openai', 'gpt-image-1', 'image', '1536x1024', 'low', NULL, NULL, NULL, 16000000, NULL, NULL, 1735689600000, 'openai.com/api/pricing', 1735689600000),
  ('openai', 'gpt-image-1', 'image', '1024x1024', 'medium', NULL, NULL, NULL, 42000000, NULL, NULL, 1735689600000, 'openai.com/api/pricing', 1735689600000),
  ('openai', 'gpt-image-1', 'image', '1024x1536', 'medium', NULL, NULL, NULL, 63000000, NULL, NULL, 1735689600000, 'openai.com/api/pricing', 1735689600000),
  ('openai', 'gpt-image-1', 'image', '1536x1024', 'medium', NULL, NULL, NULL, 63000000, NULL, NULL, 1735689600000, 'openai.com/api/pricing', 1735689600000),
  ('openai', 'gpt-image-1', 'image', '1024x1024', 'high', NULL, NULL, NULL, 167000000, NULL, NULL, 1735689600000, 'openai.com/api/pricing', 1735689600000),
  ('openai', 'gpt-image-1', 'image', '1024x1536', 'high', NULL, NULL, NULL, 250000000, NULL, NULL, 1735689600000, 'openai.com/api/pricing', 1735689600000),
  ('openai', 'gpt-image-1', 'image', '1536x1024', 'high', NULL, NULL, NULL, 250000000, NULL, NULL, 1735689600000, 'openai.com/api/pricing', 1735689600000),
  ('openai', 'dall-e-3', 'image', '1024x1024', 'standard', NULL, NULL, NULL, 40000000, NULL, NULL, 1735689600000, 'openai.com/api/pricing', 1735689600000),
  ('openai', 'dall-e-3', 'image', '1024x1792', 'standard', NULL, NULL, NULL, 80000000, NULL, NULL, 1735689600000, 'openai.com/api/pricing', 1735689600000),
  ('openai', 'dall-e-3', 'image', '1792x1024', 'standard', NULL, NULL, NULL, 80000000, NULL, NULL, 1735689600000, 'openai.com/api/pricing', 1735689600000),
  ('openai', 'dall-e-3', 'image', '1024x1024', 'hd', NULL, NULL, NULL, 80000000, NULL, NULL, 1735689600000, 'openai.com/api/pricing', 1735689600000),
  ('openai', 'dall-e-3', 'image', '1024x1792', 'hd', NULL, NULL, NULL, 120000000, NULL, NULL, 1735689600000, 'openai.com/api/pricing', 1735689600000),
  ('openai', 'dall-e-3', 'image', '1792x1024', 'hd', NULL, NULL, NULL, 120000000, NULL, NULL, 1735689600000, 'openai.com/api/pricing', 1735689600000),
  ('openai', 'dall-e-2', 'image', '256x256', NULL, NULL, NULL, NULL, 16000000, NULL, NULL, 1735689600000, 'openai.com/api/pricing', 1735689600000),
  ('openai', 'dall-e-2', 'image', '512x512', NULL, NULL, NULL, NULL, 18000000, NULL, NULL, 1735689600000, 'openai.com/api/pricing', 1735689600000),
  ('openai', 'dall-e-2', 'image', '1024x1024', NULL, NULL, NULL, NULL, 20000000, NULL, NULL, 1735689600000, 'openai.com/api/pricing', 1735689600000),
  ('openai', 'tts-1', 'speech', NULL, NULL, NULL, NULL, NULL, NULL, 15000000000, NULL, 1735689600000, 'openai.com/api/pricing', 1735689600000),
  ('openai', 'tts-1-hd', 'speech', NULL, NULL, NULL, NULL, NULL, NULL, 30000000000, NULL, 1735689600000, 'openai.com/api/pricing', 1735689600000),
  ('openai', 'gpt-4o-mini-tts', 'speech', NULL, NULL, NULL, NULL, NULL, NULL, NULL, 15000000, 1735689600000, 'openai.com/api/pricing', 1735689600000);
