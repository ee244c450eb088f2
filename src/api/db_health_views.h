// JSON views of the database's health, as GET /api/v1/admin/db answers them and `storyloom db
// status --json` / `db check --json` print them (docs/API.md): one definition for both.
// Pure functions; any thread.
#pragma once

#include <nlohmann/json.hpp>
#include <optional>

#include "ops/db_health.h"
#include "storyloom/types.h"

namespace storyloom::api {

// The status: the keys both backends have, then each backend's own.
nlohmann::json DbStatusJson(const ops::DbStatusReport& r);
// A check's findings, with "ok" and the number of "problems".
nlohmann::json DbCheckJson(const ops::DbCheckReport& r);
// The last check as the audit log recorded it (action "db.check"): when, by whom ("" for the
// command line) and its report; null when none was recorded.
nlohmann::json LastDbCheckJson(const std::optional<AuditEntry>& entry);

}  // namespace storyloom::api
