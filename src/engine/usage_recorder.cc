#include "engine/usage_recorder.h"

namespace storyloom::engine {

Result<void> UsageRecorder::Reserve(const ApiUsage&) { return {}; }

Result<void> UsageRecorder::Record(ApiUsage& u) {
  // Offline calls cost exactly nothing; other providers' prices come from the price table.
  if (u.provider == "offline") {
    u.cost_nusd = 0;
    u.cost_source = "offline";
  }
  SL_ASSIGN_OR_RETURN(ApiUsage saved, store_.RecordUsage(u));
  u = saved;
  return {};
}

}  // namespace storyloom::engine
