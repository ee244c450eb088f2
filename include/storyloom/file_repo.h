// Generated-file rows: tracked files under save_outputs/ with size and sha256. Reached as
// tx.files(); used on the transaction's thread only.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "storyloom/error.h"
#include "storyloom/types.h"

namespace storyloom {

namespace db {
class Connection;
}  // namespace db

struct FileFilter {
  std::string user_id;      // "" = every user
  std::string workflow_id;  // "" = any
  std::optional<FileType> type;
  int limit = 100;
  std::string cursor;
  bool oldest_first = false;  // newest first by default, like every list
};

struct NewFile {
  std::string workflow_id;
  std::string scene_id;  // "" for none
  FileType file_type = FileType::kOther;
  std::string file_path;  // relative to save_outputs/
  std::string file_name;
  std::string mime_type;
  std::int64_t file_size = 0;
  std::string sha256;
  std::string metadata_json = "{}";
};

// What fsck reads of a file row.
struct FileCheckRow {
  std::string id, path, sha256, state;
  std::int64_t size = 0;
};

class FileRepo {
 public:
  explicit FileRepo(db::Connection& c) : c_(c) {}

  // Tracks a file already durable on disk. already_exists if file_path is tracked.
  [[nodiscard]] Result<GeneratedFile> Add(const NewFile& f);
  [[nodiscard]] Result<GeneratedFile> Get(std::string_view id);
  [[nodiscard]] Result<GeneratedFile> GetByPath(std::string_view file_path);
  [[nodiscard]] Result<Page<GeneratedFile>> List(const FileFilter& f);
  // Deletes the row (scenes linking to it are unlinked); not_found if absent.
  [[nodiscard]] Result<GeneratedFile> Delete(std::string_view id);
  // Replaces the file's metadata with `metadata_json` if it is still `expected_json` (as read):
  // aborted when another write changed it meanwhile (read again and retry), not_found when
  // the row is gone.
  [[nodiscard]] Result<void> SetMetadata(std::string_view id, std::string_view expected_json,
                                         std::string_view metadata_json);
  // Marks a file row as missing on disk (fsck --repair).
  [[nodiscard]] Result<void> MarkMissing(std::string_view id);
  // Every row, of every user and every marked workflow.
  [[nodiscard]] Result<std::int64_t> CountAll();
  // Up to `limit` rows with id > `after`, in id order (fsck's keyset scan).
  [[nodiscard]] Result<std::vector<FileCheckRow>> CheckPage(std::string_view after, int limit);

 private:
  db::Connection& c_;
};

}  // namespace storyloom
