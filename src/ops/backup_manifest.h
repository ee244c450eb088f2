// The manifest of a backup (manifest.json, see backup.h), typed: what CreateBackup writes and
// what verify and restore read back. A manifest read from disk is untrusted input:
// ReadManifest checks every field it uses (shape, table names, paths, sizes, checksums,
// counts) before the caller opens anything it names. Plain values; any thread.
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "storyloom/error.h"

namespace storyloom::ops {

// A file of the backup with the size and sha256 of its bytes. `path` is relative: to the
// backup directory for the database part, to save_outputs/ for tracked files.
struct ManifestEntry {
  std::string path;
  std::int64_t size = 0;
  std::string sha256;
};

// One table of a logical export: database/<name>.jsonl.
struct ManifestTable {
  std::string name;
  ManifestEntry file;
  std::int64_t rows = 0;
};

struct Manifest {
  std::string id;  // the backups row it was recorded as ("" in a hand-made backup)
  std::string kind;
  std::string created_at;
  // The database part: a copy of the SQLite file (database_file), or a logical export, one
  // JSON-lines file per table (tables), that any backend restores.
  bool file_copy = true;
  int schema_version = 0;
  std::map<std::string, std::int64_t> rows;  // per table, as the snapshot counted them
  ManifestEntry database_file;
  std::vector<ManifestTable> tables;
  std::vector<ManifestEntry> files;
  std::vector<std::string> missing_files;  // tracked, but gone before they were copied
  std::vector<std::string> changed_files;  // replaced after the snapshot; newer bytes kept
  std::int64_t linked = 0;
  std::int64_t copied = 0;
};

// The manifest as written: JSON, two-space indented, one trailing newline.
std::string ManifestText(const Manifest& m);

// invalid_argument ("the backup manifest is malformed: ...", naming the first problem)
// unless `j` has the shape CreateBackup writes: a database part of a known kind whose files
// are the expected names inside the backup, every size in [0, kMaxBackupFileBytes], every
// sha256 64 lowercase hex digits, at most kMaxManifestFiles files with valid, distinct
// relative paths.
[[nodiscard]] Result<Manifest> ParseManifest(const nlohmann::json& j);

// Reads <dir>/manifest.json and parses it: not_found if absent, invalid_argument if
// malformed, larger than kMaxManifestBytes (backup_io.h), not a regular file or of another
// format.
[[nodiscard]] Result<Manifest> ReadManifest(const std::filesystem::path& dir);

}  // namespace storyloom::ops
