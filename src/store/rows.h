// Column lists and row mappers shared by the repositories. Internal to src/store.
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "db/database.h"
#include "storyloom/error.h"
#include "storyloom/file_repo.h"
#include "storyloom/types.h"
#include "storyloom/workflow_repo.h"

namespace storyloom::store {

inline constexpr std::string_view kWorkflowColumns =
    "id, user_id, title, original_prompt, enhanced_story, status, current_phase, progress, "
    "options, error_code, error_message, idempotency_key, attempt, cancel_requested, "
    "lease_owner, lease_expires_at, created_at, updated_at, started_at, finished_at";
Workflow WorkflowFromRow(const db::Row& r);

inline constexpr std::string_view kSceneColumns =
    "id, workflow_id, scene_number, title, description, image_prompt, narration, "
    "image_file_id, audio_file_id, created_at, updated_at";
Scene SceneFromRow(const db::Row& r);

// Files are read joined with their scene for scene_number: "f." prefixes.
inline constexpr std::string_view kFileColumns =
    "f.id, f.workflow_id, f.scene_id, f.file_type, f.file_path, f.file_name, f.mime_type, "
    "f.file_size, f.sha256, f.metadata, f.created_at, s.scene_number";
inline constexpr std::string_view kFileFrom =
    "generated_files f LEFT JOIN scenes s ON s.id = f.scene_id";
GeneratedFile FileFromRow(const db::Row& r);

inline constexpr std::string_view kUsageColumns =
    "id, workflow_id, user_id, phase, provider, model, operation, status, http_status, "
    "error_code, attempt, input_tokens, cached_input_tokens, output_tokens, reasoning_tokens, "
    "images, image_size, image_quality, characters, audio_ms, duration_ms, cost_nusd, "
    "cost_source, price_id, created_at";
ApiUsage UsageFromRow(const db::Row& r);

// The UsageTotals counters in struct order, as usage_daily names them.
inline constexpr std::string_view kUsageTotalsColumns =
    "calls, errors, input_tokens, cached_input_tokens, output_tokens, reasoning_tokens, images, "
    "characters, audio_ms, cost_nusd, unpriced_calls";
// Reads the eleven counters from r's columns `first` .. `first` + 10, in kUsageTotalsColumns
// order.
UsageTotals UsageTotalsFromRow(const db::Row& r, std::size_t first);

inline constexpr std::string_view kUserColumns =
    "id, username, email, role, password_hash, disabled, monthly_budget_nusd, created_at, "
    "updated_at";
User UserFromRow(const db::Row& r);

inline constexpr std::string_view kTokenColumns =
    "id, user_id, name, kind, token_hash, created_at, expires_at, last_used_at, revoked_at";
ApiToken TokenFromRow(const db::Row& r);

// Reads that a repository shares with Store::GetWorkflowDetail's batch (one round trip on
// PostgreSQL): each statement, then the mapping of its rows.
db::Statement WorkflowGetStatement(std::string_view id);  // visible workflows only
db::Statement PhaseListStatement(std::string_view workflow_id);
// In pipeline order; internal if a row names an unknown phase.
Result<std::vector<WorkflowPhase>> PhasesFromRows(const std::vector<db::Row>& rows);
db::Statement SceneListStatement(std::string_view workflow_id);  // by scene number
// invalid_argument if the cursor is malformed; the page size is clamped.
Result<db::Statement> FileListStatement(const FileFilter& f);
Page<GeneratedFile> FilePageFromRows(const std::vector<db::Row>& rows, const FileFilter& f);
// Store::GetWorkflowDetail's batch: the statements, then
// the view from their rows (not_found if there is no such workflow).
Result<std::vector<db::Statement>> WorkflowDetailStatements(db::Dialect dialect,
                                                            std::string_view id,
                                                            const FileFilter& files);
Result<WorkflowDetailView> WorkflowDetailFromRows(std::string_view id,
                                                  const std::vector<std::vector<db::Row>>& rows,
                                                  const FileFilter& files);
// (total cost, whether some call had no price) of a workflow's calls.
db::Statement WorkflowCostStatement(db::Dialect dialect, std::string_view workflow_id);
std::pair<NanoUsd, bool> WorkflowCostFromRow(const db::Row& row);

// Clamps a page size to 1..200.
int ClampLimit(int limit);
// Returns invalid_argument (field "cursor") unless `cursor` is "" or a UUID.
Result<void> CheckIdCursor(std::string_view cursor);
// Returns invalid_argument (field "cursor") unless `cursor` is "" or a positive integer.
Result<std::int64_t> ParseIntCursor(std::string_view cursor);

}  // namespace storyloom::store
