// The on-disk format of a backup directory (see backup.h): names, the manifest, and the JSON
// encoding of rows in a logical export. Internal to src/ops; any thread.
#pragma once

#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "storyloom/error.h"
#include "storyloom/table_data.h"

namespace storyloom::ops {

inline constexpr int kManifestFormat = 1;
inline constexpr const char* kManifestFile = "manifest.json";
inline constexpr const char* kSqliteFile = "storyloom.db";
inline constexpr const char* kLogicalDir = "database";
inline constexpr const char* kOutputsDir = "save_outputs";

// One row as a JSON array: integers, reals, strings and nulls as themselves; text that is not
// valid UTF-8 as {"hex": "..."}.
std::string RowToJsonLine(const Row& row, std::size_t columns);
// The inverse of RowToJsonLine. invalid_argument for anything else.
[[nodiscard]] Result<std::vector<Value>> JsonToValues(const nlohmann::json& row);

// Reads and parses <dir>/manifest.json; not_found if absent, invalid_argument if malformed,
// larger than kMaxManifestBytes (backup_io.h) or not a regular file.
[[nodiscard]] Result<nlohmann::json> ReadManifest(const std::filesystem::path& dir);

// Runs the database's integrity check (SQLite integrity_check) on the file at `path`; returns its
// complaints (empty when the file is sound).
[[nodiscard]] Result<std::vector<std::string>> IntegrityCheckSqliteFile(const std::string& path);
// The same on a file the caller owns (a private copy): checked in place, no second copy.
[[nodiscard]] Result<std::vector<std::string>> IntegrityCheckOwnedSqliteFile(
    const std::string& path);

}  // namespace storyloom::ops
