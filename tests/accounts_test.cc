// Accounts people manage themselves (issue 16, part 4), over real HTTP against the real
// `storyloom serve` on SQLite and PostgreSQL: changing one's own password, listing and ending
// one's own browser sessions and API tokens, sign-up by invitation (one use, expiry,
// revocation, concurrent use), one's own budget, CSRF on the cookie routes, and the audit
// rows each step writes.
#include <gtest/gtest.h>

#include <latch>
#include <map>
#include <memory>
#include <set>
#include <thread>

#include "api/auth.h"
#include "core/clock.h"
#include "support/checks.h"
#include "support/server_process.h"
#include "support/shared_servers.h"
#include "support/test_db.h"

namespace storyloom {
namespace {

using nlohmann::json;
using testing::HttpClient;
using testing::HttpResult;
using testing::ServerOptions;
using testing::ServerProcess;

// The value of cookie `name` set by `r` ("" if none).
std::string SetCookieValue(const HttpResult& r, const std::string& name) {
  auto [lo, hi] = r.headers.equal_range("set-cookie");
  for (auto it = lo; it != hi; ++it) {
    if (it->second.starts_with(name + "=")) {
      const auto eq = it->second.find('='), semi = it->second.find(';');
      return it->second.substr(eq + 1, semi - eq - 1);
    }
  }
  return "";
}

// A signed-in browser: its cookies and CSRF token.
struct Browser {
  std::string session;  // the sl_session cookie (the secret)
  std::string csrf;
  bool valid() const { return !session.empty() && !csrf.empty(); }
};

class AccountsTest : public ::testing::TestWithParam<std::string> {
 protected:
  static testing::SharedServers& servers() {
    static testing::SharedServers s;
    return s;
  }
  static void TearDownTestSuite() { servers().Clear(); }

  // One server per backend, shared by the suite; every test makes its own users.
  ServerProcess& Server() {
    ServerOptions o;
    o.workers = 0;
    // Three wrong passwords lock; the per-address limit stays out of the way of the rest.
    o.env["STORYLOOM_LOGIN_MAX_FAILURES"] = "3";
    o.env["STORYLOOM_LOGIN_MAX_FAILURES_PER_ADDRESS"] = "100000";
    return servers().Get(GetParam(), o);
  }

  // A user made by the admin through the API, with `password`; returns the id.
  std::string NewUser(const std::string& name, const std::string& password) {
    auto r = Server().Client("admin")->Post("/api/v1/users",
                                            {{"username", name}, {"password", password}});
    EXPECT_EQ(r.status, 201) << r.body;
    return r.Json().value("id", "");
  }

  HttpResult Login(const std::string& name, const std::string& password) {
    HttpClient c(Server().url());
    return c.Post("/api/v1/auth/login", {{"username", name}, {"password", password}});
  }

  Browser SignIn(const std::string& name, const std::string& password) {
    auto r = Login(name, password);
    EXPECT_EQ(r.status, 200) << r.body;
    Browser b{SetCookieValue(r, "sl_session"), SetCookieValue(r, "sl_csrf")};
    EXPECT_TRUE(b.valid()) << r.body;
    return b;
  }

  // A request as `b`: its cookies, and the CSRF header unless `csrf` is false.
  HttpResult As(const Browser& b, const std::string& method, const std::string& path,
                const json& body = nullptr, bool csrf = true) {
    HttpClient c(Server().url());
    std::vector<std::string> headers = {"Cookie: sl_session=" + b.session + "; sl_csrf=" + b.csrf,
                                        "Content-Type: application/json"};
    if (csrf) headers.push_back("X-CSRF-Token: " + b.csrf);
    return c.Request(method, path, body.is_null() ? "" : body.dump(), headers);
  }

  HttpResult Bearer(const std::string& token, const std::string& method, const std::string& path,
                    const json& body = nullptr) {
    HttpClient c(Server().url());
    return c.Request(method, path, body.is_null() ? "" : body.dump(),
                     {"Authorization: Bearer " + token, "Content-Type: application/json"});
  }

