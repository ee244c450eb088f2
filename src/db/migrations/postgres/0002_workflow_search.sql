-- Text search over workflow titles and prompts (`GET /api/v1/workflows?q=`) without a
-- table scan: trigram GIN indexes serve the store's `ILIKE '%…%'` for any substring of
-- three or more characters (shorter patterns fall back to a scan, as on SQLite).
-- pg_trgm is a trusted extension (PostgreSQL 13+): the database owner may create it.
CREATE EXTENSION IF NOT EXISTS pg_trgm;
CREATE INDEX workflows_title_trgm ON workflows USING gin (title gin_trgm_ops);
CREATE INDEX workflows_prompt_trgm ON workflows USING gin (original_prompt gin_trgm_ops);
