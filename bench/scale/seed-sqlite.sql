-- Seeds a migrated Storyloom SQLite database with @workflows workflows and @usage api_usage
-- rows over the year before @now (ms), for scripts/bench-scale-data, which sets the
-- parameters (.parameter set) and runs this with the sqlite3 shell after:
--   - `storyloom db migrate`, and `storyloom users add` for "bench" and "benchadmin";
--   - dropping the secondary indexes and the triggers of the tables filled here (it saved
--     their SQL from sqlite_master, and runs it again afterwards, so the schema ends exactly
--     as the migrations made it).
-- The rollups the triggers would have kept (the FTS index, workflow_daily,
-- phase_duration_daily, workflow_cost_state/_daily, file_stats_daily) and the usage_daily
-- rollup that UsageRepo::Record keeps (with usage_model_daily and usage_user_daily, which
-- its triggers keep) are filled in bulk at the end, each the way its trigger or the store
-- would have, from the rows as inserted (bench/scale/rollups-sqlite.sql).
--
-- Shape (deterministic; h is a hash of the row number):
--   users: "bench" (CLI), "benchadmin" (CLI, admin, owns nothing) and @users - 2 others;
--   workflows: one every 365 d / @workflows, ids UUIDv7 of their creation time; bench owns
--     every 20th (5%), the others are spread over the rest; the newest 0.05% are queued or
--     running, the rest 88% completed, 9% failed, 3% cancelled; titles "<Form> the <Adj>
--     <Object>" (12 forms x 30 x 30), prompts "A <adj> <character> <verb> a <object> in the
--     <place>. <extra>" (30 each, ~110 characters; 1 in 2003 ends with a narwhal);
--     narration off for 15%;
--   phases: the ones a run reached (completed, or skipped for narration when it is off,
--     then failed or running where it stopped);
--   scenes and files: completed workflows with h % @scene_every = 0 have 3-6 scenes, each
--     with an image and (narration on) an audio file, plus story.txt, storyboard.json and
--     storyboard.html;
--   api_usage: ~@usage/@workflows calls per workflow in pipeline order (story and scenes
--     chat on gpt-4o-mini, images on gpt-image-1, narration on tts-1), priced from the
--     seeded price table; 2% errors, 1 in 400 chat calls on an unpriced local model.

PRAGMA foreign_keys = OFF;

CREATE TEMP TABLE voc (id INTEGER PRIMARY KEY, word TEXT NOT NULL);
-- Slot s, word n: id = s * 100 + n.
INSERT INTO voc (id, word) SELECT 100 + key, value FROM json_each('["The Ballad of the",
  "The Tale of the","Legend of the","The Last","Chronicle of the","A Song for the",
  "The Riddle of the","Diary of the","Night of the","The Secret of the","Return of the",
  "Journey to the"]');
INSERT INTO voc (id, word) SELECT 200 + key, value FROM json_each('["quiet","forgotten",
  "crimson","hollow","silver","stubborn","tiny","ancient","restless","gentle","clockwork",
  "frozen","burning","lonely","curious","brave","sleepy","wandering","hidden","glass","iron",
  "velvet","paper","painted","secret","broken","golden","wild","patient","lost"]');
INSERT INTO voc (id, word) SELECT 300 + key, value FROM json_each('["lighthouse keeper",
  "baker","fox","astronaut","librarian","dragon","robot","fisherman","girl","old sailor",
  "cat","witch","clockmaker","gardener","detective","owl","knight","violinist","beekeeper",
  "miner","cartographer","nurse","giant","shepherd","tailor","pilot","monk","ghost","otter",
  "inventor"]');
INSERT INTO voc (id, word) SELECT 400 + key, value FROM json_each('["loses","hides","mends",
  "follows","paints","sings to","guards","trades","wakes","forgets","builds","steals",
  "buries","chases","repairs","finds","sells","carries","polishes","returns","opens",
  "counts","names","frees","draws","shares","breaks","wraps","keeps","listens to"]');
