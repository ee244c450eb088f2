#include "support/test_db.h"

#include <gtest/gtest.h>

#include <stdexcept>

#include "db/migrations.h"

namespace storyloom::testing {

std::vector<std::string> Backends() { return {"sqlite"}; }

TestDatabase::TestDatabase(const std::string& backend) : backend_(backend) {
  if (backend == "sqlite") {
    url_ = "sqlite://" + (dir_ / "test.db").string();
  } else {
    throw std::runtime_error("unknown test backend " + backend);
  }
}

TestDatabase::~TestDatabase() = default;

std::unique_ptr<Store> TestDatabase::Open(const StoreOptions& options) const {
  auto store = Store::Open(url_, options);
  if (!store) throw std::runtime_error("cannot open " + url_ + ": " + store.error().ToString());
  return std::move(*store);
}

std::unique_ptr<Store> TestDatabase::OpenMigrated(const StoreOptions& options) const {
  auto store = Open(options);
  auto r = db::Migrate(store->database());
  if (!r) throw std::runtime_error("migrate failed: " + r.error().ToString());
  return store;
}

std::string MakeUser(Store& store, const std::string& name, Role role) {
  User u;
  u.username = name;
  u.role = role;
  auto r = store.WriteOne<User>([&](StoreTx& tx) { return tx.CreateUser(u); });
  if (!r) throw std::runtime_error("create user failed: " + r.error().ToString());
  return r->id;
}

}  // namespace storyloom::testing
