// Unit tests of the authentication parts: the sign-in failure limiter, argon2id password
// hashing, and the Authenticator's token and CSRF rules over a real (SQLite) store.
#include "api/auth.h"

#include <gtest/gtest.h>

#include <thread>

#include "api/rate_limiter.h"
#include "core/clock.h"
#include "support/test_db.h"

namespace storyloom {
namespace {

using api::Authenticator;
using api::FailureLimiter;
using api::FailureLimiterOptions;

FailureLimiterOptions Opts(int max, Millis base = 1000, Millis cap = 60000) {
  FailureLimiterOptions o;
  o.max_failures = max;
  o.base_lockout_ms = base;
  o.max_lockout_ms = cap;
  o.window_ms = 15 * 60 * 1000;
  return o;
}

TEST(AuthLimiterTest, LocksAfterMaxFailuresAndDoublesTheLockout) {
  FailureLimiter l(Opts(5, 30000, 3600000));
  const Millis t0 = 1'000'000;
  for (int i = 0; i < 4; ++i) {
    EXPECT_FALSE(l.RecordFailure("alice", t0 + i).has_value()) << i;
    EXPECT_FALSE(l.RetryAfter("alice", t0 + i).has_value());
  }
  // The fifth failure locks for the base lockout; each further one doubles it.
  EXPECT_EQ(l.RecordFailure("alice", t0 + 10), 30000);
  EXPECT_EQ(l.RetryAfter("alice", t0 + 10), 30000);
  EXPECT_EQ(l.RetryAfter("alice", t0 + 20010), 10000);
  EXPECT_FALSE(l.RetryAfter("alice", t0 + 30010).has_value());
  EXPECT_EQ(l.RecordFailure("alice", t0 + 30010), 60000);
  EXPECT_EQ(l.RecordFailure("alice", t0 + 90010), 120000);
  EXPECT_EQ(l.RecordFailure("alice", t0 + 210010), 240000);
  // Other keys are untouched.
  EXPECT_FALSE(l.RetryAfter("bob", t0 + 10).has_value());
}

TEST(AuthLimiterTest, LockoutIsCappedAndResetForgets) {
  FailureLimiter l(Opts(2, 1000, 5000));
  Millis t = 0;
  std::optional<Millis> last;
  for (int i = 0; i < 40; ++i) last = l.RecordFailure("k", t += 10);
  EXPECT_EQ(last, 5000);
  l.Reset("k");
  EXPECT_FALSE(l.RetryAfter("k", t).has_value());
  EXPECT_FALSE(l.RecordFailure("k", t).has_value());  // counting starts afresh
}

TEST(AuthLimiterTest, FailuresOutsideTheWindowAreForgotten) {
  FailureLimiter l(Opts(3));
  const Millis window = 15 * 60 * 1000;
  EXPECT_FALSE(l.RecordFailure("k", 0));
  EXPECT_FALSE(l.RecordFailure("k", 1));
  // A quiet window later, two more failures do not reach three.
  EXPECT_FALSE(l.RecordFailure("k", window + 10));
  EXPECT_FALSE(l.RecordFailure("k", window + 11));
  EXPECT_TRUE(l.RecordFailure("k", window + 12).has_value());
}

TEST(AuthLimiterTest, MemoryStaysBoundedAndBlockedKeysSurviveAFlood) {
  FailureLimiterOptions o = Opts(1, 600000, 600000);
  o.max_keys = 1000;
  FailureLimiter l(o);
  ASSERT_TRUE(l.RecordFailure("victim", 0).has_value());
  // A flood of distinct keys (each blocked too) never grows the map past its bound.
  for (int i = 0; i < 20000; ++i) (void)l.RecordFailure("spray-" + std::to_string(i), 1 + i);
  EXPECT_LE(l.size(), 1000u);
  // Non-blocked keys are the first to go: a flood of harmless single failures keeps the
  // lockout in force.
  FailureLimiterOptions o2 = Opts(5, 3600000, 3600000);
  o2.max_keys = 100;
  FailureLimiter l2(o2);
  for (int i = 0; i < 5; ++i) (void)l2.RecordFailure("victim", i);
  ASSERT_TRUE(l2.RetryAfter("victim", 10).has_value());
  const Millis later = 16 * 60 * 1000;  // the flood arrives after the window of the others
  for (int i = 0; i < 50; ++i) (void)l2.RecordFailure("early-" + std::to_string(i), 100 + i);
  for (int i = 0; i < 500; ++i) (void)l2.RecordFailure("late-" + std::to_string(i), later + i);
  EXPECT_LE(l2.size(), 100u);
  EXPECT_TRUE(l2.RetryAfter("victim", later + 500).has_value());
}

TEST(AuthLimiterTest, IsSafeUnderConcurrentUse) {
  FailureLimiter l(Opts(1000000));
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&l, t] {
      for (int i = 0; i < 2000; ++i) {
        (void)l.RecordFailure("shared", i);
        (void)l.RetryAfter("own-" + std::to_string(t), i);
      }
    });
  }
  for (auto& th : threads) th.join();
  // 8000 failures inside one window: the count reached the limit exactly never (1e6), and
  // the map holds just the one key.
  EXPECT_EQ(l.size(), 1u);
  EXPECT_FALSE(l.RetryAfter("shared", 10).has_value());
}

