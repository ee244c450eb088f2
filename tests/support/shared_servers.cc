#include "support/shared_servers.h"

namespace storyloom::testing {

ServerProcess& SharedServers::Get(const std::string& backend, ServerOptions options,
                                  const std::string& variant) {
  Backend& b = backends_[backend + "/" + variant];
  if (!b.server) {
    if (backend == "postgres") {
      b.db = std::make_unique<TestDatabase>("postgres");
      options.database_url = b.db->url();
    }
    b.server = std::make_unique<ServerProcess>(options);
  }
  return *b.server;
}

void SharedServers::Clear() {
  for (auto& [key, b] : backends_) b.server.reset();
  backends_.clear();
}

}  // namespace storyloom::testing
