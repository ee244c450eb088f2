#include "ops/scheduler.h"

#include <spdlog/spdlog.h>

#include "core/clock.h"
#include "ops/backup.h"
#include "ops/cleanup.h"

namespace storyloom::ops {

OpsScheduler::OpsScheduler(Store& store, files::FileStore& files, SchedulerOptions options)
    : store_(store), files_(files), options_(std::move(options)) {}

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
    Tick();
    lock.lock();
    cv_.wait_for(lock, std::chrono::milliseconds(options_.check_every_ms),
                 [&] { return stopping_; });
  }
}

void OpsScheduler::Tick() {
  const Millis now = core::WallMillis();
  if (options_.backup_interval_hours > 0) {
    auto last = LastGoodBackup(store_);
    const Millis every = static_cast<Millis>(options_.backup_interval_hours) * 3600 * 1000;
    if (last && (!*last || now - **last >= every)) {
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
    }
  }
  if (options_.cleanup_interval_hours > 0) {
    auto last = LastCleanup(store_);
    const Millis every = static_cast<Millis>(options_.cleanup_interval_hours) * 3600 * 1000;
    if (last && (!*last || now - **last >= every)) {
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
    }
  }
}

}  // namespace storyloom::ops
