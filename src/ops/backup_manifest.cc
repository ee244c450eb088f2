#include "ops/backup_manifest.h"

#include <fmt/format.h>

#include <fstream>
#include <set>
#include <sstream>

#include "core/bounded_json.h"
#include "ops/backup_format.h"
#include "ops/backup_io.h"

namespace storyloom::ops {
namespace fs = std::filesystem;
using nlohmann::json;

namespace {

// The names the database part has on disk.
constexpr const char* kDialectFile = "sqlite";       // a copy of the SQLite file
constexpr const char* kDialectLogical = "postgres";  // JSON lines (taken from PostgreSQL)

bool IsSha256Hex(const json& v) {
  if (!v.is_string()) return false;
  const auto& s = v.get_ref<const std::string&>();
  if (s.size() != 64) return false;
  for (char c : s) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

bool IsSize(const json& v) {
  if (!v.is_number_integer()) return false;
  if (v.is_number_unsigned())
    return v.get<std::uint64_t>() <= static_cast<std::uint64_t>(kMaxBackupFileBytes);
  const auto n = v.get<std::int64_t>();
  return n >= 0 && n <= kMaxBackupFileBytes;
}

bool IsTableName(const std::string& n) {
  bool ok = !n.empty() && n.size() <= 63;
  for (char c : n) ok = ok && ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_');
  return ok;
}

Error Malformed(const std::string& what) {
  return Error::InvalidArgument("the backup manifest is malformed: " + what);
}

// {"size", "sha256"} of a part whose path the caller has checked.
Result<ManifestEntry> ParseEntry(const json& part, std::string path, const std::string& where) {
  if (!part.is_object()) return Fail(Malformed(where + " is not an object"));
  if (!IsSize(part.value("size", json()))) return Fail(Malformed(where + " has a bad size"));
  if (!IsSha256Hex(part.value("sha256", json())))
    return Fail(Malformed(where + " has a bad sha256"));
  return ManifestEntry{std::move(path), part["size"].get<std::int64_t>(),
                       part["sha256"].get<std::string>()};
}

std::int64_t IntOr(const json& j, const char* key) {
  const json& v = j.value(key, json());
  return v.is_number_integer() ? v.get<std::int64_t>() : 0;
}

std::string StringOr(const json& j, const char* key) {
  const json& v = j.value(key, json());
  return v.is_string() ? v.get<std::string>() : "";
}

Result<void> ParseDatabase(const json& dbj, Manifest& m) {
  if (!dbj.is_object()) return Fail(Malformed("no database part"));
  const json& sv = dbj.value("schema_version", json());
  if (!sv.is_number_integer() || sv.get<std::int64_t>() < 0 || sv.get<std::int64_t>() > 1000000)
    return Fail(Malformed("bad schema_version"));
  m.schema_version = sv.get<int>();
  const json& rows = dbj.value("rows", json());
  if (rows.is_object() && rows.size() <= kMaxManifestTables) {
    for (const auto& [name, n] : rows.items()) {
      if (n.is_number_integer()) m.rows[name] = n.get<std::int64_t>();
    }
  }
  const json& dialect = dbj.value("dialect", json());
  if (dialect == kDialectFile) {
    if (dbj.value("file", json()) != kSqliteFile) {
      return Fail(Malformed(fmt::format("the database file must be {}", kSqliteFile)));
    }
    m.file_copy = true;
    SL_ASSIGN_OR_RETURN(m.database_file, ParseEntry(dbj, kSqliteFile, "the database file"));
    return {};
  }
  if (dialect != kDialectLogical) return Fail(Malformed("unknown database dialect"));
  m.file_copy = false;
  const json& tables = dbj.value("tables", json());
  if (!tables.is_array() || tables.size() > kMaxManifestTables)
    return Fail(Malformed("bad table list"));
  std::set<std::string> seen;
  for (const auto& t : tables) {
    if (!t.is_object()) return Fail(Malformed("a table is not an object"));
    const json& name = t.value("name", json());
    const json& file = t.value("file", json());
    if (!name.is_string() || !file.is_string()) return Fail(Malformed("a table has no name"));
    const std::string& n = name.get_ref<const std::string&>();
    const std::string expected = std::string(kLogicalDir) + "/" + n + ".jsonl";
    if (!IsTableName(n) || file != expected || !seen.insert(n).second) {
      return Fail(Malformed("bad table " + Quote(n) + " or file " + Quote(file.dump())));
    }
    SL_ASSIGN_OR_RETURN(auto entry, ParseEntry(t, expected, "a table"));
    m.tables.push_back({n, std::move(entry), IntOr(t, "rows")});
  }
  return {};
}

Result<void> ParseFiles(const json& j, Manifest& m) {
  const json& files = j.value("files", json::array());
  if (!files.is_array() || files.size() > kMaxManifestFiles)
    return Fail(Malformed("bad file list"));
  std::set<std::string> paths;
  m.files.reserve(files.size());
  for (const auto& f : files) {
    if (!f.is_object() || !f.value("path", json()).is_string())
      return Fail(Malformed("a file entry has no path"));
    const std::string& p = f["path"].get_ref<const std::string&>();
    if (auto v = ValidateRelativePath(p); !v) return Fail(Malformed(v.error().message));
    if (!IsSize(f.value("size", json()))) return Fail(Malformed(Quote(p) + " has a bad size"));
    if (!IsSha256Hex(f.value("sha256", json())))
      return Fail(Malformed(Quote(p) + " has a bad sha256"));
    if (!paths.insert(p).second) return Fail(Malformed(Quote(p) + " is listed twice"));
    m.files.push_back({p, f["size"].get<std::int64_t>(), f["sha256"].get<std::string>()});
  }
  const json& missing = j.value("missing_files", json::array());
  if (!missing.is_array() || missing.size() > kMaxManifestFiles)
    return Fail(Malformed("bad missing_files"));
  for (const auto& p : missing) {
    if (!p.is_string() || p.get_ref<const std::string&>().size() > kMaxRelativePathBytes)
      return Fail(Malformed("bad missing_files entry"));
    m.missing_files.push_back(p.get<std::string>());
  }
  // Only ever reported as warnings: entries that are not paths are left out.
  const json& changed = j.value("changed_files", json::array());
  if (changed.is_array() && changed.size() <= kMaxManifestFiles) {
    for (const auto& p : changed) {
      if (p.is_string() && p.get_ref<const std::string&>().size() <= kMaxRelativePathBytes)
        m.changed_files.push_back(p.get<std::string>());
    }
  }
  return {};
}

json EntryJson(const ManifestEntry& e) { return {{"size", e.size}, {"sha256", e.sha256}}; }

}  // namespace

std::string ManifestText(const Manifest& m) {
  json dbj = {{"schema_version", m.schema_version}, {"rows", m.rows}};
  if (m.file_copy) {
    dbj.update(EntryJson(m.database_file));
    dbj["dialect"] = kDialectFile;
    dbj["file"] = m.database_file.path;
  } else {
    json tables = json::array();
    for (const auto& t : m.tables) {
      json jt = EntryJson(t.file);
      jt["name"] = t.name;
      jt["file"] = t.file.path;
      jt["rows"] = t.rows;
      tables.push_back(std::move(jt));
    }
    dbj["dialect"] = kDialectLogical;
    dbj["format"] = "jsonl";
    dbj["tables"] = std::move(tables);
  }
  json files = json::array();
  for (const auto& f : m.files) {
    json jf = EntryJson(f);
    jf["path"] = f.path;
    files.push_back(std::move(jf));
  }
  const json j = {{"format", kManifestFormat},
                  {"id", m.id},
                  {"kind", m.kind},
                  {"created_at", m.created_at},
                  {"database", std::move(dbj)},
                  {"files", std::move(files)},
                  {"missing_files", m.missing_files},
                  {"changed_files", m.changed_files},
                  {"linked", m.linked},
                  {"copied", m.copied}};
  return j.dump(2) + "\n";
}

Result<Manifest> ParseManifest(const json& j) {
  if (!j.is_object()) return Fail(Malformed("not an object"));
  Manifest m;
  m.id = StringOr(j, "id");
  m.kind = StringOr(j, "kind");
  m.created_at = StringOr(j, "created_at");
  m.linked = IntOr(j, "linked");
  m.copied = IntOr(j, "copied");
  SL_RETURN_IF_ERROR(ParseDatabase(j.value("database", json()), m));
  SL_RETURN_IF_ERROR(ParseFiles(j, m));
  return m;
}

Result<Manifest> ReadManifest(const fs::path& dir) {
  const fs::path path = dir / kManifestFile;
  std::error_code ec;
  const auto st = fs::symlink_status(path, ec);
  if (!fs::exists(st)) return Fail(Error::NotFound(path.string() + " does not exist"));
  if (!fs::is_regular_file(st) || fs::file_size(path, ec) > kMaxManifestBytes) {
    return Fail(
        Error::InvalidArgument(path.string() + " is not a regular file of at most 512 MiB"));
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) return Fail(Error::NotFound(path.string() + " does not exist"));
  std::stringstream ss;
  ss << in.rdbuf();
  auto parsed = core::ParseJson(ss.str());
  if (!parsed) return Fail(Error::InvalidArgument(path.string() + ": " + parsed.error().message));
  const json& j = *parsed;
  if (!j.is_object()) return Fail(Error::InvalidArgument(path.string() + " is not a JSON object"));
  // value("format", 0) would throw on a format of another type: compare the JSON itself.
  if (j.value("format", json()) != json(kManifestFormat)) {
    return Fail(Error::InvalidArgument("unknown backup format in " + path.string()));
  }
  return ParseManifest(j);
}

}  // namespace storyloom::ops
