// Every provider call visible, and its latency tracked (issue 16, parts 1 and 2):
// UsageRepo::ListCalls and Performance on SQLite and PostgreSQL (keyset paging across equal
// timestamps, every filter, percentiles against values worked out by hand), then
// GET /api/v1/usage/calls, GET /api/v1/analytics/performance and the
// storyloom_provider_call_duration_seconds histogram through a real `storyloom serve` on each
// backend, and `storyloom usage calls` (table, --json, --csv).
#include <gtest/gtest.h>

#include <cmath>
#include <map>
#include <set>
#include <sstream>

#include "support/checks.h"
#include "support/server_process.h"
#include "support/shared_servers.h"
#include "support/temp_dir.h"
#include "support/test_db.h"
#include "support/usage_rows.h"

namespace storyloom {
namespace {

using nlohmann::json;
using testing::ServerProcess;

constexpr Millis kT0 = 1764000000000;  // 2025-11-24T16:00:00Z

// ---- the store, on both backends -------------------------------------------------------

class UsageCallsStoreTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    db_ = std::make_unique<testing::TestDatabase>(GetParam());
    store_ = db_->OpenMigrated();
    alice_ = testing::MakeUser(*store_, "alice");
    bob_ = testing::MakeUser(*store_, "bob");
    auto w = store_->CreateWorkflow({alice_, "prompt", "", "{}", ""});
    ASSERT_TRUE(w) << w.error().ToString();
    workflow_ = w->workflow.id;
  }
  // Records a call and returns its id.
  std::int64_t Record(ApiUsage u) {
    auto r = store_->RecordUsage(u);
    EXPECT_TRUE(r) << r.error().ToString();
    return r ? r->id : 0;
  }
  ApiUsage Call(const std::string& user, Millis at, std::int64_t duration_ms) {
    ApiUsage u = testing::DistinctUsageCall(user, user == alice_ ? workflow_ : "", 1000);
    u.created_at = at;
    u.duration_ms = duration_ms;
    return u;
  }
  Page<ApiUsage> List(const UsageCallFilter& f) {
    auto p = store_->ReadOne<Page<ApiUsage>>([&](StoreTx& tx) { return tx.usage().ListCalls(f); });
    EXPECT_TRUE(p) << p.error().ToString();
    return p ? *p : Page<ApiUsage>{};
  }
  std::vector<std::int64_t> Ids(const Page<ApiUsage>& p) {
    std::vector<std::int64_t> ids;
    for (const auto& u : p.items) ids.push_back(u.id);
    return ids;
  }
  std::unique_ptr<testing::TestDatabase> db_;
  std::unique_ptr<Store> store_;
  std::string alice_, bob_, workflow_;
};

TEST_P(UsageCallsStoreTest, PagesNewestFirstWithoutLosingOrRepeatingEqualTimestamps) {
  // Seven calls over three timestamps; five share kT0 + 1000.
  std::vector<std::pair<Millis, std::int64_t>> made;  // (created_at, id)
  for (Millis at : {kT0, kT0 + 1000, kT0 + 1000, kT0 + 2000, kT0 + 1000, kT0 + 1000, kT0 + 1000}) {
    made.emplace_back(at, Record(Call(alice_, at, 10)));
  }
  std::sort(made.rbegin(), made.rend());  // newest first, the higher id first on a tie
  for (int limit : {1, 2, 3, 7}) {
    std::vector<std::int64_t> seen;
    UsageCallFilter f{.limit = limit};
    for (int pages = 0; pages < 10; ++pages) {
      Page<ApiUsage> p = List(f);
      EXPECT_LE(static_cast<int>(p.items.size()), limit);
      for (auto id : Ids(p)) seen.push_back(id);
      if (p.next_cursor.empty()) break;
      f.cursor = p.next_cursor;
    }
    std::vector<std::int64_t> want;
    for (const auto& m : made) want.push_back(m.second);
    EXPECT_EQ(seen, want) << "limit " << limit;
  }
}

