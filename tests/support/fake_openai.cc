#include "support/fake_openai.h"

#include <array>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <map>
#include <mutex>
#include <stdexcept>
#include <thread>

#include "http/server.h"

namespace storyloom::testing {

using nlohmann::json;

namespace {

std::uint32_t Crc(const std::string& s) {
  std::uint32_t c = 0xFFFFFFFFu;
  for (unsigned char ch : s) {
    c ^= ch;
    for (int k = 0; k < 8; ++k) c = (c & 1) ? 0xEDB88320u ^ (c >> 1) : c >> 1;
  }
  return c ^ 0xFFFFFFFFu;
}

void Be32(std::string& out, std::uint32_t v) {
  for (int s = 24; s >= 0; s -= 8) out.push_back(static_cast<char>((v >> s) & 0xFF));
}

void Chunk(std::string& png, const std::string& type, const std::string& data) {
  Be32(png, static_cast<std::uint32_t>(data.size()));
  png += type + data;
  Be32(png, Crc(type + data));
}

std::string Base64(const std::string& in) {
  static const char* t = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  std::size_t i = 0;
  for (; i + 2 < in.size(); i += 3) {
    const std::uint32_t v =
        (std::uint8_t(in[i]) << 16) | (std::uint8_t(in[i + 1]) << 8) | std::uint8_t(in[i + 2]);
    for (int s = 18; s >= 0; s -= 6) out.push_back(t[(v >> s) & 63]);
  }
  if (i + 1 == in.size()) {
    const std::uint32_t v = std::uint8_t(in[i]) << 16;
    out += {t[(v >> 18) & 63], t[(v >> 12) & 63], '=', '='};
  } else if (i + 2 == in.size()) {
    const std::uint32_t v = (std::uint8_t(in[i]) << 16) | (std::uint8_t(in[i + 1]) << 8);
    out += {t[(v >> 18) & 63], t[(v >> 12) & 63], t[(v >> 6) & 63], '='};
  }
  return out;
}

std::int64_t CodePoints(const std::string& s) {
  std::int64_t n = 0;
  for (unsigned char c : s) n += (c & 0xC0) != 0x80;
  return n;
}

}  // namespace

struct FakeOpenAI::Impl {
  mutable std::mutex mu;
  std::map<std::string, std::deque<FakeStep>> scripts;            // guarded by mu
  std::vector<FakeRequest> requests;                              // guarded by mu
  std::vector<FakeBill> bills;                                    // guarded by mu
  std::array<std::int64_t, 4> chat_usage = {1200, 400, 300, 50};  // guarded by mu
  int port = 0;
  std::condition_variable stop_cv;
  bool stopping = false;  // guarded by mu

  // A scripted slow reply: sleeps `ms`, or less when the fake is being destroyed, so a long
  // sleep (longer than any client timeout on a loaded machine) never delays a test's end.
  void Sleep(int ms) {
    std::unique_lock lock(mu);
    stop_cv.wait_for(lock, std::chrono::milliseconds(ms), [this] { return stopping; });
  }

  FakeStep Next(const std::string& endpoint, const http::Request& req) {
    std::lock_guard lock(mu);
    FakeRequest r;
    r.endpoint = endpoint;
    r.authorization = std::string(req.headers.Get("Authorization").value_or(""));
    r.body = json::parse(req.body, nullptr, false);
    if (r.body.is_discarded()) r.body = nullptr;
    requests.push_back(std::move(r));
    auto& q = scripts[endpoint];
    if (q.empty()) return {};
    FakeStep s = q.front();
    q.pop_front();
    return s;
  }

  void Bill(FakeBill b) {
    std::lock_guard lock(mu);
    bills.push_back(std::move(b));
  }

  http::Response Error(const FakeStep& s) {
    auto r = http::Response::Json(
        s.status,
        json{{"error",
              {{"message", s.message.empty() ? "scripted failure" : s.message}, {"type", "test"}}}}
            .dump());
    if (!s.retry_after.empty()) r.headers.Set("Retry-After", s.retry_after);
    return r;
  }

