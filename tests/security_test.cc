// Security tests over real HTTP against the real `storyloom serve`: every endpoint refuses
// anonymous callers (401) and hides other users' resources (404); bad tokens, disabled
// users, CSRF, sessions, the one-time link, injection strings, path traversal, size limits,
// login back-off and the per-user running limit.
#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <regex>
#include <set>
#include <thread>

#include "api/auth.h"
#include "core/clock.h"
#include "support/routes.h"
#include "support/server_process.h"

namespace storyloom {
namespace {

using nlohmann::json;
using testing::HttpClient;
using testing::HttpResult;
using testing::ServerOptions;
using testing::ServerProcess;
using testing::WaitForWorkflow;

std::string UrlEncode(const std::string& s) {
  static const char* hex = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out.push_back(static_cast<char>(c));
    } else {
      out += '%';
      out += hex[c >> 4];
      out += hex[c & 15];
    }
  }
  return out;
}

// A member of a response's JSON body, by value: safe to iterate over in a range-for.
json Field(const HttpResult& r, const std::string& key) { return r.Json()[key]; }

std::string Lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

using testing::RegisteredRoutes;

// Routes open without credentials by design: liveness, readiness and the sign-in endpoints
// (docs/SECURITY.md). /metrics is not: it needs the metrics token or an administrator.
// The routes docs/API.md lists as answering without credentials (the API description is
// public by design: docs/API.md; tests/openapi_test.cc checks it is served to anyone).
bool IsPublic(const std::string& path) {
  return path == "/healthz" || path == "/readyz" || path == "/login" ||
         path == "/api/v1/auth/login" || path == "/api/v1/auth/signup" ||
         path == "/api/v1/openapi.json" || path == "/api/docs";
}

std::string Fill(std::string pattern, const std::string& id, const std::string& file_path) {
  auto sub = [&](const std::string& from, const std::string& to) {
    if (auto p = pattern.find(from); p != std::string::npos) pattern.replace(p, from.size(), to);
  };
  sub("{*path}", file_path);
  sub("{name}", "note.txt");
  sub("{id}", id);
  return pattern;
}

// The Set-Cookie value for `name` ("" if none).
std::string SetCookie(const HttpResult& r, const std::string& name) {
  auto [lo, hi] = r.headers.equal_range("set-cookie");
  for (auto it = lo; it != hi; ++it) {
    if (it->second.starts_with(name + "=")) return it->second;
  }
  return "";
}
std::string CookieValue(const std::string& set_cookie) {
  const auto eq = set_cookie.find('='), semi = set_cookie.find(';');
  return set_cookie.substr(eq + 1, semi - eq - 1);
}

class SecurityTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    ServerOptions o;
    o.env["STORYLOOM_MAX_UPLOAD_BYTES"] = std::to_string(4 << 20);
    // Many tests sign in wrongly from 127.0.0.1 on purpose; the back-off has its own tests.
    o.env["STORYLOOM_LOGIN_MAX_FAILURES_PER_ADDRESS"] = "100000";
    o.env["STORYLOOM_LOGIN_MAX_FAILURES"] = "100000";
    server_ = new ServerProcess(o);
  }
  static void TearDownTestSuite() {
    delete server_;
    server_ = nullptr;
  }

  // A finished workflow of alice's with an uploaded file; made once per process.
  struct AliceData {
    std::string workflow_id, file_id, file_path, token_id;
  };
  static const AliceData& Alice() {
    static AliceData d = [] {
      AliceData out;
      auto alice = server_->Client("alice");
      auto r = alice->Post(
          "/api/v1/workflows",
          {{"prompt", "Alice's private tale"}, {"options", {{"scenes", 1}, {"narration", false}}}});
      EXPECT_EQ(r.status, 201) << r.body;
      out.workflow_id = r.Json()["id"];
      json w = WaitForWorkflow(*alice, out.workflow_id);
      EXPECT_EQ(w["status"], "completed") << w.dump();
      auto up = alice->Request("PUT", "/api/v1/workflows/" + out.workflow_id + "/files/secret.txt",
                               "alice's secret", {"Content-Type: text/plain"});
      EXPECT_EQ(up.status, 201) << up.body;
      out.file_id = up.Json()["id"];
      out.file_path = up.Json()["path"];
      auto t = alice->Post("/api/v1/tokens", {{"name", "alice-extra"}});
      EXPECT_EQ(t.status, 201) << t.body;
      out.token_id = t.Json()["id"];
      return out;
    }();
    return d;
  }

  static HttpResult Login(const std::string& user, const std::string& password) {
    HttpClient c(server_->url());
    return c.Post("/api/v1/auth/login", {{"username", user}, {"password", password}});
  }

  static ServerProcess* server_;
};
ServerProcess* SecurityTest::server_ = nullptr;