TEST_P(UsageCallsStoreTest, EveryFilterNarrowsTheList) {
  ApiUsage a = Call(alice_, kT0, 10);
  const std::int64_t chat = Record(a);
  a.operation = "image";
  a.model = "gpt-image-1";
  a.created_at = kT0 + 5000;
  const std::int64_t image = Record(a);
  a.operation = "speech";
  a.provider = "elevenlabs";
  a.model = "v2";
  a.status = "error";
  a.error_code = "rate_limited";
  a.http_status = 429;
  a.cost_nusd.reset();
  a.created_at = kT0 + 10000;
  const std::int64_t speech = Record(a);
  const std::int64_t bobs = Record(Call(bob_, kT0 + 20000, 10));

  EXPECT_EQ(Ids(List({})), (std::vector<std::int64_t>{bobs, speech, image, chat}));
  EXPECT_EQ(Ids(List({.user_id = alice_})), (std::vector<std::int64_t>{speech, image, chat}));
  EXPECT_EQ(Ids(List({.user_id = bob_})), (std::vector<std::int64_t>{bobs}));
  EXPECT_EQ(Ids(List({.workflow_id = workflow_})),
            (std::vector<std::int64_t>{speech, image, chat}));
  EXPECT_EQ(Ids(List({.provider = "elevenlabs"})), (std::vector<std::int64_t>{speech}));
  EXPECT_EQ(Ids(List({.model = "gpt-image-1"})), (std::vector<std::int64_t>{image}));
  EXPECT_EQ(Ids(List({.operation = "chat"})), (std::vector<std::int64_t>{bobs, chat}));
  EXPECT_EQ(Ids(List({.status = "error"})), (std::vector<std::int64_t>{speech}));
  EXPECT_EQ(Ids(List({.from = kT0 + 5000, .to = kT0 + 10001})),
            (std::vector<std::int64_t>{speech, image}));
  EXPECT_EQ(Ids(List({.to = kT0 + 5000})), (std::vector<std::int64_t>{chat}));
  // The unpriced, failed call reads back as such.
  Page<ApiUsage> p = List({.status = "error"});
  ASSERT_EQ(p.items.size(), 1u);
  EXPECT_FALSE(p.items[0].cost_nusd.has_value());
  EXPECT_EQ(p.items[0].error_code, "rate_limited");
  EXPECT_EQ(p.items[0].http_status, 429);
}

TEST_P(UsageCallsStoreTest, RefusesACursorItDidNotIssue) {
  for (const char* bad : {"x", "12", "1.0", "-1.5", "1.-5", "1.5x", ".5", "1."}) {
    auto p = store_->ReadOne<Page<ApiUsage>>(
        [&](StoreTx& tx) { return tx.usage().ListCalls({.cursor = bad}); });
    ASSERT_FALSE(p) << bad;
    EXPECT_EQ(p.error().code, ErrorCode::kInvalidArgument) << bad;
    EXPECT_EQ(p.error().detail, "cursor") << bad;
  }
}