  http::Response Chat(http::Request& req) {
    FakeStep s = Next("chat", req);
    if (s.kind == FakeStep::Kind::kStatus) return Error(s);
    if (s.kind == FakeStep::Kind::kSleep) Sleep(s.sleep_ms);
    json body = json::parse(req.body, nullptr, false);
    const json schema = body["response_format"]["json_schema"];
    std::array<std::int64_t, 4> u;
    {
      std::lock_guard lock(mu);
      u = chat_usage;
    }
    json content;
    if (schema["name"] == "story") {
      content = {
          {"title", "The Lantern Keeper"},
          {"story", "A keeper tends a lantern on a cliff.\n\nOne night a ship answers its light."}};
    } else {
      const int n = schema["schema"]["properties"]["scenes"]["minItems"].get<int>();
      content["scenes"] = json::array();
      for (int i = 1; i <= n; ++i) {
        content["scenes"].push_back(
            {{"title", "Scene " + std::to_string(i)},
             {"description", "Something happens, part " + std::to_string(i)},
             {"image_prompt", "A cliff at night with a lantern, view " + std::to_string(i)},
             {"narration", "The keeper waits, moment " + std::to_string(i) + "."}});
      }
    }
    std::string text = content.dump();
    if (s.kind == FakeStep::Kind::kMalformedJson) text = "{\"title\": \"cut off";
    if (s.kind == FakeStep::Kind::kSchemaMismatch) text = R"({"headline": 42})";
    json reply = {{"id", "chatcmpl-test"},
                  {"object", "chat.completion"},
                  {"model", body["model"]},
                  {"choices",
                   {{{"index", 0},
                     {"message", {{"role", "assistant"}, {"content", text}}},
                     {"finish_reason", "stop"}}}},
                  {"usage",
                   {{"prompt_tokens", u[0]},
                    {"completion_tokens", u[2]},
                    {"total_tokens", u[0] + u[2]},
                    {"prompt_tokens_details", {{"cached_tokens", u[1]}}},
                    {"completion_tokens_details", {{"reasoning_tokens", u[3]}}}}}};
    if (s.kind != FakeStep::Kind::kSleep) {
      Bill({"chat", body["model"].get<std::string>(), u[0], u[1], u[2], 0, "", "", 0, 0});
    }
    return http::Response::Json(200, reply.dump());
  }

  http::Response Images(http::Request& req) {
    FakeStep s = Next("images", req);
    if (s.kind == FakeStep::Kind::kStatus) return Error(s);
    if (s.kind == FakeStep::Kind::kSleep) Sleep(s.sleep_ms);
    json body = json::parse(req.body, nullptr, false);
    std::string png = Png();
    if (s.kind == FakeStep::Kind::kTruncatedImage) png = png.substr(0, png.size() / 2);
    json item;
    if (s.kind == FakeStep::Kind::kImageUrl) {
      item["url"] = "http://127.0.0.1:" + std::to_string(port) + "/files/image.png";
    } else {
      item["b64_json"] = Base64(png);
    }
    if (s.kind != FakeStep::Kind::kSleep) {
      Bill({"images", body["model"].get<std::string>(), 0, 0, 0, 1, body.value("size", ""),
            body.value("quality", ""), 0, 0});
    }
    return http::Response::Json(200, json{{"created", 1}, {"data", {item}}}.dump());
  }

