#include "storyloom/store.h"

#include "db/database.h"

namespace storyloom {

Result<std::unique_ptr<Store>> Store::Open(std::string_view url, const StoreOptions& options) {
  db::Options o;
  o.synchronous = options.synchronous;
  o.readers = options.readers;
  o.busy_timeout_ms = options.busy_timeout_ms;
  SL_ASSIGN_OR_RETURN(auto db, db::Open(url, o));
  return std::make_unique<Store>(std::move(db));
}

Store::Store(std::unique_ptr<db::Database> db) : db_(std::move(db)) {}
Store::~Store() = default;

Result<void> Store::Write(const std::function<Result<void>(StoreTx&)>& fn) {
  return db_->Write([&](db::Connection& c) {
    StoreTx tx(c);
    return fn(tx);
  });
}

Result<void> Store::Read(const std::function<Result<void>(StoreTx&)>& fn) {
  return db_->Read([&](db::Connection& c) {
    StoreTx tx(c);
    return fn(tx);
  });
}

Result<CreateResult> Store::CreateWorkflow(const NewWorkflow& w) {
  return WriteOne<CreateResult>([&](StoreTx& tx) { return tx.CreateWorkflow(w); });
}
Result<Workflow> Store::GetWorkflow(std::string_view id) {
  return ReadOne<Workflow>([&](StoreTx& tx) { return tx.GetWorkflow(id); });
}
Result<Page<Workflow>> Store::ListWorkflows(const WorkflowFilter& f) {
  return ReadOne<Page<Workflow>>([&](StoreTx& tx) { return tx.ListWorkflows(f); });
}
Result<void> Store::UpdateWorkflow(std::string_view id, const WorkflowUpdate& u) {
  return Write([&](StoreTx& tx) { return tx.UpdateWorkflow(id, u); });
}
Result<GeneratedFile> Store::AddGeneratedFile(const NewFile& f) {
  return WriteOne<GeneratedFile>([&](StoreTx& tx) { return tx.AddGeneratedFile(f); });
}
Result<ApiUsage> Store::RecordUsage(const ApiUsage& u) {
  return WriteOne<ApiUsage>([&](StoreTx& tx) { return tx.RecordUsage(u); });
}

}  // namespace storyloom
