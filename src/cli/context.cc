#include "cli/context.h"

#include <spdlog/pattern_formatter.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <iostream>
#include <nlohmann/json.hpp>

#include "cli/output.h"
#include "core/durable_dirs.h"
#include "db/database.h"
#include "db/migrations.h"

namespace storyloom::cli {

void AddGlobalFlags(CLI::App& app, GlobalFlags& flags) {
  app.add_option("--config", flags.config_file,
                 "storyloom.toml to read (default ./storyloom.toml)");
  app.add_option("--data-dir", flags.data_dir, "data directory (STORYLOOM_DATA_DIR)");
  app.add_option("--database", flags.database_url,
                 "database URL: sqlite:///abs/path.db, sqlite:rel.db or postgresql://user@host/db "
                 "(STORYLOOM_DATABASE_URL)");
  app.add_option("--log-level", flags.log_level, "trace, debug, info, warn, error or off")
      ->check(CLI::IsMember({"trace", "debug", "info", "warn", "error", "off"}));
}

int Die(const std::string& message, int code) {
  // What the command printed comes first, then why it failed, also when both go to one pipe.
  std::fflush(stdout);
  std::fprintf(stderr, "storyloom: %s\n", message.c_str());
  return code;
}

int WithStore(const GlobalFlags& flags, bool migrate,
              const std::function<int(const core::Config&, Store&)>& fn) {
  const core::Config config = LoadConfigAndLogging(flags);
  auto store = OpenStore(config, migrate);
  if (!store) return Die(store.error().message);
  return fn(config, **store);
}

int WithStore(const GlobalFlags& flags, bool migrate, const std::function<int(Store&)>& fn) {
  return WithStore(flags, migrate, [&](const core::Config&, Store& store) { return fn(store); });
}

int WithDatabase(const GlobalFlags& flags,
                 const std::function<int(const core::Config&, db::Database&)>& fn) {
  const core::Config config = LoadConfigAndLogging(flags);
  auto opened = db::Open(config.DatabaseUrl());
  if (!opened) return Die(opened.error().message);
  return fn(config, **opened);
}

core::Config LoadConfigAndLogging(const GlobalFlags& flags) {
  core::Config config = LoadConfigOrExit(flags);
  SetupLogging(config);
  return config;
}

core::Config LoadConfigOrExit(const GlobalFlags& flags) {
  // Everything storyloom creates (database, WAL, files, backups, temporary files) is private
  // to its user whatever umask it was started with; the data directory and the database get
  // explicit modes as well (OpenStore, db::OpenSqlite).
  ::umask(077);
  auto config = core::LoadConfig(flags.config_file);
  if (!config) std::exit(Die(config.error().message, 2));
  if (!flags.data_dir.empty()) config->data_dir = flags.data_dir;
  if (!flags.database_url.empty()) config->database_url = flags.database_url;
  if (!flags.log_level.empty()) {
    if (auto r = core::SetConfigValue(*config, "log_level", flags.log_level); !r) {
      std::exit(Die(r.error().message, 2));
    }
  }
  return *config;
}

namespace {

// %j: the message as a JSON value: a message that is already a JSON object (the access log)
// goes in as it is, anything else as a JSON string, so every line is valid JSON.
class JsonMessageFlag : public spdlog::custom_flag_formatter {
 public:
  void format(const spdlog::details::log_msg& msg, const std::tm&,
              spdlog::memory_buf_t& dest) override {
    const std::string_view text(msg.payload.data(), msg.payload.size());
    std::string out;
    if (text.starts_with('{') && nlohmann::json::accept(text)) {
      out = text;
    } else {
      out = nlohmann::json(std::string(text))
                .dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    }
    dest.append(out.data(), out.data() + out.size());
  }
  std::unique_ptr<custom_flag_formatter> clone() const override {
    return std::make_unique<JsonMessageFlag>();
  }
};

}  // namespace

void SetupLogging(const core::Config& config) {
  // Colour only for a person at a terminal: never with NO_COLOR set or stderr redirected.
  auto logger = spdlog::stderr_color_mt("storyloom", ColorAllowed(STDERR_FILENO)
                                                         ? spdlog::color_mode::automatic
                                                         : spdlog::color_mode::never);
  spdlog::set_default_logger(logger);
  spdlog::set_level(spdlog::level::from_str(config.log_level));
  if (config.log_json) {
    auto formatter = std::make_unique<spdlog::pattern_formatter>(spdlog::pattern_time_type::utc);
    formatter->add_flag<JsonMessageFlag>('j').set_pattern(
        R"({"time":"%Y-%m-%dT%H:%M:%S.%eZ","level":"%l","msg":%j})");
    spdlog::set_formatter(std::move(formatter));
  } else {
    spdlog::set_pattern("%Y-%m-%d %H:%M:%S.%e %^%l%$ %v");
  }
}

Result<std::unique_ptr<Store>> OpenStore(const core::Config& config, bool migrate) {
  SL_RETURN_IF_ERROR(core::MakeDirsDurable(config.data_dir));
  // 0700 also when it already existed with wider permissions (made under another umask).
  struct stat st {};
  if (::stat(config.data_dir.c_str(), &st) == 0 && (st.st_mode & 077) != 0 &&
      ::chmod(config.data_dir.c_str(), 0700) != 0) {
    spdlog::warn("cannot make the data directory {} private (0700)", config.data_dir);
  }
  db::Options o;
  o.synchronous = config.sqlite_synchronous;
  o.readers = config.db_readers;
  o.max_queued_writes = config.db_max_queued_writes;
  SL_ASSIGN_OR_RETURN(auto db, db::Open(config.DatabaseUrl(), o));
  if (migrate) {
    db::MigrateOptions mo;
    mo.backup_dir = config.BackupsDir();
    mo.on_apply = [](const db::Migration& m) {
      spdlog::info("applying migration {:04}_{}", m.version, m.name);
    };
    SL_ASSIGN_OR_RETURN(auto report, db::Migrate(*db, mo));
    (void)report;
  } else {
    SL_ASSIGN_OR_RETURN(auto st, db::GetMigrationStatus(*db));
    if (!st.pending.empty()) {
      return Fail(Error::FailedPrecondition("the database needs migrations (" +
                                            std::to_string(st.pending.size()) +
                                            " pending); run `storyloom db migrate` first"));
    }
  }
  return std::make_unique<Store>(std::move(db));
}

Progress::Progress(std::string label, std::int64_t total)
    : label_(std::move(label)), total_(total), tty_(::isatty(STDERR_FILENO) == 1) {}

void Progress::Update(std::int64_t done) {
  if (!tty_ || total_ <= 0) return;
  const int percent = static_cast<int>(done * 100 / total_);
  if (percent == last_percent_) return;
  last_percent_ = percent;
  const int width = 30;
  const int filled = percent * width / 100;
  std::fprintf(stderr, "\r%s [%s%s] %3d%% (%lld/%lld)", label_.c_str(),
               std::string(filled, '#').c_str(), std::string(width - filled, '.').c_str(), percent,
               static_cast<long long>(done), static_cast<long long>(total_));
  std::fflush(stderr);
}

void Progress::Finish() {
  if (tty_ && last_percent_ >= 0) std::fprintf(stderr, "\n");
}

ProgressFn StageProgress::Fn() {
  return [this](std::string_view stage, std::int64_t done, std::int64_t total) {
    const std::string_view key = label_.empty() ? stage : std::string_view(label_);
    if (!bar_ || key != stage_) {
      if (bar_) bar_->Finish();
      stage_ = std::string(key);
      bar_ = std::make_unique<Progress>(stage_, total);
    }
    bar_->Update(done);
  };
}

void StageProgress::Finish() {
  if (bar_) bar_->Finish();
  bar_.reset();
}

}  // namespace storyloom::cli