TEST_P(UsageCallsStoreTest, PercentilesErrorsAndRetriesMatchTheHandWorkedValues) {
  // openai/gpt-4o-mini/chat: 100 200 300 400 1000 ms; one error, two retries.
  int n = 0;
  for (std::int64_t ms : {400, 100, 1000, 300, 200}) {
    ApiUsage u = Call(alice_, kT0 + n, ms);
    u.attempt = n >= 3 ? 2 : 1;
    if (n == 4) u.status = "error";
    Record(u);
    ++n;
  }
  // openai/tts-1/speech: 50 50 50 150 ms (equal durations share one run on SQLite).
  for (std::int64_t ms : {50, 150, 50, 50}) {
    ApiUsage u = Call(bob_, kT0 + 100, ms);
    u.model = "tts-1";
    u.operation = "speech";
    Record(u);
  }
  // Outside the range.
  Record(Call(alice_, kT0 + 100000, 99999));

  auto perf = store_->ReadOne<std::vector<CallPerformance>>(
      [&](StoreTx& tx) { return tx.usage().Performance(kT0, kT0 + 100000, ""); });
  ASSERT_TRUE(perf) << perf.error().ToString();
  ASSERT_EQ(perf->size(), 2u);
  const CallPerformance& chat = (*perf)[0];
  EXPECT_EQ(chat.model, "gpt-4o-mini");
  EXPECT_EQ(chat.operation, "chat");
  EXPECT_EQ(chat.calls, 5);
  EXPECT_EQ(chat.errors, 1);
  EXPECT_EQ(chat.retries, 2);
  // Rank p·(n−1) between the two nearest values: p50 = 300; p95 at 3.8 = 400 + 0.8·600;
  // p99 at 3.96 = 400 + 0.96·600.
  EXPECT_NEAR(chat.p50_ms, 300.0, 1e-9);
  EXPECT_NEAR(chat.p95_ms, 880.0, 1e-9);
  EXPECT_NEAR(chat.p99_ms, 976.0, 1e-9);
  EXPECT_NEAR(chat.mean_ms, 400.0, 1e-9);
  EXPECT_EQ(chat.max_ms, 1000);
  const CallPerformance& speech = (*perf)[1];
  EXPECT_EQ(speech.model, "tts-1");
  EXPECT_EQ(speech.calls, 4);
  // Sorted 50 50 50 150: p50 at 1.5 = 50; p95 at 2.85 = 50 + 0.85·100; p99 at 2.97.
  EXPECT_NEAR(speech.p50_ms, 50.0, 1e-9);
  EXPECT_NEAR(speech.p95_ms, 135.0, 1e-9);
  EXPECT_NEAR(speech.p99_ms, 147.0, 1e-9);
  EXPECT_NEAR(speech.mean_ms, 75.0, 1e-9);

  // One user's only.
  auto bobs = store_->ReadOne<std::vector<CallPerformance>>(
      [&](StoreTx& tx) { return tx.usage().Performance(kT0, 0, bob_); });
  ASSERT_TRUE(bobs) << bobs.error().ToString();
  ASSERT_EQ(bobs->size(), 1u);
  EXPECT_EQ((*bobs)[0].model, "tts-1");
  // A single call is its own every percentile.
  auto last = store_->ReadOne<std::vector<CallPerformance>>(
      [&](StoreTx& tx) { return tx.usage().Performance(kT0 + 100000, 0, ""); });
  ASSERT_TRUE(last) << last.error().ToString();
  ASSERT_EQ(last->size(), 1u);
  EXPECT_NEAR((*last)[0].p50_ms, 99999.0, 1e-9);
  EXPECT_NEAR((*last)[0].p99_ms, 99999.0, 1e-9);
}

INSTANTIATE_TEST_SUITE_P(Backends, UsageCallsStoreTest, ::testing::ValuesIn(testing::Backends()),
                         [](const auto& info) { return info.param; });

// ---- the HTTP API and /metrics, one real server per backend ------------------------------

class UsageCallsApiTest : public ::testing::TestWithParam<std::string> {
 protected:
  static testing::SharedServers& servers() {
    static testing::SharedServers s;
    return s;
  }
  static void TearDownTestSuite() { servers().Clear(); }
  void SetUp() override {
    testing::ServerOptions o;
    o.workers = 0;
    server_ = &servers().Get(GetParam(), o);
  }

  // Records a call as `user` through POST /api/v1/usage and returns the stored row.
  json Post(const std::string& user, json call) {
    auto c = server_->Client(user);
    if (!call.contains("operation")) call["operation"] = "chat";
    auto r = c->Post("/api/v1/usage", call);
    EXPECT_EQ(r.status, 201) << r.body;
    return r.Json();
  }
  // Every page of `path` (which has a query), `limit` at a time; the ids in order.
  std::vector<std::int64_t> AllIds(const std::string& user, const std::string& path) {
    auto c = server_->Client(user);
    std::vector<std::int64_t> ids;
    for (const auto& item : testing::AllItems(*c, path)) ids.push_back(item["id"]);
    return ids;
  }
  ServerProcess* server_ = nullptr;
};

TEST_P(UsageCallsApiTest, EachUserSeesTheirOwnCallsPagedNewestFirst) {
  std::vector<std::int64_t> alices;
  for (int i = 0; i < 5; ++i) {
    alices.push_back(Post("alice", {{"provider", "own-calls"}, {"duration_ms", 10 * i}})["id"]);
  }
  const std::int64_t bobs = Post("bob", {{"provider", "own-calls"}})["id"];
  std::reverse(alices.begin(), alices.end());
  EXPECT_EQ(AllIds("alice", "/api/v1/usage/calls?provider=own-calls&limit=2"), alices);
  EXPECT_EQ(AllIds("bob", "/api/v1/usage/calls?provider=own-calls&limit=2"),
            (std::vector<std::int64_t>{bobs}));
  // The administrator sees both, or one user's.
  std::vector<std::int64_t> all{bobs};
  all.insert(all.end(), alices.begin(), alices.end());
  EXPECT_EQ(AllIds("admin", "/api/v1/usage/calls?provider=own-calls&limit=3"), all);
  EXPECT_EQ(
      AllIds("admin", "/api/v1/usage/calls?provider=own-calls&user_id=" + server_->user_id("bob")),
      (std::vector<std::int64_t>{bobs}));
  // A user asking for someone else's calls is refused; their own id is fine.
  auto alice = server_->Client("alice");
  auto r = alice->Get("/api/v1/usage/calls?user_id=" + server_->user_id("bob"));
  EXPECT_EQ(r.status, 403) << r.body;
  EXPECT_EQ(r.Json()["error"]["code"], "permission_denied");
  EXPECT_EQ(
      alice->Get("/api/v1/usage/calls?provider=own-calls&user_id=" + server_->user_id("alice"))
          .Json()["items"]
          .size(),
      5u);
}

