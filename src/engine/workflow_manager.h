// WorkflowManager: creates, runs, cancels, retries and deletes workflows. Queued workflows
// are claimed with a lease and run on a bounded pool of worker threads through the phase
// pipeline; every step commits atomically with its events, so a process that dies
// mid-workflow is resumed (by itself after a restart, or by another instance once the
// lease expires) at the first unfinished step. On PostgreSQL the scheduler also wakes when
// any instance queues work (LISTEN storyloom_queue). Thread-safe.
#pragma once

#include <atomic>
#include <condition_variable>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "engine/event_bus.h"
#include "engine/usage_recorder.h"
#include "engine/workflow_options.h"
#include "files/file_store.h"
#include "providers/provider.h"
#include "storyloom/store.h"

namespace storyloom::engine {

struct ManagerOptions {
  int workers = 2;          // 0: run nothing (API-only instance)
  std::string instance_id;  // "" = generated
  Millis lease_ms = 30000;
  Millis poll_ms = 1000;  // how often to look for queued work
  // On PostgreSQL, LISTEN on storyloom_queue (migration 0007) and look at once when another
  // instance queues or releases work; the poll stays as the fallback.
  bool listen_for_work = true;
  int max_running_per_user = 0;  // 0 = unlimited
  // Release every lease at start: right for SQLite, where one server owns the file, so
  // work left running by a dead process resumes at once instead of after the lease.
  bool release_leases_on_start = false;
  // options.video of a workflow created without it (config `video.default`).
  bool video_default = true;
  // false: the scheduler claims nothing; the workers run only what Create claimed with
  // CreateRequest::claim (`storyloom run` beside a server: its one workflow, never others).
  bool claim_queued = true;
  // The storage quota of a user without one of their own (config storage.default_quota):
  // a create by a user at or over their quota is refused (507), and a phase that would go
  // over it fails the workflow (retry once there is room).
  std::optional<std::int64_t> default_storage_quota;
};

struct CreateRequest {
  std::string user_id;
  std::string prompt;
  std::string title;
  std::string options_json;  // validated by ParseWorkflowOptions
  std::string idempotency_key;
  std::string request_id;
  // Create only: lease the new workflow to this instance in the same transaction, so no
  // other instance can claim it first, and hand it to this manager's workers.
  bool claim = false;
};

// Resolves the provider for a workflow's options ("" = default).
using ProviderResolver = std::function<Result<providers::Provider*>(const WorkflowOptions&)>;

class WorkflowManager {
 public:
  WorkflowManager(Store& store, files::FileStore& files, EventBus& bus, UsageRecorder& usage,
                  ProviderResolver providers, ManagerOptions options);
  ~WorkflowManager();
  WorkflowManager(const WorkflowManager&) = delete;
  WorkflowManager& operator=(const WorkflowManager&) = delete;

  // Starts the scheduler, heartbeat and workers.
  void Start();
  // Stops taking work, asks running workflows to stop at the next step boundary, waits for
  // them and releases their leases so they resume later. Idempotent.
  void Stop();

  // Validates and queues a workflow; with a known idempotency key returns the earlier one.
  [[nodiscard]] Result<CreateResult> Create(const CreateRequest& req);
  // The same without holding the calling thread: validates at once (an error is returned
  // and `done` never called), then the workflow joins the database's next group commit
  // and `done` gets the result once it is durable, on the database's writer thread (see
  // Store::WriteAsync: keep it short). Refused (overloaded) when too many creates wait. The
  // manager must outlive the completion: stop the HTTP server, which waits for the
  // responses it has in flight, before the manager.
  [[nodiscard]] Result<void> CreateAsync(const CreateRequest& req,
                                         std::function<void(Result<CreateResult>)> done);
  // Cancels a queued or running workflow (running ones stop at the next step boundary).
  // failed_precondition if it already finished.
  [[nodiscard]] Result<Workflow> Cancel(const std::string& id, const std::string& request_id = "");
  // Requeues a failed or cancelled workflow; it resumes at the step that did not finish.
  // failed_precondition if it is queued, running or completed.
  [[nodiscard]] Result<Workflow> Retry(const std::string& id, const std::string& request_id = "");
  // Deletes the workflow's rows and files, without waiting for a run: a workflow that no
  // run holds goes at once; one that a run holds (here or on another instance) is marked,
  // vanishes from the API at once, and its runner deletes it when the run stops (any
  // instance's heartbeat finishes it if that runner died). not_found if absent.
  [[nodiscard]] Result<void> Delete(const std::string& id);
  // Deletes marked workflows whose runner is gone (no live lease); returns how many.
  int FinishDeletes();
  // Removes the folders under save_outputs/ named by a workflow id that has no row any more:
  // what a crash between a delete's commit and its file removal left. Safe beside running
  // instances: a workflow's row is always committed before anything is written to its
  // folder. Returns how many folders went.
  int SweepDeletedFolders();

  // Wakes the scheduler (after a create).
  void Notify();
  const std::string& instance_id() const { return options_.instance_id; }
  int running() const;
  // No workflow claimed or running here.
  bool idle() const;

 private:
  void SchedulerLoop();
  void HeartbeatLoop();
  void ListenLoop();
  void WorkerLoop();
  void Run(const Workflow& w);

  Store& store_;
  files::FileStore& files_;
  EventBus& bus_;
  UsageRecorder& usage_;
  ProviderResolver providers_;
  ManagerOptions options_;

  mutable std::mutex mu_;
  std::condition_variable cv_;              // scheduler wake-ups and queue changes
  bool stopping_ = false;                   // guarded by mu_
  std::atomic<bool> stopping_flag_{false};  // stopping_, readable without mu_
  bool started_ = false;                    // guarded by mu_
  std::vector<Workflow> ready_;             // claimed, waiting for a worker; guarded by mu_
  std::map<std::string, std::shared_ptr<std::atomic<bool>>> active_;  // guarded by mu_
  std::vector<std::thread> threads_;
};

}  // namespace storyloom::engine
