// ServerProcess: the real `storyloom serve` binary as a child process on an ephemeral
// loopback port (the server binds port 0; the port is read back from the kernel), with its
// own data directory (or a given database URL), plus an admin and API tokens made directly
// in its database. The test fails (ADD_FAILURE) when the child prints a sanitizer report,
// exits non-zero after SIGTERM, or does not stop within the grace period. Test support;
// single thread.
#pragma once

#include <sys/types.h>

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "storyloom/store.h"
#include "support/http_client.h"
#include "support/temp_dir.h"

namespace storyloom::testing {

struct ServerOptions {
  std::string database_url;  // "" = SQLite in the data dir
  std::string data_dir;      // "" = a new temporary dir; else this one (a power-cut mount)
  int workers = 2;
  std::map<std::string, std::string> env;  // extra STORYLOOM_* settings
  std::vector<std::string> args;           // extra `serve` flags
  // How long Stop() gives the server after SIGTERM before it fails the test and kills it:
  // the server's own 5 s HTTP grace plus a workflow step finishing, under the sanitizers.
  int stop_grace_ms = 20000;
};

class ServerProcess {
 public:
  // Creates the data dir, migrates the database, adds users "admin" (admin) and "alice",
  // "bob" (users) with API tokens, then starts the server.
  explicit ServerProcess(ServerOptions options = {});
  // Uses an existing data dir (restarts after a crash); users and tokens are kept.
  ServerProcess(const ServerProcess& previous_data, ServerOptions options);
  ~ServerProcess();

  // Starts (or restarts) the child and waits until /healthz answers.
  void Start();
  // SIGTERM and wait (graceful). Fails the test if the server does not exit 0 within
  // options.stop_grace_ms (it is then killed) or printed a sanitizer report.
  void Stop();
  // SIGKILL: a crash. Fails the test if the server printed a sanitizer report before it.
  void Kill();
  bool running() const { return pid_ > 0; }
  pid_t pid() const { return pid_; }  // of the child, -1 when none

  std::string url() const;  // http://127.0.0.1:<port>
  int port() const { return port_; }
  const std::string& data_dir() const { return data_dir_; }
  std::string outputs_dir() const { return data_dir_ + "/save_outputs"; }
  const std::string& database_url() const { return database_url_; }
  // Output of the child so far (stdout and stderr).
  std::string log() const;

  // API tokens of the seeded users.
  const std::string& token(const std::string& user) const { return tokens_.at(user); }
  const std::string& user_id(const std::string& user) const { return user_ids_.at(user); }
  // A client for `user` ("" = anonymous).
  std::unique_ptr<HttpClient> Client(const std::string& user = "") const;
  // Opens the database directly (for assertions on rows).
  std::unique_ptr<Store> OpenStore() const;

 private:
  void Seed();
  // Waits for the listening socket of the child and returns its port (0 if it exited).
  int WaitForListeningPort();
  // ADD_FAILURE with the report if the log holds a sanitizer report not yet reported.
  void CheckLogForSanitizerReports();

  ServerOptions options_;
  std::shared_ptr<TempDir> dir_;
  std::string data_dir_;
  std::string database_url_;
  std::string log_path_;
  pid_t pid_ = -1;
  int port_ = 0;
  bool sanitizer_reported_ = false;
  std::map<std::string, std::string> tokens_;
  std::map<std::string, std::string> user_ids_;
};

// Polls GET /api/v1/workflows/{id} until its status is final or `timeout_ms` passes;
// returns the last JSON seen.
nlohmann::json WaitForWorkflow(HttpClient& client, const std::string& id, int timeout_ms = 60000);

}  // namespace storyloom::testing
