// Store: the persistence API of Storyloom (what the seed calls db_manager). Repositories
// written once in portable SQL over db::Connection, for SQLite and PostgreSQL alike.
//
// Every operation exists on StoreTx, bound to one transaction; Store runs single operations
// in their own transaction, and Store::Write/Read run several atomically. Store is
// thread-safe; a StoreTx belongs to the callback it was passed to.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "storyloom/error.h"
#include "storyloom/types.h"

namespace storyloom {

namespace db {
class Connection;
class Database;
}  // namespace db

struct NewWorkflow {
  std::string user_id;
  std::string prompt;
  std::string title;
  std::string options_json = "{}";
  std::string idempotency_key;  // "" for none
};

struct WorkflowFilter {
  std::string user_id;  // "" = every user (admins)
  std::optional<WorkflowStatus> status;
  std::string q;       // substring of title or prompt
  int limit = 50;      // 1..200
  std::string cursor;  // from a previous page's next_cursor
};

// Optional fields to change; unset ones stay as they are.
struct WorkflowUpdate {
  std::optional<std::string> title;
  std::optional<std::string> enhanced_story;
  std::optional<WorkflowStatus> status;
  std::optional<std::string> current_phase;
  std::optional<double> progress;
  std::optional<std::string> error_code;  // "" clears
  std::optional<std::string> error_message;
  std::optional<bool> cancel_requested;
  std::optional<int> attempt;
  std::optional<Millis> started_at;
  std::optional<std::optional<Millis>> finished_at;  // nullopt inside clears
};

struct FileFilter {
  std::string user_id;      // "" = every user
  std::string workflow_id;  // "" = any
  std::optional<FileType> type;
  int limit = 100;
  std::string cursor;
};

struct NewFile {
  std::string workflow_id;
  std::string scene_id;  // "" for none
  FileType file_type = FileType::kOther;
  std::string file_path;  // relative to save_outputs/
  std::string file_name;
  std::string mime_type;
  std::int64_t file_size = 0;
  std::string sha256;
  std::string metadata_json = "{}";
};

struct UsageFilter {
  std::string user_id;  // "" = every user
  std::string workflow_id;
  Millis from = 0;
  Millis to = 0;  // exclusive; 0 = no bound
  int limit = 100;
  std::string cursor;
};

// Usage of one workflow over a time range (api_usage grouped by workflow_id).
struct WorkflowUsage {
  std::string workflow_id;  // "" for calls outside any workflow
  std::int64_t calls = 0;
  std::int64_t errors = 0;
  std::int64_t input_tokens = 0;
  std::int64_t cached_input_tokens = 0;
  std::int64_t output_tokens = 0;
  std::int64_t reasoning_tokens = 0;
  std::int64_t images = 0;
  std::int64_t characters = 0;
  std::int64_t audio_ms = 0;
  NanoUsd cost_nusd = 0;
  std::int64_t unpriced_calls = 0;
};

// What RequestDeleteWorkflow did.
struct WorkflowDeletion {
  // true: a run holds the workflow; it is marked and its runner (or, once the lease has
  // expired, any instance) deletes it when the run stops.
  bool deferred = false;
  std::vector<GeneratedFile> files;  // rows deleted now (remove them from disk after commit)
};

// A marked workflow deleted by DeleteMarkedWorkflows, with the file rows it had.
struct DeletedWorkflow {
  std::string id;
  std::vector<GeneratedFile> files;
};

struct CreateResult {
  Workflow workflow;
  bool created = true;  // false when the idempotency key matched an earlier workflow
};

class StoreTx {
 public:
  explicit StoreTx(db::Connection& conn) : c_(conn) {}
  db::Connection& connection() { return c_; }

