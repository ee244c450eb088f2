// HttpClient: one blocking HTTP request over libcurl, with connect and total timeouts, a
// response size cap and cancellation. Stateless; any thread (each call has its own easy
// handle). Never logs; callers decide what of a request may appear in messages.
#pragma once

#include <atomic>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "storyloom/error.h"

namespace storyloom::providers::openai {

struct HttpCall {
  std::string method = "POST";
  std::string url;
  std::vector<std::string> headers;  // "Name: value"
  std::string body;
  int connect_timeout_ms = 10000;
  int timeout_ms = 120000;  // whole request, connect included
  std::uint64_t max_response_bytes = 64ull << 20;
  bool follow_redirects = false;
  const std::atomic<bool>* cancelled = nullptr;  // aborts the transfer when set
};

struct HttpReply {
  int status = 0;
  std::map<std::string, std::string> headers;  // lowercase names; last value wins
  std::string body;
};

// Performs `call`. Any HTTP status is a reply; the error cases are transport failures,
// with Error::detail "timeout", "network_error" or "response_too_large", or an error whose
// IsInterrupted() holds (cancelled). Messages name the host, never headers or bodies.
[[nodiscard]] Result<HttpReply> Perform(const HttpCall& call);

// Milliseconds a Retry-After (or retry-after-ms) header asks to wait, from seconds or an
// HTTP date relative to `now_ms`; -1 when absent or unparseable.
std::int64_t RetryAfterMs(const std::map<std::string, std::string>& headers, std::int64_t now_ms);

}  // namespace storyloom::providers::openai
