// Store: the persistence API of Storyloom (what the seed calls db_manager), and the only way
// to the data above src/store. Repositories, one per entity, written once in portable SQL
// for SQLite and PostgreSQL alike, reached from a transaction: tx.workflows(), tx.files(),
// tx.usage(), ..., and whole tables for backups (tx.tables()). Store::Write/Read run a
// callback in one transaction; WriteOne/ReadOne and the seed's db_manager calls run single
// operations; backup and restore use the whole-database operations. Store is thread-safe; a StoreTx
// and its repositories belong to the callback they were passed to.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "storyloom/backend.h"
#include "storyloom/error.h"
#include "storyloom/event_repo.h"
#include "storyloom/file_repo.h"
#include "storyloom/health_repo.h"
#include "storyloom/invite_repo.h"
#include "storyloom/ops_repo.h"
#include "storyloom/rollup_repo.h"
#include "storyloom/storage_repo.h"
#include "storyloom/table_data.h"
#include "storyloom/table_repo.h"
#include "storyloom/types.h"
#include "storyloom/usage_repo.h"
#include "storyloom/user_repo.h"
#include "storyloom/workflow_repo.h"

namespace storyloom {

namespace db {
class Connection;
class Database;
}  // namespace db

// One transaction's view of the data: a repository per entity, each bound to the
// transaction's connection. Belongs to the callback it was passed to.
class StoreTx {
 public:
  explicit StoreTx(db::Connection& conn) : c_(conn) {}

  WorkflowRepo workflows() { return WorkflowRepo(c_); }
  PhaseRepo phases() { return PhaseRepo(c_); }
  SceneRepo scenes() { return SceneRepo(c_); }
  FileRepo files() { return FileRepo(c_); }
  StorageRepo storage() { return StorageRepo(c_); }
  UsageRepo usage() { return UsageRepo(c_); }
  PriceRepo prices() { return PriceRepo(c_); }
  BudgetRepo budgets() { return BudgetRepo(c_); }
  UserRepo users() { return UserRepo(c_); }
  TokenRepo tokens() { return TokenRepo(c_); }
  InviteRepo invites() { return InviteRepo(c_); }
  EventRepo events() { return EventRepo(c_); }
  AuditRepo audit() { return AuditRepo(c_); }
  RollupRepo rollups() { return RollupRepo(c_); }
  BackupRepo backups() { return BackupRepo(c_); }
  JobLeaseRepo job_leases() { return JobLeaseRepo(c_); }
  RetentionRepo retention() { return RetentionRepo(c_); }
  TableRepo tables() { return TableRepo(c_); }
  HealthRepo health() { return HealthRepo(c_); }

 private:
  db::Connection& c_;
};

// Where a database URL keeps its data, as backup and restore need to know it.
struct StoreLocation {
  // An embedded database in one file (SQLite): copied, placed and renamed as a file.
  bool is_file = false;
  std::string file_path;  // is_file: the path as the URL gives it
  // The newest schema version this binary can migrate that kind of database to.
  int latest_schema_version = 0;
};

struct StoreOptions {
  std::string synchronous = "FULL";  // SQLite
  int readers = 4;
  int busy_timeout_ms = 10000;
  int max_queued_writes = 4096;  // WriteAsync calls waiting at once
};

class Store {
 public:
  // Opens the database at `url` (see db::Open). Does not migrate.
  [[nodiscard]] static Result<std::unique_ptr<Store>> Open(std::string_view url,
                                                           const StoreOptions& options = {});
  explicit Store(std::unique_ptr<db::Database> db);
  ~Store();

  // Opens a copy written by SnapshotTo (a backup's database file), one connection.
  [[nodiscard]] static Result<std::unique_ptr<Store>> OpenSnapshot(const std::string& path);
  // Parses `url` (invalid_argument naming what is wrong) without connecting.
  [[nodiscard]] static Result<StoreLocation> Locate(std::string_view url);

  // What the database can do, and its URL without any password.
  [[nodiscard]] BackendCapabilities capabilities() const;
  [[nodiscard]] std::string display_url() const;
  [[nodiscard]] DatabaseStats stats() const;
  [[nodiscard]] Result<DatabaseSize> Size();
  [[nodiscard]] Result<SchemaStatus> Schema();
  // Notifications on `channel` from every instance; failed_precondition unless
  // capabilities().notifications.
  [[nodiscard]] Result<std::unique_ptr<Listener>> Listen(const std::string& channel);
  // Gives free space back to the file system in short steps (other writes go between
  // them); returns how many pages it handed back (0 where the backend does not count).
  [[nodiscard]] Result<std::int64_t> Compact();
  // Applies every pending migration; returns the schema state after.
  [[nodiscard]] Result<SchemaStatus> Migrate();

