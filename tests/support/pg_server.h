// The PostgreSQL server the tests use, and fresh databases on it. Test support;
// thread-safe (a mutex guards the lazily started server).
//
// Which server, first match wins:
//   1. STORYLOOM_TEST_PG_URL: a postgresql:// URL of a maintenance database on a server
//      you run yourself (its user must be allowed to CREATE DATABASE);
//   2. STORYLOOM_TEST_PG_DIR/url: written by `scripts/test-pg start`, which CTest runs
//      once as a fixture before the tests, so every test process shares one server;
//   3. otherwise a private server started with scripts/test-pg on first use and stopped
//      when the test process exits (running the test binary by hand).
#pragma once

#include <map>
#include <memory>
#include <string>

namespace storyloom::testing {

class TempDir;

// Creates an empty database on the test server and returns its postgresql:// URL.
// Throws std::runtime_error when no server can be started or reached.
std::string CreatePgDatabase();

// Drops the database that CreatePgDatabase returned `url` for, closing any connection to
// it. Never throws.
void DropPgDatabase(const std::string& url);

// Runs one statement (no parameters) on the server's maintenance database, e.g. to
// terminate backends. Throws std::runtime_error on failure.
void PgAdminExec(const std::string& sql);

// The postgresql:// URL of the server's maintenance database (its superuser, host, port).
std::string PgAdminUrl();

// A PostgreSQL server of a test's own, started with scripts/test-pg and `env` (e.g.
// TEST_PG_SSL_CERT, TEST_PG_SSL_KEY, TEST_PG_PASSWORD: see the script), stopped when
// destroyed. Throws std::runtime_error with the script's output when it does not start.
class PrivatePgServer {
 public:
  explicit PrivatePgServer(const std::map<std::string, std::string>& env);
  ~PrivatePgServer();
  PrivatePgServer(const PrivatePgServer&) = delete;
  PrivatePgServer& operator=(const PrivatePgServer&) = delete;
  // postgresql://storyloom@127.0.0.1:<port>/postgres
  const std::string& url() const { return url_; }
  int port() const;

 private:
  std::unique_ptr<TempDir> state_;
  std::string url_;
};

}  // namespace storyloom::testing
