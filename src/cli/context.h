// Shared set-up for subcommands: configuration from flags/environment/file, logging, and
// opening (and migrating) the store. Used from main's thread only.
#pragma once

#include <CLI/CLI.hpp>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "core/config.h"
#include "storyloom/backend.h"
#include "storyloom/store.h"

namespace storyloom::db {
class Database;
}  // namespace storyloom::db

namespace storyloom::cli {

// Global flags every subcommand accepts; applied over the loaded configuration.
struct GlobalFlags {
  std::string config_file;
  std::string data_dir;
  std::string database_url;
  std::string log_level;
};

void AddGlobalFlags(CLI::App& app, GlobalFlags& flags);

// Loads the configuration and applies the flags. Exits with a one-line message on error.
core::Config LoadConfigOrExit(const GlobalFlags& flags);

void SetupLogging(const core::Config& config);

// LoadConfigOrExit, then SetupLogging: the start of every subcommand.
core::Config LoadConfigAndLogging(const GlobalFlags& flags);

// Opens the database. With `migrate`, applies pending migrations (backing the SQLite file
// up first); otherwise refuses a database whose migrations are not current.
Result<std::unique_ptr<Store>> OpenStore(const core::Config& config, bool migrate);

// Prints "storyloom: <message>" to stderr and returns `code`.
int Die(const std::string& message, int code = 1);

// Loads the configuration, sets up logging and opens the store (OpenStore with `migrate`),
// then returns fn's exit code; returns 1 after Die(<why>) if the store did not open.
int WithStore(const GlobalFlags& flags, bool migrate,
              const std::function<int(const core::Config&, Store&)>& fn);
// The same for subcommands that need only the store.
int WithStore(const GlobalFlags& flags, bool migrate, const std::function<int(Store&)>& fn);
// The same with the database itself (db::Open: no migration, no schema check), for `db`
// subcommands that look below the store.
int WithDatabase(const GlobalFlags& flags,
                 const std::function<int(const core::Config&, db::Database&)>& fn);

// A progress bar on stderr when it is a terminal; silent otherwise.
class Progress {
 public:
  Progress(std::string label, std::int64_t total);
  void Update(std::int64_t done);
  void Finish();

 private:
  std::string label_;
  std::int64_t total_;
  bool tty_;
  int last_percent_ = -1;
};

// Progress of a staged operation (backup, verify, restore, db copy, fsck): a new bar each
// time the stage changes, labelled with the stage, or one bar labelled `label` for every
// stage when `label` is not empty. The last bar is finished by Finish() or the destructor.
class StageProgress {
 public:
  explicit StageProgress(std::string label = "") : label_(std::move(label)) {}
  ~StageProgress() { Finish(); }
  StageProgress(const StageProgress&) = delete;
  StageProgress& operator=(const StageProgress&) = delete;

  // The callback to hand to the operation (a ProgressFn); valid while this object lives.
  ProgressFn Fn();
  void Finish();

 private:
  std::string label_;
  std::string stage_;
  std::unique_ptr<Progress> bar_;
};

}  // namespace storyloom::cli
