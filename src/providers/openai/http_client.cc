#include "providers/openai/http_client.h"

#include <curl/curl.h>
#include <fmt/format.h>

#include <cctype>
#include <charconv>
#include <ctime>
#include <memory>
#include <mutex>

namespace storyloom::providers::openai {

namespace {

struct Transfer {
  HttpReply* reply;
  std::uint64_t max_bytes;
  bool too_large = false;
  const std::atomic<bool>* cancelled;
};

size_t OnBody(char* data, size_t size, size_t n, void* user) {
  auto* t = static_cast<Transfer*>(user);
  const size_t len = size * n;
  if (t->reply->body.size() + len > t->max_bytes) {
    t->too_large = true;
    return 0;  // aborts with CURLE_WRITE_ERROR
  }
  t->reply->body.append(data, len);
  return len;
}

size_t OnHeader(char* data, size_t size, size_t n, void* user) {
  auto* t = static_cast<Transfer*>(user);
  const size_t len = size * n;
  std::string_view line(data, len);
  while (!line.empty() && (line.back() == '\r' || line.back() == '\n')) line.remove_suffix(1);
  if (line.starts_with("HTTP/")) {
    t->reply->headers.clear();  // a new response (after 100 Continue or a redirect)
    return len;
  }
  const auto colon = line.find(':');
  if (colon == std::string_view::npos) return len;
  std::string name(line.substr(0, colon));
  for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  std::string_view value = line.substr(colon + 1);
  while (!value.empty() && value.front() == ' ') value.remove_prefix(1);
  t->reply->headers[name] = std::string(value);
  return len;
}

int OnProgress(void* user, curl_off_t, curl_off_t, curl_off_t, curl_off_t) {
  auto* t = static_cast<Transfer*>(user);
  return t->cancelled && t->cancelled->load() ? 1 : 0;
}

std::string HostOf(const std::string& url) {
  auto start = url.find("://");
  start = start == std::string::npos ? 0 : start + 3;
  auto end = url.find_first_of("/?#", start);
  std::string host = url.substr(start, end == std::string::npos ? std::string::npos : end - start);
  if (auto at = host.rfind('@'); at != std::string::npos) host = host.substr(at + 1);
  return host;
}

void GlobalInit() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

}  // namespace

Result<HttpReply> Perform(const HttpCall& call) {
  GlobalInit();
  std::unique_ptr<CURL, decltype(&curl_easy_cleanup)> curl(curl_easy_init(), curl_easy_cleanup);
  if (!curl)
    return Fail(Error{ErrorCode::kInternal, "cannot create a curl handle", "network_error"});
  HttpReply reply;
  Transfer t{&reply, call.max_response_bytes, false, call.cancelled};
  curl_slist* headers = nullptr;
  for (const auto& h : call.headers) headers = curl_slist_append(headers, h.c_str());
  // "Expect: 100-continue" only adds a round trip for our small bodies.
  headers = curl_slist_append(headers, "Expect:");
  std::unique_ptr<curl_slist, decltype(&curl_slist_free_all)> header_list(headers,
                                                                          curl_slist_free_all);
  CURL* h = curl.get();
  curl_easy_setopt(h, CURLOPT_URL, call.url.c_str());
  curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(h, CURLOPT_HTTPHEADER, header_list.get());
  curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(call.connect_timeout_ms));
  curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, static_cast<long>(call.timeout_ms));
  curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, OnBody);
  curl_easy_setopt(h, CURLOPT_WRITEDATA, &t);
  curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, OnHeader);
  curl_easy_setopt(h, CURLOPT_HEADERDATA, &t);
  curl_easy_setopt(h, CURLOPT_NOPROGRESS, 0L);
  curl_easy_setopt(h, CURLOPT_XFERINFOFUNCTION, OnProgress);
  curl_easy_setopt(h, CURLOPT_XFERINFODATA, &t);
  curl_easy_setopt(h, CURLOPT_ACCEPT_ENCODING, "");
  curl_easy_setopt(h, CURLOPT_USERAGENT, "storyloom/0.1");
  if (call.follow_redirects) {
    curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 1L);
    curl_easy_setopt(h, CURLOPT_MAXREDIRS, 5L);
    // Never forward credentials to another host on a redirect.
    curl_easy_setopt(h, CURLOPT_UNRESTRICTED_AUTH, 0L);
  }
  if (call.method == "GET") {
    curl_easy_setopt(h, CURLOPT_HTTPGET, 1L);
  } else {
    curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, call.method.c_str());
    curl_easy_setopt(h, CURLOPT_POSTFIELDS, call.body.data());
    curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(call.body.size()));
  }
  const CURLcode rc = curl_easy_perform(h);
  if (rc != CURLE_OK) {
    const std::string host = HostOf(call.url);
    if (rc == CURLE_ABORTED_BY_CALLBACK) {
      return Fail(Error::Interrupted("the request to " + host + " was cancelled"));
    }
    if (t.too_large) {
      return Fail(Error{
          ErrorCode::kUnavailable,
          fmt::format("the reply from {} is larger than {} bytes", host, call.max_response_bytes),
          "response_too_large"});
    }
    if (rc == CURLE_OPERATION_TIMEDOUT) {
      return Fail(Error{ErrorCode::kUnavailable,
                        fmt::format("{} did not answer within {} ms", host, call.timeout_ms),
                        "timeout"});
    }
    return Fail(Error{ErrorCode::kUnavailable,
                      fmt::format("cannot reach {}: {}", host, curl_easy_strerror(rc)),
                      "network_error"});
  }
  long status = 0;
  curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
  reply.status = static_cast<int>(status);
  return reply;
}

std::int64_t RetryAfterMs(const std::map<std::string, std::string>& headers, std::int64_t now_ms) {
  if (auto it = headers.find("retry-after-ms"); it != headers.end()) {
    double ms = 0;
    auto [p, ec] = std::from_chars(it->second.data(), it->second.data() + it->second.size(), ms);
    if (ec == std::errc() && ms >= 0) return static_cast<std::int64_t>(ms);
  }
  auto it = headers.find("retry-after");
  if (it == headers.end()) return -1;
  const std::string& v = it->second;
  long long seconds = 0;
  auto [p, ec] = std::from_chars(v.data(), v.data() + v.size(), seconds);
  if (ec == std::errc() && p == v.data() + v.size()) return seconds < 0 ? -1 : seconds * 1000;
  // An HTTP date: "Wed, 21 Oct 2015 07:28:00 GMT".
  std::tm tm{};
  const char* end = strptime(v.c_str(), "%a, %d %b %Y %H:%M:%S GMT", &tm);
  if (!end) return -1;
  const std::int64_t at = static_cast<std::int64_t>(timegm(&tm)) * 1000;
  return at > now_ms ? at - now_ms : 0;
}

}  // namespace storyloom::providers::openai
