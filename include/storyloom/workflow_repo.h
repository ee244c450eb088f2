// Workflows and what hangs off them: the workflow rows with their leases (WorkflowRepo),
// phases (PhaseRepo) and scenes (SceneRepo). Reached from a transaction
// (tx.workflows(), tx.phases(), tx.scenes()); a repository lives as long as that callback
// and is used on its thread only.
#pragma once

#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "storyloom/error.h"
#include "storyloom/types.h"

namespace storyloom {

namespace db {
class Connection;
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

// The statuses a workflow may be in to become `to`: queued from failed or cancelled (a
// retry), running from queued (a start; running again when resumed), completed from
// running, failed and cancelled from queued or running. Staying in a status is allowed
// except for failed and cancelled, which are entered once.
std::span<const WorkflowStatus> WorkflowStatusesBefore(WorkflowStatus to);

// A workflow with what its detail shows (Store::GetWorkflowDetail).
struct WorkflowDetailView {
  Workflow workflow;
  std::vector<WorkflowPhase> phases;  // those started, in pipeline order
  std::vector<Scene> scenes;          // by scene number
  Page<GeneratedFile> files;          // the first page, by id
  NanoUsd cost = 0;                   // of its provider calls
  bool cost_unpriced = false;         // some call had no price
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

// What RequestDelete did.
struct WorkflowDeletion {
  // true: a run holds the workflow; it is marked and its runner (or, once the lease has
  // expired, any instance) deletes it when the run stops.
  bool deferred = false;
  std::vector<GeneratedFile> files;  // rows deleted now (remove them from disk after commit)
};

// A marked workflow deleted by DeleteMarked, with the file rows it had.
struct DeletedWorkflow {
  std::string id;
  std::vector<GeneratedFile> files;
};

struct CreateResult {
  Workflow workflow;
  bool created = true;  // false when the idempotency key matched an earlier workflow
};

class WorkflowRepo {
 public:
  explicit WorkflowRepo(db::Connection& c) : c_(c) {}

  // Creates a queued workflow. With an idempotency key that `user_id` used before, returns
  // that workflow instead (created=false). invalid_argument for an empty prompt or user.
  [[nodiscard]] Result<CreateResult> Create(const NewWorkflow& w);
  // The workflow `user_id` created with `idempotency_key` (marked for deletion or not);
  // nullopt when there is none. Lets a caller ask what Create would return without creating.
  [[nodiscard]] Result<std::optional<Workflow>> FindByKey(std::string_view user_id,
                                                          std::string_view idempotency_key);
  // not_found if no workflow has `id`.
  [[nodiscard]] Result<Workflow> Get(std::string_view id);
  // Get, and the row stays locked to this transaction until it ends: for a decision that
  // writes the row back (start, cancel, retry). On PostgreSQL (SELECT ... FOR UPDATE) it
  // waits for a concurrent writer of the row and reads what that writer committed, so no
  // status change is lost. SQLite has one writer and needs no lock.
  [[nodiscard]] Result<Workflow> GetForUpdate(std::string_view id);
  [[nodiscard]] Result<Page<Workflow>> List(const WorkflowFilter& f);
  // not_found if no workflow has `id`. A status change happens only along the workflow's
  // transitions (WorkflowStatusesBefore), checked in the UPDATE itself; from any other
  // status nothing changes and the answer is failed_precondition (detail "conflict").
  [[nodiscard]] Result<void> Update(std::string_view id, const WorkflowUpdate& u);
  // Deletes the workflow and (by cascade) its phases, scenes, files rows and events;
  // usage rows stay with workflow_id cleared. Returns the file rows that were deleted so the
  // caller can remove them from disk. not_found if no workflow has `id`.
  [[nodiscard]] Result<std::vector<GeneratedFile>> Delete(std::string_view id);
  // The API's delete: deletes the workflow now when no live lease holds it, otherwise marks
  // it (delete_requested, cancel_requested) and defers to its runner. Marked workflows are
  // invisible: Get, List, Count, Claim and the file reads skip them. not_found if no
  // visible workflow has `id`.
  [[nodiscard]] Result<WorkflowDeletion> RequestDelete(std::string_view id);
  // Whether any row of workflow `id` exists, marked for deletion or not.
  [[nodiscard]] Result<bool> RowExists(std::string_view id);
  // Deletes up to `limit` marked workflows that no live lease holds (`only_id` != "": just
  // that one). Returns what it deleted, so the caller removes the files after the commit.
  [[nodiscard]] Result<std::vector<DeletedWorkflow>> DeleteMarked(int limit,
                                                                  std::string_view only_id = {});
  // Queued workflows and running ones whose lease has expired, oldest first, leased to
  // `owner` until now+lease_ms. Used by the engine; safe across instances. With
  // `max_per_user` > 0, no user ends up with more than that many unfinished workflows
  // under a live lease (on any instance); their other workflows wait. `only_id` != "":
  // just that workflow, if it is claimable (`storyloom run` claims the one it created).
  [[nodiscard]] Result<std::vector<Workflow>> Claim(std::string_view owner, Millis lease_ms,
                                                    int limit, int max_per_user = 0,
                                                    std::string_view only_id = {});
  // Unfinished workflows of `user_id` under a live lease (claimed or running somewhere).
  [[nodiscard]] Result<std::int64_t> CountLeased(std::string_view user_id);
  // Extends the leases `owner` holds on `ids`; returns the ids it still holds.
  [[nodiscard]] Result<std::vector<std::string>> RenewLeases(std::string_view owner,
                                                             const std::vector<std::string>& ids,
                                                             Millis lease_ms);
  [[nodiscard]] Result<void> ReleaseLease(std::string_view id, std::string_view owner);
  // Clears every lease on unfinished workflows (a single SQLite server at start-up).
  [[nodiscard]] Result<std::int64_t> ReleaseAllLeases();
  [[nodiscard]] Result<std::int64_t> Count(std::optional<WorkflowStatus> status,
                                           std::string_view user_id = {});

 private:
  db::Connection& c_;
};

class PhaseRepo {
 public:
  explicit PhaseRepo(db::Connection& c) : c_(c) {}
  // Inserts or replaces the (workflow_id, phase) row.
  [[nodiscard]] Result<void> Upsert(const WorkflowPhase& p);
  [[nodiscard]] Result<std::vector<WorkflowPhase>> List(std::string_view workflow_id);

 private:
  db::Connection& c_;
};

class SceneRepo {
 public:
  explicit SceneRepo(db::Connection& c) : c_(c) {}
  // Adds a scene; already_exists if the workflow has that scene_number.
  [[nodiscard]] Result<Scene> Add(const Scene& s);
  // Updates text fields and file links of the scene with s.id.
  [[nodiscard]] Result<void> Update(const Scene& s);
  [[nodiscard]] Result<std::vector<Scene>> List(std::string_view workflow_id);

 private:
  db::Connection& c_;
};

}  // namespace storyloom
