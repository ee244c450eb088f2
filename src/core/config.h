// Config: every setting of a Storyloom process, loaded from (highest first) flags,
// STORYLOOM_* environment variables, storyloom.toml, and defaults. A value type; any thread.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "storyloom/error.h"

namespace storyloom::core {

struct Config {
  // Storage
  std::string data_dir = "./storyloom-data";
  std::string database_url;  // "" = sqlite:<data_dir>/storyloom.db
  std::string sqlite_synchronous = "FULL";
  int db_readers = 4;
  // Creates waiting for their commit at once; past it they get 503 with Retry-After.
  int db_max_queued_writes = 4096;
  // /readyz answers 503 (and /metrics storyloom_disk_low 1) below this much free space
  // under data_dir.
  std::uint64_t min_free_disk_bytes = 64ull << 20;
  // The storage quota of a user who has none of their own (bytes of tracked files; none =
  // unlimited). `storage.default_quota`, in bytes or like "500M", "2G"; "" = none.
  std::optional<std::int64_t> storage_default_quota;

  // Server
  std::string host = "127.0.0.1";
  int port = 8080;
  int io_threads = 1;
  int http_workers = 8;      // handler threads
  int workers = 2;           // workflows run at once; 0 = API only
  int lease_ms = 30000;      // workflow lease; another instance takes over after it
  int queue_poll_ms = 1000;  // look for queued work (PostgreSQL also wakes on NOTIFY)
  int sse_poll_ms = 1000;    // SSE streams check for other instances' events (5x less on PG)
  std::uint64_t max_body_bytes = 1 << 20;
  std::uint64_t max_upload_bytes = 512ull << 20;
  int read_timeout_ms = 30000;
  // Hostile clients (docs/SECURITY.md). Connections: 0 = 3/4 of the open-file limit.
  int max_connections = 0;
  int max_connections_per_ip = 256;
  int request_timeout_ms = 600000;  // headers plus body, in total
  int write_timeout_ms = 60000;     // a response (or stream) making no progress is dropped
  int max_uploads_per_user = 4;     // concurrent uploads
  int max_uploads_total = 32;
  std::uint64_t max_upload_tmp_bytes = 2ull << 30;  // temporary space of uploads in flight
  int max_sse_per_user = 16;                        // open event streams
  int max_sse_total = 1024;
  std::string public_url;  // for printed links; "" = http://host:port
  // Serve /files only on this origin ("https://files.example.net"; "" = same origin), through
  // signed links made with files_url_secret (random per process when "": set it on every
  // instance when there are several).
  std::string files_origin;
  std::string files_url_secret;

  // Logs
  std::string log_level = "info";
  bool log_json = false;
  bool access_log = true;
  // GET /metrics: open to requests with `Authorization: Bearer <metrics_token>` (when set)
  // and to administrators; to anyone when metrics_public.
  std::string metrics_token;
  bool metrics_public = false;

  // Generation
  std::string provider = "offline";
  std::string espeak_binary = "espeak-ng";
  std::string openai_base_url = "https://api.openai.com/v1";
  std::string openai_api_key;
  std::string openai_chat_model = "gpt-4o-mini";
  std::string openai_image_model = "gpt-image-1";
  std::string openai_speech_model = "gpt-4o-mini-tts";
  std::map<std::string, std::string> phase_models;  // phase -> model override
  std::string openai_image_size;                    // "" = by model
  std::string openai_image_quality;                 // "" = by model
  std::string openai_speech_voice = "alloy";
  std::string openai_speech_format = "wav";
  int openai_connect_timeout_ms = 10000;
  int openai_timeout_ms = 120000;  // per attempt
  int openai_max_retries = 3;
  int openai_backoff_ms = 500;
  int openai_max_backoff_ms = 30000;
  int openai_max_output_tokens = 4096;
  // Whether a workflow whose options do not say `video` gets story.mp4 (src/media).
  bool video_default = true;

  // Budgets (USD; "" = none)
  std::optional<double> budget_monthly_usd;
  std::optional<double> budget_soft_usd;
  int budget_reservation_ttl_s = 900;  // a crashed call's reservation stops counting after it

  // Users
  int max_running_per_user = 4;
  // Sign-in back-off: after this many failed logins in 15 minutes for one username (or one
  // remote address), further attempts get 429 for lockout_seconds, doubling per failure.
  int login_max_failures = 5;
  int login_max_failures_per_address = 20;
  int login_lockout_seconds = 30;

  // Operations
  int retention_completed_days = 90;
  int retention_failed_days = 30;
  int retention_usage_days = 400;
  int backup_interval_hours = 24;  // 0 = no scheduled backups
  int backup_keep_daily = 7;
  int backup_keep_weekly = 4;
  int cleanup_interval_hours = 24;  // 0 = no scheduled cleanup

  // Where the config file was read from ("" = none).
  std::string config_file;

  // Derived paths.
  std::string DatabaseUrl() const;
  std::string OutputsDir() const;  // <data_dir>/save_outputs
  std::string BackupsDir() const;  // <data_dir>/backups
  std::string TmpDir() const;      // <data_dir>/tmp
  std::string PublicUrl() const;
};

// Loads storyloom.toml from `path` (or, when "", from $STORYLOOM_CONFIG, ./storyloom.toml if
// present), then applies the environment. Returns invalid_argument naming the bad key.
[[nodiscard]] Result<Config> LoadConfig(const std::string& path = "");

// Every setting's toml key, in the order of the table (the environment variable of a key is
// STORYLOOM_ plus the key in capitals, dots as underscores).
std::vector<std::string> ConfigKeys();

// Applies one setting by its toml key ("port", "openai.api_key"...) from text; used by the
// environment, the file and tests. Returns invalid_argument for unknown keys or bad values.
[[nodiscard]] Result<void> SetConfigValue(Config& c, const std::string& key,
                                          const std::string& value);

}  // namespace storyloom::core
