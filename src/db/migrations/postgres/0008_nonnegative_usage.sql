-- Storyloom schema, version 8: money and counts are never negative (issue #12, class 4).
-- See sqlite/0008_nonnegative_usage.sql. Rows an overflow already damaged are repaired
-- first (a negative api_usage cost becomes NULL, cost_source 'invalid'; rollup totals are
-- clamped at 0), then the checks are added, and the usage rollup trigger saturates at
-- 2^63-1 instead of failing the insert with "bigint out of range".

UPDATE api_usage SET cost_nusd = NULL, cost_source = 'invalid' WHERE cost_nusd < 0;
ALTER TABLE api_usage ADD CONSTRAINT api_usage_cost_nonnegative CHECK (cost_nusd >= 0);

-- The rollup trigger is replaced first, so clamping usage_daily below moves the
-- corrections along to usage_model_daily and usage_user_daily.
CREATE OR REPLACE FUNCTION sl_usage_daily_rollup() RETURNS trigger LANGUAGE plpgsql AS $$
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
      calls = GREATEST(LEAST(usage_model_daily.calls::numeric + excluded.calls, 9223372036854775807), 0)::bigint,
      errors = GREATEST(LEAST(usage_model_daily.errors::numeric + excluded.errors, 9223372036854775807), 0)::bigint,
      input_tokens = GREATEST(LEAST(usage_model_daily.input_tokens::numeric + excluded.input_tokens, 9223372036854775807), 0)::bigint,
      output_tokens = GREATEST(LEAST(usage_model_daily.output_tokens::numeric + excluded.output_tokens, 9223372036854775807), 0)::bigint,
      cost_nusd = GREATEST(LEAST(usage_model_daily.cost_nusd::numeric + excluded.cost_nusd, 9223372036854775807), 0)::bigint,
      unpriced_calls = GREATEST(LEAST(usage_model_daily.unpriced_calls::numeric + excluded.unpriced_calls, 9223372036854775807), 0)::bigint;
  INSERT INTO usage_user_daily (day, user_id, calls, errors, input_tokens, output_tokens,
                                cost_nusd, unpriced_calls)
    VALUES (NEW.day, NEW.user_id, NEW.calls - o.calls, NEW.errors - o.errors,
            NEW.input_tokens - o.input_tokens, NEW.output_tokens - o.output_tokens,
            NEW.cost_nusd - o.cost_nusd, NEW.unpriced_calls - o.unpriced_calls)
    ON CONFLICT (day, user_id) DO UPDATE SET
      calls = GREATEST(LEAST(usage_user_daily.calls::numeric + excluded.calls, 9223372036854775807), 0)::bigint,
      errors = GREATEST(LEAST(usage_user_daily.errors::numeric + excluded.errors, 9223372036854775807), 0)::bigint,
      input_tokens = GREATEST(LEAST(usage_user_daily.input_tokens::numeric + excluded.input_tokens, 9223372036854775807), 0)::bigint,
      output_tokens = GREATEST(LEAST(usage_user_daily.output_tokens::numeric + excluded.output_tokens, 9223372036854775807), 0)::bigint,
      cost_nusd = GREATEST(LEAST(usage_user_daily.cost_nusd::numeric + excluded.cost_nusd, 9223372036854775807), 0)::bigint,
      unpriced_calls = GREATEST(LEAST(usage_user_daily.unpriced_calls::numeric + excluded.unpriced_calls, 9223372036854775807), 0)::bigint;
  RETURN NULL;
END
$$;

UPDATE usage_daily SET calls = GREATEST(calls, 0), errors = GREATEST(errors, 0), input_tokens = GREATEST(input_tokens, 0), cached_input_tokens = GREATEST(cached_input_tokens, 0), output_tokens = GREATEST(output_tokens, 0), reasoning_tokens = GREATEST(reasoning_tokens, 0), images = GREATEST(images, 0), characters = GREATEST(characters, 0), audio_ms = GREATEST(audio_ms, 0), duration_ms = GREATEST(duration_ms, 0), cost_nusd = GREATEST(cost_nusd, 0), unpriced_calls = GREATEST(unpriced_calls, 0)
  WHERE LEAST(calls, errors, input_tokens, cached_input_tokens, output_tokens, reasoning_tokens, images, characters, audio_ms, duration_ms, cost_nusd, unpriced_calls) < 0;
UPDATE usage_model_daily SET calls = GREATEST(calls, 0), errors = GREATEST(errors, 0), input_tokens = GREATEST(input_tokens, 0), output_tokens = GREATEST(output_tokens, 0), cost_nusd = GREATEST(cost_nusd, 0), unpriced_calls = GREATEST(unpriced_calls, 0)
  WHERE LEAST(calls, errors, input_tokens, output_tokens, cost_nusd, unpriced_calls) < 0;
UPDATE usage_user_daily SET calls = GREATEST(calls, 0), errors = GREATEST(errors, 0), input_tokens = GREATEST(input_tokens, 0), output_tokens = GREATEST(output_tokens, 0), cost_nusd = GREATEST(cost_nusd, 0), unpriced_calls = GREATEST(unpriced_calls, 0)
  WHERE LEAST(calls, errors, input_tokens, output_tokens, cost_nusd, unpriced_calls) < 0;

ALTER TABLE usage_daily
  ADD CONSTRAINT usage_daily_calls_nonnegative CHECK (calls >= 0),
  ADD CONSTRAINT usage_daily_errors_nonnegative CHECK (errors >= 0),
  ADD CONSTRAINT usage_daily_input_tokens_nonnegative CHECK (input_tokens >= 0),
  ADD CONSTRAINT usage_daily_cached_input_tokens_nonnegative CHECK (cached_input_tokens >= 0),
  ADD CONSTRAINT usage_daily_output_tokens_nonnegative CHECK (output_tokens >= 0),
  ADD CONSTRAINT usage_daily_reasoning_tokens_nonnegative CHECK (reasoning_tokens >= 0),
  ADD CONSTRAINT usage_daily_images_nonnegative CHECK (images >= 0),
  ADD CONSTRAINT usage_daily_characters_nonnegative CHECK (characters >= 0),
  ADD CONSTRAINT usage_daily_audio_ms_nonnegative CHECK (audio_ms >= 0),
  ADD CONSTRAINT usage_daily_duration_ms_nonnegative CHECK (duration_ms >= 0),
  ADD CONSTRAINT usage_daily_cost_nusd_nonnegative CHECK (cost_nusd >= 0),
  ADD CONSTRAINT usage_daily_unpriced_calls_nonnegative CHECK (unpriced_calls >= 0);
ALTER TABLE usage_model_daily
  ADD CONSTRAINT usage_model_daily_calls_nonnegative CHECK (calls >= 0),
  ADD CONSTRAINT usage_model_daily_errors_nonnegative CHECK (errors >= 0),
  ADD CONSTRAINT usage_model_daily_input_tokens_nonnegative CHECK (input_tokens >= 0),
  ADD CONSTRAINT usage_model_daily_output_tokens_nonnegative CHECK (output_tokens >= 0),
  ADD CONSTRAINT usage_model_daily_cost_nusd_nonnegative CHECK (cost_nusd >= 0),
  ADD CONSTRAINT usage_model_daily_unpriced_calls_nonnegative CHECK (unpriced_calls >= 0);
ALTER TABLE usage_user_daily
  ADD CONSTRAINT usage_user_daily_calls_nonnegative CHECK (calls >= 0),
  ADD CONSTRAINT usage_user_daily_errors_nonnegative CHECK (errors >= 0),
  ADD CONSTRAINT usage_user_daily_input_tokens_nonnegative CHECK (input_tokens >= 0),
  ADD CONSTRAINT usage_user_daily_output_tokens_nonnegative CHECK (output_tokens >= 0),
  ADD CONSTRAINT usage_user_daily_cost_nusd_nonnegative CHECK (cost_nusd >= 0),
  ADD CONSTRAINT usage_user_daily_unpriced_calls_nonnegative CHECK (unpriced_calls >= 0);
