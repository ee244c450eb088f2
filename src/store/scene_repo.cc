// Phases and scenes of a workflow.
#include <fmt/format.h>

#include "core/clock.h"
#include "core/ids.h"
#include "db/database.h"
#include "store/rows.h"
#include "storyloom/store.h"

namespace storyloom {

using db::Value;

Result<void> PhaseRepo::Upsert(const WorkflowPhase& p) {
  const Value v[] = {p.workflow_id,
                     std::string(ToString(p.phase)),
                     std::string(ToString(p.status)),
                     std::int64_t{p.attempts},
                     db::OptInt(p.started_at),
                     db::OptInt(p.finished_at),
                     db::TextOrNull(p.error),
                     db::TextOrNull(p.output_json)};
  SL_RETURN_IF_ERROR(c_.Exec(
      "INSERT INTO workflow_phases (workflow_id, phase, status, attempts, started_at, "
      "finished_at, error, output) VALUES (?, ?, ?, ?, ?, ?, ?, ?) "
      "ON CONFLICT (workflow_id, phase) DO UPDATE SET status = excluded.status, "
      "attempts = excluded.attempts, started_at = excluded.started_at, "
      "finished_at = excluded.finished_at, error = excluded.error, output = excluded.output",
      v));
  return {};
}

db::Statement store::PhaseListStatement(std::string_view workflow_id) {
  return {
      "SELECT workflow_id, phase, status, attempts, started_at, finished_at, error, output "
      "FROM workflow_phases WHERE workflow_id = ?",
      {std::string(workflow_id)}};
}

Result<std::vector<WorkflowPhase>> store::PhasesFromRows(const std::vector<db::Row>& rows) {
  std::vector<WorkflowPhase> out;
  for (const auto& r : rows) {
    WorkflowPhase p;
    p.workflow_id = r.Text(0);
    auto phase = ParsePhase(r.Text(1));
    if (!phase)
      return Fail(Error::Internal("unknown phase '" + r.Text(1) + "' in workflow_phases"));
    p.phase = *phase;
    p.status = ParsePhaseStatus(r.Text(2)).value_or(PhaseStatus::kPending);
    p.attempts = static_cast<int>(r.Int(3));
    p.started_at = r.OptInt(4);
    p.finished_at = r.OptInt(5);
    p.error = r.Text(6);
    p.output_json = r.Text(7);
    out.push_back(std::move(p));
  }
  // Pipeline order (the enum's), not storage order.
  std::sort(out.begin(), out.end(),
            [](const WorkflowPhase& a, const WorkflowPhase& b) { return a.phase < b.phase; });
  return out;
}

Result<std::vector<WorkflowPhase>> PhaseRepo::List(std::string_view workflow_id) {
  const db::Statement st = store::PhaseListStatement(workflow_id);
  SL_ASSIGN_OR_RETURN(auto rows, c_.Query(st.sql, st.params));
  return store::PhasesFromRows(rows);
}

Result<Scene> SceneRepo::Add(const Scene& s) {
  if (s.scene_number < 1) {
    return Fail(Error::InvalidArgument("scene_number must be at least 1", "scene_number"));
  }
  Scene out = s;
  if (out.id.empty()) out.id = core::NewId();
  out.created_at = out.updated_at = core::WallMillis();
  const Value v[] = {out.id,
                     out.workflow_id,
                     std::int64_t{out.scene_number},
                     out.title,
                     out.description,
                     out.image_prompt,
                     out.narration,
                     db::TextOrNull(out.image_file_id),
                     db::TextOrNull(out.audio_file_id),
                     out.created_at,
                     out.updated_at};
  auto r = c_.Exec(
      "INSERT INTO scenes (id, workflow_id, scene_number, title, description, image_prompt, "
      "narration, image_file_id, audio_file_id, created_at, updated_at) VALUES "
      "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
      v);
  if (!r) {
    if (r.error().code == ErrorCode::kAlreadyExists) {
      return Fail(Error::AlreadyExists(
          fmt::format("workflow {} already has scene {}", out.workflow_id, out.scene_number)));
    }
    if (r.error().IsForeignKey()) {
      return Fail(Error::NotFound(fmt::format("workflow {} does not exist", out.workflow_id)));
    }
    return Fail(r.error());
  }
  return out;
}

Result<void> SceneRepo::Update(const Scene& s) {
  const Value v[] = {s.title,
                     s.description,
                     s.image_prompt,
                     s.narration,
                     db::TextOrNull(s.image_file_id),
                     db::TextOrNull(s.audio_file_id),
                     core::WallMillis(),
                     s.id};
  SL_ASSIGN_OR_RETURN(auto n, c_.Exec("UPDATE scenes SET title = ?, description = ?, "
                                      "image_prompt = ?, narration = ?, image_file_id = ?, "
                                      "audio_file_id = ?, updated_at = ? WHERE id = ?",
                                      v));
  if (n == 0) return Fail(Error::NotFound(fmt::format("scene {} does not exist", s.id)));
  return {};
}

db::Statement store::SceneListStatement(std::string_view workflow_id) {
  return {fmt::format("SELECT {} FROM scenes WHERE workflow_id = ? ORDER BY scene_number",
                      store::kSceneColumns),
          {std::string(workflow_id)}};
}

Result<std::vector<Scene>> SceneRepo::List(std::string_view workflow_id) {
  const db::Statement st = store::SceneListStatement(workflow_id);
  SL_ASSIGN_OR_RETURN(auto rows, c_.Query(st.sql, st.params));
  std::vector<Scene> out;
  for (const auto& r : rows) out.push_back(store::SceneFromRow(r));
  return out;
}

}  // namespace storyloom
