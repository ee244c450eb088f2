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

}  // namespace storyloom::ops