  http::Response Speech(http::Request& req) {
    FakeStep s = Next("speech", req);
    if (s.kind == FakeStep::Kind::kStatus) return Error(s);
    if (s.kind == FakeStep::Kind::kSleep) Sleep(s.sleep_ms);
    json body = json::parse(req.body, nullptr, false);
    if (s.kind != FakeStep::Kind::kSleep) {
      Bill({"speech", body["model"].get<std::string>(), 0, 0, 0, 0, "", "",
            CodePoints(body["input"].get<std::string>()), kWavMs});
    }
    return http::Response::Text(200, Wav(), "audio/wav");
  }
};

FakeOpenAI::FakeOpenAI() : impl_(std::make_shared<Impl>()) {
  auto router = std::make_shared<http::Router>();
  auto impl = impl_;
  router->Add("POST", "/v1/chat/completions", [impl](http::Request& r) { return impl->Chat(r); });
  router->Add("POST", "/v1/images/generations",
              [impl](http::Request& r) { return impl->Images(r); });
  router->Add("POST", "/v1/audio/speech", [impl](http::Request& r) { return impl->Speech(r); });
  router->Add("GET", "/files/image.png", [impl](http::Request& r) {
    impl->Next("file", r);
    return http::Response::Text(200, Png(), "image/png");
  });
  http::ServerOptions o;
  o.host = "127.0.0.1";
  o.port = 0;
  o.worker_threads = 8;
  server_ = std::make_unique<http::Server>(o, router);
  if (!server_->Start()) throw std::runtime_error("fake openai: cannot start");
  impl_->port = server_->port();
}

FakeOpenAI::~FakeOpenAI() {
  {
    std::lock_guard lock(impl_->mu);
    impl_->stopping = true;
  }
  impl_->stop_cv.notify_all();
  server_->Stop(3000);
}

std::string FakeOpenAI::base_url() const {
  return "http://127.0.0.1:" + std::to_string(impl_->port) + "/v1";
}

void FakeOpenAI::Script(const std::string& endpoint, std::vector<FakeStep> steps) {
  std::lock_guard lock(impl_->mu);
  auto& q = impl_->scripts[endpoint];
  for (auto& s : steps) q.push_back(std::move(s));
}

void FakeOpenAI::SetChatUsage(std::int64_t prompt, std::int64_t cached, std::int64_t completion,
                              std::int64_t reasoning) {
  std::lock_guard lock(impl_->mu);
  impl_->chat_usage = {prompt, cached, completion, reasoning};
}

std::vector<FakeRequest> FakeOpenAI::requests() const {
  std::lock_guard lock(impl_->mu);
  return impl_->requests;
}

std::vector<FakeBill> FakeOpenAI::bills() const {
  std::lock_guard lock(impl_->mu);
  return impl_->bills;
}

int FakeOpenAI::count(const std::string& endpoint) const {
  std::lock_guard lock(impl_->mu);
  int n = 0;
  for (const auto& r : impl_->requests) n += r.endpoint == endpoint;
  return n;
}

std::string FakeOpenAI::Png() {
  // 4x2 RGB, one stored (uncompressed) deflate block.
  const int w = 4, h = 2;
  std::string raw;
  for (int y = 0; y < h; ++y) {
    raw.push_back(0);  // filter: none
    for (int x = 0; x < w; ++x)
      raw += {static_cast<char>(40 * x), static_cast<char>(100 * y), '\x80'};
  }
  std::string z = {'\x78', '\x01', '\x01'};
  const std::uint16_t len = static_cast<std::uint16_t>(raw.size());
  z += {static_cast<char>(len & 0xFF), static_cast<char>(len >> 8), static_cast<char>(~len & 0xFF),
        static_cast<char>((~len >> 8) & 0xFF)};
  z += raw;
  std::uint32_t a = 1, b = 0;
  for (unsigned char c : raw) {
    a = (a + c) % 65521;
    b = (b + a) % 65521;
  }
  Be32(z, (b << 16) | a);
  std::string png("\x89PNG\r\n\x1a\n", 8);
  std::string ihdr;
  Be32(ihdr, w);
  Be32(ihdr, h);
  ihdr += {'\x08', '\x02', '\x00', '\x00', '\x00'};
  Chunk(png, "IHDR", ihdr);
  Chunk(png, "IDAT", z);
  Chunk(png, "IEND", "");
  return png;
}

std::string FakeOpenAI::Wav() {
  const std::uint32_t rate = 24000, bytes = rate * 2 * kWavMs / 1000;
  std::string w = "RIFF";
  auto le32 = [&](std::uint32_t v) {
    for (int s = 0; s < 32; s += 8) w.push_back(static_cast<char>((v >> s) & 0xFF));
  };
  auto le16 = [&](std::uint16_t v) {
    w.push_back(static_cast<char>(v & 0xFF));
    w.push_back(static_cast<char>(v >> 8));
  };
  le32(36 + bytes);
  w += "WAVEfmt ";
  le32(16);
  le16(1);
  le16(1);
  le32(rate);
  le32(rate * 2);
  le16(2);
  le16(16);
  w += "data";
  le32(bytes);
  w += std::string(bytes, '\0');
  return w;
}

}  // namespace storyloom::testing
