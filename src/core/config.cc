#include "core/config.h"

#include <fmt/format.h>
#include <toml++/toml.h>

#include <charconv>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iterator>

#include "core/bounded_json.h"

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

constexpr const char* kKeys[] = {"data_dir",
                                 "database_url",
                                 "sqlite_synchronous",
                                 "min_free_disk_bytes",
                                 "db_readers",
                                 "host",
                                 "port",
                                 "io_threads",
                                 "http_workers",
                                 "workers",
                                 "lease_ms",
                                 "sse_poll_ms",
                                 "queue_poll_ms",
                                 "max_body_bytes",
                                 "max_upload_bytes",
                                 "read_timeout_ms",
                                 "max_connections",
                                 "max_connections_per_ip",
                                 "request_timeout_ms",
                                 "write_timeout_ms",
                                 "max_uploads_per_user",
                                 "max_uploads_total",
                                 "max_upload_tmp_bytes",
                                 "max_sse_per_user",
                                 "max_sse_total",
                                 "public_url",
                                 "files_origin",
                                 "files_url_secret",
                                 "log_level",
                                 "log_json",
                                 "access_log",
                                 "metrics_token",
                                 "metrics_public",
                                 "provider",
                                 "espeak_binary",
                                 "openai.base_url",
                                 "openai.api_key",
                                 "openai.chat_model",
                                 "openai.image_model",
                                 "openai.speech_model",
                                 "budget.monthly_usd",
                                 "budget.soft_usd",
                                 "openai.image_size",
                                 "openai.image_quality",
                                 "openai.speech_voice",
                                 "openai.speech_format",
                                 "openai.connect_timeout_ms",
                                 "openai.timeout_ms",
                                 "openai.max_retries",
                                 "openai.backoff_ms",
                                 "openai.max_backoff_ms",
                                 "openai.max_output_tokens",
                                 "openai.phase_models.story",
                                 "openai.phase_models.scenes",
                                 "openai.phase_models.images",
                                 "openai.phase_models.narration",
                                 "budget.reservation_ttl_s",
                                 "max_running_per_user",
                                 "retention.completed_days",
                                 "retention.failed_days",
                                 "retention.usage_days",
                                 "backup.interval_hours",
                                 "backup.keep_daily",
                                 "backup.keep_weekly",
                                 "cleanup.interval_hours",
                                 "login.max_failures",
                                 "login.max_failures_per_address",
                                 "login.lockout_seconds"};

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

