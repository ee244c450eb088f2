// Generated files: the rows that track every file under save_outputs/.
#include <fmt/format.h>

#include "core/clock.h"
#include "core/ids.h"
#include "db/database.h"
#include "store/rows.h"
#include "storyloom/store.h"

namespace storyloom {

using db::Value;
using store::kFileColumns;
using store::kFileFrom;

namespace {

// Files of workflows marked for deletion are gone as far as readers are concerned.
constexpr std::string_view kVisible =
    " AND NOT EXISTS (SELECT 1 FROM workflows dw WHERE dw.id = f.workflow_id AND "
    "dw.delete_requested = 1)";

bool IsHexSha256(std::string_view s) {
  if (s.size() != 64) return false;
  for (char c : s) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

}  // namespace

Result<GeneratedFile> FileRepo::Add(const NewFile& f) {
  if (f.file_path.empty() || f.file_path.front() == '/' ||
      f.file_path.find("..") != std::string::npos) {
    return Fail(Error::InvalidArgument("file_path must be relative to save_outputs/", "file_path"));
  }
  if (f.file_name.empty())
    return Fail(Error::InvalidArgument("file_name is required", "file_name"));
  if (f.file_size < 0) return Fail(Error::InvalidArgument("file_size must be >= 0", "file_size"));
  if (!IsHexSha256(f.sha256)) {
    return Fail(Error::InvalidArgument("sha256 must be 64 lowercase hex digits", "sha256"));
  }
  // The owner of a file is the owner of its workflow.
  const Value w[] = {f.workflow_id};
  SL_ASSIGN_OR_RETURN(
      auto owner,
      c_.QueryOpt("SELECT user_id FROM workflows WHERE id = ? AND delete_requested = 0", w));
  if (!owner)
    return Fail(Error::NotFound(fmt::format("workflow {} does not exist", f.workflow_id)));
  GeneratedFile out;
  out.id = core::NewId();
  out.workflow_id = f.workflow_id;
  out.scene_id = f.scene_id;
  out.file_type = f.file_type;
  out.file_path = f.file_path;
  out.file_name = f.file_name;
  out.mime_type = f.mime_type.empty() ? "application/octet-stream" : f.mime_type;
  out.file_size = f.file_size;
  out.sha256 = f.sha256;
  out.metadata_json = f.metadata_json.empty() ? "{}" : f.metadata_json;
  out.created_at = core::WallMillis();
  const Value v[] = {out.id,
                     out.workflow_id,
                     owner->Text(0),
                     db::TextOrNull(out.scene_id),
                     std::string(ToString(out.file_type)),
                     out.file_path,
                     out.file_name,
                     out.mime_type,
                     out.file_size,
                     out.sha256,
                     out.metadata_json,
                     out.created_at};
  auto r = c_.Exec(
      "INSERT INTO generated_files (id, workflow_id, user_id, scene_id, file_type, file_path, "
      "file_name, mime_type, file_size, sha256, metadata, created_at) VALUES "
      "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
      v);
  if (!r) {
    if (r.error().code == ErrorCode::kAlreadyExists) {
      return Fail(Error::AlreadyExists(fmt::format("{} is already tracked", out.file_path)));
    }
    if (r.error().IsForeignKey()) {
      return Fail(Error::NotFound(fmt::format("scene {} does not exist", out.scene_id)));
    }
    return Fail(r.error());
  }
  if (!out.scene_id.empty()) {
    const Value s[] = {out.scene_id};
    SL_ASSIGN_OR_RETURN(auto row, c_.QueryOpt("SELECT scene_number FROM scenes WHERE id = ?", s));
    if (row) out.scene_number = static_cast<int>(row->Int(0));
  }
  return out;
}

Result<GeneratedFile> FileRepo::Get(std::string_view id) {
  const Value v[] = {std::string(id)};
  SL_ASSIGN_OR_RETURN(auto row, c_.QueryOpt(fmt::format("SELECT {} FROM {} WHERE f.id = ?{}",
                                                        kFileColumns, kFileFrom, kVisible),
                                            v));
  if (!row) return Fail(Error::NotFound(fmt::format("file {} does not exist", id)));
  return store::FileFromRow(*row);
}

Result<GeneratedFile> FileRepo::GetByPath(std::string_view file_path) {
  const Value v[] = {std::string(file_path)};
  SL_ASSIGN_OR_RETURN(auto row, c_.QueryOpt(fmt::format("SELECT {} FROM {} WHERE f.file_path = ?{}",
                                                        kFileColumns, kFileFrom, kVisible),
                                            v));
  if (!row) return Fail(Error::NotFound(fmt::format("no file at {}", file_path)));
  return store::FileFromRow(*row);
}

Result<db::Statement> store::FileListStatement(const FileFilter& f) {
  SL_RETURN_IF_ERROR(store::CheckIdCursor(f.cursor));
  db::Statement st{
      fmt::format("SELECT {} FROM {} WHERE 1 = 1{}", kFileColumns, kFileFrom, kVisible), {}};
  if (!f.user_id.empty()) {
    st.sql += " AND f.user_id = ?";
    st.params.emplace_back(f.user_id);
  }
  if (!f.workflow_id.empty()) {
    st.sql += " AND f.workflow_id = ?";
    st.params.emplace_back(f.workflow_id);
  }
  if (f.type) {
    st.sql += " AND f.file_type = ?";
    st.params.emplace_back(std::string(ToString(*f.type)));
  }
  // Ids are UUIDv7: their order is the order the files were made.
  if (!f.cursor.empty()) {
    st.sql += f.oldest_first ? " AND f.id > ?" : " AND f.id < ?";
    st.params.emplace_back(f.cursor);
  }
  st.sql += f.oldest_first ? " ORDER BY f.id LIMIT ?" : " ORDER BY f.id DESC LIMIT ?";
  st.params.emplace_back(std::int64_t{store::ClampLimit(f.limit) + 1});
  return st;
}

Page<GeneratedFile> store::FilePageFromRows(const std::vector<db::Row>& rows, const FileFilter& f) {
  const int limit = store::ClampLimit(f.limit);
  Page<GeneratedFile> page;
  for (const auto& r : rows) page.items.push_back(store::FileFromRow(r));
  if (static_cast<int>(page.items.size()) > limit) {
    page.items.pop_back();
    page.next_cursor = page.items.back().id;
  }
  return page;
}

Result<Page<GeneratedFile>> FileRepo::List(const FileFilter& f) {
  SL_ASSIGN_OR_RETURN(const db::Statement st, store::FileListStatement(f));
  SL_ASSIGN_OR_RETURN(auto rows, c_.Query(st.sql, st.params));
  return store::FilePageFromRows(rows, f);
}

Result<GeneratedFile> FileRepo::Delete(std::string_view id) {
  SL_ASSIGN_OR_RETURN(GeneratedFile f, Get(id));
  const Value v[] = {std::string(id)};
  SL_RETURN_IF_ERROR(c_.Exec("DELETE FROM generated_files WHERE id = ?", v));
  return f;
}

Result<void> FileRepo::SetMetadata(std::string_view id, std::string_view expected_json,
                                   std::string_view metadata_json) {
  // Compare and set: on PostgreSQL the comparison is of JSONB values, so key order and
  // spacing as read back do not matter.
  const Value v[] = {std::string(metadata_json), std::string(id), std::string(expected_json)};
  SL_ASSIGN_OR_RETURN(
      auto n, c_.Exec("UPDATE generated_files SET metadata = ? WHERE id = ? AND metadata = ?", v));
  if (n > 0) return {};
  SL_RETURN_IF_ERROR(Get(id));  // not_found when the row is gone
  return Fail(Error::Aborted(fmt::format("the metadata of file {} changed meanwhile", id)));
}

Result<void> FileRepo::MarkMissing(std::string_view id) {
  const Value v[] = {std::string(id)};
  SL_ASSIGN_OR_RETURN(auto n,
                      c_.Exec("UPDATE generated_files SET state = 'missing' WHERE id = ?", v));
  if (n == 0) return Fail(Error::NotFound(fmt::format("file {} does not exist", id)));
  return {};
}

Result<std::int64_t> FileRepo::CountAll() {
  SL_ASSIGN_OR_RETURN(auto r, c_.QueryOne("SELECT count(*) FROM generated_files"));
  return r.Int(0);
}

Result<std::vector<FileCheckRow>> FileRepo::CheckPage(std::string_view after, int limit) {
  const Value v[] = {std::string(after), std::int64_t{limit}};
  SL_ASSIGN_OR_RETURN(auto rows, c_.Query("SELECT id, file_path, file_size, sha256, state FROM "
                                          "generated_files WHERE id > ? ORDER BY id LIMIT ?",
                                          v));
  std::vector<FileCheckRow> out;
  out.reserve(rows.size());
  for (const auto& r : rows) out.push_back({r.Text(0), r.Text(1), r.Text(3), r.Text(4), r.Int(2)});
  return out;
}

}  // namespace storyloom
