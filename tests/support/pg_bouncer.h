// PgBouncer (the Debian package's /usr/sbin/pgbouncer) in front of a PostgreSQL server, on a
// free loopback port, for the tests of a transaction pooler: every database of the server
// is reachable through it, logged in as the server's user. Test support; single thread.
#pragma once

#include <sys/types.h>

#include <memory>
#include <string>

#include "support/temp_dir.h"

namespace storyloom::testing {

class PgBouncer {
 public:
  // Starts PgBouncer in `pool_mode` ("transaction" or "session") with at most `pool_size`
  // server connections per database, in front of the server of `server_url` (a
  // postgresql://user@host:port/db URL; the host and port are used, and the user logs in).
  // `settings`: more lines for pgbouncer.ini's [pgbouncer] section. Throws
  // std::runtime_error with PgBouncer's log when it does not start.
  PgBouncer(const std::string& server_url, const std::string& pool_mode, int pool_size,
            const std::string& settings = "");
  // Stops it (SIGTERM, then waits for it to exit). It also stops when the test process
  // dies.
  ~PgBouncer();
  PgBouncer(const PgBouncer&) = delete;
  PgBouncer& operator=(const PgBouncer&) = delete;

  // The URL of `database_url`'s database (a URL on the server) through PgBouncer, with
  // `query` appended ("" for none, else e.g. "pool_mode=transaction").
  std::string UrlFor(const std::string& database_url, const std::string& query) const;
  int port() const { return port_; }
  std::string log() const;

 private:
  void Stop();

  TempDir dir_;
  std::string user_;
  int port_ = 0;
  pid_t pid_ = -1;
};

}  // namespace storyloom::testing
