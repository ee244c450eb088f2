#include "api/db_health_views.h"

#include "api/json_views.h"

namespace storyloom::api {

using nlohmann::json;

namespace {

json TableJson(const TableHealth& t) {
  return {{"name", t.name},
          {"rows_estimate", t.rows_estimate},
          {"table_bytes", t.table_bytes},
          {"index_bytes", t.index_bytes},
          {"dead_rows", t.dead_rows},
          {"last_vacuum", TimeJson(t.last_vacuum)},
          {"last_autovacuum", TimeJson(t.last_autovacuum)},
          {"last_analyze", TimeJson(t.last_analyze)},
          {"last_autoanalyze", TimeJson(t.last_autoanalyze)}};
}

void AddPostgres(const ops::DbStatusReport& r, json& out) {
  const DatabaseHealth& h = r.health;
  json tables = json::array();
  for (const auto& t : h.tables) tables.push_back(TableJson(t));
  out["tables"] = tables;
  json by_state = json::object();
  std::int64_t total = 0;
  for (const auto& c : h.connections) {
    by_state[c.state] = c.count;
    total += c.count;
  }
  out["connections"] = {{"max", h.max_connections}, {"total", total}, {"by_state", by_state}};
  json items = json::array();
  for (const auto& t : h.long_transactions) {
    items.push_back({{"pid", t.pid},
                     {"state", t.state},
                     {"user", t.user},
                     {"application", t.application},
                     {"age_ms", t.age_ms},
                     {"query", t.query}});
  }
  out["long_transactions"] = {{"threshold_ms", r.options.long_transaction_ms}, {"items", items}};
  json replicas = json::array();
  for (const auto& rep : h.replicas) {
    replicas.push_back({{"application", rep.application},
                        {"client_addr", rep.client_addr},
                        {"state", rep.state},
                        {"sync_state", rep.sync_state},
                        {"replay_lag_ms", rep.replay_lag_ms ? json(*rep.replay_lag_ms) : json()}});
  }
  out["replication"] = {{"in_recovery", h.in_recovery.value_or(false)}, {"replicas", replicas}};
}

void AddSqlite(const ops::DbStatusReport& r, json& out) {
  const DatabaseHealth& h = r.health;
  out["page_count"] = h.page_count;
  out["page_size"] = h.page_size;
  out["free_pages"] = h.free_pages;
  const json problems = h.quick_check.value_or(std::vector<std::string>{});
  out["quick_check"] = {{"ok", problems.empty()}, {"problems", problems}};
  out["workflows"] = h.workflows;
  out["files"] = h.files;
  out["file_bytes"] = h.file_bytes;
  out["usage_rows"] = h.usage_rows;
  out["wal_bytes"] = r.wal_bytes;
}

}  // namespace

json DbStatusJson(const ops::DbStatusReport& r) {
  json out = {{"backend", r.backend},
              {"database", r.database},
              {"schema_version", r.schema.current_version},
              {"latest_version", r.schema.latest_version}};
  if (r.schema.current_version == 0) return out;
  const DatabaseHealth& h = r.health;
  out["server_version"] = h.server_version;
  out["size_bytes"] = h.size_bytes;
  out["last_backup"] = h.last_backup_at ? json{{"created_at", TimeJson(*h.last_backup_at)},
                                               {"path", h.last_backup_path}}
                                        : json(nullptr);
  if (r.backend == "sqlite") {
    AddSqlite(r, out);
  } else {
    AddPostgres(r, out);
  }
  return out;
}

json DbCheckJson(const ops::DbCheckReport& r) {
  json out = {{"backend", r.backend},         {"ok", r.ok()},
              {"problems", r.problems()},     {"checked_at", TimeJson(r.checked_at)},
              {"duration_ms", r.duration_ms}, {"migrations", r.migrations}};
  if (r.integrity_check) out["integrity_check"] = *r.integrity_check;
  if (r.backend == "sqlite") {
    json fks = json::array();
    for (const auto& f : r.foreign_key_check) {
      fks.push_back({{"table", f.table}, {"rowid", f.rowid}, {"parent", f.parent}});
    }
    out["foreign_key_check"] = fks;
  } else {
    out["constraints"] = r.constraints;
  }
  if (r.amcheck) {
    json problems = json::array();
    for (const auto& p : r.amcheck->problems) {
      problems.push_back({{"index", p.index}, {"table", p.table}, {"message", p.message}});
    }
    out["amcheck"] = {{"status", r.amcheck->status},
                      {"message", r.amcheck->message},
                      {"indexes_checked", r.amcheck->indexes_checked},
                      {"problems", problems}};
  }
  return out;
}

json LastDbCheckJson(const std::optional<AuditEntry>& entry) {
  if (!entry) return nullptr;
  json report = json::parse(entry->detail_json, nullptr, /*allow_exceptions=*/false);
  if (!report.is_object()) report = json::object();
  // The detail is ours, but read it as any stored text: a key of another type is no crash.
  const auto ok = report.find("ok");
  const auto problems = report.find("problems");
  return {{"at", TimeJson(entry->created_at)},
          {"by", entry->user_id},
          {"ok", ok != report.end() && ok->is_boolean() && ok->get<bool>()},
          {"problems", problems != report.end() && problems->is_number_integer()
                           ? problems->get<std::int64_t>()
                           : std::int64_t{0}},
          {"report", report}};
}

}  // namespace storyloom::api