  // --- whole-database operations, for backup and restore ---
  // Writes a consistent copy of the whole database to the new file `path` while it stays in
  // use; failed_precondition unless capabilities().embedded.
  [[nodiscard]] Result<void> SnapshotTo(const std::string& path);
  // The backend's own check of every page and index; its complaints, empty when sound.
  // failed_precondition where the backend has none (PostgreSQL).
  [[nodiscard]] Result<std::vector<std::string>> CheckIntegrity();
  // failed_precondition unless the database holds no table at all.
  [[nodiscard]] Result<void> CheckEmpty();
  // Loads whole tables into this empty database: migrates it to `schema_version` (the rows'
  // own), replaces rows the migrations seeded, inserts every table of `source` parents first
  // in batches (columns both sides have; tables it lacks skipped), then moves id sequences
  // past the loaded ids. Progress stage "restore". Returns the rows inserted.
  [[nodiscard]] Result<std::int64_t> LoadTables(TableSource& source, int schema_version,
                                                const ProgressFn& progress);
  // The rows of `store`'s data tables, parents first, as a source for LoadTables; owns it.
  [[nodiscard]] static std::unique_ptr<TableSource> TablesOf(std::unique_ptr<Store> store);

  // Runs `fn` in one write transaction; it returns once the commit is durable.
  [[nodiscard]] Result<void> Write(const std::function<Result<void>(StoreTx&)>& fn);
  // Write without holding the calling thread: `fn` joins the next group commit and `done`
  // gets its outcome once the commit is durable. `done` runs exactly once, on the
  // database's writer thread (SQLite), so it must be short and must not block; on
  // PostgreSQL it runs before WriteAsync returns. Refused (overloaded, with `done` never
  // called) when too many writes are waiting, or when the database is closing.
  [[nodiscard]] Result<void> WriteAsync(std::function<Result<void>(StoreTx&)> fn,
                                        std::function<void(Result<void>)> done);
  // Runs `fn` on one consistent read snapshot.
  [[nodiscard]] Result<void> Read(const std::function<Result<void>(StoreTx&)>& fn);

  // Single operations in their own transaction.
  template <typename T>
  [[nodiscard]] Result<T> WriteOne(const std::function<Result<T>(StoreTx&)>& fn);
  template <typename T>
  [[nodiscard]] Result<T> ReadOne(const std::function<Result<T>(StoreTx&)>& fn);

  // The seed's db_manager calls.
  [[nodiscard]] Result<CreateResult> CreateWorkflow(const NewWorkflow& w);
  [[nodiscard]] Result<Workflow> GetWorkflow(std::string_view id);
  // The workflow with what its detail shows: phases, scenes, the first `file_limit` files
  // and cost, in one read transaction (on PostgreSQL one round trip in all: BEGIN, the five
  // reads and COMMIT in one pipeline). not_found as GetWorkflow.
  [[nodiscard]] Result<WorkflowDetailView> GetWorkflowDetail(std::string_view id, int file_limit);
  [[nodiscard]] Result<Page<Workflow>> ListWorkflows(const WorkflowFilter& f);
  [[nodiscard]] Result<void> UpdateWorkflow(std::string_view id, const WorkflowUpdate& u);
  [[nodiscard]] Result<GeneratedFile> AddGeneratedFile(const NewFile& f);
  [[nodiscard]] Result<ApiUsage> RecordUsage(const ApiUsage& u);

 private:
  friend struct StoreTestAccess;  // tests/support/store_access.h: raw SQL in tests only
  std::unique_ptr<db::Database> db_;
};

template <typename T>
Result<T> Store::WriteOne(const std::function<Result<T>(StoreTx&)>& fn) {
  std::optional<T> out;
  SL_RETURN_IF_ERROR(Write([&](StoreTx& tx) -> Result<void> {
    SL_ASSIGN_OR_RETURN(out, fn(tx));
    return {};
  }));
  return std::move(*out);
}

template <typename T>
Result<T> Store::ReadOne(const std::function<Result<T>(StoreTx&)>& fn) {
  std::optional<T> out;
  SL_RETURN_IF_ERROR(Read([&](StoreTx& tx) -> Result<void> {
    SL_ASSIGN_OR_RETURN(out, fn(tx));
    return {};
  }));
  return std::move(*out);
}

}  // namespace storyloom