TEST_F(SecurityTest, EveryEndpointRefusesAnonymousCallers) {
  const auto routes = RegisteredRoutes();
  // The parse must see the contract's endpoints, or this test would prove nothing.
  for (const auto& must : std::vector<std::pair<std::string, std::string>>{
           {"GET", "/api/v1/workflows"},
           {"POST", "/api/v1/workflows/{id}/retry"},
           {"GET", "/files/{*path}"},
           {"PUT", "/api/v1/workflows/{id}/files/{name}"},
           {"PATCH", "/api/v1/users/{id}"},
           {"DELETE", "/api/v1/tokens/{id}"},
           {"GET", "/api/v1/admin/audit"},
           {"POST", "/api/v1/usage"},
           {"GET", "/api/v1/me"}}) {
    EXPECT_TRUE(routes.contains(must)) << must.first << " " << must.second;
  }
  const AliceData& d = Alice();
  HttpClient anon(server_->url());
  int checked = 0;
  for (const auto& [method, pattern] : routes) {
    if (IsPublic(pattern)) continue;
    const std::string path = Fill(pattern, d.workflow_id, d.file_path);
    const std::string body = method == "GET" || method == "HEAD" || method == "DELETE" ? "" : "{}";
    auto r = anon.Request(method, path, body, {"Content-Type: application/json"});
    EXPECT_EQ(r.status, 401) << method << " " << path << ": " << r.body;
    if (method != "HEAD") {
      EXPECT_EQ(r.Json()["error"]["code"], "unauthenticated") << method << " " << path;
    }
    // A cookie that names no session is no better.
    auto c = anon.Request(method, path, body,
                          {"Cookie: sl_session=sls_forged; sl_csrf=x", "X-CSRF-Token: x"});
    EXPECT_EQ(c.status, 401) << method << " " << path;
    ++checked;
  }
  EXPECT_GE(checked, 20);
  // Alice's things are untouched.
  auto w = server_->Client("alice")->Get("/api/v1/workflows/" + d.workflow_id);
  EXPECT_EQ(w.status, 200);
  EXPECT_EQ(w.Json()["status"], "completed");
}

TEST_F(SecurityTest, OtherUsersResourcesAnswer404OnEveryRoute) {
  const AliceData& d = Alice();
  auto bob = server_->Client("bob");
  const std::string w = "/api/v1/workflows/" + d.workflow_id;
  struct Case {
    std::string method, path, body;
  };
  const std::vector<Case> cases = {
      {"GET", w, ""},
      {"GET", w + "/events", ""},
      {"POST", w + "/cancel", ""},
      {"POST", w + "/retry", ""},
      {"DELETE", w, ""},
      {"PUT", w + "/files/bob.txt", "bob was here"},
      {"GET", "/api/v1/files/" + d.file_id, ""},
      {"GET", "/api/v1/files?workflow_id=" + d.workflow_id, ""},
      {"GET", "/files/" + d.file_path, ""},
      {"HEAD", "/files/" + d.file_path, ""},
      {"DELETE", "/api/v1/tokens/" + d.token_id, ""},
  };
  for (const auto& c : cases) {
    auto r = bob->Request(c.method, c.path, c.body);
    EXPECT_EQ(r.status, 404) << c.method << " " << c.path << ": " << r.body;
    if (c.method != "HEAD") {
      EXPECT_EQ(r.body.find("Alice"), std::string::npos) << r.body;
      EXPECT_EQ(r.body.find("secret"), std::string::npos) << r.body;
    }
  }
  // A made-up id answers exactly like someone else's: ids cannot be probed.
  auto made_up = bob->Get("/api/v1/workflows/01900000-0000-7000-8000-000000000000");
  auto theirs = bob->Get(w);
  EXPECT_EQ(made_up.status, theirs.status);
  EXPECT_EQ(made_up.Json()["error"], theirs.Json()["error"]);
  // Recording usage against her workflow is refused and nothing is charged to her.
  auto usage = bob->Post(
      "/api/v1/usage", {{"workflow_id", d.workflow_id}, {"provider", "x"}, {"operation", "chat"}});
  EXPECT_EQ(usage.status, 422) << usage.body;
  // Lists hold only Bob's own, whatever filter he asks for.
  const std::string alice_id = server_->user_id("alice");
  for (const std::string& path :
       std::vector<std::string>{"/api/v1/workflows", "/api/v1/workflows?user_id=" + alice_id,
                                "/api/v1/files", "/api/v1/files?user_id=" + alice_id,
                                "/api/v1/tokens", "/api/v1/tokens?user_id=" + alice_id}) {
    auto r = bob->Get(path);
    ASSERT_EQ(r.status, 200) << path;
    for (const auto& item : Field(r, "items")) {
      EXPECT_NE(item.value("id", ""), d.workflow_id) << path;
      EXPECT_NE(item.value("workflow_id", ""), d.workflow_id) << path;
      if (item.contains("user_id")) {
        EXPECT_EQ(item["user_id"], server_->user_id("bob")) << path;
      }
    }
  }
  // Costs: Alice's usage never shows in Bob's report.
  ASSERT_EQ(
      server_->Client("alice")
          ->Post("/api/v1/usage",
                 {{"provider", "alice-prov"}, {"model", "alice-model"}, {"operation", "chat"}})
          .status,
      201);
  for (const std::string& q : std::vector<std::string>{"", "&user_id=" + alice_id}) {
    auto rep = bob->Get("/api/v1/usage?group_by=provider,model" + q);
    ASSERT_EQ(rep.status, 200);
    EXPECT_EQ(rep.body.find("alice-model"), std::string::npos) << rep.body;
  }
  auto admin_rep = server_->Client("admin")->Get("/api/v1/usage?group_by=provider,model");
  EXPECT_NE(admin_rep.body.find("alice-model"), std::string::npos);
  // Nothing Bob did changed her workflow or her token.
  auto after = server_->Client("alice")->Get(w);
  ASSERT_EQ(after.status, 200);
  EXPECT_EQ(after.Json()["status"], "completed");
  for (const auto& f : Field(after, "files")) EXPECT_NE(f["name"], "bob.txt");
  auto toks = server_->Client("alice")->Get("/api/v1/tokens");
  bool active = false;
  for (const auto& t : Field(toks, "items")) active |= t["id"] == d.token_id && t["active"] == true;
  EXPECT_TRUE(active) << toks.body;
}