TEST(AuthPasswordTest, Argon2idHashesVerifyAndAreSalted) {
  auto a = Authenticator::HashPassword("correct horse battery staple");
  auto b = Authenticator::HashPassword("correct horse battery staple");
  ASSERT_TRUE(a.has_value() && b.has_value());
  EXPECT_TRUE(a->starts_with("$argon2id$")) << *a;
  EXPECT_NE(*a, *b);  // a fresh salt each time
  EXPECT_EQ(a->find("correct horse"), std::string::npos);
  EXPECT_TRUE(Authenticator::VerifyPassword(*a, "correct horse battery staple"));
  EXPECT_TRUE(Authenticator::VerifyPassword(*b, "correct horse battery staple"));
  EXPECT_FALSE(Authenticator::VerifyPassword(*a, "correct horse battery stapl"));
  EXPECT_FALSE(Authenticator::VerifyPassword(*a, ""));
  EXPECT_FALSE(Authenticator::VerifyPassword("", "anything"));
  EXPECT_FALSE(Authenticator::VerifyPassword("$argon2id$garbage", "anything"));
}

TEST(AuthPasswordTest, TokenHashesAreSha256Hex) {
  const std::string h = Authenticator::HashSecret("slt_abc");
  EXPECT_EQ(h.size(), 64u);
  EXPECT_EQ(h, Authenticator::HashSecret("slt_abc"));
  EXPECT_NE(h, Authenticator::HashSecret("slt_abd"));
}

class AuthenticatorTest : public ::testing::Test {
 protected:
  void SetUp() override {
    tdb_ = std::make_unique<testing::TestDatabase>("sqlite");
    store_ = tdb_->OpenMigrated();
    alice_ = testing::MakeUser(*store_, "alice");
    auth_ = std::make_unique<Authenticator>(*store_);
  }
  static http::Request Req(const std::string& method,
                           std::vector<std::pair<std::string, std::string>> headers) {
    http::Request r;
    r.method = method;
    r.path = "/api/v1/me";
    for (auto& [k, v] : headers) r.headers.Add(k, v);
    return r;
  }
  std::string Issue(const std::string& kind, Millis ttl = 0) {
    auto t = auth_->Issue(alice_, kind, "t", ttl);
    EXPECT_TRUE(t.has_value());
    return t->secret;
  }
  ErrorCode Code(const http::Request& r) {
    auto p = auth_->Authenticate(r);
    return p ? ErrorCode::kInternal : p.error().code;  // kInternal stands for "accepted"
  }

  std::unique_ptr<testing::TestDatabase> tdb_;
  std::unique_ptr<Store> store_;
  std::string alice_;
  std::unique_ptr<Authenticator> auth_;
};