  // The audit entries with `action` and `target`, newest first (the admin's view).
  std::vector<json> AuditRows(const std::string& action, const std::string& target) {
    auto admin = Server().Client("admin");
    return testing::AuditRows(*admin, action, target);
  }

  // The caller's sessions and tokens, as GET /api/v1/me/sessions lists them.
  json Sessions(const Browser& b) {
    auto r = As(b, "GET", "/api/v1/me/sessions");
    EXPECT_EQ(r.status, 200) << r.body;
    return r.Json()["items"];
  }

  // An API token of the user signed in as `b`, made through the API: {id, secret}.
  std::pair<std::string, std::string> MakeToken(const Browser& b, const std::string& name) {
    auto r = As(b, "POST", "/api/v1/tokens", {{"name", name}});
    EXPECT_EQ(r.status, 201) << r.body;
    return {r.Json().value("id", ""), r.Json().value("token", "")};
  }

  // A new invite from the admin: the whole answer of POST /api/v1/invites.
  json MakeInvite(const json& body = json::object()) {
    auto r = Server().Client("admin")->Post("/api/v1/invites", body);
    EXPECT_EQ(r.status, 201) << r.body;
    return r.Json();
  }

  HttpResult SignUp(const std::string& invite, const std::string& name,
                    const std::string& password = "signed-up-pw") {
    HttpClient c(Server().url());
    return c.Post("/api/v1/auth/signup",
                  {{"invite", invite}, {"username", name}, {"password", password}});
  }