TEST_P(UsageCallsApiTest, AStorysCallsAreItsOwnAndHiddenFromOthers) {
  auto alice = server_->Client("alice");
  auto w = alice->Post("/api/v1/workflows", {{"prompt", "A kite over the harbour"}});
  ASSERT_EQ(w.status, 201) << w.body;
  const std::string id = w.Json()["id"];
  const json in = Post("alice", {{"workflow_id", id},
                                 {"provider", "story-calls"},
                                 {"model", "m1"},
                                 {"phase", "story"},
                                 {"input_tokens", 120},
                                 {"output_tokens", 340},
                                 {"duration_ms", 777}});
  Post("alice", {{"provider", "story-calls"}});  // outside the story
  auto r = alice->Get("/api/v1/usage/calls?workflow_id=" + id);
  ASSERT_EQ(r.status, 200) << r.body;
  const json items = r.Json()["items"];
  ASSERT_EQ(items.size(), 1u) << r.body;
  const json& c = items[0];
  EXPECT_EQ(c["id"], in["id"]);
  EXPECT_EQ(c["workflow_id"], id);
  EXPECT_EQ(c["user_id"], server_->user_id("alice"));
  EXPECT_EQ(c["phase"], "story");
  EXPECT_EQ(c["provider"], "story-calls");
  EXPECT_EQ(c["model"], "m1");
  EXPECT_EQ(c["operation"], "chat");
  EXPECT_EQ(c["status"], "ok");
  EXPECT_EQ(c["attempt"], 1);
  EXPECT_EQ(c["duration_ms"], 777);
  EXPECT_EQ(c["input_tokens"], 120);
  EXPECT_EQ(c["output_tokens"], 340);
  EXPECT_TRUE(c["error"].is_null());
  // No price matches this provider: unpriced, never zero.
  EXPECT_TRUE(c["cost_usd"].is_null()) << c.dump();
  EXPECT_EQ(c["priced"], false);
  EXPECT_TRUE(c["created_at"].is_string());
  // Bob cannot list Alice's story's calls: it answers like a missing story.
  auto bob = server_->Client("bob");
  EXPECT_EQ(bob->Get("/api/v1/usage/calls?workflow_id=" + id).status, 404);
  // The administrator can.
  EXPECT_EQ(
      server_->Client("admin")->Get("/api/v1/usage/calls?workflow_id=" + id).Json()["items"].size(),
      1u);
}

TEST_P(UsageCallsApiTest, FailedAndPricedCallsShowTheirErrorAndCost) {
  Post("alice", {{"provider", "offline"},
                 {"model", "template"},
                 {"status", "error"},
                 {"http_status", 503},
                 {"error_code", "unavailable"},
                 {"attempt", 3}});
  auto r = server_->Client("alice")->Get("/api/v1/usage/calls?provider=offline&status=error");
  ASSERT_EQ(r.status, 200) << r.body;
  const json items = r.Json()["items"];
  ASSERT_EQ(items.size(), 1u) << r.body;
  EXPECT_EQ(items[0]["attempt"], 3);
  EXPECT_EQ(items[0]["error"], json({{"code", "unavailable"}, {"http_status", 503}}));
  // Offline calls cost exactly 0 and are priced.
  EXPECT_EQ(items[0]["priced"], true);
  EXPECT_EQ(items[0]["cost_usd"], "0.00");
}