TEST_F(AuthenticatorTest, BearerTokensAreCheckedByKind) {
  const std::string api = Issue("api"), session = Issue("session"), login = Issue("login");
  auto p = auth_->Authenticate(Req("POST", {{"Authorization", "Bearer " + api}}));
  ASSERT_TRUE(p.has_value());
  EXPECT_EQ(p->user_id, alice_);
  EXPECT_FALSE(p->via_cookie);
  // A session secret is only good as a cookie, a login link never as a credential.
  EXPECT_EQ(Code(Req("GET", {{"Authorization", "Bearer " + session}})),
            ErrorCode::kUnauthenticated);
  EXPECT_EQ(Code(Req("GET", {{"Authorization", "Bearer " + login}})), ErrorCode::kUnauthenticated);
  EXPECT_EQ(Code(Req("GET", {{"Cookie", "sl_session=" + api}})), ErrorCode::kUnauthenticated);
  // Malformed headers and unknown secrets.
  for (const std::string& h : std::vector<std::string>{
           "Basic YWxpY2U6eA==", "Bearer", "Bearer ", "Token " + api, "Bearer slt_nope",
           "Bearer " + std::string(300, 'x'), "Bearer " + api + "x"}) {
    EXPECT_EQ(Code(Req("GET", {{"Authorization", h}})), ErrorCode::kUnauthenticated) << h;
  }
  EXPECT_EQ(Code(Req("GET", {})), ErrorCode::kUnauthenticated);
}

TEST_F(AuthenticatorTest, CookieRequestsNeedAMatchingCsrfTokenToChangeThings) {
  const std::string session = Issue("session");
  const std::string cookies = "sl_session=" + session + "; sl_csrf=abc123";
  // Reads need no CSRF token.
  for (std::string m : {"GET", "HEAD", "OPTIONS"}) {
    auto p = auth_->Authenticate(Req(m, {{"Cookie", cookies}}));
    ASSERT_TRUE(p.has_value()) << m;
    EXPECT_TRUE(p->via_cookie);
  }
  for (std::string m : {"POST", "PUT", "PATCH", "DELETE"}) {
    EXPECT_EQ(Code(Req(m, {{"Cookie", cookies}})), ErrorCode::kPermissionDenied) << m;
    EXPECT_EQ(Code(Req(m, {{"Cookie", cookies}, {"X-CSRF-Token", "abc124"}})),
              ErrorCode::kPermissionDenied)
        << m;
    EXPECT_EQ(Code(Req(m, {{"Cookie", "sl_session=" + session}, {"X-CSRF-Token", ""}})),
              ErrorCode::kPermissionDenied)
        << m;
    EXPECT_TRUE(
        auth_->Authenticate(Req(m, {{"Cookie", cookies}, {"X-CSRF-Token", "abc123"}})).has_value())
        << m;
  }
  // A bearer token needs no CSRF token: browsers never attach it on their own.
  EXPECT_TRUE(
      auth_->Authenticate(Req("POST", {{"Authorization", "Bearer " + Issue("api")}})).has_value());
}

TEST_F(AuthenticatorTest, ExpiredRevokedAndDisabledAreRefused) {
  const std::string expired = Issue("api", 1);
  std::this_thread::sleep_for(std::chrono::milliseconds(5));
  EXPECT_EQ(Code(Req("GET", {{"Authorization", "Bearer " + expired}})),
            ErrorCode::kUnauthenticated);

  auto t = auth_->Issue(alice_, "api", "t", 0);
  const http::Request req = Req("GET", {{"Authorization", "Bearer " + t->secret}});
  ASSERT_TRUE(auth_->Authenticate(req).has_value());  // now cached
  ASSERT_TRUE(store_->Write(
      [&](StoreTx& tx) { return tx.tokens().Revoke(t->token.id, core::WallMillis()); }));
  auth_->Forget(t->token.id);
  EXPECT_EQ(Code(req), ErrorCode::kUnauthenticated);

  const std::string live = Issue("api");
  const http::Request live_req = Req("GET", {{"Authorization", "Bearer " + live}});
  ASSERT_TRUE(auth_->Authenticate(live_req).has_value());
  ASSERT_TRUE(store_->Write([&](StoreTx& tx) -> Result<void> {
    SL_ASSIGN_OR_RETURN(User u, tx.users().Get(alice_));
    u.disabled = true;
    return tx.users().Update(u);
  }));
  // ForgetUser drops every cached principal of the user: refused at once, not in 2 s.
  auth_->ForgetUser(alice_);
  EXPECT_EQ(Code(live_req), ErrorCode::kUnauthenticated);
}

}  // namespace
}  // namespace storyloom
