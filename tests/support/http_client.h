// A small blocking HTTP client over libcurl for tests against a real server on loopback.
// One HttpClient per thread.
//
// With STORYLOOM_RECORD_EXCHANGES=<dir> set, every exchange (method, path, query, status,
// the headers the API description names, and JSON or event-stream bodies) is appended as one
// JSON line to <dir>/exchanges-<pid>.jsonl, at most 64 MiB per process; `make test` checks
// them against docs/openapi.yaml afterwards (tests/openapi/README.md). Any thread.
#pragma once

#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace storyloom::testing {

struct HttpResult {
  long status = 0;  // 0: the request failed at the transport level
  std::string body;
  std::multimap<std::string, std::string> headers;  // lowercase names
  std::string Header(const std::string& name) const;
  nlohmann::json Json() const;  // null when the body is not JSON
};

class HttpClient {
 public:
  explicit HttpClient(std::string base_url);
  ~HttpClient();
  HttpClient(const HttpClient&) = delete;
  HttpClient& operator=(const HttpClient&) = delete;

  // Sends `Authorization: Bearer <token>` on every request when set.
  void set_token(std::string token) { token_ = std::move(token); }
  const std::string& base_url() const { return base_; }

  HttpResult Request(const std::string& method, const std::string& path,
                     const std::string& body = "", const std::vector<std::string>& headers = {},
                     long timeout_ms = 30000);
  HttpResult Get(const std::string& path, const std::vector<std::string>& headers = {}) {
    return Request("GET", path, "", headers);
  }
  HttpResult Post(const std::string& path, const nlohmann::json& body,
                  const std::vector<std::string>& headers = {}) {
    return Request("POST", path, body.dump(), headers);
  }
  HttpResult Delete(const std::string& path) { return Request("DELETE", path); }

 private:
  std::string base_;
  std::string token_;
  void* curl_;
};

}  // namespace storyloom::testing
