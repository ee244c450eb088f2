#include "store/rows.h"

#include <charconv>

#include "core/ids.h"

namespace storyloom::store {

Workflow WorkflowFromRow(const db::Row& r) {
  Workflow w;
  w.id = r.Text(0);
  w.user_id = r.Text(1);
  w.title = r.Text(2);
  w.original_prompt = r.Text(3);
  w.enhanced_story = r.Text(4);
  w.status = ParseWorkflowStatus(r.Text(5)).value_or(WorkflowStatus::kFailed);
  w.current_phase = r.Text(6);
  w.progress = r.Real(7);
  w.options_json = r.Text(8);
  w.error_code = r.Text(9);
  w.error_message = r.Text(10);
  w.idempotency_key = r.Text(11);
  w.attempt = static_cast<int>(r.Int(12));
  w.cancel_requested = r.Int(13) != 0;
  w.lease_owner = r.Text(14);
  w.lease_expires_at = r.Int(15);
  w.created_at = r.Int(16);
  w.updated_at = r.Int(17);
  w.started_at = r.OptInt(18);
  w.finished_at = r.OptInt(19);
  return w;
}

Scene SceneFromRow(const db::Row& r) {
  Scene s;
  s.id = r.Text(0);
  s.workflow_id = r.Text(1);
  s.scene_number = static_cast<int>(r.Int(2));
  s.title = r.Text(3);
  s.description = r.Text(4);
  s.image_prompt = r.Text(5);
  s.narration = r.Text(6);
  s.image_file_id = r.Text(7);
  s.audio_file_id = r.Text(8);
  s.created_at = r.Int(9);
  s.updated_at = r.Int(10);
  return s;
}

GeneratedFile FileFromRow(const db::Row& r) {
  GeneratedFile f;
  f.id = r.Text(0);
  f.workflow_id = r.Text(1);
  f.scene_id = r.Text(2);
  f.file_type = ParseFileType(r.Text(3)).value_or(FileType::kOther);
  f.file_path = r.Text(4);
  f.file_name = r.Text(5);
  f.mime_type = r.Text(6);
  f.file_size = r.Int(7);
  f.sha256 = r.Text(8);
  f.metadata_json = r.Text(9);
  f.created_at = r.Int(10);
  f.scene_number = static_cast<int>(r.Int(11));
  return f;
}

ApiUsage UsageFromRow(const db::Row& r) {
  ApiUsage u;
  u.id = r.Int(0);
  u.workflow_id = r.Text(1);
  u.user_id = r.Text(2);
  u.phase = r.Text(3);
  u.provider = r.Text(4);
  u.model = r.Text(5);
  u.operation = r.Text(6);
  u.status = r.Text(7);
  if (!r.IsNull(8)) u.http_status = static_cast<int>(r.Int(8));
  u.error_code = r.Text(9);
  u.attempt = static_cast<int>(r.Int(10));
  u.input_tokens = r.Int(11);
  u.cached_input_tokens = r.Int(12);
  u.output_tokens = r.Int(13);
  u.reasoning_tokens = r.Int(14);
  u.images = r.Int(15);
  u.image_size = r.Text(16);
  u.image_quality = r.Text(17);
  u.characters = r.Int(18);
  u.audio_ms = r.Int(19);
  u.duration_ms = r.Int(20);
  u.cost_nusd = r.OptInt(21);
  u.cost_source = r.Text(22);
  u.price_id = r.OptInt(23);
  u.created_at = r.Int(24);
  return u;
}

UsageTotals UsageTotalsFromRow(const db::Row& r, std::size_t first) {
  UsageTotals t;
  std::size_t i = first;
  for (std::int64_t* counter : {&t.calls, &t.errors, &t.input_tokens, &t.cached_input_tokens,
                                &t.output_tokens, &t.reasoning_tokens, &t.images, &t.characters,
                                &t.audio_ms, &t.cost_nusd, &t.unpriced_calls}) {
    *counter = r.Int(i++);
  }
  return t;
}

User UserFromRow(const db::Row& r) {
  User u;
  u.id = r.Text(0);
  u.username = r.Text(1);
  u.email = r.Text(2);
  u.role = ParseRole(r.Text(3)).value_or(Role::kUser);
  u.password_hash = r.Text(4);
  u.disabled = r.Int(5) != 0;
  u.monthly_budget_nusd = r.OptInt(6);
  u.created_at = r.Int(7);
  u.updated_at = r.Int(8);
  return u;
}

ApiToken TokenFromRow(const db::Row& r) {
  ApiToken t;
  t.id = r.Text(0);
  t.user_id = r.Text(1);
  t.name = r.Text(2);
  t.kind = r.Text(3);
  t.token_hash = r.Text(4);
  t.created_at = r.Int(5);
  t.expires_at = r.OptInt(6);
  t.last_used_at = r.OptInt(7);
  t.revoked_at = r.OptInt(8);
  return t;
}

int ClampLimit(int limit) { return limit < 1 ? 1 : (limit > 200 ? 200 : limit); }

Result<void> CheckIdCursor(std::string_view cursor) {
  if (cursor.empty() || core::IsUuid(cursor)) return {};
  return Fail(Error::InvalidArgument("cursor is not one this server issued", "cursor"));
}

Result<std::int64_t> ParseIntCursor(std::string_view cursor) {
  if (cursor.empty()) return std::int64_t{0};
  std::int64_t v = 0;
  auto [p, ec] = std::from_chars(cursor.data(), cursor.data() + cursor.size(), v);
  if (ec != std::errc() || p != cursor.data() + cursor.size() || v <= 0) {
    return Fail(Error::InvalidArgument("cursor is not one this server issued", "cursor"));
  }
  return v;
}

}  // namespace storyloom::store
