// Hostile input over real HTTP against the real `storyloom serve` (issue #12):
//  - class 1, unbounded recursion: every JSON-accepting route (read from the sources, as
//    security_test.cc does) gets a 100,000-deep body and answers 422 naming the limit; a
//    provider reply, a backup manifest and a config file nested that deep are refused with
//    a clear error, and nothing crashes;
//  - class 4, arithmetic on user numbers: every numeric input of POST /api/v1/usage (and of
//    the other routes taking numbers) at its bounds, on SQLite and PostgreSQL, and the
//    reported overflow: a $1 budget, `images: 900000000000`, then GET /api/v1/budgets.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <map>
#include <regex>
#include <set>

#include "core/clock.h"
#include "http/server.h"
#include "support/checks.h"
#include "support/routes.h"
#include "support/server_process.h"
#include "support/shared_servers.h"
#include "support/test_db.h"

namespace storyloom {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using testing::HttpClient;
using testing::HttpResult;
using testing::ServerOptions;
using testing::ServerProcess;

constexpr int kDeep = 100000;

std::string Nested(int depth) { return std::string(depth, '[') + std::string(depth, ']'); }

// {"prompt": "x", "options": [[[...]]]}: deep, valid JSON, under the 1 MiB body limit.
std::string DeepBody() { return R"({"prompt":"x","options":)" + Nested(kDeep) + "}"; }

std::string ReadFile(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

void WriteFile(const fs::path& p, const std::string& text) {
  std::ofstream out(p, std::ios::binary | std::ios::trunc);
  out << text;
}

// Every (method, pattern) registered in src/api/*.cc that can carry a request body.
std::set<std::pair<std::string, std::string>> BodyRoutes() {
  std::set<std::pair<std::string, std::string>> out;
  for (const auto& [method, pattern] : testing::RegisteredRoutes()) {
    if (method == "POST" || method == "PUT" || method == "PATCH") out.emplace(method, pattern);
  }
  return out;
}

std::string Fill(std::string pattern, const std::map<std::string, std::string>& params) {
  for (const auto& [name, value] : params) {
    if (auto p = pattern.find(name); p != std::string::npos) pattern.replace(p, name.size(), value);
  }
  return pattern;
}

bool Alive(const ServerProcess& server) {
  return server.running() && server.Client()->Get("/healthz").status == 200;
}

// ---------------------------------------------------------------------------------------
// Class 1: depth limits.

TEST(HostileInputTest, EveryJsonRouteRefusesA100000DeepBodyWith422) {
  ServerProcess server;
  auto admin = server.Client("admin");
  auto w = admin->Post("/api/v1/workflows", {{"prompt", "a fox"}});
  ASSERT_EQ(w.status, 201) << w.body;
  const std::map<std::string, std::string> params = {{"{id}", server.user_id("bob")},
                                                     {"{name}", "deep.txt"}};
  const auto routes = BodyRoutes();
  ASSERT_GE(routes.size(), 8u);
  int json_routes = 0;
  // Log-out last: a route that ignored its body would end the admin's session.
  std::vector<std::pair<std::string, std::string>> ordered(routes.begin(), routes.end());
  std::stable_partition(ordered.begin(), ordered.end(),
                        [](const auto& r) { return r.second.find("logout") == std::string::npos; });
  for (const auto& [method, pattern] : ordered) {
    std::string path = Fill(pattern, params);
    if (pattern.starts_with("/api/v1/workflows/{id}")) {
      path = Fill(pattern, {{"{id}", w.Json()["id"].get<std::string>()}, {"{name}", "deep.txt"}});
    }
    SCOPED_TRACE(method + " " + path);
    // A route that reads a JSON body says so for malformed JSON (400 malformed_request).
    auto probe = admin->Request(method, path, "{not json", {"Content-Type: application/json"});
    ASSERT_NE(probe.status, 0) << "the server died";
    ASSERT_LT(probe.status, 500) << probe.body;
    if (probe.status != 400 || probe.Json()["error"]["code"] != "malformed_request") {
      // Not a JSON route (an upload takes raw bytes; cancel/retry read no body): a deep
      // body must still be harmless.
      auto r = admin->Request(method, path, DeepBody(), {"Content-Type: application/json"});
      EXPECT_LT(r.status, 500) << r.body;
      ASSERT_TRUE(Alive(server)) << server.log();
      continue;
    }
    ++json_routes;
    auto r = admin->Request(method, path, DeepBody(), {"Content-Type: application/json"});
    EXPECT_EQ(r.status, 422) << r.body.substr(0, 300);
    EXPECT_EQ(r.Json()["error"]["code"], "invalid_argument") << r.body.substr(0, 300);
    EXPECT_NE(r.Json()["error"]["message"].get<std::string>().find("64"), std::string::npos)
        << r.body.substr(0, 300);
    ASSERT_TRUE(Alive(server)) << server.log();
    // 64 levels are fine as far as depth goes (the route may still refuse the content).
    auto ok = admin->Request(method, path, "{\"x\":" + Nested(63) + "}",
                             {"Content-Type: application/json"});
    EXPECT_LT(ok.status, 500) << ok.body;
    EXPECT_FALSE(ok.status == 422 && ok.body.find("limit of 64") != std::string::npos) << ok.body;
  }
  // login, users, tokens, budgets, usage, workflows, cleanup... were found and checked.
  EXPECT_GE(json_routes, 7);
  EXPECT_TRUE(Alive(server));
}

TEST(HostileInputTest, OptionsNested100000DeepGet422AndTheServerLives) {
  // The request from the report: options nested 100,000 levels (600 KB).
  ServerProcess server;
  auto alice = server.Client("alice");
  std::string options;
  for (int i = 0; i < kDeep; ++i) options += "{\"a\":";
  options += "1" + std::string(kDeep, '}');
  auto r =
      alice->Request("POST", "/api/v1/workflows", R"({"prompt":"x","options":)" + options + "}",
                     {"Content-Type: application/json"});
  EXPECT_EQ(r.status, 422) << r.body.substr(0, 300);
  EXPECT_NE(r.body.find("64"), std::string::npos) << r.body.substr(0, 300);
  EXPECT_TRUE(Alive(server)) << server.log();
}

// An OpenAI-compatible endpoint whose replies nest `kDeep` levels: in the body itself
// (images) or inside the JSON text of the message content (chat).
class DeepProvider {
 public:
  explicit DeepProvider(bool deep_content) {
    auto router = std::make_shared<http::Router>();
    router->Add("POST", "/v1/chat/completions", [deep_content](http::Request&) {
      if (!deep_content) return http::Response::Json(200, "{\"choices\":" + Nested(kDeep) + "}");
      json reply = {{"choices", {{{"message", {{"content", Nested(kDeep)}}}}}},
                    {"usage", {{"prompt_tokens", 1}, {"completion_tokens", 1}}}};
      return http::Response::Json(200, reply.dump());
    });
    http::ServerOptions o;
    o.host = "127.0.0.1";
    o.port = 0;
    server_ = std::make_unique<http::Server>(o, router);
    if (!server_->Start()) throw std::runtime_error("deep provider: cannot start");
  }
  ~DeepProvider() { server_->Stop(3000); }
  std::string base_url() const {
    return "http://127.0.0.1:" + std::to_string(server_->port()) + "/v1";
  }

 private:
  std::unique_ptr<http::Server> server_;
};

TEST(HostileInputTest, DeepProviderRepliesFailTheWorkflowWithATypedError) {
  for (bool deep_content : {false, true}) {
    SCOPED_TRACE(deep_content ? "deep message content" : "deep reply body");
    DeepProvider provider(deep_content);
    ServerOptions o;
    o.env = {{"STORYLOOM_PROVIDER", "openai"},
             {"STORYLOOM_OPENAI_BASE_URL", provider.base_url()},
             {"STORYLOOM_OPENAI_API_KEY", "sk-test"},
             {"STORYLOOM_OPENAI_BACKOFF_MS", "10"},
             {"STORYLOOM_OPENAI_MAX_RETRIES", "1"}};
    ServerProcess server(o);
    auto alice = server.Client("alice");
    auto r = alice->Post("/api/v1/workflows", {{"prompt", "a fox"}, {"options", {{"scenes", 1}}}});
    ASSERT_EQ(r.status, 201) << r.body;
    json w = testing::WaitForWorkflow(*alice, r.Json()["id"], 60000);
    EXPECT_EQ(w["status"], "failed") << w.dump(2).substr(0, 2000);
    EXPECT_NE(w.dump().find("limit of 64"), std::string::npos) << w.dump(2).substr(0, 2000);
    EXPECT_TRUE(Alive(server)) << server.log();
  }
}

TEST(HostileInputTest, DeepBackupManifestIsAClearVerifyAndRestoreError) {
  ServerProcess server;
  auto backup = testing::RunCli(testing::CliFlags(server) + " backup create");
  ASSERT_EQ(backup.exit_code, 0) << backup.out;
  const fs::path dir = backup.LastLine();
  ASSERT_TRUE(fs::exists(dir / "manifest.json")) << backup.out;
  json manifest = json::parse(ReadFile(dir / "manifest.json"));
  std::string text = manifest.dump();
  // A valid manifest with one member nested 100,000 levels deep.
  text.insert(text.size() - 1, ",\"extra\":" + Nested(kDeep));
  WriteFile(dir / "manifest.json", text);
  auto verify = testing::RunCli(testing::CliFlags(server) + " backup verify " + dir.string());
  EXPECT_NE(verify.exit_code, 0) << verify.out;
  EXPECT_NE(verify.exit_code, -1) << "killed by a signal: " << verify.out;
  EXPECT_NE(verify.out.find("limit of 64"), std::string::npos) << verify.out;
  testing::TempDir target;
  auto restore =
      testing::RunCli("backup restore " + dir.string() + " --data-dir " + (target / "d").string());
  EXPECT_NE(restore.exit_code, 0) << restore.out;
  EXPECT_NE(restore.exit_code, -1) << "killed by a signal: " << restore.out;
  EXPECT_NE(restore.out.find("limit of 64"), std::string::npos) << restore.out;
}

TEST(HostileInputTest, DeepTomlConfigIsAOneLineError) {
  testing::TempDir dir;
  const std::vector<std::pair<std::string, std::string>> configs = {
      {"array", "x = " + Nested(kDeep) + "\n"},
      {"inline table", "x = " +
                           [] {
                             std::string s;
                             for (int i = 0; i < kDeep; ++i) s += "{a=";
                             return s + "1" + std::string(kDeep, '}');
                           }() +
                           "\n"},
      {"dotted key",
       [] {
         std::string s = "a";
         for (int i = 0; i < kDeep; ++i) s += ".a";
         return s + " = 1\n";
       }()},
      {"table header",
       [] {
         std::string s = "[a";
         for (int i = 0; i < kDeep; ++i) s += ".a";
         return s + "]\nx = 1\n";
       }()},
  };
  for (const auto& [what, text] : configs) {
    SCOPED_TRACE(what);
    const fs::path file = dir / "deep.toml";
    WriteFile(file, text);
    auto r = testing::RunCli("--config " + file.string() + " --data-dir " +
                             (dir / "data").string() + " db migrate");
    EXPECT_NE(r.exit_code, 0) << r.out.substr(0, 500);
    EXPECT_NE(r.exit_code, -1) << "killed by a signal";
    EXPECT_NE(r.out.find("limit of 64"), std::string::npos) << r.out.substr(0, 500);
    EXPECT_LT(r.out.size(), 2000u) << "not one clear line";
  }
  // A normal nested config still loads.
  WriteFile(dir / "ok.toml", "http_workers = 2\n[retention]\ncompleted_days = 30\n");
  auto ok = testing::RunCli("--config " + (dir / "ok.toml").string() + " --data-dir " +
                            (dir / "data").string() + " db migrate");
  EXPECT_EQ(ok.exit_code, 0) << ok.out;
}

// ---------------------------------------------------------------------------------------
// Class 4: numbers at their bounds, on SQLite and PostgreSQL.

class HostileNumbersTest : public ::testing::TestWithParam<std::string> {
 protected:
  static testing::SharedServers& servers() {
    static testing::SharedServers s;
    return s;
  }
  static void TearDownTestSuite() { servers().Clear(); }
  void SetUp() override { server_ = &servers().Get(GetParam()); }
  ServerProcess* server_ = nullptr;
};

// Raw JSON number texts every bounded field must refuse, whatever its range.
const std::vector<std::string> kAlwaysBad = {"-1",
                                             "9223372036854775807",
                                             "9223372036854775808",
                                             "18446744073709551616",
                                             "1e300",
                                             "-1e300",
                                             "1.5",
                                             "\"5\"",
                                             "true",
                                             "[1]",
                                             "{}"};

TEST_P(HostileNumbersTest, EveryUsageCountIsBoundedAt422) {
  auto bob = server_->Client("bob");
  struct Field {
    std::string name;
    std::int64_t lo, hi;
  };
  const std::vector<Field> fields = {
      {"input_tokens", 0, 100000000},
      {"cached_input_tokens", 0, 0},
      {"output_tokens", 0, 100000000},
      {"reasoning_tokens", 0, 100000000},
      {"images", 0, 10000},
      {"characters", 0, 100000000},
      {"audio_ms", 0, 86400000},
      {"duration_ms", 0, 86400000},
      {"attempt", 1, 1000},
      {"http_status", 100, 599},
  };
  auto post = [&](const std::string& field, const std::string& value) {
    std::string body =
        R"({"provider":"openai","model":"gpt-image-1","operation":"image",)"
        R"("image_size":"1024x1024","image_quality":"low","input_tokens":100000000,")" +
        field + "\":" + value + "}";
    if (field == "input_tokens") {
      body = R"({"provider":"openai","model":"gpt-image-1","operation":"image","input_tokens":)" +
             value + "}";
    }
    return bob->Request("POST", "/api/v1/usage", body, {"Content-Type: application/json"});
  };
  for (const Field& f : fields) {
    SCOPED_TRACE(f.name);
    const std::int64_t hi = f.name == "cached_input_tokens" ? 100000000 : f.hi;
    for (const std::string& ok :
         std::vector<std::string>{std::to_string(f.lo), std::to_string(hi), std::string("null")}) {
      auto r = post(f.name, ok);
      EXPECT_EQ(r.status, 201) << ok << ": " << r.body;
      if (r.status == 201 && ok != "null") {
        EXPECT_EQ(r.Json()[f.name].dump(), ok) << r.body;
        EXPECT_FALSE(r.Json()["cost_usd"].dump().starts_with("\"-")) << r.body;
      }
    }
    std::vector<std::string> bad = kAlwaysBad;
    bad.push_back(std::to_string(hi + 1));
    bad.push_back(std::to_string(f.lo - 1));
    for (const std::string& b : bad) {
      if (b == std::to_string(f.lo) || b == std::to_string(hi)) continue;
      auto r = post(f.name, b);
      EXPECT_EQ(r.status, 422) << b << ": " << r.body;
      EXPECT_EQ(r.Json()["error"]["field"], f.name) << b << ": " << r.body;
    }
  }
  EXPECT_EQ(bob->Get("/api/v1/usage?group_by=day").status, 200);
  EXPECT_EQ(bob->Get("/api/v1/usage?group_by=workflow").status, 200);
  EXPECT_EQ(bob->Get("/api/v1/budgets").status, 200);
}

TEST_P(HostileNumbersTest, OtherNumericInputsAtTheirBounds) {
  auto admin = server_->Client("admin");
  auto alice = server_->Client("alice");
  // options.scenes: 1..20.
  for (const std::string& v : std::vector<std::string>{"1", "20"}) {
    auto r = alice->Request("POST", "/api/v1/workflows",
                            R"({"prompt":"x","options":{"scenes":)" + v + "}}",
                            {"Content-Type: application/json"});
    EXPECT_EQ(r.status, 201) << v << ": " << r.body;
    if (r.status == 201)
      alice->Post("/api/v1/workflows/" + r.Json()["id"].get<std::string>() + "/cancel",
                  json::object());
  }
  std::vector<std::string> bad = kAlwaysBad;
  bad.insert(bad.end(), {"0", "21"});
  for (const std::string& v : bad) {
    auto r = alice->Request("POST", "/api/v1/workflows",
                            R"({"prompt":"x","options":{"scenes":)" + v + "}}",
                            {"Content-Type: application/json"});
    EXPECT_EQ(r.status, 422) << v << ": " << r.body;
  }
  // Budgets: USD amounts, at most 999,999,999.999999999.
  const std::string budget = "/api/v1/budgets/users/" + server_->user_id("bob");
  for (const std::string& v : std::vector<std::string>{"\"0\"", "\"999999999.999999999\"", "null",
                                                       "1", "\"0.000000001\""}) {
    auto r = admin->Request("PUT", budget, R"({"monthly_usd":)" + v + "}",
                            {"Content-Type: application/json"});
    EXPECT_EQ(r.status, 200) << v << ": " << r.body;
  }
  for (const std::string& v : std::vector<std::string>{
           "\"-1\"", "-1", "\"1000000000\"", "1e300", "\"1e300\"", "9223372036854775808",
           "18446744073709551616", "\"0.0000000001\"", "\"NaN\"", "\"\"", "true", "[1]"}) {
    auto r = admin->Request("PUT", budget, R"({"monthly_usd":)" + v + "}",
                            {"Content-Type: application/json"});
    EXPECT_EQ(r.status, 422) << v << ": " << r.body;
  }
  EXPECT_EQ(admin->Get("/api/v1/budgets").status, 200);
  // Query numbers: limit on every list route.
  for (const std::string& route : std::vector<std::string>{
           "/api/v1/workflows", "/api/v1/admin/audit", "/api/v1/admin/backups"}) {
    for (const std::string& v :
         std::vector<std::string>{"0", "-1", "9223372036854775808", "1e300", "1.5", "x"}) {
      auto r = admin->Get(route + "?limit=" + v);
      EXPECT_EQ(r.status, 422) << route << " limit=" << v << ": " << r.body;
    }
    EXPECT_EQ(admin->Get(route + "?limit=1").status, 200) << route;
  }
}

TEST_P(HostileNumbersTest, ReportedOverflowKeepsBudgetsRightAndAnswering) {
  auto admin = server_->Client("admin");
  auto alice = server_->Client("alice");
  const std::string alice_id = server_->user_id("alice");
  ASSERT_EQ(admin
                ->Request("PUT", "/api/v1/budgets/users/" + alice_id, R"({"monthly_usd":"1.00"})",
                          {"Content-Type: application/json"})
                .status,
            200);
  const json image = {{"provider", "openai"},
                      {"model", "gpt-image-1"},
                      {"operation", "image"},
                      {"image_size", "1024x1024"},
                      {"image_quality", "low"}};
  json huge = image;
  huge["images"] = 900000000000LL;
  for (int i = 0; i < 2; ++i) {
    auto r = alice->Post("/api/v1/usage", huge);
    EXPECT_EQ(r.status, 422) << r.body;
    EXPECT_EQ(r.Json()["error"]["field"], "images") << r.body;
  }
  // The most one row may hold is priced exactly ($0.011 each) and counts fully.
  json most = image;
  most["images"] = 10000;
  auto r = alice->Post("/api/v1/usage", most);
  ASSERT_EQ(r.status, 201) << r.body;
  EXPECT_EQ(r.Json()["cost_usd"], "110.00") << r.body;  // 10,000 x $0.011
  auto mine = alice->Get("/api/v1/budgets");
  ASSERT_EQ(mine.status, 200) << mine.body;
  EXPECT_GE(mine.Json()["user"]["spent_nusd"].get<std::int64_t>(), 110000000000LL);
  EXPECT_EQ(mine.Json()["user"]["remaining_usd"], "0.00") << mine.body;
  auto all = admin->Get("/api/v1/budgets");
  ASSERT_EQ(all.status, 200) << all.body;

  // Totals past 2^63 (rows written straight into the database at the largest cost the
  // schema allows) saturate instead of failing: the rollup upsert, the budget sums and
  // the per-workflow report all answer.
  auto store = server_->OpenStore();
  for (const std::string& provider : std::vector<std::string>{"big-a", "big-a", "big-b"}) {
    ApiUsage u;
    u.user_id = alice_id;
    u.provider = provider;
    u.operation = "chat";
    u.status = "ok";
    u.cost_nusd = 6000000000000000000LL;
    u.cost_source = "test";
    auto w = store->Write([&](StoreTx& tx) -> Result<void> {
      SL_RETURN_IF_ERROR(tx.usage().Record(u));
      return {};
    });
    ASSERT_TRUE(w) << w.error().ToString();
  }
  // A negative cost is refused by the store and by the database (migration 0008).
  {
    ApiUsage u;
    u.user_id = alice_id;
    u.provider = "neg";
    u.operation = "chat";
    u.status = "ok";
    u.cost_nusd = -1;
    auto w = store->Write([&](StoreTx& tx) -> Result<void> {
      SL_RETURN_IF_ERROR(tx.usage().Record(u));
      return {};
    });
    EXPECT_FALSE(w);
  }
  all = admin->Get("/api/v1/budgets");
  ASSERT_EQ(all.status, 200) << all.body;
  bool found = false;
  const json all_json = all.Json();
  for (const auto& u : all_json["users"]) {
    if (u["user_id"] != alice_id) continue;
    found = true;
    EXPECT_EQ(u["spent_nusd"].get<std::int64_t>(), INT64_MAX) << u.dump();
    EXPECT_EQ(u["remaining_usd"], "0.00") << u.dump();
  }
  EXPECT_TRUE(found);
  EXPECT_EQ(all.Json()["global"]["spent_nusd"].get<std::int64_t>(), INT64_MAX) << all.body;
  mine = alice->Get("/api/v1/budgets");
  ASSERT_EQ(mine.status, 200) << mine.body;
  EXPECT_EQ(mine.Json()["user"]["spent_nusd"].get<std::int64_t>(), INT64_MAX);
  EXPECT_EQ(admin->Get("/api/v1/analytics/summary").status, 200);
  EXPECT_EQ(admin->Get("/metrics").status, 200);
  for (const std::string& q : std::vector<std::string>{
           "group_by=day", "group_by=provider", "group_by=workflow", "group_by=user&format=csv"}) {
    auto rep = admin->Get("/api/v1/usage?" + q);
    EXPECT_EQ(rep.status, 200) << q << ": " << rep.body;
  }
  EXPECT_TRUE(Alive(*server_));
}

INSTANTIATE_TEST_SUITE_P(Backends, HostileNumbersTest, ::testing::ValuesIn(testing::Backends()));

}  // namespace
}  // namespace storyloom
