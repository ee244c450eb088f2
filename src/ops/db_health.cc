// db status and db check over the store's HealthRepo: one snapshot for the status; for the
// check, each backend's checks, amcheck one index per transaction.
#include "ops/db_health.h"

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <thread>

#include "core/clock.h"
#include "core/failpoint.h"

namespace storyloom::ops {

namespace {

std::string BackendName(const Store& store) {
  return store.capabilities().embedded ? "sqlite" : "postgresql";
}

// Creates amcheck if it may, then runs bt_index_check on every B-tree index of the schema.
Result<AmcheckReport> RunAmcheck(Store& store, const DbCheckOptions& options) {
  AmcheckReport out;
  SL_ASSIGN_OR_RETURN(
      auto st, store.ReadOne<AmcheckState>([](StoreTx& tx) { return tx.health().Amcheck(); }));
  if (!st.installed) {
    if (!st.available) {
      out.status = "unavailable";
      out.message =
          "amcheck is not available on this server (it ships in PostgreSQL's contrib "
          "modules, e.g. Debian's postgresql-15)";
      return out;
    }
    if (!options.install_amcheck) {
      out.status = "unavailable";
      out.message = "amcheck is not installed in this database";
      return out;
    }
    auto made = store.Write([](StoreTx& tx) { return tx.health().InstallAmcheck(); });
    if (!made) {
      out.status = "unavailable";
      out.message = "amcheck is not installed and could not be created (" + made.error().message +
                    "); a superuser can run CREATE EXTENSION amcheck";
      return out;
    }
    out.message = "created the amcheck extension";
    SL_ASSIGN_OR_RETURN(
        st, store.ReadOne<AmcheckState>([](StoreTx& tx) { return tx.health().Amcheck(); }));
  }
  if (!st.allowed) {
    out.status = "unavailable";
    out.message =
        "this user may not run amcheck's bt_index_check (GRANT EXECUTE ON FUNCTION "
        "bt_index_check(regclass) to it)";
    return out;
  }
  SL_ASSIGN_OR_RETURN(auto indexes, store.ReadOne<std::vector<IndexRef>>(
                                        [](StoreTx& tx) { return tx.health().BtreeIndexes(); }));
  for (const IndexRef& index : indexes) {
    auto checked = store.Read([&](StoreTx& tx) { return tx.health().CheckBtreeIndex(st, index); });
    ++out.indexes_checked;
    if (!checked) out.problems.push_back({index.name, index.table, checked.error().message});
  }
  out.status = "ok";
  return out;
}

}  // namespace

Result<DbStatusReport> CollectDbStatus(Store& store, const HealthOptions& options) {
  DbStatusReport out;
  out.backend = BackendName(store);
  out.database = store.display_url();
  out.options = options;
  SL_ASSIGN_OR_RETURN(out.schema, store.Schema());
  if (out.schema.current_version == 0) return out;  // nothing to describe yet
  SL_ASSIGN_OR_RETURN(out.health, store.ReadOne<DatabaseHealth>(
                                      [&](StoreTx& tx) { return tx.health().Status(options); }));
  if (store.capabilities().embedded) {
    auto where = Store::Locate(out.database);
    std::error_code ec;
    const auto wal =
        where ? std::filesystem::file_size(where->file_path + "-wal", ec) : std::uintmax_t{0};
    out.wal_bytes = (!where || ec) ? 0 : static_cast<std::int64_t>(wal);
  }
  return out;
}

std::int64_t DbCheckReport::problems() const {
  std::int64_t n = static_cast<std::int64_t>(foreign_key_check.size() + constraints.size());
  if (integrity_check) n += static_cast<std::int64_t>(integrity_check->size());
  if (amcheck) n += static_cast<std::int64_t>(amcheck->problems.size());
  if (!migrations_ok) ++n;
  return n;
}

Result<DbCheckReport> RunDbCheck(Store& store, const DbCheckOptions& options) {
  const auto started = std::chrono::steady_clock::now();
  DbCheckReport out;
  out.backend = BackendName(store);
  out.checked_at = core::WallMillis();
  if (const auto slow = FailpointArg("db_check.slow_ms")) {  // tests: a check still running
    std::this_thread::sleep_for(std::chrono::milliseconds(std::atoi(slow->c_str())));
  }
  if (store.capabilities().embedded) {
    SL_ASSIGN_OR_RETURN(out.integrity_check, store.CheckIntegrity());
  } else {
    SL_ASSIGN_OR_RETURN(out.amcheck, RunAmcheck(store, options));
  }
  SL_RETURN_IF_ERROR(store.Read([&](StoreTx& tx) -> Result<void> {
    SL_ASSIGN_OR_RETURN(out.foreign_key_check, tx.health().ForeignKeyProblems());
    SL_ASSIGN_OR_RETURN(out.constraints, tx.health().ConstraintProblems());
    return {};
  }));
  auto schema = store.Schema();
  if (!schema) {
    out.migrations_ok = false;
    out.migrations = schema.error().message;
  } else {
    out.migrations = schema->pending > 0 ? "pending" : "current";
  }
  out.duration_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                        std::chrono::steady_clock::now() - started)
                        .count();
  return out;
}

}  // namespace storyloom::ops