TEST_P(UsageCallsApiTest, EveryBadFilterIsRefusedNamingItsField) {
  auto alice = server_->Client("alice");
  const std::pair<const char*, const char*> cases[] = {
      {"operation=draw", "operation"},
      {"status=maybe", "status"},
      {"limit=0", "limit"},
      {"limit=201", "limit"},
      {"limit=ten", "limit"},
      {"from=yesterday", "from"},
      {"to=2026-13-45", "to"},
      {"from=2026-01-02&to=2026-01-01", "from"},
      {"cursor=abc", "cursor"},
      {"cursor=5", "cursor"},
      {"user_id=not-a-user", "user_id"},
      {"provider=%01", "provider"},
  };
  for (const auto& [query, field] : cases) {
    auto r = alice->Get(std::string("/api/v1/usage/calls?") + query);
    EXPECT_EQ(r.status, 422) << query << " " << r.body;
    EXPECT_EQ(r.Json()["error"]["code"], "invalid_argument") << query;
    EXPECT_EQ(r.Json()["error"]["field"], field) << query << " " << r.body;
  }
  EXPECT_EQ(alice->Get("/api/v1/usage/calls?workflow_id=nope").status, 404);
  EXPECT_EQ(server_->Client("")->Get("/api/v1/usage/calls").status, 401);
  auto r = alice->Get("/api/v1/analytics/performance?from=2026-01-02&to=2026-01-01");
  EXPECT_EQ(r.status, 422) << r.body;
  EXPECT_EQ(r.Json()["error"]["field"], "from");
}

TEST_P(UsageCallsApiTest, PerformanceGivesPercentilesErrorRateAndRetries) {
  // perf/m/image: 100 200 300 400 1000 ms, one error, two retries (attempt > 1).
  int n = 0;
  for (int ms : {400, 100, 1000, 300, 200}) {
    Post("bob", {{"provider", "perf"},
                 {"model", "m"},
                 {"operation", "image"},
                 {"duration_ms", ms},
                 {"attempt", n >= 3 ? 2 : 1},
                 {"status", n == 4 ? "error" : "ok"}});
    ++n;
  }
  auto r = server_->Client("bob")->Get("/api/v1/analytics/performance");
  ASSERT_EQ(r.status, 200) << r.body;
  const json j = r.Json();
  EXPECT_EQ(j["scope"], "user");
  EXPECT_EQ(j["user_id"], server_->user_id("bob"));
  json row;
  for (const auto& item : j["items"]) {
    if (item["provider"] == "perf") row = item;
  }
  ASSERT_TRUE(row.is_object()) << j.dump(2);
  EXPECT_EQ(row["model"], "m");
  EXPECT_EQ(row["operation"], "image");
  EXPECT_EQ(row["calls"], 5);
  EXPECT_EQ(row["errors"], 1);
  EXPECT_DOUBLE_EQ(row["error_rate"].get<double>(), 0.2);
  EXPECT_EQ(row["retries"], 2);
  EXPECT_DOUBLE_EQ(row["retries_per_call"].get<double>(), 2.0 / 3.0);
  EXPECT_NEAR(row["latency_ms"]["p50"].get<double>(), 300.0, 1e-9);
  EXPECT_NEAR(row["latency_ms"]["p95"].get<double>(), 880.0, 1e-9);
  EXPECT_NEAR(row["latency_ms"]["p99"].get<double>(), 976.0, 1e-9);
  EXPECT_NEAR(row["latency_ms"]["mean"].get<double>(), 400.0, 1e-9);
  EXPECT_EQ(row["latency_ms"]["max"], 1000);
  // Alice's numbers leave Bob's calls out; the administrator's hold them.
  const json alices = server_->Client("alice")->Get("/api/v1/analytics/performance").Json();
  for (const auto& item : alices["items"]) EXPECT_NE(item["provider"], "perf");
  auto all = server_->Client("admin")->Get("/api/v1/analytics/performance");
  EXPECT_EQ(all.Json()["scope"], "all");
  EXPECT_NE(all.body.find("\"perf\""), std::string::npos);

  // The histogram counts each recorded call in its bucket: 100 200 300 400 ms are <= 0.5 s,
  // 1000 ms only from le="1".
  const std::string series =
      "storyloom_provider_call_duration_seconds_bucket{provider=\"perf\",model=\"m\","
      "operation=\"image\",le=\"";
  EXPECT_EQ(testing::MetricValue(*server_, series + "0.25\"}"), 2);
  EXPECT_EQ(testing::MetricValue(*server_, series + "0.5\"}"), 4);
  EXPECT_EQ(testing::MetricValue(*server_, series + "1\"}"), 5);
  EXPECT_EQ(testing::MetricValue(*server_, series + "+Inf\"}"), 5);
  EXPECT_EQ(testing::MetricValue(*server_,
                                 "storyloom_provider_call_duration_seconds_count{provider=\"perf\","
                                 "model=\"m\",operation=\"image\"}"),
            5);
  EXPECT_NEAR(testing::MetricValue(*server_,
                                   "storyloom_provider_call_duration_seconds_sum{provider=\"perf\","
                                   "model=\"m\",operation=\"image\"}"),
              2.0, 1e-9);
}

