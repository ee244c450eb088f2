// FakeOpenAI: an OpenAI-compatible API on 127.0.0.1:<ephemeral> for tests, built on
// storyloom::http::Server. Answers /v1/chat/completions (story and storyboard schemas),
// /v1/images/generations (a real PNG as b64_json or a URL), /v1/audio/speech (WAV), with
// scripted failures per endpoint, and records every request and what it billed.
// Thread-safe; handlers run on the server's worker threads.
#pragma once

#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace storyloom::http {
class Server;
}

namespace storyloom::testing {

struct FakeStep {
  enum class Kind {
    kOk,              // the normal reply
    kStatus,          // `status` with a JSON error body and optional Retry-After
    kSleep,           // sleep `sleep_ms`, then the normal reply (for client timeouts)
    kMalformedJson,   // 200 whose content is not JSON (usage still reported: billed)
    kSchemaMismatch,  // 200 whose content is JSON of the wrong shape (billed)
    kTruncatedImage,  // 200 with half a PNG (billed as one image)
    kImageUrl,        // 200 with a URL to download the image from
  };
  Kind kind = Kind::kOk;
  int status = 200;
  std::string retry_after;  // header value, "" = none
  int sleep_ms = 0;
  std::string message;  // error message for kStatus
};

// One billable thing the fake reported, for computing expected costs.
struct FakeBill {
  std::string endpoint;  // chat | images | speech
  std::string model;
  std::int64_t prompt_tokens = 0, cached_tokens = 0, completion_tokens = 0;
  std::int64_t images = 0;
  std::string size, quality;
  std::int64_t characters = 0, audio_ms = 0;
};

struct FakeRequest {
  std::string endpoint;  // chat | images | speech | file
  std::string authorization;
  nlohmann::json body;  // null for non-JSON
};

class FakeOpenAI {
 public:
  FakeOpenAI();
  ~FakeOpenAI();

  std::string base_url() const;  // http://127.0.0.1:<port>/v1
  // Replies for the next requests to `endpoint` (chat | images | speech), in order; after
  // they are used up every request gets kOk.
  void Script(const std::string& endpoint, std::vector<FakeStep> steps);
  // Usage reported by each chat reply.
  void SetChatUsage(std::int64_t prompt, std::int64_t cached, std::int64_t completion,
                    std::int64_t reasoning);

  std::vector<FakeRequest> requests() const;
  std::vector<FakeBill> bills() const;
  int count(const std::string& endpoint) const;

  // A valid 4x2 PNG, and the WAV the speech endpoint returns (500 ms).
  static std::string Png();
  static std::string Wav();
  static constexpr std::int64_t kWavMs = 500;

 private:
  struct Impl;
  std::shared_ptr<Impl> impl_;
  std::unique_ptr<http::Server> server_;
};

}  // namespace storyloom::testing