TEST_F(SecurityTest, NonAdminsGet403OnAdminEndpoints) {
  auto bob = server_->Client("bob");
  const std::string alice_id = server_->user_id("alice");
  struct Case {
    std::string method, path, body;
  };
  for (const auto& c : std::vector<Case>{
           {"GET", "/api/v1/users", ""},
           {"POST", "/api/v1/users", R"({"username":"mallory","password":"password123"})"},
           {"GET", "/api/v1/users/" + alice_id, ""},
           {"PATCH", "/api/v1/users/" + alice_id, R"({"disabled":true})"},
           {"PATCH", "/api/v1/users/" + server_->user_id("bob"), R"({"role":"admin"})"},
           {"GET", "/api/v1/admin/audit", ""},
           {"POST", "/api/v1/tokens", R"({"user_id":")" + alice_id + R"("})"}}) {
    auto r = bob->Request(c.method, c.path, c.body);
    EXPECT_EQ(r.status, 403) << c.method << " " << c.path << ": " << r.body;
    EXPECT_EQ(r.Json()["error"]["code"], "permission_denied");
  }
  auto me = bob->Get("/api/v1/me");
  EXPECT_EQ(me.Json()["role"], "user");
  EXPECT_EQ(server_->Client("alice")->Get("/api/v1/me").Json()["disabled"], false);
  EXPECT_EQ(Login("mallory", "password123").status, 401);
}

TEST_F(SecurityTest, MalformedUnknownExpiredAndRevokedTokensAreRefused) {
  HttpClient c(server_->url());
  const std::string good = server_->token("alice");
  for (const std::string& h : std::vector<std::string>{
           "Authorization: Bearer", "Authorization: Bearer ",
           "Authorization: Basic YWxpY2U6YWxpY2UtcGFzc3dvcmQ=", "Authorization: Token " + good,
           "Authorization: Bearer " + good + "x", "Authorization: Bearer x" + good,
           "Authorization: Bearer " + good.substr(0, good.size() - 1),
           "Authorization: Bearer slt_' OR 1=1 --",
           "Authorization: Bearer " + std::string(4000, 'A'), "Authorization: " + good,
           "Authorization: Bearer " + api::Authenticator::HashSecret(good)}) {
    auto r = c.Get("/api/v1/me", {h});
    EXPECT_EQ(r.status, 401) << h.substr(0, 80);
    EXPECT_EQ(r.Header("www-authenticate"), "Bearer");
  }
  // Expired, session-kind and login-kind secrets, made straight in the database.
  auto store = server_->OpenStore();
  api::Authenticator auth(*store);
  auto expired = auth.Issue(server_->user_id("alice"), "api", "short", 1);
  auto session = auth.Issue(server_->user_id("alice"), "session", "s", 0);
  auto link = auth.Issue(server_->user_id("alice"), "login", "l", 0);
  ASSERT_TRUE(expired && session && link);
  std::this_thread::sleep_for(std::chrono::milliseconds(10));
  for (const auto& s : {expired->secret, session->secret, link->secret}) {
    EXPECT_EQ(c.Get("/api/v1/me", {"Authorization: Bearer " + s}).status, 401) << s;
  }
  // Revoked through the API: refused on the very next request.
  auto alice = server_->Client("alice");
  auto made = alice->Post("/api/v1/tokens", {{"name", "to revoke"}, {"expires_in_days", 1}});
  ASSERT_EQ(made.status, 201) << made.body;
  const std::string secret = made.Json()["token"];
  EXPECT_TRUE(secret.starts_with("slt_"));
  EXPECT_EQ(c.Get("/api/v1/me", {"Authorization: Bearer " + secret}).status, 200);
  EXPECT_EQ(alice->Delete("/api/v1/tokens/" + made.Json()["id"].get<std::string>()).status, 204);
  EXPECT_EQ(c.Get("/api/v1/me", {"Authorization: Bearer " + secret}).status, 401);
  // The stored row holds a hash, never the secret.
  auto row = store->ReadOne<ApiToken>(
      [&](StoreTx& tx) { return tx.tokens().Get(made.Json()["id"].get<std::string>()); });
  ASSERT_TRUE(row.has_value());
  EXPECT_EQ(row->token_hash, api::Authenticator::HashSecret(secret));
  EXPECT_TRUE(row->revoked_at.has_value());
}

TEST_F(SecurityTest, DisabledUserIsRefusedAtOnceAndEnabledAgain) {
  auto admin = server_->Client("admin");
  auto made = admin->Post("/api/v1/users", {{"username", "carol"}, {"password", "carol-password"}});
  ASSERT_EQ(made.status, 201) << made.body;
  EXPECT_FALSE(made.Json().contains("password_hash"));
  EXPECT_FALSE(made.Json().contains("password"));  // she chose it; not echoed
  const std::string carol_id = made.Json()["id"];
  auto tok = admin->Post("/api/v1/tokens", {{"user_id", carol_id}, {"name", "carol's"}});
  ASSERT_EQ(tok.status, 201) << tok.body;
  EXPECT_EQ(tok.Json()["user_id"], carol_id);
  HttpClient carol(server_->url());
  carol.set_token(tok.Json()["token"]);
  auto login = Login("carol", "carol-password");
  ASSERT_EQ(login.status, 200);
  const std::string cookie = "Cookie: sl_session=" + CookieValue(SetCookie(login, "sl_session"));
  HttpClient browser(server_->url());
  ASSERT_EQ(carol.Get("/api/v1/me").status, 200);
  ASSERT_EQ(browser.Get("/api/v1/me", {cookie}).status, 200);  // cached now, too

  auto off = admin->Request("PATCH", "/api/v1/users/" + carol_id, R"({"disabled":true})");
  ASSERT_EQ(off.status, 200) << off.body;
  EXPECT_EQ(off.Json()["disabled"], true);
  // No waiting for a cache to expire.
  EXPECT_EQ(carol.Get("/api/v1/me").status, 401);
  EXPECT_EQ(browser.Get("/api/v1/me", {cookie}).status, 401);
  EXPECT_EQ(Login("carol", "carol-password").status, 401);

  ASSERT_EQ(admin->Request("PATCH", "/api/v1/users/" + carol_id, R"({"disabled":false})").status,
            200);
  EXPECT_EQ(carol.Get("/api/v1/me").status, 200);              // API tokens work again
  EXPECT_EQ(browser.Get("/api/v1/me", {cookie}).status, 401);  // the session ended for good
  EXPECT_EQ(Login("carol", "carol-password").status, 200);
}

