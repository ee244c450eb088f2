#include "ops/job_lease.h"

#include "core/clock.h"
#include "db/database.h"

namespace storyloom::ops {

using db::Value;

Result<bool> TryTakeJobLease(Store& store, const std::string& job, const std::string& holder,
                             Millis ttl_ms) {
  const Millis now = core::WallMillis();
  // One statement on both backends: insert, or take over a lease that has expired or is
  // already ours. On PostgreSQL a racing upsert waits for the row lock and then re-checks
  // the WHERE against the winner's row, so exactly one instance changes it.
  const Value v[] = {job, holder, now + ttl_ms, now, holder};
  return db::WriteValue<bool>(store.database(), [&](db::Connection& c) -> Result<bool> {
    SL_ASSIGN_OR_RETURN(auto changed,
                        c.Exec("INSERT INTO job_leases (name, holder, expires_at) VALUES (?, ?, ?) "
                               "ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, "
                               "expires_at = excluded.expires_at "
                               "WHERE job_leases.expires_at <= ? OR job_leases.holder = ?",
                               v));
    return changed == 1;
  });
}

Result<void> ReleaseJobLease(Store& store, const std::string& job, const std::string& holder) {
  const Value v[] = {job, holder};
  return store.database().Write([&](db::Connection& c) -> Result<void> {
    SL_RETURN_IF_ERROR(c.Exec("DELETE FROM job_leases WHERE name = ? AND holder = ?", v));
    return {};
  });
}

}  // namespace storyloom::ops
