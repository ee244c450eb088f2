#include "api/admin_views.h"

#include <algorithm>

#include "api/json_views.h"
#include "engine/pricing.h"

namespace storyloom::api {

using nlohmann::json;

json UsdOrNull(const std::optional<NanoUsd>& v) {
  return v ? json(engine::FormatNanoUsd(*v)) : json(nullptr);
}

json BackupJson(const BackupRecord& b) {
  return {{"id", b.id},
          {"path", b.path},
          {"kind", b.kind},
          {"status", b.status},
          {"size_bytes", b.size_bytes},
          {"files", b.files},
          {"manifest_sha256", b.manifest_sha256.empty() ? json(nullptr) : json(b.manifest_sha256)},
          {"error", b.error.empty() ? json(nullptr) : json(b.error)},
          {"created_at", TimeJson(b.created_at)},
          {"finished_at", TimeJson(b.finished_at)}};
}

json CleanupJson(const ops::CleanupReport& r, const ops::CleanupOptions& o) {
  json items = json::array();
  for (const auto& w : r.workflows) {
    items.push_back({{"id", w.workflow_id},
                     {"status", w.status},
                     {"finished_at", TimeJson(w.finished_at)},
                     {"files", w.files},
                     {"bytes", w.bytes}});
  }
  return {{"dry_run", o.dry_run},
          {"workflows", items},
          {"files", r.files},
          {"bytes", r.bytes},
          {"usage_rows", r.usage_rows},
          {"sessions", r.sessions},
          {"file_errors", r.file_errors},
          {"vacuumed_pages", r.vacuumed_pages},
          {"policy",
           {{"completed_days", o.completed_days},
            {"failed_days", o.failed_days},
            {"usage_days", o.usage_days}}}};
}

json BudgetJson(const engine::BudgetStatus& st) {
  json j = {{"period", st.period},
            {"monthly_usd", UsdOrNull(st.limits.hard_nusd)},
            {"soft_usd", UsdOrNull(st.limits.soft_nusd)},
            {"spent_usd", engine::FormatNanoUsd(st.spent_nusd)},
            {"reserved_usd", engine::FormatNanoUsd(st.reserved_nusd)},
            {"spent_nusd", st.spent_nusd},
            {"reserved_nusd", st.reserved_nusd}};
  j["remaining_usd"] =
      st.limits.hard_nusd
          ? UsdOrNull(std::max<NanoUsd>(
                0, *st.limits.hard_nusd - engine::SaturatingAdd(st.spent_nusd, st.reserved_nusd)))
          : json(nullptr);
  return j;
}

json UserBudgetJson(const User& user, const engine::BudgetStatus& st) {
  json j = BudgetJson(st);
  j["user_id"] = user.id;
  j["username"] = user.username;
  return j;
}

}  // namespace storyloom::api
