// Test databases for the conformance suite: each backend the store supports gives a fresh,
// migrated, empty database. Test support; single thread.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "storyloom/store.h"
#include "support/temp_dir.h"

namespace storyloom::testing {

// The backends every conformance test runs against: "sqlite" and "postgres".
std::vector<std::string> Backends();

// A fresh empty database of `backend`; dropped when destroyed. PostgreSQL databases are
// created on the shared test server (support/pg_server.h).
class TestDatabase {
 public:
  explicit TestDatabase(const std::string& backend);
  ~TestDatabase();
  const std::string& url() const { return url_; }
  // Opens a store on it (not migrated).
  std::unique_ptr<Store> Open(const StoreOptions& options = {}) const;
  // Opens a store and applies every migration.
  std::unique_ptr<Store> OpenMigrated(const StoreOptions& options = {}) const;

 private:
  std::string backend_;
  TempDir dir_;
  std::string url_;
};

// Creates a user (role user) named `name` and returns its id.
std::string MakeUser(Store& store, const std::string& name, Role role = Role::kUser);

}  // namespace storyloom::testing