  // Whether a user named `name` exists (the admin's list).
  bool UserExists(const std::string& name) {
    auto r = Server().Client("admin")->Get("/api/v1/users");
    EXPECT_EQ(r.status, 200) << r.body;
    for (const json& u : json(r.Json()["items"])) {
      if (u["username"] == name) return true;
    }
    return false;
  }
};

// ---- password -------------------------------------------------------------------------------

TEST_P(AccountsTest, PasswordChangeEndsOtherSessionsKeepsThisOneAndTheOldPasswordStops) {
  const std::string name = "pw-" + GetParam();
  NewUser(name, "first-password");
  const Browser here = SignIn(name, "first-password");
  const Browser elsewhere = SignIn(name, "first-password");
  const auto [token_id, token] = MakeToken(here, "script");

  // A wrong current password is refused, and changes nothing.
  auto wrong = As(here, "POST", "/api/v1/me/password",
                  {{"current", "not-my-password"}, {"new", "second-password"}});
  EXPECT_EQ(wrong.status, 403) << wrong.body;
  EXPECT_EQ(wrong.Json()["error"]["code"], "permission_denied");
  EXPECT_EQ(As(elsewhere, "GET", "/api/v1/me").status, 200);
  // The new password follows the rules of user creation.
  auto short_pw =
      As(here, "POST", "/api/v1/me/password", {{"current", "first-password"}, {"new", "short"}});
  EXPECT_EQ(short_pw.status, 422) << short_pw.body;
  EXPECT_EQ(short_pw.Json()["error"]["field"], "new") << short_pw.body;
  EXPECT_EQ(As(here, "GET", "/api/v1/me").status, 200);

  auto ok = As(here, "POST", "/api/v1/me/password",
               {{"current", "first-password"}, {"new", "second-password"}});
  ASSERT_EQ(ok.status, 200) << ok.body;
  EXPECT_EQ(ok.Json()["sessions_ended"], 1) << ok.body;
  // This session goes on; the other browser is signed out; the API token still works.
  EXPECT_EQ(As(here, "GET", "/api/v1/me").Json()["username"], name);
  EXPECT_EQ(As(elsewhere, "GET", "/api/v1/me").status, 401);
  EXPECT_EQ(Bearer(token, "GET", "/api/v1/me").status, 200);
  // The old password no longer signs in; the new one does.
  EXPECT_EQ(Login(name, "first-password").status, 401);
  EXPECT_EQ(Login(name, "second-password").status, 200);

  const auto failures = AuditRows("account.password_failure", name);
  ASSERT_EQ(failures.size(), 1u);
  const auto changes = AuditRows("account.password", name);
  ASSERT_EQ(changes.size(), 1u);
  EXPECT_EQ(changes[0]["detail"]["sessions_ended"], 1);
  EXPECT_EQ(changes[0]["username"], name);  // the actor is the user themself
}

TEST_P(AccountsTest, WrongCurrentPasswordsAreRateLimitedLikeSignIn) {
  const std::string name = "guess-" + GetParam();
  NewUser(name, "real-password");
  const Browser b = SignIn(name, "real-password");
  int refused = 0, limited = 0;
  HttpResult last;
  for (int i = 0; i < 5; ++i) {
    last = As(b, "POST", "/api/v1/me/password",
              {{"current", "guess-" + std::to_string(i)}, {"new", "new-password"}});
    refused += last.status == 403;
    limited += last.status == 429;
  }
  EXPECT_EQ(refused, 3);  // STORYLOOM_LOGIN_MAX_FAILURES
  EXPECT_EQ(limited, 2);
  EXPECT_EQ(last.Json()["error"]["code"], "rate_limited");
  EXPECT_FALSE(last.Header("retry-after").empty());
  // While locked, even the right password is not checked.
  auto right =
      As(b, "POST", "/api/v1/me/password", {{"current", "real-password"}, {"new", "new-password"}});
  EXPECT_EQ(right.status, 429) << right.body;
  EXPECT_EQ(Login(name, "real-password").status, 200);  // unchanged
}

// ---- sessions and tokens --------------------------------------------------------------------

TEST_P(AccountsTest, SessionsListShowsOwnSessionsAndTokensNeverSecrets) {
  const std::string name = "list-" + GetParam();
  NewUser(name, "list-password");
  const Browser a = SignIn(name, "list-password");
  const Browser b = SignIn(name, "list-password");
  const auto [token_id, token] = MakeToken(a, "ci job");

  const json items = Sessions(a);
  ASSERT_EQ(items.size(), 3u) << items.dump();
  int sessions = 0, tokens = 0, current = 0;
  for (const auto& s : items) {
    sessions += s["kind"] == "session";
    tokens += s["kind"] == "token";
    current += s["current"] == true;
    for (const char* k : {"id", "kind", "name", "created_at", "last_used_at", "expires_at"}) {
      EXPECT_TRUE(s.contains(k)) << k << " in " << s.dump();
    }
    if (s["kind"] == "token") {
      EXPECT_EQ(s["id"], token_id);
      EXPECT_EQ(s["name"], "ci job");
      EXPECT_EQ(s["current"], false);
    } else {
      EXPECT_TRUE(s["expires_at"].is_string()) << s.dump();
    }
  }
  EXPECT_EQ(sessions, 2);
  EXPECT_EQ(tokens, 1);
  EXPECT_EQ(current, 1);
  // Never a secret or its hash.
  const std::string body = As(a, "GET", "/api/v1/me/sessions").body;
  for (const std::string& secret : {a.session, b.session, token}) {
    EXPECT_EQ(body.find(secret), std::string::npos);
    EXPECT_EQ(body.find(api::Authenticator::HashSecret(secret)), std::string::npos);
  }
  // Asked with the token, the token is the current one.
  auto by_token = Bearer(token, "GET", "/api/v1/me/sessions");
  ASSERT_EQ(by_token.status, 200) << by_token.body;
  for (const json& s : json(by_token.Json()["items"])) EXPECT_EQ(s["current"], s["id"] == token_id);
  // Another user sees none of them.
  auto bob = Server().Client("bob")->Get("/api/v1/me/sessions");
  ASSERT_EQ(bob.status, 200) << bob.body;
  for (const json& s : json(bob.Json()["items"])) {
    for (const auto& mine : items) EXPECT_NE(s["id"], mine["id"]);
  }
}

TEST_P(AccountsTest, EndingASessionOrATokenSignsItOutAtOnce) {
  const std::string name = "end-" + GetParam();
  NewUser(name, "end-password");
  const Browser a = SignIn(name, "end-password");
  const Browser b = SignIn(name, "end-password");
  const auto [token_id, token] = MakeToken(a, "to end");
  std::string b_id;
  for (const auto& s : Sessions(b)) {
    if (s["current"] == true) b_id = s["id"];
  }
  ASSERT_FALSE(b_id.empty());

  EXPECT_EQ(As(a, "DELETE", "/api/v1/me/sessions/" + b_id).status, 204);
  EXPECT_EQ(As(b, "GET", "/api/v1/me").status, 401);
  EXPECT_EQ(As(a, "GET", "/api/v1/me").status, 200);
  EXPECT_EQ(Bearer(token, "GET", "/api/v1/me").status, 200);
  EXPECT_EQ(As(a, "DELETE", "/api/v1/me/sessions/" + token_id).status, 204);
  EXPECT_EQ(Bearer(token, "GET", "/api/v1/me").status, 401);
  // Gone from the list; ending it again is 404.
  const json left = Sessions(a);
  ASSERT_EQ(left.size(), 1u) << left.dump();
  EXPECT_EQ(left[0]["current"], true);
  EXPECT_EQ(As(a, "DELETE", "/api/v1/me/sessions/" + token_id).status, 404);

  const auto ended = AuditRows("session.end", b_id);
  ASSERT_EQ(ended.size(), 1u);
  EXPECT_EQ(ended[0]["detail"]["kind"], "session");
  EXPECT_EQ(ended[0]["username"], name);
  const auto ended_token = AuditRows("session.end", token_id);
  ASSERT_EQ(ended_token.size(), 1u);
  EXPECT_EQ(ended_token[0]["detail"]["kind"], "token");
}

TEST_P(AccountsTest, AnotherUsersSessionIsNotFoundAndKeepsWorking) {
  const std::string name = "victim-" + GetParam();
  NewUser(name, "victim-password");
  const Browser victim = SignIn(name, "victim-password");
  std::string id;
  for (const auto& s : Sessions(victim)) id = s["id"];
  ASSERT_FALSE(id.empty());
  auto bob = Server().Client("bob");
  for (const std::string& target :
       {id, std::string("not-an-id"), std::string("01890000-0000-7000-8000-000000000000")}) {
    auto r = bob->Delete("/api/v1/me/sessions/" + target);
    EXPECT_EQ(r.status, 404) << target << ": " << r.body;
    EXPECT_EQ(r.Json()["error"]["code"], "not_found");
  }
  // The same answer as for an id that never existed: nothing tells bob it is someone's.
  EXPECT_EQ(bob->Delete("/api/v1/me/sessions/" + id).body,
            bob->Delete("/api/v1/me/sessions/01890000-0000-7000-8000-000000000000").body);
  EXPECT_EQ(As(victim, "GET", "/api/v1/me").status, 200);
  EXPECT_TRUE(AuditRows("session.end", id).empty());
}

TEST_P(AccountsTest, CookieRoutesRefuseRequestsWithoutTheCsrfToken) {
  const std::string name = "csrf-" + GetParam();
  NewUser(name, "csrf-password");
  const Browser a = SignIn(name, "csrf-password");
  const Browser b = SignIn(name, "csrf-password");
  std::string b_id;
  for (const auto& s : Sessions(b)) {
    if (s["current"] == true) b_id = s["id"];
  }
  auto pw = As(a, "POST", "/api/v1/me/password",
               {{"current", "csrf-password"}, {"new", "forged-password"}}, /*csrf=*/false);
  EXPECT_EQ(pw.status, 403) << pw.body;
  auto end = As(a, "DELETE", "/api/v1/me/sessions/" + b_id, nullptr, /*csrf=*/false);
  EXPECT_EQ(end.status, 403) << end.body;
  // A wrong token is no better.
  HttpClient c(Server().url());
  auto wrong = c.Request(
      "DELETE", "/api/v1/me/sessions/" + b_id, "",
      {"Cookie: sl_session=" + a.session + "; sl_csrf=" + a.csrf, "X-CSRF-Token: " + a.csrf + "x"});
  EXPECT_EQ(wrong.status, 403) << wrong.body;
  // Nothing changed.
  EXPECT_EQ(As(b, "GET", "/api/v1/me").status, 200);
  EXPECT_EQ(Login(name, "csrf-password").status, 200);
  EXPECT_EQ(Login(name, "forged-password").status, 401);
}

// ---- invitations ----------------------------------------------------------------------------

TEST_P(AccountsTest, InviteIsMadeUsedOnceAndSignsTheNewUserIn) {
  const json invite = MakeInvite({{"role", "user"}, {"expires_in", 3600}});
  const std::string id = invite["id"], secret = invite["token"];
  EXPECT_TRUE(secret.starts_with("sli_"));
  EXPECT_NE(invite["url"].get<std::string>().find("/#/signup?invite=" + secret), std::string::npos)
      << invite.dump();
  EXPECT_EQ(invite["role"], "user");
  // Pending invites are listed for admins, without the secret or its hash.
  auto list = Server().Client("admin")->Get("/api/v1/invites");
  ASSERT_EQ(list.status, 200) << list.body;
  bool listed = false;
  for (const json& i : json(list.Json()["items"])) listed |= i["id"] == id;
  EXPECT_TRUE(listed);
  EXPECT_EQ(list.body.find(secret), std::string::npos);
  EXPECT_EQ(list.body.find(api::Authenticator::HashSecret(secret)), std::string::npos);
  // Only administrators make or see invites.
  EXPECT_EQ(Server().Client("bob")->Post("/api/v1/invites", json::object()).status, 403);
  EXPECT_EQ(Server().Client("bob")->Get("/api/v1/invites").status, 403);

  const std::string name = "invited-" + GetParam();
  auto up = SignUp(secret, name, "my-own-password");
  ASSERT_EQ(up.status, 201) << up.body;
  EXPECT_EQ(up.Json()["user"]["username"], name);
  EXPECT_EQ(up.Json()["user"]["role"], "user");
  // Signed in at once: the session cookie works.
  const Browser fresh{SetCookieValue(up, "sl_session"), SetCookieValue(up, "sl_csrf")};
  ASSERT_TRUE(fresh.valid());
  EXPECT_EQ(As(fresh, "GET", "/api/v1/me").Json()["username"], name);
  EXPECT_EQ(Login(name, "my-own-password").status, 200);

  // Used: refused the second time, and no longer pending.
  auto again = SignUp(secret, name + "-2");
  EXPECT_EQ(again.status, 409) << again.body;
  EXPECT_EQ(again.Json()["error"]["code"], "invite_used");
  EXPECT_FALSE(UserExists(name + "-2"));
  for (const json& i : json(Server().Client("admin")->Get("/api/v1/invites").Json()["items"])) {
    EXPECT_NE(i["id"], id);
  }
  EXPECT_EQ(AuditRows("invite.create", id).size(), 1u);
  const auto signup = AuditRows("user.signup", name);
  ASSERT_EQ(signup.size(), 1u);
  EXPECT_EQ(signup[0]["detail"]["invite_id"], id);
  EXPECT_EQ(AuditRows("signup.failure", name + "-2").size(), 1u);
}

TEST_P(AccountsTest, CliInvitePrintsALinkThatSignsUpOnce) {
  testing::CliResult made =
      testing::RunCli("users invite --role admin --expires 2h --json --log-level off " +
                      testing::CliFlags(Server()));
  ASSERT_EQ(made.exit_code, 0) << made.out;
  const json j = json::parse(made.out, nullptr, false);
  ASSERT_TRUE(j.is_object()) << made.out;
  EXPECT_EQ(j["role"], "admin");
  EXPECT_TRUE(j["created_by"].is_null());
  const std::string secret = j["token"];
  EXPECT_NE(j["url"].get<std::string>().find("/#/signup?invite=" + secret), std::string::npos);
  const std::string name = "cli-invited-" + GetParam();
  auto up = SignUp(secret, name);
  ASSERT_EQ(up.status, 201) << up.body;
  EXPECT_EQ(up.Json()["user"]["role"], "admin");
  EXPECT_EQ(SignUp(secret, name + "-again").status, 409);
  EXPECT_EQ(AuditRows("invite.create", j["id"]).size(), 1u);
  // Out-of-range durations are refused with one line and exit status 1.
  testing::CliResult bad =
      testing::RunCli("users invite --expires 90d --log-level off " + testing::CliFlags(Server()));
  EXPECT_EQ(bad.exit_code, 1) << bad.out;
  // So are numbers too big for a count of milliseconds (no abort, no overflowed product).
  for (const char* huge : {"99999999999999999999d", "9223372036854775807m", "3000000000h"}) {
    bad = testing::RunCli(std::string("users invite --expires ") + huge + " --log-level off " +
                          testing::CliFlags(Server()));
    EXPECT_EQ(bad.exit_code, 1) << huge << ": " << bad.out;
    EXPECT_EQ(bad.out.find("terminate"), std::string::npos) << bad.out;
  }
}

TEST_P(AccountsTest, AdminInviteMakesAnAdminAndATakenNameLeavesTheInviteUnused) {
  const json invite = MakeInvite({{"role", "admin"}});
  const std::string secret = invite["token"];
  auto taken = SignUp(secret, "alice");
  EXPECT_EQ(taken.status, 409) << taken.body;
  EXPECT_EQ(taken.Json()["error"]["code"], "already_exists");
  auto bad = SignUp(secret, "bad name!");
  EXPECT_EQ(bad.status, 422) << bad.body;
  auto weak = SignUp(secret, "weak-" + GetParam(), "short");
  EXPECT_EQ(weak.status, 422) << weak.body;
  EXPECT_EQ(weak.Json()["error"]["field"], "password");
  const std::string name = "boss-" + GetParam();
  auto up = SignUp(secret, name);
  ASSERT_EQ(up.status, 201) << up.body;
  EXPECT_EQ(up.Json()["user"]["role"], "admin");
}

TEST_P(AccountsTest, RevokedExpiredAndUnknownInvitesAreRefused) {
  auto admin = Server().Client("admin");
  const json revoked = MakeInvite();
  const std::string revoked_id = revoked["id"];
  EXPECT_EQ(admin->Delete("/api/v1/invites/" + revoked_id).status, 204);
  EXPECT_EQ(admin->Delete("/api/v1/invites/" + revoked_id).status, 404);
  auto r = SignUp(revoked["token"], "revoked-" + GetParam());
  EXPECT_EQ(r.status, 409) << r.body;
  EXPECT_EQ(r.Json()["error"]["code"], "invite_revoked");
  EXPECT_EQ(AuditRows("invite.revoke", revoked_id).size(), 1u);

  // An invite whose time ran out, written straight into the database.
  const std::string expired_secret = "sli_expired-" + GetParam();
  {
    auto store = Server().OpenStore();
    Invite i;
    i.token_hash = api::Authenticator::HashSecret(expired_secret);
    i.created_at = core::WallMillis() - 7200000;
    i.expires_at = core::WallMillis() - 3600000;
    ASSERT_TRUE(store->WriteOne<Invite>([&](StoreTx& tx) { return tx.invites().Create(i); }));
  }
  auto e = SignUp(expired_secret, "expired-" + GetParam());
  EXPECT_EQ(e.status, 409) << e.body;
  EXPECT_EQ(e.Json()["error"]["code"], "invite_expired");

  auto u = SignUp("sli_never-issued", "unknown-" + GetParam());
  EXPECT_EQ(u.status, 404) << u.body;
  EXPECT_EQ(u.Json()["error"]["code"], "not_found");
  for (const char* n : {"revoked-", "expired-", "unknown-"}) {
    EXPECT_FALSE(UserExists(n + GetParam())) << n;
  }
  // Out-of-range input is refused before anything is stored.
  EXPECT_EQ(admin->Post("/api/v1/invites", {{"expires_in", 5}}).status, 422);
  EXPECT_EQ(admin->Post("/api/v1/invites", {{"role", "owner"}}).status, 422);
}

TEST_P(AccountsTest, ConcurrentSignUpsWithOneInviteHaveExactlyOneWinner) {
  const std::string secret = MakeInvite()["token"];
  constexpr int kRacers = 6;
  std::latch start(kRacers);
  std::vector<HttpResult> results(kRacers);
  std::vector<std::thread> threads;
  for (int i = 0; i < kRacers; ++i) {
    threads.emplace_back([&, i] {
      HttpClient c(Server().url());
      const json body = {{"invite", secret},
                         {"username", "racer" + std::to_string(i) + "-" + GetParam()},
                         {"password", "racer-password"}};
      start.arrive_and_wait();
      results[i] = c.Post("/api/v1/auth/signup", body);
    });
  }
  for (auto& t : threads) t.join();
  int won = 0, used = 0, users = 0;
  for (int i = 0; i < kRacers; ++i) {
    won += results[i].status == 201;
    used += results[i].status == 409 && results[i].Json()["error"]["code"] == "invite_used";
    users += UserExists("racer" + std::to_string(i) + "-" + GetParam());
  }
  EXPECT_EQ(won, 1);
  EXPECT_EQ(used, kRacers - 1);
  EXPECT_EQ(users, 1);
}

// ---- budget ---------------------------------------------------------------------------------

TEST_P(AccountsTest, MyBudgetShowsLimitSpentAndRemaining) {
  const std::string name = "budget-" + GetParam();
  const std::string id = NewUser(name, "budget-password");
  auto set = Server().Client("admin")->Request("PUT", "/api/v1/budgets/users/" + id,
                                               R"({"monthly_usd":"25.00"})");
  ASSERT_EQ(set.status, 200) << set.body;
  const Browser b = SignIn(name, "budget-password");
  auto mine = As(b, "GET", "/api/v1/me/budget");
  ASSERT_EQ(mine.status, 200) << mine.body;
  const json j = mine.Json();
  EXPECT_EQ(j["username"], name);
  EXPECT_EQ(j["user_id"], id);
  for (const char* k : {"period", "monthly_usd", "spent_usd", "remaining_usd"}) {
    EXPECT_TRUE(j.contains(k)) << k;
  }
  EXPECT_EQ(j["spent_nusd"], 0);
  EXPECT_EQ(j["monthly_usd"], j["remaining_usd"]);
  EXPECT_EQ(j["monthly_usd"], set.Json()["monthly_usd"]);
  // The same figures as the budgets list gives the user.
  auto listed = As(b, "GET", "/api/v1/budgets");
  ASSERT_EQ(listed.status, 200);
  EXPECT_EQ(listed.Json()["user"], j);
  // Without a limit, nothing remains to count down.
  auto alice = Server().Client("alice")->Get("/api/v1/me/budget");
  ASSERT_EQ(alice.status, 200) << alice.body;
  EXPECT_EQ(alice.Json()["username"], "alice");
}

INSTANTIATE_TEST_SUITE_P(Backends, AccountsTest, ::testing::ValuesIn(testing::Backends()),
                         [](const auto& info) { return info.param; });

}  // namespace
}  // namespace storyloom
