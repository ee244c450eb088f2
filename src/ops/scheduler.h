// OpsScheduler: the server's background operations: a backup every backup.interval_hours
// (then retention) and a cleanup every cleanup.interval_hours, each skipped when the database
// shows one finished recently (so restarts do not repeat it) and run only under the job's
// lease (ops/job_lease.h), so instances sharing a database never run one job twice at
// once. One thread; Start/Stop from the owning thread.
#pragma once

#include <condition_variable>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

#include "files/file_store.h"
#include "storyloom/store.h"

namespace storyloom::ops {

struct SchedulerOptions {
  int backup_interval_hours = 24;  // 0 = off
  int backup_keep_daily = 7;
  int backup_keep_weekly = 4;
  std::string backups_dir;
  int cleanup_interval_hours = 24;  // 0 = off
  int retention_completed_days = 90;
  int retention_failed_days = 30;
  int retention_usage_days = 400;
  Millis check_every_ms = 60000;
  // The first check waits this long, so start-up (and short-lived test servers) stay quick.
  Millis initial_delay_ms = Millis{5} * 60 * 1000;
  // A job's lease: another instance may start the job after a holder died this long ago.
  Millis job_lease_ms = Millis{6} * 3600 * 1000;
};

class OpsScheduler {
 public:
  OpsScheduler(Store& store, files::FileStore& files, SchedulerOptions options);
  ~OpsScheduler();
  OpsScheduler(const OpsScheduler&) = delete;
  OpsScheduler& operator=(const OpsScheduler&) = delete;

  void Start();
  // Waits for a running job to finish. Idempotent.
  void Stop();
  // One check: runs each job that is due and whose lease it takes (what the thread does
  // every check_every_ms).
  void RunDueJobs();

 private:
  void Loop();
  // True when `job` is due by `last_run` and this instance took its lease (release it).
  bool Due(const char* job, int interval_hours,
           const std::function<Result<std::optional<Millis>>()>& last_run);

  Store& store_;
  files::FileStore& files_;
  SchedulerOptions options_;
  const std::string holder_;  // this scheduler's lease holder id
  std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ = false;  // guarded by mu_
  std::thread thread_;
};

}  // namespace storyloom::ops
