#include "engine/workflow_manager.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <cctype>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <thread>

#include "core/clock.h"
#include "core/failpoint.h"
#include "core/ids.h"
#include "engine/pipeline.h"

namespace storyloom::engine {

using nlohmann::json;

namespace {

// Commits `fn` plus one event, then publishes the event.
Result<void> WriteWithEvent(Store& store, EventBus& bus, const std::string& workflow_id,
                            const std::function<Result<void>(StoreTx&)>& fn,
                            const std::string& type, const std::string& data,
                            const std::string& request_id) {
  std::optional<WorkflowEvent> event;
  SL_RETURN_IF_ERROR(store.Write([&](StoreTx& tx) -> Result<void> {
    SL_RETURN_IF_ERROR(fn(tx));
    SL_ASSIGN_OR_RETURN(event, tx.events().Append(workflow_id, type, data, request_id));
    return {};
  }));
  if (event) bus.Publish(*event);
  return {};
}

}  // namespace

WorkflowManager::WorkflowManager(Store& store, files::FileStore& files, EventBus& bus,
                                 UsageRecorder& usage, ProviderResolver providers,
                                 ManagerOptions options)
    : store_(store),
      files_(files),
      bus_(bus),
      usage_(usage),
      providers_(std::move(providers)),
      options_(std::move(options)) {
  if (options_.instance_id.empty()) options_.instance_id = "node-" + core::RandomHex(6);
}

WorkflowManager::~WorkflowManager() { Stop(); }

void WorkflowManager::Start() {
  {
    std::lock_guard lock(mu_);
    if (started_ || options_.workers <= 0) return;
    started_ = true;
  }
  if (options_.release_leases_on_start) {
    auto r = store_.Write([](StoreTx& tx) -> Result<void> {
      SL_RETURN_IF_ERROR(tx.workflows().ReleaseAllLeases());
      return {};
    });
    if (!r) spdlog::warn("could not release stale leases: {}", r.error().message);
  }
  (void)FinishDeletes();        // left by an instance that died before finishing them
  (void)SweepDeletedFolders();  // files of deletes a crash interrupted after their commit
  threads_.emplace_back([this] { SchedulerLoop(); });
  threads_.emplace_back([this] { HeartbeatLoop(); });
  if (options_.listen_for_work && store_.capabilities().notifications) {
    threads_.emplace_back([this] { ListenLoop(); });
  }
  for (int i = 0; i < options_.workers; ++i) threads_.emplace_back([this] { WorkerLoop(); });
  spdlog::info("workflow engine {} started with {} workers", options_.instance_id,
               options_.workers);
}

void WorkflowManager::Stop() {
  {
    std::lock_guard lock(mu_);
    if (stopping_) return;
    stopping_ = true;
    stopping_flag_.store(true);
    for (auto& [id, flag] : active_) flag->store(true);
  }
  cv_.notify_all();
  for (auto& t : threads_) {
    if (t.joinable()) t.join();
  }
  threads_.clear();
  // Workflows claimed but never started go back to the queue at once.
  std::vector<Workflow> unstarted;
  {
    std::lock_guard lock(mu_);
    unstarted.swap(ready_);
  }
  for (const auto& w : unstarted)
    (void)store_.Write(
        [&](StoreTx& tx) { return tx.workflows().ReleaseLease(w.id, options_.instance_id); });
}

void WorkflowManager::Notify() { cv_.notify_all(); }

int WorkflowManager::running() const {
  std::lock_guard lock(mu_);
  return static_cast<int>(active_.size());
}

bool WorkflowManager::idle() const {
  std::lock_guard lock(mu_);
  return active_.empty() && ready_.empty();
}

namespace {

// Checks a create request; returns its options, parsed and written back as JSON.
Result<std::string> ValidatedOptions(const CreateRequest& req, bool video_default) {
  SL_ASSIGN_OR_RETURN(WorkflowOptions opts, ParseWorkflowOptions(req.options_json));
  if (!opts.video) opts.video = video_default;  // stored, so a resume does what was asked
  if (req.prompt.find_first_not_of(" \t\r\n") == std::string::npos) {
    return Fail(Error::InvalidArgument("prompt must not be empty", "prompt"));
  }
  if (req.prompt.size() > 10000) {
    return Fail(Error::InvalidArgument("prompt must be at most 10000 bytes", "prompt"));
  }
  if (req.title.size() > 300) {
    return Fail(Error::InvalidArgument("title must be at most 300 bytes", "title"));
  }
  if (req.idempotency_key.size() > 200) {
    return Fail(Error::InvalidArgument("Idempotency-Key must be at most 200 characters",
                                       "Idempotency-Key"));
  }
  return opts.ToJson();
}

// What a create writes in its transaction: the workflow and, when it is new, its "queued"
// event.
struct CreateWrite {
  CreateRequest req;
  std::string options;
  std::optional<CreateResult> out;
  std::optional<WorkflowEvent> event;
  std::string owner;  // != "": claim the new workflow for this instance
  Millis lease_ms = 0;
  std::optional<Workflow> claimed;
  std::optional<std::int64_t> default_quota;

