#include "storyloom/store.h"

#include "db/database.h"
#include "db/migrations.h"
#include "db/table_load.h"
#include "db/url.h"
#include "store/rows.h"

namespace storyloom {
namespace {

SchemaStatus ToSchemaStatus(const db::MigrationStatus& st) {
  return SchemaStatus{st.current_version, st.latest_version, static_cast<int>(st.pending.size())};
}

}  // namespace

Result<std::unique_ptr<Store>> Store::Open(std::string_view url, const StoreOptions& options) {
  db::Options o;
  o.synchronous = options.synchronous;
  o.readers = options.readers;
  o.max_queued_writes = options.max_queued_writes;
  o.busy_timeout_ms = options.busy_timeout_ms;
  SL_ASSIGN_OR_RETURN(auto db, db::Open(url, o));
  return std::make_unique<Store>(std::move(db));
}

Result<std::unique_ptr<Store>> Store::OpenSnapshot(const std::string& path) {
  StoreOptions o;
  o.readers = 1;
  return Open("sqlite://" + path, o);
}

Result<StoreLocation> Store::Locate(std::string_view url) {
  SL_ASSIGN_OR_RETURN(auto parsed, db::ParseDatabaseUrl(url));
  return StoreLocation{parsed.is_file(), parsed.sqlite_path, db::LatestVersion(parsed)};
}

Store::Store(std::unique_ptr<db::Database> db) : db_(std::move(db)) {}
Store::~Store() = default;

Result<void> Store::Write(const std::function<Result<void>(StoreTx&)>& fn) {
  return db_->Write([&](db::Connection& c) {
    StoreTx tx(c);
    return fn(tx);
  });
}

Result<void> Store::WriteAsync(std::function<Result<void>(StoreTx&)> fn,
                               std::function<void(Result<void>)> done) {
  return db_->WriteAsync(
      [fn = std::move(fn)](db::Connection& c) {
        StoreTx tx(c);
        return fn(tx);
      },
      std::move(done));
}

Result<void> Store::Read(const std::function<Result<void>(StoreTx&)>& fn) {
  return db_->Read([&](db::Connection& c) {
    StoreTx tx(c);
    return fn(tx);
  });
}

BackendCapabilities Store::capabilities() const { return db_->capabilities(); }
std::string Store::display_url() const { return db_->display_url(); }
DatabaseStats Store::stats() const { return db_->stats(); }
Result<DatabaseSize> Store::Size() { return db_->Size(); }
Result<std::int64_t> Store::Compact() { return db_->Compact(); }

Result<SchemaStatus> Store::Schema() {
  SL_ASSIGN_OR_RETURN(auto st, db::GetMigrationStatus(*db_));
  return ToSchemaStatus(st);
}

Result<SchemaStatus> Store::Migrate() {
  SL_ASSIGN_OR_RETURN(auto report, db::Migrate(*db_));
  return ToSchemaStatus(report.status);
}

Result<void> Store::SnapshotTo(const std::string& path) { return db_->SnapshotTo(path); }
Result<std::vector<std::string>> Store::CheckIntegrity() { return db_->CheckIntegrity(); }
Result<void> Store::CheckEmpty() { return db::CheckEmptyDatabase(*db_); }

Result<std::int64_t> Store::LoadTables(TableSource& source, int schema_version,
                                       const ProgressFn& progress) {
  return db::LoadTables(source, *db_, schema_version, progress);
}

std::unique_ptr<TableSource> Store::TablesOf(std::unique_ptr<Store> store) {
  return db::DatabaseSource(std::move(store->db_));
}

Result<std::unique_ptr<Listener>> Store::Listen(const std::string& channel) {
  return db_->Listen(channel);
}

Result<CreateResult> Store::CreateWorkflow(const NewWorkflow& w) {
  return WriteOne<CreateResult>([&](StoreTx& tx) { return tx.workflows().Create(w); });
}
Result<Workflow> Store::GetWorkflow(std::string_view id) {
  return ReadOne<Workflow>([&](StoreTx& tx) { return tx.workflows().Get(id); });
}
Result<WorkflowDetailView> Store::GetWorkflowDetail(std::string_view id, int file_limit) {
  const FileFilter files{.workflow_id = std::string(id), .limit = file_limit, .oldest_first = true};
  SL_ASSIGN_OR_RETURN(auto batch, store::WorkflowDetailStatements(db_->dialect(), id, files));
  SL_ASSIGN_OR_RETURN(auto rows, db_->ReadBatch(batch));
  return store::WorkflowDetailFromRows(id, rows, files);
}
Result<Page<Workflow>> Store::ListWorkflows(const WorkflowFilter& f) {
  return ReadOne<Page<Workflow>>([&](StoreTx& tx) { return tx.workflows().List(f); });
}
Result<void> Store::UpdateWorkflow(std::string_view id, const WorkflowUpdate& u) {
  return Write([&](StoreTx& tx) { return tx.workflows().Update(id, u); });
}
Result<GeneratedFile> Store::AddGeneratedFile(const NewFile& f) {
  return WriteOne<GeneratedFile>([&](StoreTx& tx) { return tx.files().Add(f); });
}
Result<ApiUsage> Store::RecordUsage(const ApiUsage& u) {
  return WriteOne<ApiUsage>([&](StoreTx& tx) { return tx.usage().Record(u); });
}

}  // namespace storyloom