  // --- workflows ---------------------------------------------------------------
  // Creates a queued workflow. With an idempotency key that `user_id` used before, returns
  // that workflow instead (created=false). invalid_argument for an empty prompt or user.
  [[nodiscard]] Result<CreateResult> CreateWorkflow(const NewWorkflow& w);
  // not_found if no workflow has `id`.
  [[nodiscard]] Result<Workflow> GetWorkflow(std::string_view id);
  [[nodiscard]] Result<Page<Workflow>> ListWorkflows(const WorkflowFilter& f);
  // not_found if no workflow has `id`.
  [[nodiscard]] Result<void> UpdateWorkflow(std::string_view id, const WorkflowUpdate& u);
  // Deletes the workflow and (by cascade) its phases, scenes, files rows and events;
  // usage rows stay with workflow_id cleared. Returns the file rows that were deleted so the
  // caller can remove them from disk. not_found if no workflow has `id`.
  [[nodiscard]] Result<std::vector<GeneratedFile>> DeleteWorkflow(std::string_view id);
  // The API's delete: deletes the workflow now when no live lease holds it, otherwise marks
  // it (delete_requested, cancel_requested) and defers to its runner. Marked workflows are
  // invisible: GetWorkflow, ListWorkflows, CountWorkflows, ClaimWorkflows and the file
  // reads skip them. not_found if no visible workflow has `id`.
  [[nodiscard]] Result<WorkflowDeletion> RequestDeleteWorkflow(std::string_view id);
  // Whether any row of workflow `id` exists, marked for deletion or not.
  [[nodiscard]] Result<bool> WorkflowRowExists(std::string_view id);
  // Deletes up to `limit` marked workflows that no live lease holds (`only_id` != "": just
  // that one). Returns what it deleted, so the caller removes the files after the commit.
  [[nodiscard]] Result<std::vector<DeletedWorkflow>> DeleteMarkedWorkflows(
      int limit, std::string_view only_id = {});
  // Queued workflows and running ones whose lease has expired, oldest first, leased to
  // `owner` until now+lease_ms. Used by the engine; safe across instances. With
  // `max_per_user` > 0, no user ends up with more than that many unfinished workflows
  // under a live lease (on any instance); their other workflows wait.
  [[nodiscard]] Result<std::vector<Workflow>> ClaimWorkflows(std::string_view owner,
                                                             Millis lease_ms, int limit,
                                                             int max_per_user = 0);
  // Unfinished workflows of `user_id` under a live lease (claimed or running somewhere).
  [[nodiscard]] Result<std::int64_t> CountLeasedWorkflows(std::string_view user_id);
  // Extends the leases `owner` holds on `ids`; returns the ids it still holds.
  [[nodiscard]] Result<std::vector<std::string>> RenewLeases(std::string_view owner,
                                                             const std::vector<std::string>& ids,
                                                             Millis lease_ms);
  [[nodiscard]] Result<void> ReleaseLease(std::string_view id, std::string_view owner);
  // Clears every lease on unfinished workflows (a single SQLite server at start-up).
  [[nodiscard]] Result<std::int64_t> ReleaseAllLeases();
  [[nodiscard]] Result<std::int64_t> CountWorkflows(std::optional<WorkflowStatus> status,
                                                    std::string_view user_id = {});

  // --- phases -------------------------------------------------------------------
  // Inserts or replaces the (workflow_id, phase) row.
  [[nodiscard]] Result<void> UpsertPhase(const WorkflowPhase& p);
  [[nodiscard]] Result<std::vector<WorkflowPhase>> ListPhases(std::string_view workflow_id);

  // --- scenes ---------------------------------------------------------------------
  // Adds a scene; already_exists if the workflow has that scene_number.
  [[nodiscard]] Result<Scene> AddScene(const Scene& s);
  // Updates text fields and file links of the scene with s.id.
  [[nodiscard]] Result<void> UpdateScene(const Scene& s);
  [[nodiscard]] Result<std::vector<Scene>> ListScenes(std::string_view workflow_id);

