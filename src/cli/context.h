// Shared set-up for subcommands: configuration from flags/environment/file, logging, and
// opening (and migrating) the store. Used from main's thread only.
#pragma once

#include <CLI/CLI.hpp>
#include <memory>
#include <string>

#include "core/config.h"
#include "storyloom/store.h"

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

// Opens the database. With `migrate`, applies pending migrations (backing the SQLite file
// up first); otherwise refuses a database whose migrations are not current.
Result<std::unique_ptr<Store>> OpenStore(const core::Config& config, bool migrate);

// Prints "storyloom: <message>" to stderr and returns `code`.
int Die(const std::string& message, int code = 1);

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

}  // namespace storyloom::cli
