// The API description against the real `storyloom serve`: GET /api/v1/openapi.json serves
// docs/openapi.yaml as JSON, it describes exactly the routes the router registers (a route
// added without a description fails here), /api/docs serves the reference page, and a tour
// of every documented operation (whose answers `make test` validates against the
// description, tests/openapi/README.md).
#include <gtest/gtest.h>

#include <algorithm>
#include <fstream>
#include <regex>
#include <set>
#include <string>
#include <utility>

#include "support/routes.h"
#include "support/server_process.h"

namespace storyloom {
namespace {

using nlohmann::json;
using testing::ServerProcess;

constexpr const char* kMethods[] = {"get", "put", "post", "delete", "patch", "head", "options"};

// The router's pattern as the description spells it: "{*path}" (the rest of the path) is
// "{path}" there.
std::string SpecPath(const std::string& pattern) {
  return std::regex_replace(pattern, std::regex(R"(\{\*)"), "{");
}

class OpenApiTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { server_ = new ServerProcess(); }
  static void TearDownTestSuite() {
    delete server_;
    server_ = nullptr;
  }
  static ServerProcess* server_;
};

ServerProcess* OpenApiTest::server_ = nullptr;

TEST_F(OpenApiTest, DocumentIsServedWithoutCredentialsAndParses) {
  auto anon = server_->Client();
  auto r = anon->Get("/api/v1/openapi.json");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.Header("content-type"), "application/json");
  const json doc = r.Json();
  ASSERT_TRUE(doc.is_object()) << r.body.substr(0, 200);
  EXPECT_EQ(doc.value("openapi", ""), "3.1.0");
  EXPECT_EQ(doc["info"].value("title", ""), "Storyloom HTTP API");
  ASSERT_TRUE(doc["paths"].is_object());
  EXPECT_TRUE(doc["components"]["securitySchemes"].contains("bearerAuth"));
  EXPECT_TRUE(doc["components"]["securitySchemes"].contains("sessionCookie"));
  EXPECT_TRUE(doc["components"]["securitySchemes"].contains("csrfToken"));
  // HEAD answers like GET, without the body.
  auto head = anon->Request("HEAD", "/api/v1/openapi.json");
  EXPECT_EQ(head.status, 200);
  EXPECT_TRUE(head.body.empty());
}

TEST_F(OpenApiTest, DescribesExactlyTheRoutesTheRouterRegisters) {
  const json doc = server_->Client()->Get("/api/v1/openapi.json").Json();
  ASSERT_TRUE(doc.contains("paths"));
  const auto routes = testing::RegisteredRoutes();
  ASSERT_GT(routes.size(), 30u) << "the route scan of src/api/*.cc found too few routes";
  std::set<std::pair<std::string, std::string>> registered;
  for (const auto& [method, pattern] : routes) {
    std::string m = method;
    std::transform(m.begin(), m.end(), m.begin(), ::tolower);
    const std::string path = SpecPath(pattern);
    registered.emplace(m, path);
    EXPECT_TRUE(doc["paths"].contains(path) && doc["paths"][path].contains(m))
        << method << " " << pattern
        << " is registered in src/api but not described in docs/openapi.yaml";
  }
  for (const auto& [path, item] : doc["paths"].items()) {
    for (const char* m : kMethods) {
      if (!item.contains(m)) continue;
      EXPECT_TRUE(registered.contains({m, path}))
          << m << " " << path << " is described in docs/openapi.yaml but no route registers it";
      const json& op = item[m];
      EXPECT_TRUE(op.contains("operationId")) << m << " " << path;
      EXPECT_TRUE(op.contains("tags")) << m << " " << path;
      EXPECT_FALSE(op["responses"].empty()) << m << " " << path;
    }
  }
}