Result<void> SetConfigValue(Config& c, const std::string& key, const std::string& v) {
  auto set_int = [&](auto& field, long long lo, long long hi) -> Result<void> {
    SL_ASSIGN_OR_RETURN(long long n, ParseInt(key, v, lo, hi));
    field = static_cast<std::remove_reference_t<decltype(field)>>(n);
    return {};
  };
  if (key == "data_dir") {
    c.data_dir = v;
    return {};
  }
  if (key == "database_url") {
    c.database_url = v;
    return {};
  }
  if (key == "sqlite_synchronous") {
    if (v != "FULL" && v != "NORMAL" && v != "OFF" && v != "EXTRA") {
      return Fail(
          Error::InvalidArgument("sqlite_synchronous must be FULL, NORMAL, EXTRA or OFF", key));
    }
    c.sqlite_synchronous = v;
    return {};
  }
  if (key == "db_readers") return set_int(c.db_readers, 1, 64);
  if (key == "host") {
    c.host = v;
    return {};
  }
  if (key == "port") return set_int(c.port, 0, 65535);
  if (key == "io_threads") return set_int(c.io_threads, 1, 64);
  if (key == "http_workers") return set_int(c.http_workers, 1, 256);
  if (key == "workers") return set_int(c.workers, 0, 256);
  if (key == "lease_ms") return set_int(c.lease_ms, 1000, 3600000);
  if (key == "sse_poll_ms") return set_int(c.sse_poll_ms, 100, 3600000);
  if (key == "queue_poll_ms") return set_int(c.queue_poll_ms, 100, 3600000);
  if (key == "max_body_bytes") return set_int(c.max_body_bytes, 1024, 1ll << 30);
  if (key == "max_upload_bytes") return set_int(c.max_upload_bytes, 1024, 1ll << 40);
  if (key == "read_timeout_ms") return set_int(c.read_timeout_ms, 100, 3600000);
  if (key == "max_connections") return set_int(c.max_connections, 0, 1 << 24);
  if (key == "max_connections_per_ip") return set_int(c.max_connections_per_ip, 1, 1 << 24);
  if (key == "request_timeout_ms") return set_int(c.request_timeout_ms, 100, 86400000);
  if (key == "write_timeout_ms") return set_int(c.write_timeout_ms, 100, 3600000);
  if (key == "max_uploads_per_user") return set_int(c.max_uploads_per_user, 1, 100000);
  if (key == "max_uploads_total") return set_int(c.max_uploads_total, 1, 100000);
  if (key == "min_free_disk_bytes") return set_int(c.min_free_disk_bytes, 0, 1ll << 50);
  if (key == "max_upload_tmp_bytes") return set_int(c.max_upload_tmp_bytes, 1024, 1ll << 50);
  if (key == "max_sse_per_user") return set_int(c.max_sse_per_user, 1, 1 << 20);
  if (key == "max_sse_total") return set_int(c.max_sse_total, 1, 1 << 24);
  if (key == "public_url") {
    c.public_url = v;
    return {};
  }
  if (key == "files_origin") {
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
  if (key == "files_url_secret") {
    c.files_url_secret = v;
    return {};
  }
  if (key == "log_level") {
    if (v != "trace" && v != "debug" && v != "info" && v != "warn" && v != "error" && v != "off") {
      return Fail(
          Error::InvalidArgument("log_level must be trace, debug, info, warn, error or off", key));
    }
    c.log_level = v;
    return {};
  }
  if (key == "log_json") {
    SL_ASSIGN_OR_RETURN(c.log_json, ParseBool(key, v));
    return {};
  }
  if (key == "metrics_token") {
    c.metrics_token = v;
    return {};
  }
  if (key == "metrics_public") {
    SL_ASSIGN_OR_RETURN(c.metrics_public, ParseBool(key, v));
    return {};
  }
  if (key == "access_log") {
    SL_ASSIGN_OR_RETURN(c.access_log, ParseBool(key, v));
    return {};
  }
  if (key == "provider") {
    if (v != "offline" && v != "openai") {
      return Fail(Error::InvalidArgument("provider must be offline or openai", key));
    }
    c.provider = v;
    return {};
  }
  if (key == "espeak_binary") {
    c.espeak_binary = v;
    return {};
  }
  if (key == "openai.base_url") {
    c.openai_base_url = v;
    return {};
  }
  if (key == "openai.api_key") {
    c.openai_api_key = v;
    return {};
  }
  if (key == "openai.chat_model") {
    c.openai_chat_model = v;
    return {};
  }
  if (key == "openai.image_model") {
    c.openai_image_model = v;
    return {};
  }
  if (key == "openai.speech_model") {
    c.openai_speech_model = v;
    return {};
  }
  if (key == "openai.image_size") {
    c.openai_image_size = v;
    return {};
  }
  if (key == "openai.image_quality") {
    c.openai_image_quality = v;
    return {};
  }
  if (key == "openai.speech_voice") {
    c.openai_speech_voice = v;
    return {};
  }
  if (key == "openai.speech_format") {
    if (v != "mp3" && v != "wav" && v != "opus" && v != "aac" && v != "flac" && v != "pcm") {
      return Fail(Error::InvalidArgument(
          "openai.speech_format must be mp3, wav, opus, aac, flac or pcm", key));
    }
    c.openai_speech_format = v;
    return {};
  }
  if (key == "openai.connect_timeout_ms") return set_int(c.openai_connect_timeout_ms, 100, 600000);
  if (key == "openai.timeout_ms") return set_int(c.openai_timeout_ms, 100, 3600000);
  if (key == "openai.max_retries") return set_int(c.openai_max_retries, 0, 20);
  if (key == "openai.backoff_ms") return set_int(c.openai_backoff_ms, 1, 600000);
  if (key == "openai.max_backoff_ms") return set_int(c.openai_max_backoff_ms, 1, 3600000);
  if (key == "openai.max_output_tokens") return set_int(c.openai_max_output_tokens, 16, 1000000);
  if (key == "budget.reservation_ttl_s") return set_int(c.budget_reservation_ttl_s, 1, 86400);
  if (key.starts_with("openai.phase_models.")) {
    const std::string phase = key.substr(20);
    if (phase != "story" && phase != "scenes" && phase != "images" && phase != "narration") {
      return Fail(Error::InvalidArgument(
          "openai.phase_models takes story, scenes, images and narration", key));
    }
    if (v.empty()) {
      c.phase_models.erase(phase);
      return {};
    }
    c.phase_models[phase] = v;
    return {};
  }
  if (key == "budget.monthly_usd") {
    if (v.empty()) {
      c.budget_monthly_usd.reset();
      return {};
    }
    SL_ASSIGN_OR_RETURN(c.budget_monthly_usd, ParseUsd(key, v));
    return {};
  }
  if (key == "budget.soft_usd") {
    if (v.empty()) {
      c.budget_soft_usd.reset();
      return {};
    }
    SL_ASSIGN_OR_RETURN(c.budget_soft_usd, ParseUsd(key, v));
    return {};
  }
  if (key == "max_running_per_user") return set_int(c.max_running_per_user, 1, 10000);
  if (key == "login.max_failures") return set_int(c.login_max_failures, 1, 1000000);
  if (key == "login.max_failures_per_address") {
    return set_int(c.login_max_failures_per_address, 1, 1000000);
  }
  if (key == "login.lockout_seconds") return set_int(c.login_lockout_seconds, 1, 86400);
  if (key == "retention.completed_days") return set_int(c.retention_completed_days, 0, 100000);
  if (key == "retention.failed_days") return set_int(c.retention_failed_days, 0, 100000);
  if (key == "retention.usage_days") return set_int(c.retention_usage_days, 0, 100000);
  if (key == "backup.interval_hours") return set_int(c.backup_interval_hours, 0, 100000);
  if (key == "backup.keep_daily") return set_int(c.backup_keep_daily, 0, 10000);
  if (key == "backup.keep_weekly") return set_int(c.backup_keep_weekly, 0, 10000);
  if (key == "cleanup.interval_hours") return set_int(c.cleanup_interval_hours, 0, 100000);
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
  for (const char* key : kKeys) {
    if (const char* v = std::getenv(EnvName(key).c_str())) {
      auto r = SetConfigValue(c, key, v);
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