INSERT INTO voc (id, word) SELECT 500 + key, value FROM json_each('["map","key","letter",
  "compass","music box","lantern","seed","mirror","feather","clock","umbrella","photograph",
  "ring","bottle","kite","violin","egg","crown","ticket","mask","telescope","stone","book",
  "shell","coin","paintbrush","bell","candle","teacup","robot arm"]');
INSERT INTO voc (id, word) SELECT 600 + key, value FROM json_each('["harbor","desert",
  "mountain village","night market","lighthouse","orchard","frozen lake","train station",
  "library","moon base","rain forest","island","castle","bakery","subway","meadow","canyon",
  "cathedral","greenhouse","shipwreck","coral reef","attic","circus","border town",
  "observatory","vineyard","salt flats","swamp","glacier","old mill"]');
INSERT INTO voc (id, word) SELECT 700 + key, value FROM json_each('["Make it funny.",
  "Keep it short and warm.","Tell it in rhyme.","For a five-year-old.",
  "In the style of a fairy tale.","Make the ending bittersweet.","Use lots of dialogue.",
  "Set it during a storm.","Give it a twist at the end.","Write it like a mystery.",
  "It should feel like a lullaby.","Add a talking animal.","Make it about friendship.",
  "Set it a hundred years ago.","End with a celebration.","Make it a little spooky.",
  "Tell it from the object''s point of view.","Keep the words simple.",
  "Make it an adventure.","It happens on the longest night of the year."]');

-- Users 1 .. @users - 2 (index 0 is "bench"); uidx maps an index to its id.
CREATE TEMP TABLE uidx (n INTEGER PRIMARY KEY, id TEXT NOT NULL);
INSERT INTO uidx (n, id) SELECT 0, id FROM users WHERE username = 'bench';
WITH RECURSIVE k(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM k WHERE n < @users - 2)
INSERT INTO uidx (n, id)
  SELECT n, printf('%08x-%04x-7%03x-%04x-%012x', (@now - 400 * 86400000) >> 16,
                   (@now - 400 * 86400000) & 65535, n, 32768 + n, n * 2654435761 % 281474976710656)
  FROM k;
INSERT INTO users (id, username, email, role, password_hash, created_at, updated_at)
  SELECT id, printf('user%03d', n), printf('user%03d@example.com', n), 'user', '',
         @now - 400 * 86400000, @now - 400 * 86400000
  FROM uidx WHERE n > 0;

-- Per workflow: its times, outcome and words. d1..d5 are the phases' durations; stop is the
-- phase it stopped in (1..5; 6 = completed all, 0 = never started).
CREATE TEMP TABLE w (
  i INTEGER PRIMARY KEY, id TEXT, uid TEXT, status TEXT, created INTEGER, started INTEGER,
  d1 INTEGER, d2 INTEGER, d3 INTEGER, d4 INTEGER, d5 INTEGER, stop INTEGER, narr INTEGER,
  ns INTEGER, h INTEGER, title TEXT, prompt TEXT);
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < @workflows),
x AS (
  SELECT i, h, created, st,
         CASE WHEN i % 20 = 0 THEN 0 ELSE 1 + h % (@users - 2) END AS un,
         (h / 100) % 100 >= 15 AS narr,
         -- A run without narration never stops in it.
         CASE st WHEN 'completed' THEN 6 WHEN 'queued' THEN 0
           ELSE CASE WHEN (h / 7) % 5 = 3 AND (h / 100) % 100 < 15 THEN 5 ELSE 1 + (h / 7) % 5 END
         END AS stop
  FROM (
    SELECT i, h, created,
           CASE WHEN i > @workflows - @workflows / 2000 THEN
                  CASE WHEN i % 2 = 0 THEN 'queued' ELSE 'running' END
                WHEN h % 100 < 88 THEN 'completed' WHEN h % 100 < 97 THEN 'failed'
                ELSE 'cancelled' END AS st
    FROM (SELECT i, i * 2654435761 % 1000003 AS h,
                 @now - 365 * 86400000 + (i - 1) * (365 * 86400000) / @workflows AS created
          FROM n)))
