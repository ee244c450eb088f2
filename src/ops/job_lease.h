// Job leases: background jobs that must run on one instance at a time (scheduled backups
// and cleanups) run only while their instance holds the job's row in job_leases. A lease
// is taken when absent or expired, so a crashed holder blocks the job for at most `ttl`.
// Thread-safe (every call is one database transaction).
#pragma once

#include <string>

#include "storyloom/store.h"

namespace storyloom::ops {

// Takes the lease on `job` for `holder` until now + `ttl_ms`. Returns true when taken
// (also when `holder` already held it), false when another holder's lease is unexpired.
[[nodiscard]] Result<bool> TryTakeJobLease(Store& store, const std::string& job,
                                           const std::string& holder, Millis ttl_ms);

// Gives the lease back if `holder` still holds it.
[[nodiscard]] Result<void> ReleaseJobLease(Store& store, const std::string& job,
                                           const std::string& holder);

}  // namespace storyloom::ops
