// Workflow events (the timeline behind SSE) and the audit log.
#include <fmt/format.h>

#include "core/clock.h"
#include "db/database.h"
#include "store/rows.h"
#include "storyloom/store.h"

namespace storyloom {

using db::Value;

Result<WorkflowEvent> EventRepo::Append(std::string_view workflow_id, std::string_view type,
                                        std::string_view data_json, std::string_view request_id) {
  WorkflowEvent e;
  e.workflow_id = std::string(workflow_id);
  e.type = std::string(type);
  e.data_json = data_json.empty() ? "{}" : std::string(data_json);
  e.created_at = core::WallMillis();
  const Value v[] = {e.workflow_id, e.type, e.data_json, db::TextOrNull(request_id), e.created_at};
  auto row = c_.QueryOne(
      "INSERT INTO workflow_events (workflow_id, type, data, request_id, created_at) "
      "VALUES (?, ?, ?, ?, ?) RETURNING id",
      v);
  if (!row) {
    if (row.error().IsForeignKey()) {
      return Fail(Error::NotFound(fmt::format("workflow {} does not exist", workflow_id)));
    }
    return Fail(row.error());
  }
  e.id = row->Int(0);
  return e;
}

Result<std::vector<WorkflowEvent>> EventRepo::List(std::string_view workflow_id,
                                                   std::int64_t after_id, int limit) {
  const Value v[] = {std::string(workflow_id), after_id, std::int64_t{limit < 1 ? 1 : limit}};
  SL_ASSIGN_OR_RETURN(auto rows, c_.Query("SELECT id, workflow_id, type, data, created_at FROM "
                                          "workflow_events WHERE workflow_id = ? AND id > ? "
                                          "ORDER BY id LIMIT ?",
                                          v));
  std::vector<WorkflowEvent> out;
  for (const auto& r : rows) {
    out.push_back({r.Int(0), r.Text(1), r.Text(2), r.Text(3), r.Int(4)});
  }
  return out;
}

Result<void> AuditRepo::Append(const AuditEntry& e) {
  const Value v[] = {db::TextOrNull(e.user_id),
                     e.action,
                     e.target,
                     e.detail_json.empty() ? std::string("{}") : e.detail_json,
                     e.remote_addr,
                     e.created_at ? e.created_at : core::WallMillis()};
  SL_RETURN_IF_ERROR(
      c_.Exec("INSERT INTO audit_log (user_id, action, target, detail, "
              "remote_addr, created_at) VALUES (?, ?, ?, ?, ?, ?)",
              v));
  return {};
}

Result<Page<AuditEntry>> AuditRepo::List(int limit, std::string_view cursor) {
  SL_ASSIGN_OR_RETURN(std::int64_t before, store::ParseIntCursor(cursor));
  limit = store::ClampLimit(limit);
  std::string sql =
      "SELECT id, user_id, action, target, detail, remote_addr, created_at FROM audit_log";
  std::vector<Value> params;
  if (before > 0) {
    sql += " WHERE id < ?";
    params.emplace_back(before);
  }
  sql += " ORDER BY id DESC LIMIT ?";
  params.emplace_back(std::int64_t{limit + 1});
  SL_ASSIGN_OR_RETURN(auto rows, c_.Query(sql, params));
  Page<AuditEntry> page;
  for (const auto& r : rows) {
    page.items.push_back(
        {r.Int(0), r.Text(1), r.Text(2), r.Text(3), r.Text(4), r.Text(5), r.Int(6)});
  }
  if (static_cast<int>(page.items.size()) > limit) {
    page.items.pop_back();
    page.next_cursor = std::to_string(page.items.back().id);
  }
  return page;
}

Result<std::optional<Millis>> AuditRepo::LastOf(std::string_view action) {
  const Value v[] = {std::string(action)};
  SL_ASSIGN_OR_RETURN(auto row, c_.QueryOpt("SELECT created_at FROM audit_log WHERE action = ? "
                                            "ORDER BY created_at DESC LIMIT 1",
                                            v));
  if (!row) return std::optional<Millis>{};
  return std::optional<Millis>(row->Int(0));
}

Result<std::optional<AuditEntry>> AuditRepo::LatestOf(std::string_view action) {
  const Value v[] = {std::string(action)};
  SL_ASSIGN_OR_RETURN(auto r, c_.QueryOpt("SELECT id, user_id, action, target, detail, "
                                          "remote_addr, created_at FROM audit_log WHERE action "
                                          "= ? ORDER BY created_at DESC, id DESC LIMIT 1",
                                          v));
  if (!r) return std::optional<AuditEntry>{};
  return std::optional<AuditEntry>(
      AuditEntry{r->Int(0), r->Text(1), r->Text(2), r->Text(3), r->Text(4), r->Text(5), r->Int(6)});
}

}  // namespace storyloom