TEST_F(SecurityTest, CookieSessionNeedsCsrfForChangesAndLogoutEndsIt) {
  auto login = Login("alice", "alice-password");
  ASSERT_EQ(login.status, 200) << login.body;
  const std::string session = SetCookie(login, "sl_session"), csrf = SetCookie(login, "sl_csrf");
  ASSERT_FALSE(session.empty());
  EXPECT_NE(session.find("HttpOnly"), std::string::npos) << session;
  EXPECT_NE(session.find("SameSite=Strict"), std::string::npos) << session;
  EXPECT_NE(session.find("Path=/"), std::string::npos) << session;
  ASSERT_FALSE(csrf.empty());
  EXPECT_EQ(csrf.find("HttpOnly"), std::string::npos);  // the page's script reads it
  const std::string csrf_token = login.Json()["csrf_token"];
  EXPECT_EQ(CookieValue(csrf), csrf_token);
  EXPECT_EQ(login.Json()["user"]["username"], "alice");
  EXPECT_FALSE(login.body.find("argon2") != std::string::npos);

  HttpClient b(server_->url());
  const std::string cookies =
      "Cookie: sl_session=" + CookieValue(session) + "; sl_csrf=" + csrf_token;
  auto me = b.Get("/api/v1/me", {cookies});
  ASSERT_EQ(me.status, 200);
  EXPECT_EQ(me.Json()["username"], "alice");
  const std::string body = R"({"prompt":"via cookie","options":{"scenes":1,"narration":false}})";
  auto no_csrf = b.Request("POST", "/api/v1/workflows", body, {cookies});
  EXPECT_EQ(no_csrf.status, 403) << no_csrf.body;
  auto wrong =
      b.Request("POST", "/api/v1/workflows", body, {cookies, "X-CSRF-Token: " + csrf_token + "0"});
  EXPECT_EQ(wrong.status, 403);
  // The header alone, without the cookie pair, is not enough either.
  auto header_only =
      b.Request("POST", "/api/v1/workflows", body,
                {"Cookie: sl_session=" + CookieValue(session), "X-CSRF-Token: " + csrf_token});
  EXPECT_EQ(header_only.status, 403);
  auto ok = b.Request("POST", "/api/v1/workflows", body, {cookies, "X-CSRF-Token: " + csrf_token});
  EXPECT_EQ(ok.status, 201) << ok.body;
  // Logout is a change too.
  EXPECT_EQ(b.Request("POST", "/api/v1/auth/logout", "", {cookies}).status, 403);
  auto out = b.Request("POST", "/api/v1/auth/logout", "", {cookies, "X-CSRF-Token: " + csrf_token});
  EXPECT_EQ(out.status, 204);
  EXPECT_NE(SetCookie(out, "sl_session").find("Max-Age=0"), std::string::npos);
  EXPECT_EQ(b.Get("/api/v1/me", {cookies}).status, 401);
  // Wrong password: 401, no cookie.
  auto bad = Login("alice", "not-her-password");
  EXPECT_EQ(bad.status, 401);
  EXPECT_TRUE(SetCookie(bad, "sl_session").empty());
  // Sign-ins and sign-outs are in the audit log, for admins.
  auto audit = server_->Client("admin")->Get("/api/v1/admin/audit?limit=200");
  ASSERT_EQ(audit.status, 200);
  std::set<std::string> actions;
  for (const auto& e : Field(audit, "items")) actions.insert(e["action"].get<std::string>());
  for (const char* a : {"login.success", "login.failure", "logout"})
    EXPECT_TRUE(actions.contains(a)) << a;
}

TEST_F(SecurityTest, OneTimeLoginLinkWorksOnce) {
  auto store = server_->OpenStore();
  api::Authenticator auth(*store);
  auto link = auth.Issue(server_->user_id("bob"), "login", "link", 3600000);
  ASSERT_TRUE(link.has_value());
  HttpClient c(server_->url());
  auto first = c.Get("/login?token=" + link->secret);
  EXPECT_EQ(first.status, 303);
  EXPECT_EQ(first.Header("location"), "/");
  const std::string session = SetCookie(first, "sl_session");
  ASSERT_FALSE(session.empty());
  EXPECT_NE(session.find("HttpOnly"), std::string::npos);
  auto me = c.Get("/api/v1/me", {"Cookie: sl_session=" + CookieValue(session)});
  EXPECT_EQ(me.Json()["username"], "bob");
  auto second = c.Get("/login?token=" + link->secret);
  EXPECT_EQ(second.status, 303);
  EXPECT_NE(second.Header("location"), "/");
  EXPECT_TRUE(SetCookie(second, "sl_session").empty());
  auto forged = c.Get("/login?token=sll_forged");
  EXPECT_TRUE(SetCookie(forged, "sl_session").empty());
  // An API token is not a login link.
  EXPECT_TRUE(SetCookie(c.Get("/login?token=" + server_->token("bob")), "sl_session").empty());
}

