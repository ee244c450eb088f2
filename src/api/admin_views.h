// JSON views of administrative results, as the API answers them and the CLI prints them with
// --json (docs/API.md): one definition for both. Pure functions; any thread.
#pragma once

#include <nlohmann/json.hpp>
#include <optional>

#include "engine/usage_recorder.h"
#include "ops/cleanup.h"
#include "storyloom/ops_repo.h"
#include "storyloom/types.h"

namespace storyloom::api {

// "1.5" for a limit, null for none.
nlohmann::json UsdOrNull(const std::optional<NanoUsd>& v);
// GET /api/v1/admin/backups's item.
nlohmann::json BackupJson(const BackupRecord& b);
// POST /api/v1/admin/cleanup's answer for report `r` made under policy `o`.
nlohmann::json CleanupJson(const ops::CleanupReport& r, const ops::CleanupOptions& o);
// GET /api/v1/budgets's global part: the limits and the month to date.
nlohmann::json BudgetJson(const engine::BudgetStatus& st);
// GET /api/v1/budgets's item for `user`: the same, with whose it is.
nlohmann::json UserBudgetJson(const User& user, const engine::BudgetStatus& st);

}  // namespace storyloom::api
