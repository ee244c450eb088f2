// The PostgreSQL backend over libpq. Thread-safe. Only src/db/open.cc constructs it.
#pragma once

#include <memory>
#include <string>

#include "db/database.h"

namespace storyloom::db {

// Connects to the server named by `conninfo` (a postgresql:// URL).
[[nodiscard]] Result<std::unique_ptr<Database>> OpenPostgres(const std::string& conninfo,
                                                             const std::string& display,
                                                             const Options& options);

}  // namespace storyloom::db