const std::vector<std::string>& Nasty() {
  static const std::vector<std::string> v = {
      "'; DROP TABLE workflows; --",
      "\" OR 1=1 --",
      "Robert'); DROP TABLE users;--",
      "' UNION SELECT password_hash FROM users --",
      "1; SELECT pg_sleep(5); --",
      "%' OR '%'='",
      "_%\\",
      "$1 ? ?? :name @p",
      "Ünïcødé — 🚀 中文 עברית \u202e",
      "ctl \x01\x02\x07\x1b[31m\t tab\r\n newline\x7f",
      "<script>alert(1)</script>",
      "../../etc/passwd",
  };
  return v;
}

TEST_F(SecurityTest, InjectionStringsAreStoredVerbatimOrRefusedWith422) {
  auto alice = server_->Client("alice");
  auto admin = server_->Client("admin");
  const AliceData& d = Alice();
  int stored = 0;
  std::vector<std::string> accepted_providers;
  for (const std::string& s : Nasty()) {
    SCOPED_TRACE(s);
    // Prompt, title and style.
    auto w = alice->Post("/api/v1/workflows",
                         {{"prompt", "tale " + s},
                          {"title", s},
                          {"options", {{"scenes", 1}, {"narration", false}, {"style", s}}}});
    ASSERT_TRUE(w.status == 201 || w.status == 422) << w.status << w.body;
    if (w.status == 201) {
      ++stored;
      auto got = alice->Get("/api/v1/workflows/" + w.Json()["id"].get<std::string>());
      EXPECT_EQ(got.Json()["prompt"], "tale " + s);
      EXPECT_EQ(got.Json()["title"], s);
      EXPECT_EQ(got.Json()["options"]["style"], s);
      // Search finds it by the very string, and only matching workflows.
      auto found = alice->Get("/api/v1/workflows?limit=200&q=" + UrlEncode(s));
      ASSERT_EQ(found.status, 200) << found.body;
      bool hit = false;
      for (const auto& item : Field(found, "items")) {
        hit |= item["id"] == w.Json()["id"];
        // Trigram search ignores ASCII case.
        EXPECT_NE(Lower(item["title"].get<std::string>() + item["prompt"].get<std::string>())
                      .find(Lower(s)),
                  std::string::npos)
            << item.dump();
      }
      EXPECT_TRUE(hit);
    }
    // Usage provider and model.
    auto u = alice->Post("/api/v1/usage", {{"provider", s}, {"model", s}, {"operation", "chat"}});
    ASSERT_TRUE(u.status == 201 || u.status == 422) << u.body;
    if (u.status == 201) {
      accepted_providers.push_back(s);
      EXPECT_EQ(u.Json()["provider"], s);
      EXPECT_EQ(u.Json()["model"], s);
    }
    // Upload name: only safe names are taken; nothing else reaches the disk.
    auto up =
        alice->Request("PUT", "/api/v1/workflows/" + d.workflow_id + "/files/" + UrlEncode(s), "x");
    EXPECT_TRUE(up.status == 422 || up.status == 404) << up.status << up.body;
    // Token name.
    auto t = alice->Post("/api/v1/tokens", {{"name", s}});
    ASSERT_EQ(t.status, 201) << t.body;
    EXPECT_EQ(t.Json()["name"], s);
    // Usernames and emails: refused with 422 naming the field, never a 500.
    auto user = admin->Post("/api/v1/users", {{"username", s}, {"password", "long-enough-1"}});
    EXPECT_EQ(user.status, 422) << user.body;
    EXPECT_EQ(user.Json()["error"]["field"], "username");
    auto email =
        admin->Post("/api/v1/users",
                    {{"username", "e" + std::to_string(stored) + "x" + std::to_string(s.size())},
                     {"password", "long-enough-1"},
                     {"email", s}});
    EXPECT_EQ(email.status, 422) << email.body;
    // Sign-in with it: a plain 401.
    EXPECT_EQ(Login(s, s).status, 401);
  }
  EXPECT_GE(stored, 10);
  // Every token name came back verbatim from the list too.
  auto toks = alice->Get("/api/v1/tokens");
  std::set<std::string> names;
  for (const auto& t : Field(toks, "items")) names.insert(t["name"].get<std::string>());
  for (const std::string& s : Nasty()) EXPECT_TRUE(names.contains(s)) << s;
  // The report groups by the provider strings verbatim.
  auto rep = alice->Get("/api/v1/usage?group_by=provider");
  std::set<std::string> providers;
  for (const auto& i : Field(rep, "items")) providers.insert(i["provider"].get<std::string>());
  EXPECT_GE(accepted_providers.size(), 8u);
  for (const std::string& s : accepted_providers) EXPECT_TRUE(providers.contains(s)) << s;
  // The tables are all still there and whole.
  auto store = server_->OpenStore();
  auto users = store->ReadOne<std::vector<User>>([](StoreTx& tx) { return tx.users().List(); });
  ASSERT_TRUE(users.has_value()) << users.error().ToString();
  EXPECT_GE(users->size(), 3u);
  auto count =
      store->ReadOne<std::int64_t>([](StoreTx& tx) { return tx.workflows().Count(std::nullopt); });
  ASSERT_TRUE(count.has_value());
  EXPECT_GE(*count, stored + 1);
  EXPECT_EQ(alice->Get("/api/v1/workflows/" + d.workflow_id).status, 200);
  EXPECT_EQ(Login("alice", "alice-password").status, 200);
}