  Result<void> operator()(StoreTx& tx) {
    out.reset();
    event.reset();
    claimed.reset();
    SL_ASSIGN_OR_RETURN(out, tx.workflows().Create({req.user_id, req.prompt, req.title, options,
                                                    req.idempotency_key}));
    if (out->created) {
      // A new workflow of a user whose files already fill their quota could keep nothing.
      SL_ASSIGN_OR_RETURN(StorageUse use, tx.storage().UseIfLimited(req.user_id, default_quota));
      if (use.quota && use.bytes >= *use.quota) {
        return Fail(Error::QuotaExceeded(
            fmt::format("the storage quota of {} bytes is used up ({} bytes in {} files); "
                        "delete files or ask an administrator to raise it",
                        *use.quota, use.bytes, use.files)));
      }
      SL_ASSIGN_OR_RETURN(
          event, tx.events().Append(out->workflow.id, "status", json{{"status", "queued"}}.dump(),
                                    req.request_id));
    }
    if (!owner.empty()) {
      SL_ASSIGN_OR_RETURN(auto got, tx.workflows().Claim(owner, lease_ms, 1, 0, out->workflow.id));
      if (got.empty()) {
        return Fail(
            Error::FailedPrecondition(fmt::format("workflow {} is {} or held by another instance",
                                                  out->workflow.id, ToString(out->workflow.status)),
                                      "conflict"));
      }
      claimed = std::move(got.front());
    }
    return {};
  }
};

}  // namespace

Result<CreateResult> WorkflowManager::Create(const CreateRequest& req) {
  SL_ASSIGN_OR_RETURN(std::string options, ValidatedOptions(req, options_.video_default));
  CreateWrite w{req, std::move(options), {}, {},
                {},  options_.lease_ms,  {}, options_.default_storage_quota};
  if (req.claim) w.owner = options_.instance_id;
  SL_RETURN_IF_ERROR(store_.Write([&](StoreTx& tx) { return w(tx); }));
  if (w.event) bus_.Publish(*w.event);
  if (w.claimed) {
    std::lock_guard lock(mu_);
    ready_.push_back(std::move(*w.claimed));
  }
  Notify();
  return std::move(*w.out);
}

Result<void> WorkflowManager::CreateAsync(const CreateRequest& req,
                                          std::function<void(Result<CreateResult>)> done) {
  SL_ASSIGN_OR_RETURN(std::string options, ValidatedOptions(req, options_.video_default));
  auto w = std::make_shared<CreateWrite>(
      CreateWrite{req, std::move(options), {}, {}, {}, 0, {}, options_.default_storage_quota});
  return store_.WriteAsync([w](StoreTx& tx) { return (*w)(tx); },
                           [this, w, done = std::move(done)](Result<void> r) {
                             if (!r) return done(Fail(r.error()));
                             if (w->event) bus_.Publish(*w->event);
                             Notify();
                             done(std::move(*w->out));
                           });
}

Result<Workflow> WorkflowManager::Cancel(const std::string& id, const std::string& request_id) {
  SL_ASSIGN_OR_RETURN(Workflow w, store_.GetWorkflow(id));
  if (IsTerminal(w.status)) {
    return Fail(Error::FailedPrecondition(
        fmt::format("workflow {} is already {}", id, ToString(w.status)), "conflict"));
  }
  if (w.status == WorkflowStatus::kQueued) {
    // Not running anywhere (or only claimed): cancel it outright unless a worker got it.
    bool done = false;
    SL_RETURN_IF_ERROR(WriteWithEvent(
        store_, bus_, id,
        [&](StoreTx& tx) -> Result<void> {
          SL_ASSIGN_OR_RETURN(Workflow cur, tx.workflows().GetForUpdate(id));
          WorkflowUpdate u;
          if (cur.status == WorkflowStatus::kQueued) {
            u.status = WorkflowStatus::kCancelled;
            u.finished_at = std::optional<Millis>(core::WallMillis());
            done = true;
          } else {
            u.cancel_requested = true;
          }
          return tx.workflows().Update(id, u);
        },
        "status", json{{"status", "cancelled"}}.dump(), request_id));
    if (done) {
      std::lock_guard lock(mu_);
      std::erase_if(ready_, [&](const Workflow& r) { return r.id == id; });
    }
  } else {
    WorkflowUpdate u;
    u.cancel_requested = true;
    SL_RETURN_IF_ERROR(store_.UpdateWorkflow(id, u));
  }
  {
    std::lock_guard lock(mu_);
    if (auto it = active_.find(id); it != active_.end()) it->second->store(true);
  }
  return store_.GetWorkflow(id);
}

Result<Workflow> WorkflowManager::Retry(const std::string& id, const std::string& request_id) {
  SL_RETURN_IF_ERROR(WriteWithEvent(
      store_, bus_, id,
      [&](StoreTx& tx) -> Result<void> {
        SL_ASSIGN_OR_RETURN(Workflow w, tx.workflows().GetForUpdate(id));
        if (w.status != WorkflowStatus::kFailed && w.status != WorkflowStatus::kCancelled) {
          return Fail(Error::FailedPrecondition(
              fmt::format("only failed or cancelled workflows can be retried; this one is {}",
                          ToString(w.status)),
              "conflict"));
        }
        SL_ASSIGN_OR_RETURN(auto phases, tx.phases().List(id));
        for (WorkflowPhase p : phases) {
          if (p.status == PhaseStatus::kFailed || p.status == PhaseStatus::kRunning) {
            p.status = PhaseStatus::kPending;
            p.error.clear();
            p.finished_at.reset();
            SL_RETURN_IF_ERROR(tx.phases().Upsert(p));
          }
        }
        WorkflowUpdate u;
        u.status = WorkflowStatus::kQueued;
        u.error_code = "";
        u.error_message = "";
        u.cancel_requested = false;
        u.attempt = w.attempt + 1;
        u.finished_at = std::optional<Millis>();
        return tx.workflows().Update(id, u);
      },
      "status", json{{"status", "queued"}, {"retry", true}}.dump(), request_id));
  Notify();
  return store_.GetWorkflow(id);
}

namespace {

// Removes the files of a deleted workflow, and anything else left in its folder (a file
// a stopped run wrote but never tracked, an upload that lost its race with the delete).
void RemoveWorkflowFiles(files::FileStore& files, const std::string& id,
                         const std::vector<GeneratedFile>& rows) {
  for (const auto& f : rows) {
    if (auto r = files.Remove(f.file_path); !r) {
      spdlog::warn("could not remove {}: {}", f.file_path, r.error().message);
    }
  }
  if (auto r = files.RemoveTree(id); !r) {
    spdlog::warn("could not remove the folder of workflow {}: {}", id, r.error().message);
  }
}

}  // namespace

Result<void> WorkflowManager::Delete(const std::string& id) {
  SL_ASSIGN_OR_RETURN(WorkflowDeletion d, store_.WriteOne<WorkflowDeletion>([&](StoreTx& tx) {
    return tx.workflows().RequestDelete(id);
  }));
  if (d.deferred) {
    // A run holds it: stop it at the next step boundary if it is ours; its runner deletes
    // it when it stops (WorkflowManager::Run), wherever it runs.
    std::lock_guard lock(mu_);
    if (auto it = active_.find(id); it != active_.end()) it->second->store(true);
    return {};
  }
  // Rows first, then files: a crash in between leaves orphans that cleanup quarantines,
  // never a row pointing at nothing.
  RemoveWorkflowFiles(files_, id, d.files);
  return {};
}

namespace {

// "0190aaaa-0000-7000-8000-000000000000": the shape of the ids workflows' folders are named by.
bool LooksLikeWorkflowId(std::string_view name) {
  if (name.size() != 36) return false;
  for (std::size_t i = 0; i < name.size(); ++i) {
    const char c = name[i];
    const bool dash = i == 8 || i == 13 || i == 18 || i == 23;
    if (dash ? c != '-' : !std::isxdigit(static_cast<unsigned char>(c))) return false;
  }
  return true;
}

}  // namespace

int WorkflowManager::SweepDeletedFolders() {
  std::vector<std::string> candidates;  // listed before the rows are read (rows come first)
  std::error_code ec;
  for (const auto& e : std::filesystem::directory_iterator(files_.root(), ec)) {
    const std::string name = e.path().filename().string();
    std::error_code tec;
    if (e.is_directory(tec) && !e.is_symlink(tec) && LooksLikeWorkflowId(name)) {
      candidates.push_back(name);
    }
  }
  int removed = 0;
  for (const auto& id : candidates) {
    auto exists = store_.ReadOne<bool>([&](StoreTx& tx) { return tx.workflows().RowExists(id); });
    if (!exists) {
      spdlog::warn("could not check workflow {} for a leftover folder: {}", id,
                   exists.error().message);
      continue;
    }
    if (*exists) continue;
    if (auto r = files_.RemoveTree(id); !r) {
      spdlog::warn("could not remove the folder of deleted workflow {}: {}", id, r.error().message);
      continue;
    }
    ++removed;
  }
  if (removed > 0) spdlog::info("removed the folders of {} deleted workflows", removed);
  return removed;
}

int WorkflowManager::FinishDeletes() {
  auto done = store_.WriteOne<std::vector<DeletedWorkflow>>(
      [&](StoreTx& tx) { return tx.workflows().DeleteMarked(50); });
  if (!done) {
    spdlog::warn("finishing deletes failed: {}", done.error().message);
    return 0;
  }
  for (const auto& dw : *done) {
    spdlog::info("workflow {} deleted after its run stopped", dw.id);
    RemoveWorkflowFiles(files_, dw.id, dw.files);
  }
  return static_cast<int>(done->size());
}

void WorkflowManager::SchedulerLoop() {
  std::unique_lock lock(mu_);
  while (!stopping_) {
    const int busy = static_cast<int>(active_.size() + ready_.size());
    const int free_slots = options_.workers - busy;
    if (free_slots > 0 && options_.claim_queued) {
      lock.unlock();
      auto claimed = store_.WriteOne<std::vector<Workflow>>([&](StoreTx& tx) {
        return tx.workflows().Claim(options_.instance_id, options_.lease_ms, free_slots,
                                    options_.max_running_per_user);
      });
      lock.lock();
      if (!claimed) {
        spdlog::warn("claiming workflows failed: {}", claimed.error().message);
      } else if (!claimed->empty()) {
        for (auto& w : *claimed) ready_.push_back(std::move(w));
        cv_.notify_all();
        continue;  // there may be more
      }
    }
    cv_.wait_for(lock, std::chrono::milliseconds(options_.poll_ms));
  }
}

void WorkflowManager::ListenLoop() {
  auto listener = store_.Listen("storyloom_queue");
  if (!listener) {
    spdlog::warn("cannot LISTEN for queued work ({}); polling every {} ms",
                 listener.error().message, options_.poll_ms);
    return;
  }
  bool warned = false;
  while (!stopping_flag_.load()) {
    // Short waits, so Stop is noticed within half a second.
    auto got = (*listener)->Wait(std::chrono::milliseconds(500));
    if (!got) {
      if (!warned) spdlog::warn("queue notifications: {}; polling", got.error().message);
      warned = true;
      continue;
    }
    if (warned) Notify();  // reconnected: notifications may have been missed
    warned = false;
    if (!got->empty()) Notify();
  }
}

void WorkflowManager::HeartbeatLoop() {
  std::unique_lock lock(mu_);
  while (!stopping_) {
    // Every lease_ms / 3, not at every wake-up of the shared condition variable.
    const auto due =
        std::chrono::steady_clock::now() + std::chrono::milliseconds(options_.lease_ms / 3);
    cv_.wait_until(lock, due, [&] { return stopping_; });
    if (stopping_) break;
    std::vector<std::string> ids;
    ids.reserve(active_.size() + ready_.size());
    for (const auto& [id, flag] : active_) ids.push_back(id);
    for (const auto& w : ready_) ids.push_back(w.id);
    lock.unlock();
    // Deletes whose runner died (its lease expired) are finished by whoever notices first.
    (void)FinishDeletes();
    lock.lock();
    if (ids.empty() || stopping_) continue;
    lock.unlock();
    auto held = store_.WriteOne<std::vector<std::string>>([&](StoreTx& tx) {
      return tx.workflows().RenewLeases(options_.instance_id, ids, options_.lease_ms);
    });
    lock.lock();
    if (!held) continue;
    // A lease we lost (another instance took over) means we must stop writing at once.
    for (const auto& id : ids) {
      if (std::find(held->begin(), held->end(), id) == held->end()) {
        if (auto it = active_.find(id); it != active_.end()) {
          spdlog::warn("lost the lease on workflow {}; stopping it here", id);
          it->second->store(true);
        }
      }
    }
  }
}

void WorkflowManager::WorkerLoop() {
  std::unique_lock lock(mu_);
  for (;;) {
    cv_.wait(lock, [&] { return stopping_ || !ready_.empty(); });
    if (stopping_) return;
    Workflow w = std::move(ready_.front());
    ready_.erase(ready_.begin());
    auto flag = std::make_shared<std::atomic<bool>>(false);
    active_[w.id] = flag;
    lock.unlock();
    Run(w);
    lock.lock();
    active_.erase(w.id);
    cv_.notify_all();  // a slot is free
  }
}

void WorkflowManager::Run(const Workflow& w) {
  std::shared_ptr<std::atomic<bool>> flag;
  {
    std::lock_guard lock(mu_);
    flag = active_[w.id];
  }
  // Failpoint engine.after_claim_ms=N: a pause between the claim and the start, where a
  // test breaks the database connections (tests/storage_fault_test.cc).
  if (auto pause = FailpointArg("engine.after_claim_ms")) {
    std::this_thread::sleep_for(std::chrono::milliseconds(std::atoi(pause->c_str())));
  }
  auto opts = ParseWorkflowOptions(w.options_json);
  auto provider = opts ? providers_(*opts) : Result<providers::Provider*>(Fail(opts.error()));
  if (!provider) {
    (void)WriteWithEvent(
        store_, bus_, w.id,
        [&](StoreTx& tx) {
          WorkflowUpdate u;
          u.status = WorkflowStatus::kFailed;
          u.error_code = "invalid_options";
          u.error_message = provider.error().message;
          u.finished_at = std::optional<Millis>(core::WallMillis());
          return tx.workflows().Update(w.id, u);
        },
        "status", json{{"status", "failed"}}.dump(), "");
    (void)store_.Write(
        [&](StoreTx& tx) { return tx.workflows().ReleaseLease(w.id, options_.instance_id); });
    return;
  }
  Pipeline pipeline({store_, files_, bus_, usage_, **provider, options_.default_storage_quota}, w,
                    flag.get(), &stopping_flag_);
  auto outcome = pipeline.Run();
  if (!outcome) {
    spdlog::error("workflow {} stopped: {}", w.id, outcome.error().message);
    if (outcome.error().IsStorageFault()) {
      // A full disk or an I/O error: keep the lease, so the workflow is tried again when it
      // expires (lease_ms), not at once in a loop against the same fault.
      spdlog::warn("workflow {} resumes in {} ms (storage fault)", w.id, options_.lease_ms);
      return;
    }
  }
  // Release the lease so a restart or another instance resumes at once, and, in the same
  // transaction, finish a delete that was requested while this run held the workflow.
  std::vector<DeletedWorkflow> deleted;
  auto released = store_.Write([&](StoreTx& tx) -> Result<void> {
    SL_RETURN_IF_ERROR(tx.workflows().ReleaseLease(w.id, options_.instance_id));
    SL_ASSIGN_OR_RETURN(deleted, tx.workflows().DeleteMarked(1, w.id));
    return {};
  });
  if (!released)
    spdlog::warn("workflow {}: releasing the lease failed: {}", w.id, released.error().message);
  for (const auto& dw : deleted) {
    spdlog::info("workflow {} deleted after its run stopped", dw.id);
    RemoveWorkflowFiles(files_, dw.id, dw.files);
  }
}

}  // namespace storyloom::engine
