#include "core/config.h"

#include <fmt/format.h>
#include <toml++/toml.h>

#include <algorithm>
#include <charconv>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iterator>
#include <vector>

#include "core/bounded_json.h"
#include "core/byte_size.h"

namespace storyloom::core {
namespace {

Result<long long> ParseInt(const std::string& key, const std::string& v, long long lo,
                           long long hi) {
  long long n = 0;
  auto [p, ec] = std::from_chars(v.data(), v.data() + v.size(), n);
  if (ec != std::errc() || p != v.data() + v.size() || n < lo || n > hi) {
    return Fail(Error::InvalidArgument(
        fmt::format("{} must be a whole number from {} to {}, not '{}'", key, lo, hi, v), key));
  }
  return n;
}

Result<bool> ParseBool(const std::string& key, const std::string& v) {
  if (v == "1" || v == "true" || v == "yes" || v == "on") return true;
  if (v == "0" || v == "false" || v == "no" || v == "off") return false;
  return Fail(
      Error::InvalidArgument(fmt::format("{} must be true or false, not '{}'", key, v), key));
}

Result<double> ParseUsd(const std::string& key, const std::string& v) {
  char* end = nullptr;
  const double d = std::strtod(v.c_str(), &end);
  if (v.empty() || end != v.c_str() + v.size() || !(d >= 0)) {
    return Fail(
        Error::InvalidArgument(fmt::format("{} must be an amount in USD, not '{}'", key, v), key));
  }
  return d;
}

// Environment variable for a toml key: "openai.api_key" -> STORYLOOM_OPENAI_API_KEY.
std::string EnvName(const std::string& key) {
  std::string out = "STORYLOOM_";
  for (char c : key) out.push_back(c == '.' ? '_' : static_cast<char>(std::toupper(c)));
  return out;
}

// A setting: its key (the environment variable is derived from it) and how text becomes
// the Config member, validated. The one place a key is written.
using Setter = std::function<Result<void>(Config&, const std::string& key, const std::string&)>;
struct Setting {
  const char* key;
  Setter set;
};

template <typename T>
Setter Int(T Config::*member, long long lo, long long hi) {
  return [=](Config& c, const std::string& key, const std::string& v) -> Result<void> {
    SL_ASSIGN_OR_RETURN(long long n, ParseInt(key, v, lo, hi));
    c.*member = static_cast<T>(n);
    return {};
  };
}

Setter Text(std::string Config::*member) {
  return [=](Config& c, const std::string&, const std::string& v) -> Result<void> {
    c.*member = v;
    return {};
  };
}

Setter Bool(bool Config::*member) {
  return [=](Config& c, const std::string& key, const std::string& v) -> Result<void> {
    SL_ASSIGN_OR_RETURN(c.*member, ParseBool(key, v));
    return {};
  };
}

// One of `allowed`; the message lists them ("a, b or c").
Setter OneOf(std::string Config::*member, const std::vector<std::string>& allowed) {
  return [=](Config& c, const std::string& key, const std::string& v) -> Result<void> {
    if (std::find(allowed.begin(), allowed.end(), v) != allowed.end()) {
      c.*member = v;
      return {};
    }
    std::string list;
    for (std::size_t i = 0; i < allowed.size(); ++i) {
      list += (i == 0 ? "" : i + 1 == allowed.size() ? " or " : ", ") + allowed[i];
    }
    return Fail(Error::InvalidArgument(fmt::format("{} must be {}", key, list), key));
  };
}

// An amount in USD; "" = none.
Setter Usd(std::optional<double> Config::*member) {
  return [=](Config& c, const std::string& key, const std::string& v) -> Result<void> {
    if (v.empty()) {
      (c.*member).reset();
      return {};
    }
    SL_ASSIGN_OR_RETURN(c.*member, ParseUsd(key, v));
    return {};
  };
}

// A byte count ("500M", "2G", "123456"); "" or "none" = none.
Setter Bytes(std::optional<std::int64_t> Config::*member) {
  return [=](Config& c, const std::string& key, const std::string& v) -> Result<void> {
    if (v.empty() || v == "none") {
      (c.*member).reset();
      return {};
    }
    SL_ASSIGN_OR_RETURN(c.*member, ParseByteSize(v, key));
    return {};
  };
}

// The model of one phase; "" = the default model.
Setter PhaseModel(const std::string& phase) {
  return [=](Config& c, const std::string&, const std::string& v) -> Result<void> {
    if (v.empty()) {
      c.phase_models.erase(phase);
    } else {
      c.phase_models[phase] = v;
    }
    return {};
  };
}

Result<void> SetFilesOrigin(Config& c, const std::string& key, const std::string& v) {
  std::string o = v;
  while (!o.empty() && o.back() == '/') o.pop_back();
  const auto scheme = o.find("://");
  if (!o.empty() && (!(o.starts_with("http://") || o.starts_with("https://")) ||
                     o.find('/', scheme + 3) != std::string::npos || o.size() == scheme + 3)) {
    return Fail(Error::InvalidArgument(
        "files_origin must be an origin like https://files.example.net (no path)", key));
  }
  c.files_origin = o;
  return {};
}

const std::vector<Setting>& Settings() {
  using C = Config;
  static const std::vector<Setting> settings = {
      // Storage
      {"data_dir", Text(&C::data_dir)},
      {"database_url", Text(&C::database_url)},
      {"sqlite_synchronous", OneOf(&C::sqlite_synchronous, {"FULL", "NORMAL", "EXTRA", "OFF"})},
      {"db_readers", Int(&C::db_readers, 1, 64)},
      {"db_max_queued_writes", Int(&C::db_max_queued_writes, 1, 1000000)},
      {"min_free_disk_bytes", Int(&C::min_free_disk_bytes, 0, 1ll << 50)},
      {"storage.default_quota", Bytes(&C::storage_default_quota)},
      // Server
      {"host", Text(&C::host)},
      {"port", Int(&C::port, 0, 65535)},
      {"io_threads", Int(&C::io_threads, 1, 64)},
      {"http_workers", Int(&C::http_workers, 1, 256)},
      {"workers", Int(&C::workers, 0, 256)},
      {"lease_ms", Int(&C::lease_ms, 1000, 3600000)},
      {"sse_poll_ms", Int(&C::sse_poll_ms, 100, 3600000)},
      {"queue_poll_ms", Int(&C::queue_poll_ms, 100, 3600000)},
      {"max_body_bytes", Int(&C::max_body_bytes, 1024, 1ll << 30)},
      {"max_upload_bytes", Int(&C::max_upload_bytes, 1024, 1ll << 40)},
      {"read_timeout_ms", Int(&C::read_timeout_ms, 100, 3600000)},
      {"max_connections", Int(&C::max_connections, 0, 1 << 24)},
      {"max_connections_per_ip", Int(&C::max_connections_per_ip, 1, 1 << 24)},
      {"request_timeout_ms", Int(&C::request_timeout_ms, 100, 86400000)},
      {"write_timeout_ms", Int(&C::write_timeout_ms, 100, 3600000)},
      {"max_uploads_per_user", Int(&C::max_uploads_per_user, 1, 100000)},
      {"max_uploads_total", Int(&C::max_uploads_total, 1, 100000)},
      {"max_upload_tmp_bytes", Int(&C::max_upload_tmp_bytes, 1024, 1ll << 50)},
      {"max_sse_per_user", Int(&C::max_sse_per_user, 1, 1 << 20)},
      {"max_sse_total", Int(&C::max_sse_total, 1, 1 << 24)},
      {"public_url", Text(&C::public_url)},
      {"files_origin", SetFilesOrigin},
      {"files_url_secret", Text(&C::files_url_secret)},
      // Logs and metrics
      {"log_level", OneOf(&C::log_level, {"trace", "debug", "info", "warn", "error", "off"})},
      {"log_json", Bool(&C::log_json)},
      {"access_log", Bool(&C::access_log)},
      {"metrics_token", Text(&C::metrics_token)},
      {"metrics_public", Bool(&C::metrics_public)},
      // Generation
      {"provider", OneOf(&C::provider, {"offline", "openai"})},
      {"espeak_binary", Text(&C::espeak_binary)},
      {"openai.base_url", Text(&C::openai_base_url)},
      {"openai.api_key", Text(&C::openai_api_key)},
      {"openai.chat_model", Text(&C::openai_chat_model)},
      {"openai.image_model", Text(&C::openai_image_model)},
      {"openai.speech_model", Text(&C::openai_speech_model)},
      {"openai.image_size", Text(&C::openai_image_size)},
      {"openai.image_quality", Text(&C::openai_image_quality)},
      {"openai.speech_voice", Text(&C::openai_speech_voice)},
      {"openai.speech_format",
       OneOf(&C::openai_speech_format, {"mp3", "wav", "opus", "aac", "flac", "pcm"})},
      {"openai.connect_timeout_ms", Int(&C::openai_connect_timeout_ms, 100, 600000)},
      {"openai.timeout_ms", Int(&C::openai_timeout_ms, 100, 3600000)},
      {"openai.max_retries", Int(&C::openai_max_retries, 0, 20)},
      {"openai.backoff_ms", Int(&C::openai_backoff_ms, 1, 600000)},
      {"openai.max_backoff_ms", Int(&C::openai_max_backoff_ms, 1, 3600000)},
      {"openai.max_output_tokens", Int(&C::openai_max_output_tokens, 16, 1000000)},
      {"openai.phase_models.story", PhaseModel("story")},
      {"openai.phase_models.scenes", PhaseModel("scenes")},
      {"openai.phase_models.images", PhaseModel("images")},
      {"openai.phase_models.narration", PhaseModel("narration")},
      {"video.default", Bool(&C::video_default)},
      // Budgets and users
      {"budget.monthly_usd", Usd(&C::budget_monthly_usd)},
      {"budget.soft_usd", Usd(&C::budget_soft_usd)},
      {"budget.reservation_ttl_s", Int(&C::budget_reservation_ttl_s, 1, 86400)},
      {"max_running_per_user", Int(&C::max_running_per_user, 1, 10000)},
      {"login.max_failures", Int(&C::login_max_failures, 1, 1000000)},
      {"login.max_failures_per_address", Int(&C::login_max_failures_per_address, 1, 1000000)},
      {"login.lockout_seconds", Int(&C::login_lockout_seconds, 1, 86400)},
      // Operations
      {"retention.completed_days", Int(&C::retention_completed_days, 0, 100000)},
      {"retention.failed_days", Int(&C::retention_failed_days, 0, 100000)},
      {"retention.usage_days", Int(&C::retention_usage_days, 0, 100000)},
      {"backup.interval_hours", Int(&C::backup_interval_hours, 0, 100000)},
      {"backup.keep_daily", Int(&C::backup_keep_daily, 0, 10000)},
      {"backup.keep_weekly", Int(&C::backup_keep_weekly, 0, 10000)},
      {"cleanup.interval_hours", Int(&C::cleanup_interval_hours, 0, 100000)},
  };
  return settings;
}

}  // namespace

std::string Config::DatabaseUrl() const {
  if (!database_url.empty()) return database_url;
  const auto p = std::filesystem::path(data_dir) / "storyloom.db";
  return p.is_absolute() ? "sqlite://" + p.string() : "sqlite:" + p.string();
}
std::string Config::OutputsDir() const {
  return (std::filesystem::path(data_dir) / "save_outputs").string();
}
std::string Config::BackupsDir() const {
  return (std::filesystem::path(data_dir) / "backups").string();
}
std::string Config::TmpDir() const { return (std::filesystem::path(data_dir) / "tmp").string(); }
std::string Config::PublicUrl() const {
  if (!public_url.empty()) return public_url;
  return fmt::format("http://{}:{}", host, port);
}

std::vector<std::string> ConfigKeys() {
  std::vector<std::string> out;
  for (const Setting& s : Settings()) out.emplace_back(s.key);
  return out;
}

Result<void> SetConfigValue(Config& c, const std::string& key, const std::string& v) {
  for (const Setting& s : Settings()) {
    if (key == s.key) return s.set(c, key, v);
  }
  if (key.starts_with("openai.phase_models.")) {
    return Fail(Error::InvalidArgument(
        "openai.phase_models takes story, scenes, images and narration", key));
  }
  return Fail(Error::InvalidArgument(fmt::format("unknown setting '{}'", key), key));
}

Result<Config> LoadConfig(const std::string& path) {
  Config c;
  std::string file = path;
  if (file.empty()) {
    if (const char* env = std::getenv("STORYLOOM_CONFIG")) file = env;
  }
  if (file.empty() && std::filesystem::exists("storyloom.toml")) file = "storyloom.toml";
  if (!file.empty()) {
    toml::table tbl;
    try {
      // Nesting is bounded before toml++ (and the walk below) recurse over it.
      std::ifstream in(file, std::ios::binary);
      if (!in) return Fail(Error::InvalidArgument(fmt::format("{}: cannot read the file", file)));
      const std::string text((std::istreambuf_iterator<char>(in)),
                             std::istreambuf_iterator<char>());
      if (auto nesting = CheckTomlNesting(text); !nesting) {
        return Fail(Error::InvalidArgument(fmt::format("{}: {}", file, nesting.error().message)));
      }
      tbl = toml::parse(text, file);
    } catch (const toml::parse_error& e) {
      return Fail(Error::InvalidArgument(
          fmt::format("{}:{}: {}", file, e.source().begin.line, e.description())));
    }
    Result<void> status;
    // Flatten nested tables into dotted keys.
    std::function<void(const toml::table&, const std::string&)> walk =
        [&](const toml::table& t, const std::string& prefix) {
          for (const auto& [k, node] : t) {
            if (!status) return;
            const std::string key = prefix + std::string(k.str());
            if (const auto* sub = node.as_table()) {
              walk(*sub, key + ".");
              continue;
            }
            std::string text;
            if (const auto* s = node.as_string()) {
              text = s->get();
            } else if (const auto* i = node.as_integer()) {
              text = std::to_string(i->get());
            } else if (const auto* d = node.as_floating_point()) {
              text = fmt::format("{}", d->get());
            } else if (const auto* b = node.as_boolean()) {
              text = b->get() ? "true" : "false";
            } else {
              status = Fail(Error::InvalidArgument(
                  fmt::format("{}: {} has an unsupported type", file, key), key));
              return;
            }
            auto r = SetConfigValue(c, key, text);
            if (!r) status = Fail(Error::InvalidArgument(file + ": " + r.error().message, key));
          }
        };
    walk(tbl, "");
    SL_RETURN_IF_ERROR(status);
    c.config_file = file;
  }
  for (const Setting& s : Settings()) {
    const std::string key = s.key;
    if (const char* v = std::getenv(EnvName(key).c_str())) {
      auto r = s.set(c, key, v);
      if (!r) return Fail(Error::InvalidArgument(EnvName(key) + ": " + r.error().message, key));
    }
  }
  // Conventional names that other tools use.
  if (c.openai_api_key.empty()) {
    if (const char* v = std::getenv("OPENAI_API_KEY")) c.openai_api_key = v;
  }
  return c;
}

}  // namespace storyloom::core