TEST_P(UsageCallsApiTest, TheHistogramsLabelsAreCappedAndPassPromtool) {
  // More models than the cap: later ones share model="other".
  for (int i = 0; i < 40; ++i) {
    Post("alice", {{"provider", "many"}, {"model", "model-" + std::to_string(i)}});
  }
  auto m = server_->Client("admin")->Get("/metrics");
  ASSERT_EQ(m.status, 200);
  std::set<std::pair<std::string, std::string>> pairs;
  std::istringstream in(m.body);
  const std::string prefix = "storyloom_provider_call_duration_seconds_count{provider=\"";
  for (std::string line; std::getline(in, line);) {
    if (line.rfind(prefix, 0) != 0) continue;
    const auto p_end = line.find('"', prefix.size());
    const auto m_begin = line.find("model=\"") + 7;
    pairs.emplace(line.substr(prefix.size(), p_end - prefix.size()),
                  line.substr(m_begin, line.find('"', m_begin) - m_begin));
  }
  std::size_t named = 0;
  for (const auto& [provider, model] : pairs) named += model != "other";
  EXPECT_LE(named, 32u) << m.body;
  EXPECT_TRUE(pairs.contains({"many", "other"})) << m.body;
  EXPECT_TRUE(pairs.contains({"many", "model-0"})) << m.body;
  EXPECT_FALSE(pairs.contains({"many", "model-39"})) << m.body;

  testing::TempDir tmp;
  testing::WriteFile(tmp / "metrics.txt", m.body);
  const std::string cmd = "promtool check metrics < " + (tmp / "metrics.txt").string() + " 2>&1";
  FILE* p = ::popen(cmd.c_str(), "r");
  ASSERT_NE(p, nullptr);
  std::string out;
  char buf[1024];
  std::size_t got;
  while ((got = std::fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, got);
  EXPECT_EQ(::pclose(p), 0) << out;
}

INSTANTIATE_TEST_SUITE_P(Backends, UsageCallsApiTest, ::testing::ValuesIn(testing::Backends()),
                         [](const auto& info) { return info.param; });

// ---- the command line --------------------------------------------------------------------

class CliUsageCallsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    store_ = db_.OpenMigrated();
    user_ = testing::MakeUser(*store_, "alice");
    ApiUsage u = testing::DistinctUsageCall(user_, "", 1234500000);  // $1.2345
    u.duration_ms = 850;
    ASSERT_TRUE(store_->RecordUsage(u));
    u.status = "error";
    u.error_code = "rate_limited";
    u.http_status = 429;
    u.attempt = 2;
    u.model = "=cmd|x";  // a spreadsheet formula, which the CSV must defuse
    u.cost_nusd = std::nullopt;
    u.created_at += 1000;
    ASSERT_TRUE(store_->RecordUsage(u));
    store_.reset();
    flags_ = "--log-level off --data-dir '" + dir_.str() + "' --database '" + db_.url() + "'";
  }
  testing::TestDatabase db_{"sqlite"};
  testing::TempDir dir_;
  std::unique_ptr<Store> store_;
  std::string user_, flags_;
};