INSERT INTO w
  SELECT i,
         printf('%08x-%04x-7000-%04x-%012x', created >> 16, created & 65535, 32768 + h % 16384,
                i * 2654435761 % 281474976710656),
         (SELECT id FROM uidx WHERE n = un), st, created,
         CASE WHEN stop = 0 THEN NULL ELSE created + 300 + h % 5000 END,
         1500 + i * 7919 % 6000, 2000 + i * 104729 % 8000, 15000 + i * 1299709 % 75000,
         CASE WHEN narr THEN 8000 + i * 15485863 % 30000 ELSE 0 END,
         3000 + i * 32452843 % 20000, stop, narr,
         CASE WHEN st = 'completed' AND h % @scene_every = 0 THEN 3 + i % 4 ELSE 0 END, h,
         (SELECT word FROM voc WHERE id = 100 + h % 12) || ' ' ||
           (SELECT upper(substr(word, 1, 1)) || substr(word, 2) FROM voc WHERE id = 200 + i % 30)
           || ' ' ||
           (SELECT upper(substr(word, 1, 1)) || substr(word, 2) FROM voc WHERE id = 500 + h % 30),
         'A ' || (SELECT word FROM voc WHERE id = 200 + i % 30) || ' ' ||
           (SELECT word FROM voc WHERE id = 300 + (i / 30) % 30) || ' ' ||
           (SELECT word FROM voc WHERE id = 400 + h % 29) || ' a ' ||
           (SELECT word FROM voc WHERE id = 500 + h % 30) || ' in the ' ||
           (SELECT word FROM voc WHERE id = 600 + (h / 30) % 30) || '. ' ||
           CASE WHEN i % 2003 = 0 THEN 'A narwhal appears at the end.'
                ELSE (SELECT word FROM voc WHERE id = 700 + (h / 900) % 20) END
  FROM x;

-- Phase k of workflow i ends at started + d1 + … + dk.
CREATE TEMP VIEW wt AS
  SELECT *, started + d1 AS t1, started + d1 + d2 AS t2, started + d1 + d2 + d3 AS t3,
         started + d1 + d2 + d3 + d4 AS t4, started + d1 + d2 + d3 + d4 + d5 AS t5
  FROM w;

INSERT INTO workflows (seq, id, user_id, title, original_prompt, enhanced_story, status,
                       current_phase, progress, options, error_code, error_message, attempt,
                       created_at, updated_at, started_at, finished_at)
  SELECT i, id, uid, CASE WHEN stop >= 2 THEN title ELSE '' END, prompt,
         CASE WHEN stop >= 2 THEN
           'Once upon a time, in the ' || substr(prompt, instr(prompt, ' in the ') + 8) || ' ' ||
           prompt || ' Nobody believed it at first. ' || prompt ||
           ' And so the day ended, quietly, the way the best days do. ' || title || '.'
         ELSE '' END,
         status,
         CASE stop WHEN 0 THEN '' WHEN 6 THEN 'assemble'
           ELSE CASE stop WHEN 1 THEN 'story' WHEN 2 THEN 'scenes' WHEN 3 THEN 'images'
                          WHEN 4 THEN 'narration' ELSE 'assemble' END END,
         CASE WHEN stop = 6 THEN 1.0 ELSE (stop - 1) * 0.2 * (stop > 0) END,
         printf('{"scenes":%d,"style":"","narration":%s}', CASE WHEN ns > 0 THEN ns ELSE 4 END,
                CASE WHEN narr THEN 'true' ELSE 'false' END),
         CASE WHEN status = 'failed' THEN 'provider_error' END,
         CASE WHEN status = 'failed' THEN 'the provider answered 500 three times' END,
         CASE WHEN stop > 0 THEN 1 ELSE 0 END,
         created,
         CASE status WHEN 'queued' THEN created WHEN 'running' THEN started + 1000
           ELSE CASE stop WHEN 1 THEN t1 WHEN 2 THEN t2 WHEN 3 THEN t3 WHEN 4 THEN t4 ELSE t5 END
         END,
         started,
         CASE WHEN status IN ('completed', 'failed', 'cancelled') THEN
           CASE stop WHEN 1 THEN t1 WHEN 2 THEN t2 WHEN 3 THEN t3 WHEN 4 THEN t4 ELSE t5 END
         END
  FROM wt ORDER BY i;

