// Router, percent-encoding and value-type tests: no sockets.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "http/http.h"
#include "http/status_map.h"

namespace storyloom::http {
namespace {

Handler Named(std::string name) {
  return [name](Request&) { return Response::Text(200, name); };
}

std::string Call(const Router::Match& m) {
  Request req;
  return m.route ? m.route->handler(req).body : "<none>";
}

class RouterTest : public ::testing::Test {
 protected:
  void SetUp() override {
    router_.Add("GET", "/healthz", Named("healthz"));
    router_.Add("GET", "/api/v1/workflows", Named("list"));
    router_.Add("POST", "/api/v1/workflows", Named("create"));
    router_.Add("GET", "/api/v1/workflows/{id}", Named("get"));
    router_.Add("DELETE", "/api/v1/workflows/{id}", Named("delete"));
    router_.Add("GET", "/api/v1/workflows/search", Named("search"));
    router_.Add("PUT", "/api/v1/workflows/{id}/files/{name}", Named("upload"));
    router_.Add("GET", "/files/{*path}", Named("files"), {.name = "files"});
  }
  Router router_;
  std::unordered_map<std::string, std::string> params_;
};

TEST_F(RouterTest, ExactPathMatch) {
  auto m = router_.Find("GET", "/healthz", params_);
  ASSERT_NE(m.route, nullptr);
  EXPECT_EQ(Call(m), "healthz");
  EXPECT_EQ(m.route->options.name, "/healthz");  // the pattern by default
  EXPECT_TRUE(params_.empty());
}

TEST_F(RouterTest, MethodSelectsRoute) {
  EXPECT_EQ(Call(router_.Find("GET", "/api/v1/workflows", params_)), "list");
  EXPECT_EQ(Call(router_.Find("POST", "/api/v1/workflows", params_)), "create");
}

TEST_F(RouterTest, ParamsAreCaptured) {
  auto m = router_.Find("PUT", "/api/v1/workflows/abc/files/x.png", params_);
  EXPECT_EQ(Call(m), "upload");
  EXPECT_EQ(params_["id"], "abc");
  EXPECT_EQ(params_["name"], "x.png");
}

TEST_F(RouterTest, LiteralSegmentBeatsParam) {
  EXPECT_EQ(Call(router_.Find("GET", "/api/v1/workflows/search", params_)), "search");
  EXPECT_TRUE(params_.empty());
  EXPECT_EQ(Call(router_.Find("GET", "/api/v1/workflows/other", params_)), "get");
  EXPECT_EQ(params_["id"], "other");
  // A literal route for another method must not hide the {id} route for this one.
  params_.clear();
  EXPECT_EQ(Call(router_.Find("DELETE", "/api/v1/workflows/search", params_)), "delete");
  EXPECT_EQ(params_["id"], "search");
}

TEST_F(RouterTest, RestMatchesRemainderOfPath) {
  auto m = router_.Find("GET", "/files/wf/1/scene 01.png", params_);
  EXPECT_EQ(Call(m), "files");
  EXPECT_EQ(m.route->options.name, "files");
  EXPECT_EQ(params_["path"], "wf/1/scene 01.png");
  params_.clear();
  router_.Find("GET", "/files/../etc/passwd", params_);
  EXPECT_EQ(params_["path"], "../etc/passwd");  // literal: the handler resolves via the DB
  EXPECT_EQ(router_.Find("GET", "/files", params_).route, nullptr);
}

TEST_F(RouterTest, NoMatchForTrailingSlashOrEmptyParam) {
  EXPECT_EQ(router_.Find("GET", "/healthz/", params_).route, nullptr);
  EXPECT_EQ(router_.Find("GET", "/api/v1/workflows/", params_).route, nullptr);
  EXPECT_EQ(router_.Find("GET", "/api/v1/workflows/a/b", params_).route, nullptr);
  EXPECT_EQ(router_.Find("GET", "/nope", params_).route, nullptr);
  EXPECT_FALSE(router_.Find("GET", "/nope", params_).method_not_allowed);
}

TEST_F(RouterTest, MethodNotAllowedListsAllowedMethods) {
  auto m = router_.Find("PATCH", "/api/v1/workflows/abc", params_);
  EXPECT_EQ(m.route, nullptr);
  EXPECT_TRUE(m.method_not_allowed);
  EXPECT_EQ(m.allow, "DELETE, GET");
  m = router_.Find("DELETE", "/api/v1/workflows", params_);
  EXPECT_TRUE(m.method_not_allowed);
  EXPECT_EQ(m.allow, "GET, POST");
}

TEST_F(RouterTest, FallbackTakesUnmatchedPathsOnly) {
  router_.SetFallback(Named("fallback"));
  auto m = router_.Find("GET", "/index.html", params_);
  EXPECT_EQ(Call(m), "fallback");
  EXPECT_EQ(m.route->options.name, "fallback");
  // A known path with the wrong method is still a 405, not the fallback.
  m = router_.Find("POST", "/healthz", params_);
  EXPECT_TRUE(m.method_not_allowed);
  EXPECT_EQ(m.route, nullptr);
}

TEST(PercentTest, DecodesValidEscapes) {
  EXPECT_EQ(PercentDecode("/a%20b/%2e%2e/%2F"),
            "/a b/../"
            "/");
  EXPECT_EQ(PercentDecode("a+b"), "a+b");
  EXPECT_EQ(PercentDecode("a+b%2B", true), "a b+");
  EXPECT_EQ(PercentDecode("%c3%A9"), "\xc3\xa9");
  EXPECT_EQ(PercentDecode(""), "");
}

TEST(PercentTest, RejectsMalformedEscapesAndNul) {
  EXPECT_EQ(PercentDecode("%zz"), std::nullopt);
  EXPECT_EQ(PercentDecode("%2"), std::nullopt);
  EXPECT_EQ(PercentDecode("abc%"), std::nullopt);
  EXPECT_EQ(PercentDecode("%g0"), std::nullopt);
  EXPECT_EQ(PercentDecode("a%00b"), std::nullopt);
  EXPECT_EQ(PercentDecode(std::string_view("a\0b", 3)), std::nullopt);
}

TEST(PercentTest, EncodeRoundTrips) {
  const std::string raw = "a b/c?d=e&f+g~h.i_j-k\xc3\xa9";
  const std::string enc = PercentEncode(raw);
  EXPECT_EQ(enc, "a%20b%2Fc%3Fd%3De%26f%2Bg~h.i_j-k%C3%A9");
  EXPECT_EQ(PercentDecode(enc), raw);
}

TEST(HeadersTest, CaseInsensitiveGetAndSetReplaces) {
  Headers h;
  h.Add("Content-Type", "text/plain");
  h.Add("X-A", "1");
  h.Add("x-a", "2");
  EXPECT_EQ(h.Get("content-type"), "text/plain");
  EXPECT_EQ(h.Get("X-A"), "1");
  EXPECT_EQ(h.Get("missing"), std::nullopt);
  h.Set("X-a", "3");
  EXPECT_EQ(h.Get("x-A"), "3");
  EXPECT_EQ(h.items().size(), 2u);
  h.Set("New", "v");
  EXPECT_EQ(h.Get("new"), "v");
}

TEST(RequestTest, QueryWithFallback) {
  Request r;
  r.query["limit"] = "10";
  EXPECT_EQ(r.Query("limit"), "10");
  EXPECT_EQ(r.Query("cursor"), "");
  EXPECT_EQ(r.Query("cursor", "none"), "none");
}

TEST(ResponseTest, JsonTextAndErrorShapes) {
  auto j = Response::Json(201, R"({"a":1})");
  EXPECT_EQ(j.status, 201);
  EXPECT_EQ(j.headers.Get("Content-Type"), "application/json");
  auto t = Response::Text(200, "hi");
  EXPECT_EQ(t.headers.Get("content-type"), "text/plain; charset=utf-8");
  auto e = Response::Error(404, "not_found", "no \"x\"");
  EXPECT_EQ(e.status, 404);
  auto body = nlohmann::json::parse(e.body);
  EXPECT_EQ(body["error"]["code"], "not_found");
  EXPECT_EQ(body["error"]["message"], "no \"x\"");
  // Invalid UTF-8 from client input must not throw.
  EXPECT_NO_THROW(Response::Error(400, "invalid_argument", "bad \xff byte"));
}

TEST(StatusMapTest, MapsCanonicalCodes) {
  EXPECT_EQ(HttpStatus(Malformed("not JSON")), 400);
  EXPECT_EQ(HttpStatus(Error::InvalidArgument("bad scenes", "scenes")), 422);
  auto field =
      nlohmann::json::parse(ErrorResponse(Error::InvalidArgument("bad", "options.scenes")).body);
  EXPECT_EQ(field["error"]["code"], "invalid_argument");
  EXPECT_EQ(field["error"]["field"], "options.scenes");
  auto malformed = nlohmann::json::parse(ErrorResponse(Malformed("not JSON")).body);
  EXPECT_EQ(malformed["error"]["code"], "malformed_request");
  EXPECT_FALSE(malformed["error"].contains("field"));
  EXPECT_EQ(ApiErrorCode(Error::ResourceExhausted("over", "budget_exceeded")), "budget_exceeded");
  // Internal details stay in the log, not in the response.
  auto internal = nlohmann::json::parse(ErrorResponse(Error::Internal("sqlite said x")).body);
  EXPECT_EQ(internal["error"]["message"], "internal error");
  EXPECT_EQ(HttpStatus(Error::NotFound("x")), 404);
  EXPECT_EQ(HttpStatus(Error::AlreadyExists("x")), 409);
  EXPECT_EQ(HttpStatus(Error::FailedPrecondition("x")), 409);
  EXPECT_EQ(HttpStatus(Error::Aborted("x")), 409);
  EXPECT_EQ(HttpStatus(Error::ResourceExhausted("x")), 429);
  EXPECT_EQ(HttpStatus(Error::Unauthenticated("x")), 401);
  EXPECT_EQ(HttpStatus(Error::PermissionDenied("x")), 403);
  EXPECT_EQ(HttpStatus(Error::Unavailable("x")), 503);
  EXPECT_EQ(HttpStatus(Error::Internal("x")), 500);
  auto r = ErrorResponse(Error::NotFound("workflow w1 does not exist"));
  EXPECT_EQ(r.status, 404);
  auto j = nlohmann::json::parse(r.body);
  EXPECT_EQ(j["error"]["code"], "not_found");
  EXPECT_EQ(j["error"]["message"], "workflow w1 does not exist");
}

}  // namespace
}  // namespace storyloom::http
