// One `storyloom serve` per backend (and variant), started by the first test of a suite that
// asks for it and shared by the rest of the suite: on PostgreSQL each gets a database of its
// own, which outlives its server. Test support; single thread.
#pragma once

#include <map>
#include <memory>
#include <string>

#include "support/server_process.h"
#include "support/test_db.h"

namespace storyloom::testing {

class SharedServers {
 public:
  // The server for `backend` ("sqlite" or "postgres") and `variant`, started with `options`
  // the first time (`options.database_url` is set here on PostgreSQL).
  ServerProcess& Get(const std::string& backend, ServerOptions options = {},
                     const std::string& variant = "");
  // Stops every server, then drops their databases; for TearDownTestSuite.
  void Clear();

 private:
  struct Backend {
    std::unique_ptr<TestDatabase> db;  // declared first: destroyed after the server
    std::unique_ptr<ServerProcess> server;
  };
  std::map<std::string, Backend> backends_;
};

}  // namespace storyloom::testing
