#include "support/http_client.h"

#include <curl/curl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <mutex>

namespace storyloom::testing {

namespace {

size_t OnBody(char* data, size_t size, size_t n, void* user) {
  static_cast<std::string*>(user)->append(data, size * n);
  return size * n;
}

size_t OnHeader(char* data, size_t size, size_t n, void* user) {
  std::string line(data, size * n);
  const auto colon = line.find(':');
  if (colon != std::string::npos) {
    std::string name = line.substr(0, colon);
    std::transform(name.begin(), name.end(), name.begin(), ::tolower);
    std::string value = line.substr(colon + 1);
    while (!value.empty() && (value.front() == ' ')) value.erase(0, 1);
    while (!value.empty() && (value.back() == '\r' || value.back() == '\n')) value.pop_back();
    static_cast<std::multimap<std::string, std::string>*>(user)->emplace(name, value);
  }
  return size * n;
}

// The exchange log of STORYLOOM_RECORD_EXCHANGES (see http_client.h).
class ExchangeLog {
 public:
  static ExchangeLog& Get() {
    static auto* const log = new ExchangeLog();  // never destroyed: clients may outlive main
    return *log;
  }

  void Record(const std::string& base, const std::string& method, const std::string& target,
              const HttpResult& r) {
    if (dir_.empty() || r.status == 0) return;
    std::string path = target, query;
    if (const auto q = target.find('?'); q != std::string::npos) {
      path = target.substr(0, q);
      query = target.substr(q + 1);
    }
    nlohmann::json line = {{"method", method},
                           {"path", path},
                           {"query", query},
                           {"status", r.status},
                           {"content_type", r.Header("content-type")},
                           {"base", base},
                           {"body_size", r.body.size()}};
    nlohmann::json headers = nlohmann::json::object();
    for (const char* name : {"location", "retry-after", "www-authenticate", "allow",
                             "content-range", "idempotent-replayed", "cache-control", "etag",
                             "x-content-type-options", "content-disposition"}) {
      if (auto it = r.headers.find(name); it != r.headers.end()) headers[name] = it->second;
    }
    line["headers"] = std::move(headers);
    const std::string& type = r.Header("content-type");
    const bool textual =
        type.starts_with("application/json") || type.starts_with("text/event-stream");
    if (textual && r.body.size() <= kMaxBody) line["body"] = r.body;
    if (textual && r.body.size() > kMaxBody) line["body_truncated"] = true;
    if (const auto* t = ::testing::UnitTest::GetInstance()->current_test_info()) {
      line["test"] = std::string(t->test_suite_name()) + "." + t->name();
    }
    const std::string text =
        line.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
    std::lock_guard lock(mu_);
    if (written_ + text.size() > kMaxFile) {
      if (!full_) {
        full_ = true;
        out_ << R"({"log_full":true})"
             << "\n"
             << std::flush;
      }
      return;
    }
    written_ += text.size();
    out_ << text << std::flush;
  }

 private:
  static constexpr std::size_t kMaxBody = 1 << 20;
  static constexpr std::size_t kMaxFile = 64u << 20;

  ExchangeLog() {
    const char* dir = std::getenv("STORYLOOM_RECORD_EXCHANGES");
    if (dir == nullptr || *dir == '\0') return;
    dir_ = dir;
    out_.open(dir_ + "/exchanges-" + std::to_string(::getpid()) + ".jsonl", std::ios::app);
    if (!out_) dir_.clear();
  }

  std::string dir_;
  std::mutex mu_;
  std::ofstream out_;
  std::size_t written_ = 0;
  bool full_ = false;
};

}  // namespace

std::string HttpResult::Header(const std::string& name) const {
  auto it = headers.find(name);
  return it == headers.end() ? "" : it->second;
}

nlohmann::json HttpResult::Json() const {
  auto j = nlohmann::json::parse(body, nullptr, false);
  return j.is_discarded() ? nlohmann::json() : j;
}

HttpClient::HttpClient(std::string base_url)
    : base_(std::move(base_url)), curl_(curl_easy_init()) {}
HttpClient::~HttpClient() { curl_easy_cleanup(static_cast<CURL*>(curl_)); }

HttpResult HttpClient::Request(const std::string& method, const std::string& path,
                               const std::string& body, const std::vector<std::string>& headers,
                               long timeout_ms) {
  CURL* c = static_cast<CURL*>(curl_);
  curl_easy_reset(c);
  HttpResult out;
  const std::string url = base_ + path;
  curl_easy_setopt(c, CURLOPT_URL, url.c_str());
  curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method.c_str());
  curl_easy_setopt(c, CURLOPT_PATH_AS_IS, 1L);  // send ../ as written (traversal tests)
  curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, timeout_ms);
  curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
  if (method == "HEAD") curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
  if (!body.empty() || method == "POST" || method == "PUT") {
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, body.data());
    curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(body.size()));
  }
  curl_slist* list = nullptr;
  bool has_type = false;
  for (const auto& h : headers) {
    list = curl_slist_append(list, h.c_str());
    if (h.rfind("Content-Type:", 0) == 0) has_type = true;
  }
  if (!has_type && !body.empty()) list = curl_slist_append(list, "Content-Type: application/json");
  list = curl_slist_append(list, "Expect:");
  if (!token_.empty()) list = curl_slist_append(list, ("Authorization: Bearer " + token_).c_str());
  curl_easy_setopt(c, CURLOPT_HTTPHEADER, list);
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, OnBody);
  curl_easy_setopt(c, CURLOPT_WRITEDATA, &out.body);
  curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, OnHeader);
  curl_easy_setopt(c, CURLOPT_HEADERDATA, &out.headers);
  if (curl_easy_perform(c) == CURLE_OK) curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &out.status);
  curl_slist_free_all(list);
  ExchangeLog::Get().Record(base_, method, path, out);
  return out;
}

}  // namespace storyloom::testing
