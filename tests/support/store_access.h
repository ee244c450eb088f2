// Raw SQL under a Store, for tests and benchmarks only: setting up rows the API refuses to
// write (a corrupt value, an old schema) and reading what it does not expose. Production
// code reaches the data only through the Store's repositories.
#pragma once

#include "db/database.h"
#include "storyloom/store.h"

namespace storyloom {

struct StoreTestAccess {
  static db::Database& Database(Store& s) { return *s.db_; }
};

}  // namespace storyloom

namespace storyloom::testing {

inline db::Database& RawDatabase(Store& s) { return StoreTestAccess::Database(s); }

}  // namespace storyloom::testing
