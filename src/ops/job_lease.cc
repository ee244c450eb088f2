#include "ops/job_lease.h"

#include "core/clock.h"

namespace storyloom::ops {

Result<bool> TryTakeJobLease(Store& store, const std::string& job, const std::string& holder,
                             Millis ttl_ms) {
  const Millis now = core::WallMillis();
  return store.WriteOne<bool>(
      [&](StoreTx& tx) { return tx.job_leases().TryTake(job, holder, now, ttl_ms); });
}

Result<void> ReleaseJobLease(Store& store, const std::string& job, const std::string& holder) {
  return store.Write([&](StoreTx& tx) { return tx.job_leases().Release(job, holder); });
}

}  // namespace storyloom::ops
