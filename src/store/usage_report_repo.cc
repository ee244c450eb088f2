// Usage summed per workflow over a time range, from api_usage (the daily rollup has no
// workflow column). Range scans use api_usage_created_workflow.
#include <fmt/format.h>

#include "db/database.h"
#include "store/rows.h"
#include "store/safe_sum.h"
#include "storyloom/store.h"

namespace storyloom {

using db::Value;

Result<std::vector<WorkflowUsage>> UsageRepo::ByWorkflow(Millis from, Millis to,
                                                         std::string_view user_id) {
  // Saturating sums (store/safe_sum.h): many rows at the input bounds cannot make it fail.
  auto sum = [&](std::string_view col) { return store::SafeSum(c_.dialect(), col); };
  std::string sql = fmt::format(
      "SELECT coalesce(workflow_id, ''), count(*), "
      "sum(CASE WHEN status = 'error' THEN 1 ELSE 0 END), {}, {}, {}, {}, {}, {}, {}, {}, "
      "count(*) - count(cost_nusd) FROM api_usage WHERE created_at >= ?",
      sum("input_tokens"), sum("cached_input_tokens"), sum("output_tokens"),
      sum("reasoning_tokens"), sum("images"), sum("characters"), sum("audio_ms"), sum("cost_nusd"));
  std::vector<Value> params{from};
  if (to > 0) {
    sql += " AND created_at < ?";
    params.emplace_back(to);
  }
  if (!user_id.empty()) {
    sql += " AND user_id = ?";
    params.emplace_back(std::string(user_id));
  }
  sql += " GROUP BY coalesce(workflow_id, '') ORDER BY 11 DESC, 1";
  SL_ASSIGN_OR_RETURN(auto rows, c_.Query(sql, params));
  std::vector<WorkflowUsage> out;
  for (const auto& r : rows) {
    out.push_back({store::UsageTotalsFromRow(r, 1), r.Text(0)});
  }
  return out;
}

}  // namespace storyloom