TEST_F(SecurityTest, PathTraversalInEveryPathParameterGoesNowhere) {
  const AliceData& d = Alice();
  auto alice = server_->Client("alice");
  auto admin = server_->Client("admin");
  const std::vector<std::string> evil = {"../../../../etc/passwd",
                                         "..%2f..%2f..%2fetc%2fpasswd",
                                         "%2e%2e/%2e%2e/storyloom.db",
                                         "..%5c..%5cwin.ini",
                                         "....//....//etc/passwd",
                                         "%252e%252e%252fetc",
                                         "/etc/passwd",
                                         "..",
                                         ".",
                                         "%00",
                                         "a%00.txt",
                                         d.workflow_id + "/../../storyloom.db",
                                         d.workflow_id + "/%2e%2e/%2e%2e/storyloom.db"};
  auto harmless = [](const HttpResult& r) {
    return r.status != 200 && r.status != 201 && r.status < 500 &&
           r.body.find("root:") == std::string::npos &&
           r.body.find("SQLite format") == std::string::npos;
  };
  for (const auto& e : evil) {
    SCOPED_TRACE(e);
    for (HttpClient* c : {alice.get(), admin.get()}) {
      EXPECT_TRUE(harmless(c->Get("/files/" + e)));
      EXPECT_TRUE(harmless(c->Get("/api/v1/files/" + e)));
      EXPECT_TRUE(harmless(c->Get("/api/v1/workflows/" + e)));
      EXPECT_TRUE(harmless(c->Get("/api/v1/workflows/" + e + "/events")));
      EXPECT_TRUE(harmless(c->Post("/api/v1/workflows/" + e + "/cancel", json::object())));
      EXPECT_TRUE(harmless(c->Post("/api/v1/workflows/" + e + "/retry", json::object())));
      EXPECT_TRUE(harmless(c->Request("DELETE", "/api/v1/workflows/" + e)));
      EXPECT_TRUE(harmless(c->Request("DELETE", "/api/v1/tokens/" + e)));
      EXPECT_TRUE(harmless(
          c->Request("PUT", "/api/v1/workflows/" + d.workflow_id + "/files/" + e, "pwned")));
      EXPECT_TRUE(harmless(c->Request("PUT", "/api/v1/workflows/" + e + "/files/x.txt", "pwned")));
    }
    EXPECT_TRUE(harmless(admin->Get("/api/v1/users/" + e)));
    EXPECT_TRUE(harmless(admin->Request("PATCH", "/api/v1/users/" + e, R"({"disabled":true})")));
  }
  // No upload escaped into the data directory, and the files that exist are intact.
  for (const auto& entry : std::filesystem::recursive_directory_iterator(server_->data_dir())) {
    if (!entry.is_regular_file()) continue;
    std::ifstream in(entry.path());
    std::string content((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    EXPECT_NE(content, "pwned") << entry.path();
  }
  auto w = alice->Get("/api/v1/workflows/" + d.workflow_id);
  EXPECT_EQ(w.Json()["status"], "completed");
  EXPECT_EQ(alice->Get("/files/" + d.file_path).body, "alice's secret");
  for (const auto& name : {"admin", "alice", "bob"}) {
    EXPECT_EQ(server_->Client(name)->Get("/api/v1/me").status, 200) << name;
  }
}

TEST_F(SecurityTest, OversizedBodiesGet413AndOversizedHeaders431) {
  auto alice = server_->Client("alice");
  const std::string big(2 << 20, 'x');  // over the 1 MiB default body limit
  auto r = alice->Request("POST", "/api/v1/workflows", R"({"prompt":")" + big + R"("})");
  EXPECT_EQ(r.status, 413) << r.body.substr(0, 200);
  HttpClient anon(server_->url());
  EXPECT_EQ(anon.Request("POST", "/api/v1/auth/login", big).status, 413);
  // Uploads have their own, larger limit (4 MiB in this server).
  const AliceData& d = Alice();
  auto up = alice->Request("PUT", "/api/v1/workflows/" + d.workflow_id + "/files/big.bin",
                           std::string(5 << 20, 'b'));
  EXPECT_EQ(up.status, 413);
  auto fits = alice->Request("PUT", "/api/v1/workflows/" + d.workflow_id + "/files/fits.bin",
                             std::string(3 << 20, 'b'));
  EXPECT_EQ(fits.status, 201) << fits.body;
  // Headers: one huge header, and many small ones.
  auto h = anon.Get("/api/v1/me", {"X-Padding: " + std::string(20000, 'h')});
  EXPECT_EQ(h.status, 431);
  std::vector<std::string> many;
  for (int i = 0; i < 400; ++i)
    many.push_back("X-H" + std::to_string(i) + ": " + std::string(60, 'v'));
  EXPECT_EQ(anon.Get("/healthz", many).status, 431);
  // The server is still fine afterwards.
  EXPECT_EQ(alice->Get("/api/v1/me").status, 200);
}

TEST_F(SecurityTest, AdminsManageUsersAndTokensThroughTheApiWithAnAuditTrail) {
  auto admin = server_->Client("admin");
  auto made = admin->Post("/api/v1/users", {{"username", "dave"},
                                            {"role", "user"},
                                            {"email", "dave@example.org"},
                                            {"monthly_budget_usd", "12.50"}});
  ASSERT_EQ(made.status, 201) << made.body;
  const std::string dave = made.Json()["id"];
  const std::string generated =
      made.Json()["password"];  // no password given: one is made, shown once
  EXPECT_GE(generated.size(), 12u);
  EXPECT_EQ(made.Json()["monthly_budget_usd"], "12.50");
  EXPECT_EQ(made.Json()["email"], "dave@example.org");
  EXPECT_EQ(Login("dave", generated).status, 200);
  EXPECT_EQ(
      admin->Post("/api/v1/users", {{"username", "dave"}, {"password", "whatever-long"}}).status,
      409);
  EXPECT_EQ(admin->Post("/api/v1/users", {{"username", "eve"}, {"password", "short"}}).status, 422);
  EXPECT_EQ(admin->Post("/api/v1/users", {{"username", "eve"}, {"role", "root"}}).status, 422);
  EXPECT_EQ(admin->Post("/api/v1/users", {{"username", "eve"}, {"password_hash", "x"}}).status,
            422);

  auto list = admin->Get("/api/v1/users");
  ASSERT_EQ(list.status, 200);
  EXPECT_EQ(list.body.find("argon2"), std::string::npos);
  EXPECT_EQ(list.body.find("password"), std::string::npos);
  EXPECT_GE(list.Json()["items"].size(), 4u);

  auto patch = admin->Request(
      "PATCH", "/api/v1/users/" + dave,
      R"({"role":"admin","email":null,"monthly_budget_usd":3,"password":"dave-new-password"})");
  ASSERT_EQ(patch.status, 200) << patch.body;
  EXPECT_EQ(patch.Json()["role"], "admin");
  EXPECT_TRUE(patch.Json()["email"].is_null());
  EXPECT_EQ(patch.Json()["monthly_budget_usd"], "3.00");
  EXPECT_EQ(Login("dave", generated).status, 401);
  EXPECT_EQ(Login("dave", "dave-new-password").status, 200);
  EXPECT_EQ(admin->Get("/api/v1/users/" + dave).Json()["role"], "admin");
  EXPECT_EQ(admin->Request("PATCH", "/api/v1/users/" + dave, R"({"monthly_budget_usd":-1})").status,
            422);
  EXPECT_EQ(admin->Request("PATCH", "/api/v1/users/" + dave, R"({"disabled":"yes"})").status, 422);
  EXPECT_EQ(admin->Request("PATCH", "/api/v1/users/" + dave, R"({"username":"x"})").status, 422);
  EXPECT_EQ(admin
                ->Request("PATCH", "/api/v1/users/01900000-0000-7000-8000-000000000000",
                          R"({"disabled":true})")
                .status,
            404);
  // The last active administrator cannot lock everyone out.
  ASSERT_EQ(admin->Request("PATCH", "/api/v1/users/" + dave, R"({"disabled":true})").status, 200);
  auto self =
      admin->Request("PATCH", "/api/v1/users/" + server_->user_id("admin"), R"({"role":"user"})");
  EXPECT_EQ(self.status, 409) << self.body;
  EXPECT_EQ(server_->Client("admin")->Get("/api/v1/users").status, 200);

  // Tokens: admins see everyone's, can narrow by user, and revoke any.
  auto all = admin->Get("/api/v1/tokens");
  std::set<std::string> owners;
  for (const auto& t : Field(all, "items")) owners.insert(t["user_id"].get<std::string>());
  EXPECT_TRUE(owners.contains(server_->user_id("alice")) &&
              owners.contains(server_->user_id("bob")));
  EXPECT_EQ(all.body.find("token_hash"), std::string::npos);
  auto bobs = admin->Get("/api/v1/tokens?user_id=" + server_->user_id("bob"));
  for (const auto& t : Field(bobs, "items")) EXPECT_EQ(t["user_id"], server_->user_id("bob"));
  auto made_tok = admin->Post(
      "/api/v1/tokens",
      {{"user_id", server_->user_id("bob")}, {"name", "by admin"}, {"expires_in_days", 30}});
  ASSERT_EQ(made_tok.status, 201);
  EXPECT_FALSE(made_tok.Json()["expires_at"].is_null());
  EXPECT_EQ(admin->Post("/api/v1/tokens", {{"expires_in_days", 0}}).status, 422);
  EXPECT_EQ(admin->Delete("/api/v1/tokens/" + made_tok.Json()["id"].get<std::string>()).status,
            204);

  // Every change is in the audit log, newest first, and pages by cursor.
  auto audit = admin->Get("/api/v1/admin/audit?limit=200");
  ASSERT_EQ(audit.status, 200);
  std::multiset<std::string> actions;
  for (const auto& e : Field(audit, "items")) {
    actions.insert(e["action"].get<std::string>());
    EXPECT_EQ(e.dump().find("dave-new-password"), std::string::npos);
  }
  for (const char* a :
       {"user.create", "user.role", "user.email", "user.budget", "user.passwd", "user.disable",
        "token.create", "token.revoke", "login.success", "login.failure"}) {
    EXPECT_TRUE(actions.contains(a)) << a;
  }
  auto page = admin->Get("/api/v1/admin/audit?limit=2");
  ASSERT_EQ(page.Json()["items"].size(), 2u);
  const std::string cursor = page.Json()["next_cursor"];
  auto next = admin->Get("/api/v1/admin/audit?limit=2&cursor=" + cursor);
  ASSERT_EQ(next.status, 200);
  EXPECT_LT(next.Json()["items"][0]["id"].get<std::int64_t>(),
            page.Json()["items"][1]["id"].get<std::int64_t>() + 1);
  EXPECT_EQ(admin->Get("/api/v1/admin/audit?cursor=abc").status, 422);
}

// Back-off with the default thresholds: 5 failures for one username, then 429.
TEST(SecurityLoginTest, BruteForceGets429WithRetryAfter) {
  ServerProcess server(ServerOptions{.workers = 0});
  HttpClient c(server.url());
  auto login = [&](const std::string& u, const std::string& p) {
    return c.Post("/api/v1/auth/login", {{"username", u}, {"password", p}});
  };
  for (int i = 0; i < 5; ++i)
    EXPECT_EQ(login("alice", "guess-" + std::to_string(i)).status, 401) << i;
  // Even the right password is refused now, with how long to wait.
  auto blocked = login("alice", "alice-password");
  ASSERT_EQ(blocked.status, 429) << blocked.body;
  EXPECT_EQ(blocked.Json()["error"]["code"], "rate_limited");
  const int retry = std::stoi(blocked.Header("retry-after"));
  EXPECT_GE(retry, 25);
  EXPECT_LE(retry, 30);
  // Case does not open a second lane for the same account.
  EXPECT_EQ(login("ALICE", "guess").status, 429);
  // Another user from the same address is not locked by Alice's attacker...
  EXPECT_EQ(login("bob", "bob-password").status, 200);
  // ...until the address itself has failed 20 times in the window.
  // 5 of Alice's so far (the refused ones never counted): 15 more make 20.
  for (int i = 0; i < 15; ++i) EXPECT_EQ(login("nobody" + std::to_string(i), "x").status, 401) << i;
  auto addr = login("bob", "bob-password");
  EXPECT_EQ(addr.status, 429);
  EXPECT_FALSE(addr.Header("retry-after").empty());
  // API tokens are unaffected.
  EXPECT_EQ(server.Client("alice")->Get("/api/v1/me").status, 200);
}

// Lockouts double: with a 1 s base, Retry-After grows 1, 2, 4.
TEST(SecurityLoginTest, LockoutsGrowExponentially) {
  ServerOptions o;
  o.workers = 0;
  o.env["STORYLOOM_LOGIN_LOCKOUT_SECONDS"] = "1";
  o.env["STORYLOOM_LOGIN_MAX_FAILURES"] = "3";
  ServerProcess server(o);
  HttpClient c(server.url());
  auto login = [&](const std::string& p) {
    return c.Post("/api/v1/auth/login", {{"username", "bob"}, {"password", p}});
  };
  for (int i = 0; i < 3; ++i) ASSERT_EQ(login("wrong").status, 401);
  std::vector<int> waits;
  for (int round = 0; round < 3; ++round) {
    auto r = login("wrong");
    ASSERT_EQ(r.status, 429) << round;
    waits.push_back(std::stoi(r.Header("retry-after")));
    std::this_thread::sleep_for(std::chrono::milliseconds(waits.back() * 1000 + 150));
    ASSERT_EQ(login("wrong").status, 401) << round;  // allowed to try, fails, locks longer
  }
  EXPECT_EQ(waits, (std::vector<int>{1, 2, 4}));
  auto r = login("bob-password");
  EXPECT_EQ(r.status, 429);
  EXPECT_EQ(r.Header("retry-after"), "8");
  auto audit = server.Client("admin")->Get("/api/v1/admin/audit?limit=200");
  int failures = 0;
  for (const auto& e : Field(audit, "items")) failures += e["action"] == "login.failure";
  EXPECT_EQ(failures, 6);  // refused attempts were never checked, so never logged as tries
}

// With max_running_per_user = 2 and 4 workers, Alice's 4 workflows never run more than two
// at a time, while Bob's still gets a worker.
TEST(SecurityLimitsTest, PerUserRunningLimitHolds) {
  ServerOptions o;
  o.workers = 4;
  o.env["STORYLOOM_MAX_RUNNING_PER_USER"] = "2";
  ServerProcess server(o);
  auto alice = server.Client("alice");
  auto bob = server.Client("bob");
  std::vector<std::string> ids;
  for (int i = 0; i < 4; ++i) {
    auto r = alice->Post("/api/v1/workflows", {{"prompt", "Limit test " + std::to_string(i)},
                                               {"options", {{"scenes", 4}, {"narration", true}}}});
    ASSERT_EQ(r.status, 201) << r.body;
    ids.push_back(r.Json()["id"]);
  }
  auto bw = bob->Post("/api/v1/workflows",
                      {{"prompt", "Bob's own"}, {"options", {{"scenes", 4}, {"narration", true}}}});
  ASSERT_EQ(bw.status, 201);
  auto store = server.OpenStore();
  int max_running = 0, max_leased = 0;
  bool bob_ran_beside_two = false;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(240);
  for (;;) {
    auto running = alice->Get("/api/v1/workflows?status=running&limit=200");
    ASSERT_EQ(running.status, 200);
    const int n = static_cast<int>(running.Json()["items"].size());
    max_running = std::max(max_running, n);
    auto leased = store->ReadOne<std::int64_t>(
        [&](StoreTx& tx) { return tx.workflows().CountLeased(server.user_id("alice")); });
    if (leased) max_leased = std::max<int>(max_leased, static_cast<int>(*leased));
    if (n == 2) {
      auto b = bob->Get("/api/v1/workflows/" + bw.Json()["id"].get<std::string>());
      bob_ran_beside_two |= b.Json()["status"] == "running";
    }
    int finished = 0;
    for (const auto& id : ids) {
      const std::string s = alice->Get("/api/v1/workflows/" + id).Json().value("status", "");
      finished += s == "completed" || s == "failed" || s == "cancelled";
    }
    if (finished == 4 || std::chrono::steady_clock::now() > deadline) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  EXPECT_LE(max_running, 2);
  EXPECT_LE(max_leased, 2);
  EXPECT_EQ(max_running, 2) << "the limit was never reached, so the test proved nothing";
  EXPECT_TRUE(bob_ran_beside_two);
  for (const auto& id : ids) {
    EXPECT_EQ(alice->Get("/api/v1/workflows/" + id).Json()["status"], "completed")
        << id << server.log();
  }
}

}  // namespace
}  // namespace storyloom