  // --- generated files ----------------------------------------------------------
  // Tracks a file already durable on disk. already_exists if file_path is tracked.
  [[nodiscard]] Result<GeneratedFile> AddGeneratedFile(const NewFile& f);
  [[nodiscard]] Result<GeneratedFile> GetFile(std::string_view id);
  [[nodiscard]] Result<GeneratedFile> GetFileByPath(std::string_view file_path);
  [[nodiscard]] Result<Page<GeneratedFile>> ListFiles(const FileFilter& f);
  // Deletes the row (scenes linking to it are unlinked); not_found if absent.
  [[nodiscard]] Result<GeneratedFile> DeleteFile(std::string_view id);
  // Marks a file row as missing on disk (fsck --repair).
  [[nodiscard]] Result<void> MarkFileMissing(std::string_view id);

  // --- usage ----------------------------------------------------------------------
  // Records one provider call attempt and adds it to usage_daily. Returns it with its id.
  [[nodiscard]] Result<ApiUsage> RecordUsage(const ApiUsage& u);
  [[nodiscard]] Result<Page<ApiUsage>> ListUsage(const UsageFilter& f);
  // Sum of priced cost of a workflow's usage rows (0 when none), and whether any was unpriced.
  [[nodiscard]] Result<std::pair<NanoUsd, bool>> WorkflowCost(std::string_view workflow_id);
  // usage_daily rows with from_day <= day < to_day ("" = unbounded), for user ("" = all).
  [[nodiscard]] Result<std::vector<UsageDaily>> ListUsageDaily(std::string_view from_day,
                                                               std::string_view to_day,
                                                               std::string_view user_id);

  // Usage rows with from <= created_at < to (0 = unbounded) for user ("" = all), summed
  // per workflow, most expensive first.
  [[nodiscard]] Result<std::vector<WorkflowUsage>> UsageByWorkflow(Millis from, Millis to,
                                                                   std::string_view user_id);

  // --- prices (price_repo.cc) -----------------------------------------------------
  // Every price row, newest first; with `current_only`, only rows in effect at `at`.
  [[nodiscard]] Result<std::vector<ModelPrice>> ListPrices(bool current_only, Millis at);
  // Rows of `provider` and `operation` in effect at `at` (any model pattern).
  [[nodiscard]] Result<std::vector<ModelPrice>> PricesInEffect(std::string_view provider,
                                                               std::string_view operation,
                                                               Millis at);
  // Adds a price row. The row with the same provider, model_pattern, operation, size and
  // quality that is open at p.effective_from gets effective_to = p.effective_from.
  // invalid_argument for a bad operation, a missing field or a negative rate.
  [[nodiscard]] Result<ModelPrice> AddPrice(const ModelPrice& p);

  // --- budgets (budget_repo.cc) ---------------------------------------------------
  // Serializes budget reservations across connections until the transaction ends
  // (PostgreSQL advisory lock; SQLite's single writer already does). Write only.
  [[nodiscard]] Result<void> LockBudgets();
  // The user's monthly limits; not_found if no user has `user_id`.
  [[nodiscard]] Result<BudgetLimits> GetUserBudget(std::string_view user_id);
  [[nodiscard]] Result<void> SetUserBudget(std::string_view user_id, const BudgetLimits& b);
  // Priced cost in usage_daily with day >= from_day for user ("" = every user).
  [[nodiscard]] Result<NanoUsd> CostSince(std::string_view from_day, std::string_view user_id);
  // Sum of reservations not expired at `now` for user ("" = every user).
  [[nodiscard]] Result<NanoUsd> LiveReservations(Millis now, std::string_view user_id);
  // Both of the above read in one statement, hence from one snapshot even under READ
  // COMMITTED: a reservation settled meanwhile is counted once, as cost or as reservation.
  [[nodiscard]] Result<std::pair<NanoUsd, NanoUsd>> SpentAndReserved(std::string_view from_day,
                                                                     Millis now,
                                                                     std::string_view user_id);
  // Inserts a reservation and returns its id.
  [[nodiscard]] Result<std::string> AddReservation(std::string_view user_id, NanoUsd amount,
                                                   Millis now, Millis expires_at);
  // Deletes a reservation (no error when it is already gone).
  [[nodiscard]] Result<void> DeleteReservation(std::string_view id);
  // Deletes reservations that expired before `now`; returns how many.
  [[nodiscard]] Result<std::int64_t> DeleteExpiredReservations(Millis now);
  // Records that the `kind` alert of `scope` ("global" or a user id) fired in `period`
  // (YYYY-MM); true the first time, false when it already had.
  [[nodiscard]] Result<bool> MarkBudgetAlert(std::string_view scope, std::string_view period,
                                             std::string_view kind, Millis now);

