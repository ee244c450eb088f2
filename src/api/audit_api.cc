// GET /api/v1/admin/audit (administrators only): the audit log, newest first, keyset-paged
// with ?limit=&cursor=. Entries name their actor by id and, when it still exists, username.
#include <map>

#include "api/handler_util.h"
#include "api/routes.h"
#include "core/clock.h"

namespace storyloom::api {

using nlohmann::json;

namespace {

Result<http::Response> ListAudit(App& app, http::Request& req, const Principal&) {
  SL_ASSIGN_OR_RETURN(int limit, QueryInt(req, "limit", 50, 1, 200));
  const std::string cursor(req.Query("cursor"));
  Page<AuditEntry> page;
  std::map<std::string, std::string> names;
  SL_RETURN_IF_ERROR(app.store.Read([&](StoreTx& tx) -> Result<void> {
    SL_ASSIGN_OR_RETURN(page, tx.audit().List(limit, cursor));
    SL_ASSIGN_OR_RETURN(auto users, tx.users().List());
    for (const auto& u : users) names[u.id] = u.username;
    return {};
  }));
  json items = json::array();
  for (const auto& e : page.items) {
    json detail = json::parse(e.detail_json, nullptr, false);
    if (detail.is_discarded()) detail = json::object();
    auto name = names.find(e.user_id);
    items.push_back({{"id", e.id},
                     {"user_id", e.user_id.empty() ? json(nullptr) : json(e.user_id)},
                     {"username", name == names.end() ? json(nullptr) : json(name->second)},
                     {"action", e.action},
                     {"target", e.target},
                     {"detail", detail},
                     {"remote_addr", e.remote_addr.empty() ? json(nullptr) : json(e.remote_addr)},
                     {"created_at", core::FormatRfc3339(e.created_at)}});
  }
  return JsonResponse(
      200, {{"items", items},
            {"next_cursor", page.next_cursor.empty() ? json(nullptr) : json(page.next_cursor)}});
}

}  // namespace

void AddAuditRoutes(App& app, http::Router& r) {
  r.Add("GET", "/api/v1/admin/audit",
        AdminOnly(app, [&app](http::Request& req, const Principal& p) {
          return ListAudit(app, req, p);
        }));
}

}  // namespace storyloom::api
