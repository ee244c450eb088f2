// Analytics summary latency on 1,000,000 workflows and 10,000,000 api_usage rows (SQLite).
//
// The generator builds the database once and caches it (default
// /tmp/storyloom-bench-analytics.db; STORYLOOM_BENCH_ANALYTICS_DB to move it,
// STORYLOOM_BENCH_WORKFLOWS / STORYLOOM_BENCH_USAGE to resize): 100 users, workflows spread
// over 365 days (80% completed, 12% failed, 5% cancelled, 3% queued), five phases per finished
// workflow, one file per workflow, usage rows over 4 models. Rows go in with INSERT ... SELECT
// from recursive CTEs in one transaction each, so the migration-0003 triggers build the
// rollups exactly as they would in production; usage_daily is aggregated from api_usage the
// way the store keeps it.
//
//   build-ops-rel/bench/analytics_bench --benchmark_min_time=2
#include <benchmark/benchmark.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>

#include "core/clock.h"
#include "db/database.h"
#include "db/migrations.h"
#include "ops/analytics.h"
#include "storyloom/store.h"

namespace storyloom {
namespace {

constexpr std::int64_t kDayMs = 24LL * 3600 * 1000;

std::int64_t EnvInt(const char* name, std::int64_t fallback) {
  const char* v = std::getenv(name);
  return v ? std::atoll(v) : fallback;
}

std::string DbPath() {
  const char* v = std::getenv("STORYLOOM_BENCH_ANALYTICS_DB");
  return v ? v : "/tmp/storyloom-bench-analytics.db";
}

// Epoch ms of day 0 of the generated data: 365 days before the first of this month.
std::int64_t Base() { return (core::WallMillis() / kDayMs - 365) * kDayMs; }

void Check(const Result<void>& r, const char* what) {
  if (!r) {
    std::fprintf(stderr, "%s: %s\n", what, r.error().ToString().c_str());
    std::exit(1);
  }
}

// Workflows are inserted 'running'; the "finish" step moves 97% to a final status.
std::string WorkflowsSql(std::int64_t n, std::int64_t base) {
  return "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < " +
         std::to_string(n) +
         ") INSERT INTO workflows (seq, id, user_id, title, original_prompt, status, created_at, "
         "updated_at, started_at) SELECT i, printf('wf-%08d', i), printf('user-%03d', i % 100), "
         "'', 'prompt', 'running', " +
         std::to_string(base) + " + (i * 365 / " + std::to_string(n) + ") * " +
         std::to_string(kDayMs) + " + i % 80000000, 0, " + std::to_string(base) + " + (i * 365 / " +
         std::to_string(n) + ") * " + std::to_string(kDayMs) + " + i % 80000000 + 1000 FROM n;";
}

std::string UsageSql(std::int64_t workflows, std::int64_t n, std::int64_t base) {
  // Row j belongs to workflow (j % workflows) + 1 and its day.
  return "WITH RECURSIVE n(j) AS (SELECT 0 UNION ALL SELECT j + 1 FROM n WHERE j < " +
         std::to_string(n - 1) +
         ") INSERT INTO api_usage (workflow_id, user_id, phase, provider, model, operation, "
         "status, "
         "input_tokens, output_tokens, duration_ms, cost_nusd, cost_source, created_at) "
         "SELECT printf('wf-%08d', j % " +
         std::to_string(workflows) +
         " + 1), "
         "printf('user-%03d', (j % " +
         std::to_string(workflows) +
         " + 1) % 100), 'images', 'openai', "
         "CASE j % 4 WHEN 0 THEN 'gpt-4o-mini' WHEN 1 THEN 'gpt-image-1' WHEN 2 THEN "
         "'gpt-4o-mini-tts' "
         "ELSE 'gpt-4o' END, CASE j % 4 WHEN 1 THEN 'image' WHEN 2 THEN 'speech' ELSE 'chat' END, "
         "CASE WHEN j % 50 = 0 THEN 'error' ELSE 'ok' END, 500 + j % 1000, 200 + j % 700, 800, "
         "(j % 997) * 10000, 'price_table', " +
         std::to_string(base) + " + ((j % " + std::to_string(workflows) + " + 1) * 365 / " +
         std::to_string(workflows) + ") * " + std::to_string(kDayMs) + " + j % 80000000 FROM n;";
}

void Generate(const std::string& path) {
  const std::int64_t workflows = EnvInt("STORYLOOM_BENCH_WORKFLOWS", 1000000);
  const std::int64_t usage = EnvInt("STORYLOOM_BENCH_USAGE", 10000000);
  const std::string tmp = path + ".tmp";
  std::filesystem::remove(tmp);
  db::Options o;
  o.synchronous = "OFF";
  auto d = db::Open("sqlite://" + tmp, o);
  if (!d) std::exit(1);
  db::Database& db = **d;
  if (auto m = db::Migrate(db); !m) Check(Fail(m.error()), "migrate");
  const std::int64_t base = Base();
  auto step = [&](const char* what, const std::string& sql) {
    const auto t0 = std::chrono::steady_clock::now();
    Check(db.Write([&](db::Connection& c) -> Result<void> { return c.ExecScript(sql); }), what);
    std::fprintf(stderr, "  %-16s %6.1f s\n", what,
                 std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
  };
  std::fprintf(stderr, "generating %lld workflows and %lld usage rows into %s\n",
               static_cast<long long>(workflows), static_cast<long long>(usage), path.c_str());
  step("users",
       "WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < 99) "
       "INSERT INTO users (id, username, role, created_at, updated_at) "
       "SELECT printf('user-%03d', i), printf('user%03d', i), 'user', 0, 0 FROM n;");
  // Workflow i: user i % 100, created on day (i * 365 / N), status by i % 100.
  step("workflows", WorkflowsSql(workflows, base));
  step(
      "phases",
      "INSERT INTO workflow_phases (workflow_id, phase, status, attempts, started_at, finished_at) "
      "SELECT w.id, p.name, 'completed', 1, w.started_at + p.off, "
      "w.started_at + p.off + 200 + (w.seq * 7919 + p.off) % (p.scale) "
      "FROM workflows w, (SELECT 'story' AS name, 0 AS off, 3000 AS scale UNION ALL "
      "SELECT 'scenes', 10000, 5000 UNION ALL SELECT 'images', 20000, 60000 UNION ALL "
      "SELECT 'narration', 90000, 30000 UNION ALL SELECT 'assemble', 130000, 1000) p "
      "WHERE w.seq % 100 < 80;");
  step("files",
       "INSERT INTO generated_files (id, workflow_id, user_id, file_type, file_path, file_name, "
       "mime_type, file_size, sha256, created_at) SELECT 'f' || w.id, w.id, w.user_id, "
       "CASE w.seq % 3 WHEN 0 THEN 'image' WHEN 1 THEN 'audio' ELSE 'json' END, "
       "w.id || '/out.bin', 'out.bin', 'application/octet-stream', 1000 + w.seq % 100000, "
       "'0000000000000000000000000000000000000000000000000000000000000000', w.created_at "
       "FROM workflows w;");
  step("usage", UsageSql(workflows, usage, base));
  step("usage_daily",
       "INSERT INTO usage_daily (day, user_id, provider, model, operation, calls, errors, "
       "input_tokens, "
       "cached_input_tokens, output_tokens, reasoning_tokens, images, characters, audio_ms, "
       "duration_ms, "
       "cost_nusd, unpriced_calls) SELECT strftime('%Y-%m-%d', created_at / 1000, 'unixepoch'), "
       "user_id, "
       "provider, model, operation, count(*), sum(status = 'error'), sum(input_tokens), 0, "
       "sum(output_tokens), 0, 0, 0, 0, sum(duration_ms), coalesce(sum(cost_nusd), 0), "
       "sum(cost_nusd IS NULL) FROM api_usage GROUP BY 1, 2, 3, 4, 5;");
  // Finish the workflows the way the engine does (a status UPDATE), so the cost trigger runs.
  step("finish",
       "UPDATE workflows SET status = CASE WHEN seq % 100 < 80 THEN 'completed' "
       "WHEN seq % 100 < 92 THEN 'failed' ELSE 'cancelled' END, "
       "finished_at = started_at + 140000 WHERE seq % 100 < 97;");
  d->reset();
  std::filesystem::rename(tmp, path);
}

Store& BenchStore() {
  static std::unique_ptr<Store> store = [] {
    const std::string path = DbPath();
    if (!std::filesystem::exists(path)) Generate(path);
    auto s = Store::Open("sqlite://" + path);
    if (!s) std::exit(1);
    return std::move(*s);
  }();
  return *store;
}

void Summary(benchmark::State& state, int days, bool one_user) {
  Store& store = BenchStore();
  const std::int64_t end = core::WallMillis();
  ops::AnalyticsQuery q;
  q.from_day = core::FormatDay(end - days * kDayMs);
  q.to_day = core::FormatDay(end);
  if (one_user) q.user_id = "user-042";
  std::int64_t total = 0;
  for (auto _ : state) {
    auto s = ops::Summarize(store, q);
    if (!s) {
      state.SkipWithError(s.error().message.c_str());
      return;
    }
    total = s->total;
    benchmark::DoNotOptimize(s);
  }
  state.counters["workflows_in_range"] = static_cast<double>(total);
}

void BM_SummaryAllUsers365Days(benchmark::State& s) { Summary(s, 366, false); }
void BM_SummaryAllUsers30Days(benchmark::State& s) { Summary(s, 30, false); }
void BM_SummaryOneUser365Days(benchmark::State& s) { Summary(s, 366, true); }
BENCHMARK(BM_SummaryAllUsers365Days)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_SummaryAllUsers30Days)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_SummaryOneUser365Days)->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace storyloom

BENCHMARK_MAIN();