-- Phases before `stop` completed (narration skipped when off); phase `stop` failed, running,
-- or (cancelled) left out.
INSERT INTO workflow_phases (workflow_id, phase, status, attempts, started_at, finished_at, error,
                             output)
  SELECT wt.id, p.name,
         CASE WHEN p.k < wt.stop THEN
                CASE WHEN p.k = 4 AND NOT wt.narr THEN 'skipped' ELSE 'completed' END
              WHEN wt.status = 'failed' THEN 'failed' ELSE 'running' END,
         1,
         CASE p.k WHEN 1 THEN wt.started WHEN 2 THEN wt.t1 WHEN 3 THEN wt.t2 WHEN 4 THEN wt.t3
                  ELSE wt.t4 END,
         CASE WHEN p.k < wt.stop OR wt.status = 'failed' THEN
           CASE p.k WHEN 1 THEN wt.t1 WHEN 2 THEN wt.t2 WHEN 3 THEN wt.t3 WHEN 4 THEN wt.t4
                    ELSE wt.t5 END END,
         CASE WHEN p.k >= wt.stop AND wt.status = 'failed' THEN
           'the provider answered 500 three times' END,
         CASE WHEN p.k < wt.stop THEN
           CASE p.k WHEN 1 THEN json_object('title', wt.title)
                    WHEN 2 THEN json_object('scenes', CASE WHEN wt.ns > 0 THEN wt.ns ELSE 4 END)
                    WHEN 3 THEN json_object('images', CASE WHEN wt.ns > 0 THEN wt.ns ELSE 4 END)
                    WHEN 4 THEN CASE WHEN wt.narr THEN '{"clips":4}' END
                    ELSE '{"files":2}' END END
  FROM wt,
       (SELECT 1 AS k, 'story' AS name UNION ALL SELECT 2, 'scenes' UNION ALL
        SELECT 3, 'images' UNION ALL SELECT 4, 'narration' UNION ALL SELECT 5, 'assemble') p
  WHERE wt.stop > 0 AND (p.k < wt.stop OR (p.k = wt.stop AND wt.status IN ('failed', 'running')))
  ORDER BY wt.i, p.k;

-- Scenes, their image and audio files, and each workflow's three story files. File m of a
-- workflow: 0 story.txt, 2k-1 scene k's image, 2k its audio, 100 storyboard.json,
-- 101 storyboard.html. Ids: the workflow's time, then the row's kind in the 3-hex field.
CREATE TEMP TABLE sc AS
  SELECT w.i, w.id AS wid, w.uid, w.narr, w.h, k.k, w.started + w.d1 + w.d2 AS t,
         printf('%08x-%04x-7%03x-%04x-%012x', (w.started + w.d1 + w.d2) >> 16,
                (w.started + w.d1 + w.d2) & 65535, 16 + k.k, 32768 + w.h % 16384,
                w.i * 2654435761 % 281474976710656) AS sid,
         w.title, w.prompt
  FROM w, (SELECT 1 AS k UNION ALL SELECT 2 UNION ALL SELECT 3 UNION ALL SELECT 4 UNION ALL
           SELECT 5 UNION ALL SELECT 6) k
  WHERE w.ns >= k.k
  ORDER BY w.i, k.k;