  // --- users and tokens -----------------------------------------------------------
  // already_exists if the username is taken.
  [[nodiscard]] Result<User> CreateUser(const User& u);
  [[nodiscard]] Result<User> GetUser(std::string_view id);
  [[nodiscard]] Result<User> FindUserByName(std::string_view username);
  [[nodiscard]] Result<std::vector<User>> ListUsers();
  [[nodiscard]] Result<void> UpdateUser(const User& u);
  [[nodiscard]] Result<std::int64_t> CountUsers();
  [[nodiscard]] Result<ApiToken> CreateToken(const ApiToken& t);
  // The token with `token_hash`, whatever its state; not_found if none.
  [[nodiscard]] Result<ApiToken> FindTokenByHash(std::string_view token_hash);
  [[nodiscard]] Result<ApiToken> GetToken(std::string_view id);
  [[nodiscard]] Result<std::vector<ApiToken>> ListTokens(std::string_view user_id);
  [[nodiscard]] Result<void> RevokeToken(std::string_view id, Millis at);
  // Revokes every unrevoked token of `kind` (api | session | login) of `user_id`; returns
  // how many.
  [[nodiscard]] Result<std::int64_t> RevokeUserTokens(std::string_view user_id,
                                                      std::string_view kind, Millis at);
  [[nodiscard]] Result<void> TouchToken(std::string_view id, Millis at);

  // --- events and audit -----------------------------------------------------------
  // Appends an event and returns it with its id (strictly increasing).
  [[nodiscard]] Result<WorkflowEvent> AppendEvent(std::string_view workflow_id,
                                                  std::string_view type, std::string_view data_json,
                                                  std::string_view request_id = {});
  // Events of the workflow with id > after_id, oldest first.
  [[nodiscard]] Result<std::vector<WorkflowEvent>> ListEvents(std::string_view workflow_id,
                                                              std::int64_t after_id, int limit);
  [[nodiscard]] Result<void> AppendAudit(const AuditEntry& e);
  [[nodiscard]] Result<Page<AuditEntry>> ListAudit(int limit, std::string_view cursor);

 private:
  db::Connection& c_;
};

struct StoreOptions {
  std::string synchronous = "FULL";  // SQLite
  int readers = 4;
  int busy_timeout_ms = 10000;
};

class Store {
 public:
  // Opens the database at `url` (see db::Open). Does not migrate.
  [[nodiscard]] static Result<std::unique_ptr<Store>> Open(std::string_view url,
                                                           const StoreOptions& options = {});
  explicit Store(std::unique_ptr<db::Database> db);
  ~Store();

  db::Database& database() { return *db_; }

  // Runs `fn` in one write transaction; it returns once the commit is durable.
  [[nodiscard]] Result<void> Write(const std::function<Result<void>(StoreTx&)>& fn);
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
  [[nodiscard]] Result<Page<Workflow>> ListWorkflows(const WorkflowFilter& f);
  [[nodiscard]] Result<void> UpdateWorkflow(std::string_view id, const WorkflowUpdate& u);
  [[nodiscard]] Result<GeneratedFile> AddGeneratedFile(const NewFile& f);
  [[nodiscard]] Result<ApiUsage> RecordUsage(const ApiUsage& u);

 private:
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
