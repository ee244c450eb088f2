#include "support/test_db.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <sstream>
#include <stdexcept>

#include "db/migrations.h"
#include "support/pg_server.h"

namespace storyloom::testing {

std::vector<std::string> Backends() {
  // STORYLOOM_TEST_BACKENDS=sqlite (comma-separated) narrows the suite, e.g. on a machine
  // without the PostgreSQL server packages.
  const char* env = std::getenv("STORYLOOM_TEST_BACKENDS");
  if (env == nullptr || *env == '\0') return {"sqlite", "postgres"};
  std::vector<std::string> out;
  std::stringstream ss(env);
  for (std::string name; std::getline(ss, name, ',');) {
    if (!name.empty()) out.push_back(name);
  }
  return out;
}

TestDatabase::TestDatabase(const std::string& backend) : backend_(backend) {
  if (backend == "sqlite") {
    url_ = "sqlite://" + (dir_ / "test.db").string();
  } else if (backend == "postgres") {
    url_ = CreatePgDatabase();
  } else {
    throw std::runtime_error("unknown test backend " + backend);
  }
}

TestDatabase::~TestDatabase() {
  if (backend_ == "postgres") DropPgDatabase(url_);
}

std::unique_ptr<Store> TestDatabase::Open(const StoreOptions& options) const {
  auto store = Store::Open(url_, options);
  if (!store) throw std::runtime_error("cannot open " + url_ + ": " + store.error().ToString());
  return std::move(*store);
}

std::unique_ptr<Store> TestDatabase::OpenMigrated(const StoreOptions& options) const {
  auto store = Open(options);
  auto r = store->Migrate();
  if (!r) throw std::runtime_error("migrate failed: " + r.error().ToString());
  return store;
}

std::string MakeUser(Store& store, const std::string& name, Role role) {
  User u;
  u.username = name;
  u.role = role;
  auto r = store.WriteOne<User>([&](StoreTx& tx) { return tx.users().Create(u); });
  if (!r) throw std::runtime_error("create user failed: " + r.error().ToString());
  return r->id;
}

}  // namespace storyloom::testing