CREATE TEMP TABLE fl AS
  SELECT f.i, f.wid, f.uid, f.sid, f.m, f.t,
         printf('%08x-%04x-7%03x-%04x-%012x', f.t >> 16, f.t & 65535, 256 + f.m,
                32768 + f.h % 16384, f.i * 2654435761 % 281474976710656) AS fid,
         f.kind, f.path, f.name, f.mime, f.size, f.h
  FROM (
    SELECT i, wid, uid, NULL AS sid, 0 AS m, started + d1 AS t, 'text' AS kind,
           id || '/story/story.txt' AS path, 'story.txt' AS name,
           'text/plain; charset=utf-8' AS mime, 1800 + h % 2000 AS size, h
    FROM (SELECT i, id AS wid, uid, id, started, d1, h FROM w WHERE ns > 0)
    UNION ALL
    SELECT i, wid, uid, sid, 2 * k - 1, t + 20000 * k, 'image',
           wid || '/images/scene-' || k || '.png', 'scene-' || k || '.png', 'image/png',
           900000 + (h * k) % 900000, h
    FROM sc
    UNION ALL
    SELECT i, wid, uid, sid, 2 * k, t + 90000 + 8000 * k, 'audio',
           wid || '/audio/scene-' || k || '.mp3', 'scene-' || k || '.mp3', 'audio/mpeg',
           120000 + (h * k) % 200000, h
    FROM sc WHERE narr
    UNION ALL
    SELECT i, id, uid, NULL, 100 + x.m, started + d1 + d2 + d3 + d4 + d5, x.kind,
           id || '/story/' || x.name, x.name, x.mime, x.size + h % 3000, h
    FROM w, (SELECT 0 AS m, 'json' AS kind, 'storyboard.json' AS name,
                    'application/json' AS mime, 4000 AS size
             UNION ALL SELECT 1, 'text', 'storyboard.html', 'text/html; charset=utf-8', 9000) x
    WHERE w.ns > 0) f;
CREATE INDEX temp.fl_scene ON fl (sid, m);

-- Foreign keys are off while these go in (scenes name files inserted after them); the
-- script checks them afterwards (PRAGMA foreign_key_check).
INSERT INTO scenes (id, workflow_id, scene_number, title, description, image_prompt, narration,
                    image_file_id, audio_file_id, created_at, updated_at)
  SELECT sc.sid, sc.wid, sc.k, 'Scene ' || sc.k || ': ' || sc.title,
         'The ' || substr(sc.prompt, 3, instr(sc.prompt, '.') - 3) || ', part ' || sc.k || '.',
         'Watercolour illustration: ' || substr(sc.prompt, 3, instr(sc.prompt, '.') - 3),
         CASE WHEN sc.narr THEN 'And then, ' || lower(substr(sc.prompt, 1, 1)) ||
                                substr(sc.prompt, 2) ELSE '' END,
         (SELECT fid FROM fl WHERE fl.sid = sc.sid AND fl.m = 2 * sc.k - 1),
         (SELECT fid FROM fl WHERE fl.sid = sc.sid AND fl.m = 2 * sc.k),
         sc.t, sc.t + 120000
  FROM sc ORDER BY sc.i, sc.k;

INSERT INTO generated_files (id, workflow_id, user_id, scene_id, file_type, file_path, file_name,
                             mime_type, file_size, sha256, metadata, created_at)
  SELECT fid, wid, uid, sid, kind, path, name, mime, size,
         printf('%016x%016x%016x%016x', h * 2654435761, i * 40503 + m, h * 97 + m,
                i * 2654435761 + h),
         CASE kind WHEN 'image' THEN '{"model":"gpt-image-1","size":"1024x1024"}'
                   WHEN 'audio' THEN '{"model":"tts-1","voice":"alloy"}'
                   ELSE '{}' END,
         t
  FROM fl ORDER BY fid;

-- Usage row j (0-based) is call j % 10 of workflow 1 + j * @workflows / @usage.
CREATE TEMP TABLE price AS
  SELECT (SELECT id FROM model_prices WHERE provider = 'openai' AND model_pattern = 'gpt-4o-mini'
            AND operation = 'chat' AND effective_to IS NULL) AS chat,
         (SELECT id FROM model_prices WHERE provider = 'openai' AND model_pattern = 'gpt-image-1'
            AND image_size = '1024x1024' AND image_quality = 'medium'
            AND effective_to IS NULL) AS image,
         (SELECT id FROM model_prices WHERE provider = 'openai' AND model_pattern = 'tts-1'
            AND effective_to IS NULL) AS speech;