TEST_F(OpenApiTest, ReferencePageShipsInTheBinaryUnderTheUisPolicy) {
  auto anon = server_->Client();
  auto page = anon->Get("/api/docs");
  ASSERT_EQ(page.status, 200);
  EXPECT_EQ(page.Header("content-type"), "text/html; charset=utf-8");
  EXPECT_NE(page.Header("content-security-policy").find("default-src 'self'"), std::string::npos);
  EXPECT_EQ(page.Header("x-frame-options"), "DENY");
  EXPECT_NE(page.body.find("/api-docs.js"), std::string::npos);
  // Nothing is fetched from elsewhere: every src/href is a path on this server.
  const std::regex external(R"re((src|href)="(https?:)?//)re");
  EXPECT_FALSE(std::regex_search(page.body, external)) << page.body;
  auto js = anon->Get("/api-docs.js");
  ASSERT_EQ(js.status, 200);
  EXPECT_EQ(js.Header("content-type"), "text/javascript; charset=utf-8");
  EXPECT_NE(js.body.find("/api/v1/openapi.json"), std::string::npos);
  EXPECT_FALSE(std::regex_search(js.body, std::regex(R"(https?://)")))
      << "the page loads nothing remote";
  EXPECT_EQ(anon->Get("/api-docs.css").status, 200);
}

// One call of each documented operation, so that the validation of recorded exchanges
// (STORYLOOM_RECORD_EXCHANGES) covers every operation whatever the other suites do.
TEST_F(OpenApiTest, TourOfEveryOperation) {
  auto admin = server_->Client("admin");
  auto alice = server_->Client("alice");
  auto anon = server_->Client();

  EXPECT_EQ(anon->Get("/healthz").status, 200);
  EXPECT_EQ(anon->Get("/readyz").status, 200);
  EXPECT_EQ(admin->Get("/metrics").status, 200);
  EXPECT_EQ(alice->Get("/metrics").status, 403);
  EXPECT_EQ(anon->Get("/metrics").status, 401);
  EXPECT_EQ(alice->Get("/api/v1/me").status, 200);
  EXPECT_EQ(anon->Get("/api/v1/me").status, 401);

  // Workflows.
  auto created = alice->Post("/api/v1/workflows",
                             {{"prompt", "A fox learns to knit"}, {"options", {{"scenes", 1}}}},
                             {"Idempotency-Key: openapi-tour"});
  ASSERT_EQ(created.status, 201) << created.body;
  const std::string wid = created.Json()["id"];
  auto replay = alice->Post("/api/v1/workflows",
                            {{"prompt", "A fox learns to knit"}, {"options", {{"scenes", 1}}}},
                            {"Idempotency-Key: openapi-tour"});
  EXPECT_EQ(replay.status, 200);
  EXPECT_EQ(alice->Post("/api/v1/workflows", {{"prompt", 7}}).status, 422);
  EXPECT_EQ(alice->Request("POST", "/api/v1/workflows", "{not json").status, 400);
  EXPECT_EQ(alice->Get("/api/v1/workflows?limit=1").status, 200);
  EXPECT_EQ(alice->Get("/api/v1/workflows?status=nope").status, 422);
  const json done = testing::WaitForWorkflow(*alice, wid);
  ASSERT_EQ(done["status"], "completed") << done.dump();
  EXPECT_EQ(alice->Get("/api/v1/workflows/" + wid).status, 200);
  EXPECT_EQ(server_->Client("bob")->Get("/api/v1/workflows/" + wid).status, 404);
  auto events = alice->Request("GET", "/api/v1/workflows/" + wid + "/events", "", {}, 20000);
  EXPECT_EQ(events.status, 200);
  EXPECT_NE(events.body.find("event: status"), std::string::npos) << events.body;
  EXPECT_EQ(alice->Post("/api/v1/workflows/" + wid + "/cancel", json::object()).status, 409);
  EXPECT_EQ(alice->Post("/api/v1/workflows/" + wid + "/retry", json::object()).status, 409);

  // Files.
  auto upload = alice->Request("PUT", "/api/v1/workflows/" + wid + "/files/notes.txt?type=text",
                               "some notes\n", {"Content-Type: text/plain"});
  ASSERT_EQ(upload.status, 201) << upload.body;
  const json file = upload.Json();
  EXPECT_EQ(alice
                ->Request("PUT", "/api/v1/workflows/" + wid + "/files/notes.txt", "again",
                          {"Content-Type: text/plain"})
                .status,
            409);
  EXPECT_EQ(alice->Get("/api/v1/files?workflow_id=" + wid + "&order=oldest").status, 200);
  EXPECT_EQ(alice->Get("/api/v1/files?order=sideways").status, 422);
  EXPECT_EQ(alice->Get("/api/v1/files/" + file["id"].get<std::string>()).status, 200);
  const std::vector<std::string> merge = {"Content-Type: application/merge-patch+json"};
  EXPECT_EQ(alice
                ->Request("PATCH", "/api/v1/files/" + file["id"].get<std::string>(),
                          R"({"note": "tour"})", merge)
                .status,
            200);
  EXPECT_EQ(
      alice->Request("PATCH", "/api/v1/files/" + file["id"].get<std::string>(), "[]", merge).status,
      422);
  EXPECT_EQ(alice->Get("/api/v1/workflows/" + wid + "/archive").status, 200);
  EXPECT_EQ(alice->Get(file["url"].get<std::string>()).status, 200);
  EXPECT_EQ(alice->Request("HEAD", file["url"].get<std::string>()).status, 200);
  EXPECT_EQ(alice->Get(file["url"].get<std::string>(), {"Range: bytes=0-3"}).status, 206);
  EXPECT_EQ(alice->Get(file["url"].get<std::string>(), {"Range: bytes=900-999"}).status, 416);

  // Usage, budgets, analytics.
  auto usage = alice->Post("/api/v1/usage", {{"provider", "openai"},
                                             {"model", "gpt-4o-mini"},
                                             {"operation", "chat"},
                                             {"input_tokens", 100},
                                             {"output_tokens", 20}});
  EXPECT_EQ(usage.status, 201) << usage.body;
  EXPECT_EQ(alice->Post("/api/v1/usage", {{"provider", "openai"}, {"operation", "dance"}}).status,
            422);
  EXPECT_EQ(alice->Get("/api/v1/usage?group_by=day,model").status, 200);
  EXPECT_EQ(alice->Get("/api/v1/usage?group_by=workflow").status, 200);
  EXPECT_EQ(alice->Get("/api/v1/usage?format=csv").status, 200);
  EXPECT_EQ(alice->Get("/api/v1/budgets").status, 200);
  EXPECT_EQ(admin->Get("/api/v1/budgets").status, 200);
  EXPECT_EQ(admin
                ->Request("PUT", "/api/v1/budgets/users/" + server_->user_id("alice"),
                          R"({"monthly_usd": "25.00", "soft_usd": null})")
                .status,
            200);
  EXPECT_EQ(alice
                ->Request("PUT", "/api/v1/budgets/users/" + server_->user_id("alice"),
                          R"({"monthly_usd": "99"})")
                .status,
            403);
  EXPECT_EQ(alice->Get("/api/v1/analytics/summary").status, 200);
  EXPECT_EQ(admin->Get("/api/v1/analytics/summary?from=2026-01-01&to=2026-02-01").status, 200);
  EXPECT_EQ(alice->Get("/api/v1/analytics/summary?from=tomorrow").status, 422);
  // Calls one by one, and their latency.
  EXPECT_EQ(alice->Get("/api/v1/usage/calls?provider=openai&limit=1").status, 200);
  EXPECT_EQ(alice->Get("/api/v1/usage/calls?status=maybe").status, 422);
  EXPECT_EQ(alice->Get("/api/v1/usage/calls?user_id=" + server_->user_id("bob")).status, 403);
  EXPECT_EQ(alice->Get("/api/v1/analytics/performance").status, 200);
  EXPECT_EQ(admin->Get("/api/v1/analytics/performance?from=2026-01-01&to=2026-02-01").status, 200);

  // Users and tokens.
  EXPECT_EQ(admin->Get("/api/v1/users").status, 200);
  auto carol = admin->Post("/api/v1/users", {{"username", "carol"}, {"email", "c@example.org"}});
  ASSERT_EQ(carol.status, 201) << carol.body;
  const std::string carol_id = carol.Json()["id"];
  EXPECT_EQ(admin->Post("/api/v1/users", {{"username", "carol"}}).status, 409);
  EXPECT_EQ(admin->Get("/api/v1/users/" + carol_id).status, 200);
  EXPECT_EQ(admin
                ->Request("PATCH", "/api/v1/users/" + carol_id,
                          R"({"disabled": true, "monthly_budget_usd": "5"})")
                .status,
            200);
  EXPECT_EQ(admin->Request("PATCH", "/api/v1/users/" + carol_id, R"({"shoe_size": 9})").status,
            422);
  EXPECT_EQ(alice->Get("/api/v1/users").status, 403);
  auto token = alice->Post("/api/v1/tokens", {{"name", "tour"}, {"expires_in_days", 1}});
  ASSERT_EQ(token.status, 201) << token.body;
  EXPECT_EQ(alice->Get("/api/v1/tokens").status, 200);
  EXPECT_EQ(alice->Delete("/api/v1/tokens/" + token.Json()["id"].get<std::string>()).status, 204);
  EXPECT_EQ(alice->Delete("/api/v1/tokens/00000000-0000-0000-0000-000000000000").status, 404);

  // The caller's own account; invites and signing up with one (dave).
  EXPECT_EQ(alice->Get("/api/v1/me/sessions").status, 200);
  EXPECT_EQ(alice->Get("/api/v1/me/budget").status, 200);
  EXPECT_EQ(alice->Delete("/api/v1/me/sessions/00000000-0000-0000-0000-000000000000").status, 404);
  auto invite = admin->Post("/api/v1/invites", {{"role", "user"}, {"expires_in", 3600}});
  ASSERT_EQ(invite.status, 201) << invite.body;
  EXPECT_EQ(admin->Get("/api/v1/invites").status, 200);
  EXPECT_EQ(alice->Get("/api/v1/invites").status, 403);
  const json dave_up = {
      {"invite", invite.Json()["token"]}, {"username", "dave"}, {"password", "dave-password"}};
  auto dave = anon->Post("/api/v1/auth/signup", dave_up);
  ASSERT_EQ(dave.status, 201) << dave.body;
  EXPECT_EQ(anon->Post("/api/v1/auth/signup", dave_up).status, 409);
  EXPECT_EQ(
      anon->Post("/api/v1/auth/signup",
                 {{"invite", "sli_unknown"}, {"username", "eve"}, {"password", "eve-password"}})
          .status,
      404);
  auto unused = admin->Post("/api/v1/invites", json::object());
  ASSERT_EQ(unused.status, 201) << unused.body;
  EXPECT_EQ(admin->Delete("/api/v1/invites/" + unused.Json()["id"].get<std::string>()).status, 204);
  EXPECT_EQ(admin->Delete("/api/v1/invites/" + unused.Json()["id"].get<std::string>()).status, 404);
  auto dave_api = admin->Post("/api/v1/tokens", {{"user_id", dave.Json()["user"]["id"]}});
  ASSERT_EQ(dave_api.status, 201) << dave_api.body;
  testing::HttpClient dave_client(server_->url());
  dave_client.set_token(dave_api.Json()["token"]);
  EXPECT_EQ(
      dave_client.Post("/api/v1/me/password", {{"current", "wrong one"}, {"new", "x"}}).status,
      422);
  EXPECT_EQ(dave_client
                .Post("/api/v1/me/password", {{"current", "wrong one"}, {"new", "dave-password-2"}})
                .status,
            403);
  EXPECT_EQ(
      dave_client
          .Post("/api/v1/me/password", {{"current", "dave-password"}, {"new", "dave-password-2"}})
          .status,
      200);
  EXPECT_EQ(
      dave_client.Delete("/api/v1/me/sessions/" + dave_api.Json()["id"].get<std::string>()).status,
      204);

  // Sign-in with a password (carol, enabled again with one), the cookie session, sign-out.
  EXPECT_EQ(admin
                ->Request("PATCH", "/api/v1/users/" + carol_id,
                          R"({"disabled": false, "password": "correct horse"})")
                .status,
            200);
  EXPECT_EQ(
      anon->Post("/api/v1/auth/login", {{"username", "carol"}, {"password", "wrong one"}}).status,
      401);
  auto login =
      anon->Post("/api/v1/auth/login", {{"username", "carol"}, {"password", "correct horse"}});
  ASSERT_EQ(login.status, 200) << login.body;
  EXPECT_EQ(anon->Request("GET", "/login?token=not-a-token").status, 303);
  auto carol_api = admin->Post("/api/v1/tokens", {{"user_id", carol_id}});
  ASSERT_EQ(carol_api.status, 201);
  testing::HttpClient carol_client(server_->url());
  carol_client.set_token(carol_api.Json()["token"]);
  EXPECT_EQ(carol_client.Post("/api/v1/auth/logout", json::object()).status, 204);

  // Administration.
  EXPECT_EQ(admin->Get("/api/v1/admin/audit?limit=5").status, 200);
  EXPECT_EQ(admin->Get("/api/v1/admin/backups").status, 200);
  EXPECT_EQ(admin->Post("/api/v1/admin/backups", json::object()).status, 201);
  EXPECT_EQ(admin->Post("/api/v1/admin/cleanup", {{"dry_run", true}}).status, 200);
  EXPECT_EQ(admin->Post("/api/v1/admin/db/check", json::object()).status, 200);
  EXPECT_EQ(admin->Get("/api/v1/admin/db").status, 200);
  EXPECT_EQ(alice->Post("/api/v1/admin/cleanup", {{"dry_run", true}}).status, 403);

  // Storage: the caller's use, an administrator's view and quota; deleting one file.
  EXPECT_EQ(alice->Get("/api/v1/me/storage").status, 200);
  const std::string alice_storage = "/api/v1/users/" + server_->user_id("alice") + "/storage";
  EXPECT_EQ(admin->Get(alice_storage).status, 200);
  EXPECT_EQ(alice->Get(alice_storage).status, 403);
  EXPECT_EQ(admin->Request("PATCH", alice_storage, R"({"quota_bytes": "1G"})").status, 200);
  EXPECT_EQ(admin->Request("PATCH", alice_storage, R"({"quota_bytes": -1})").status, 422);
  EXPECT_EQ(admin->Request("PATCH", alice_storage, R"({"quota_bytes": null})").status, 200);
  EXPECT_EQ(alice->Delete("/api/v1/files/" + file["id"].get<std::string>()).status, 204);
  EXPECT_EQ(alice->Delete("/api/v1/files/" + file["id"].get<std::string>()).status, 404);

  // The HTTP layer's own answers.
  EXPECT_EQ(alice->Request("PATCH", "/api/v1/workflows").status, 405);
  EXPECT_EQ(alice->Get("/api/v1/no-such-thing").status, 404);

  // Deleting last: the workflow answers 404 from then on.
  EXPECT_EQ(alice->Delete("/api/v1/workflows/" + wid).status, 204);
  EXPECT_EQ(alice->Delete("/api/v1/workflows/" + wid).status, 404);
}

}  // namespace
}  // namespace storyloom
