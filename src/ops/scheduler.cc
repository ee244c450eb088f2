#include "ops/scheduler.h"

#include <spdlog/spdlog.h>

#include "core/clock.h"
#include "core/ids.h"
#include "ops/backup.h"
#include "ops/cleanup.h"
#include "ops/job_lease.h"

namespace storyloom::ops {

OpsScheduler::OpsScheduler(Store& store, files::FileStore& files, SchedulerOptions options)
    : store_(store), files_(files), options_(std::move(options)), holder_(core::NewId()) {}

OpsScheduler::~OpsScheduler() { Stop(); }

void OpsScheduler::Start() {
  if (options_.backup_interval_hours <= 0 && options_.cleanup_interval_hours <= 0) return;
  if (thread_.joinable()) return;
  thread_ = std::thread([this] { Loop(); });
}

void OpsScheduler::Stop() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void OpsScheduler::Loop() {
  std::unique_lock lock(mu_);
  cv_.wait_for(lock, std::chrono::milliseconds(options_.initial_delay_ms),
               [&] { return stopping_; });
  while (!stopping_) {
    lock.unlock();
    RunDueJobs();
    lock.lock();
    cv_.wait_for(lock, std::chrono::milliseconds(options_.check_every_ms),
                 [&] { return stopping_; });
  }
}

bool OpsScheduler::Due(const char* job, int interval_hours,
                       const std::function<Result<std::optional<Millis>>()>& last_run) {
  if (interval_hours <= 0) return false;
  const Millis every = static_cast<Millis>(interval_hours) * 3600 * 1000;
  auto due = [&] {
    auto last = last_run();
    return last && (!*last || core::WallMillis() - **last >= every);
  };
  if (!due()) return false;
  auto taken = TryTakeJobLease(store_, job, holder_, options_.job_lease_ms);
  if (!taken) {
    spdlog::warn("scheduled {}: cannot take its lease: {}", job, taken.error().message);
    return false;
  }
  if (!*taken) return false;  // another instance is running it
  // Another instance may have finished it between the first look and the lease.
  if (due()) return true;
  (void)ReleaseJobLease(store_, job, holder_);
  return false;
}

void OpsScheduler::RunDueJobs() {
  if (Due("backup", options_.backup_interval_hours, [&] { return LastGoodBackup(store_); })) {
    BackupOptions o;
    o.backups_dir = options_.backups_dir;
    o.kind = "scheduled";
    auto r = CreateBackup(store_, files_, o);
    if (r) {
      spdlog::info("scheduled backup {} ({} files)", r->path, r->files);
      auto kept =
          ApplyBackupRetention(store_, options_.backup_keep_daily, options_.backup_keep_weekly);
      if (kept) {
        for (const auto& p : kept->removed) spdlog::info("backup retention removed {}", p);
      } else {
        spdlog::warn("backup retention: {}", kept.error().message);
      }
    } else {
      spdlog::error("scheduled backup failed: {}", r.error().message);
    }
    (void)ReleaseJobLease(store_, "backup", holder_);
  }
  if (Due("cleanup", options_.cleanup_interval_hours, [&] { return LastCleanup(store_); })) {
    CleanupOptions o;
    o.completed_days = options_.retention_completed_days;
    o.failed_days = options_.retention_failed_days;
    o.usage_days = options_.retention_usage_days;
    auto r = RunCleanup(store_, files_, o);
    if (r) {
      spdlog::info("scheduled cleanup: {} workflows, {} files, {} bytes, {} usage rows",
                   r->workflows.size(), r->files, r->bytes, r->usage_rows);
    } else {
      spdlog::error("scheduled cleanup failed: {}", r.error().message);
    }
    (void)ReleaseJobLease(store_, "cleanup", holder_);
  }
}

}  // namespace storyloom::ops