WITH RECURSIVE n(j) AS (SELECT 0 UNION ALL SELECT j + 1 FROM n WHERE j < @usage - 1),
u AS (
  SELECT j, k, h, wi,
         CASE WHEN h % 50 = 7 THEN 'error' ELSE 'ok' END AS st,
         k < 2 AND h % 400 = 3 AS local,
         CASE WHEN k = 0 THEN 400 + h % 800 WHEN k = 1 THEN 1200 + h % 1000 ELSE 0 END AS tin,
         CASE WHEN k < 2 THEN (h % 3) * 100 ELSE 0 END AS tcached,
         CASE WHEN k = 0 THEN 600 + h % 1200 WHEN k = 1 THEN 400 + h % 600 ELSE 0 END AS tout,
         CASE WHEN k >= 6 THEN 200 + h % 700 ELSE 0 END AS chars
  FROM (SELECT j, j % 10 AS k, j * 2654435761 % 1000003 AS h, 1 + j * @workflows / @usage AS wi
        FROM n))
INSERT INTO api_usage (id, workflow_id, user_id, phase, provider, model, operation, status,
                       http_status, error_code, attempt, input_tokens, cached_input_tokens,
                       output_tokens, reasoning_tokens, images, image_size, image_quality,
                       characters, audio_ms, duration_ms, cost_nusd, cost_source, price_id,
                       created_at)
  SELECT u.j + 1, w.id, w.uid,
         CASE WHEN u.k = 0 THEN 'story' WHEN u.k = 1 THEN 'scenes' WHEN u.k < 6 THEN 'images'
              ELSE 'narration' END,
         CASE WHEN u.local THEN 'ollama' ELSE 'openai' END,
         CASE WHEN u.local THEN 'llama3.1:8b' WHEN u.k < 2 THEN 'gpt-4o-mini'
              WHEN u.k < 6 THEN 'gpt-image-1' ELSE 'tts-1' END,
         CASE WHEN u.k < 2 THEN 'chat' WHEN u.k < 6 THEN 'image' ELSE 'speech' END,
         u.st, CASE WHEN u.st = 'error' THEN 500 ELSE 200 END,
         CASE WHEN u.st = 'error' THEN 'provider_error' END, 1,
         CASE WHEN u.st = 'ok' THEN u.tin ELSE 0 END,
         CASE WHEN u.st = 'ok' THEN u.tcached ELSE 0 END,
         CASE WHEN u.st = 'ok' THEN u.tout ELSE 0 END, 0,
         CASE WHEN u.st = 'ok' AND u.k BETWEEN 2 AND 5 THEN 1 ELSE 0 END,
         CASE WHEN u.k BETWEEN 2 AND 5 THEN '1024x1024' END,
         CASE WHEN u.k BETWEEN 2 AND 5 THEN 'medium' END,
         CASE WHEN u.st = 'ok' THEN u.chars ELSE 0 END,
         CASE WHEN u.st = 'ok' THEN u.chars * 60 ELSE 0 END,
         CASE WHEN u.k < 2 THEN 800 + u.h % 3200 WHEN u.k < 6 THEN 8000 + u.h % 22000
              ELSE 1000 + u.h % 4000 END,
         CASE WHEN u.local THEN NULL WHEN u.st = 'error' THEN 0
              WHEN u.k < 2 THEN (u.tin - u.tcached) * 150 + u.tcached * 75 + u.tout * 600
              WHEN u.k < 6 THEN 42000000 ELSE u.chars * 15000 END,
         CASE WHEN u.local THEN NULL ELSE 'price_table' END,
         CASE WHEN u.local THEN NULL WHEN u.k < 2 THEN p.chat WHEN u.k < 6 THEN p.image
              ELSE p.speech END,
         coalesce(w.started, w.created + 1000) + u.k * 4000 + u.h % 1000
  FROM u JOIN w ON w.i = u.wi, price p;