TEST_F(CliUsageCallsTest, JsonHasTheApisItemsNewestFirst) {
  testing::CliResult r = testing::RunCli(flags_ + " usage calls --json");
  ASSERT_EQ(r.exit_code, 0) << r.out;
  const json j = json::parse(r.out, nullptr, /*allow_exceptions=*/false);
  ASSERT_FALSE(j.is_discarded()) << r.out;
  ASSERT_EQ(j["items"].size(), 2u) << r.out;
  EXPECT_TRUE(j["next_cursor"].is_null());
  const json& failed = j["items"][0];
  EXPECT_EQ(failed["status"], "error");
  EXPECT_EQ(failed["attempt"], 2);
  EXPECT_TRUE(failed["cost_usd"].is_null());
  EXPECT_EQ(failed["priced"], false);
  EXPECT_EQ(failed["error"], json({{"code", "rate_limited"}, {"http_status", 429}}));
  const json& ok = j["items"][1];
  EXPECT_EQ(ok["cost_usd"], "1.2345");
  EXPECT_EQ(ok["duration_ms"], 850);
  EXPECT_EQ(ok["input_tokens"], 1100);
  EXPECT_EQ(ok["output_tokens"], 1300);
  EXPECT_EQ(ok["images"], 19);
  EXPECT_EQ(ok["characters"], 2300);
  EXPECT_EQ(ok["created_at"], "2025-11-24T16:00:00.000Z");

  // Filters and paging.
  r = testing::RunCli(flags_ + " usage calls --json --status ok");
  ASSERT_EQ(r.exit_code, 0) << r.out;
  EXPECT_EQ(json::parse(r.out)["items"].size(), 1u);
  r = testing::RunCli(flags_ + " usage calls --json --limit 1");
  ASSERT_EQ(r.exit_code, 0) << r.out;
  const std::string cursor = json::parse(r.out)["next_cursor"];
  r = testing::RunCli(flags_ + " usage calls --json --limit 1 --cursor " + cursor);
  ASSERT_EQ(r.exit_code, 0) << r.out;
  EXPECT_EQ(json::parse(r.out)["items"][0]["status"], "ok");
  EXPECT_EQ(testing::RunCli(flags_ + " usage calls --operation draw").exit_code, 2);
  EXPECT_EQ(testing::RunCli(flags_ + " usage calls --user nobody").exit_code, 1);
}

TEST_F(CliUsageCallsTest, CsvHasAHeaderAndOneLinePerCall) {
  testing::CliResult r = testing::RunCli(flags_ + " usage calls --csv");
  ASSERT_EQ(r.exit_code, 0) << r.out;
  std::istringstream in(r.out);
  std::vector<std::string> lines;
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  ASSERT_EQ(lines.size(), 3u) << r.out;
  EXPECT_EQ(lines[0],
            "id,created_at,workflow_id,user_id,phase,provider,model,operation,status,attempt,"
            "duration_ms,input_tokens,output_tokens,images,characters,cost_usd,priced,error_code,"
            "http_status");
  EXPECT_EQ(lines[1], "2,2025-11-24T16:00:01.000Z,," + user_ +
                          ",,openai,\"'=cmd|x\",chat,error,2,850,1100,1300,19,2300,,false,"
                          "rate_limited,429");
  EXPECT_EQ(lines[2], "1,2025-11-24T16:00:00.000Z,," + user_ +
                          ",,openai,gpt-4o-mini,chat,ok,1,850,1100,1300,19,2300,1.2345,true,,");
  EXPECT_NE(testing::RunCli(flags_ + " usage calls --csv --json").exit_code, 0);
}

TEST_F(CliUsageCallsTest, TableShowsCostOrUnpriced) {
  testing::CliResult r = testing::RunCli(flags_ + " usage calls");
  ASSERT_EQ(r.exit_code, 0) << r.out;
  std::istringstream in(r.out);
  std::vector<std::string> lines;
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  ASSERT_EQ(lines.size(), 3u) << r.out;
  EXPECT_EQ(lines[0].rfind("CREATED_AT", 0), 0u) << r.out;
  EXPECT_NE(lines[1].find("unpriced"), std::string::npos) << r.out;
  EXPECT_NE(lines[1].find("rate_limited (HTTP 429)"), std::string::npos) << r.out;
  EXPECT_NE(lines[2].find("openai/gpt-4o-mini"), std::string::npos) << r.out;
  EXPECT_NE(lines[2].find("1.2345"), std::string::npos) << r.out;
  r = testing::RunCli(flags_ + " usage calls --limit 1");
  ASSERT_EQ(r.exit_code, 0) << r.out;
  EXPECT_NE(r.out.find("more: add --cursor "), std::string::npos) << r.out;
}

}  // namespace
}  // namespace storyloom
