#include "ops/backup_format.h"

#include <stdlib.h>

#include <fstream>
#include <sstream>

#include "core/bounded_json.h"
#include "core/hash.h"
#include "ops/backup_io.h"
#include "storyloom/store.h"

namespace storyloom::ops {

using nlohmann::json;

namespace {

json ValueToJson(const Value& v) {
  if (std::holds_alternative<std::int64_t>(v)) return std::get<std::int64_t>(v);
  if (std::holds_alternative<double>(v)) return std::get<double>(v);
  if (std::holds_alternative<std::string>(v)) return std::get<std::string>(v);
  return nullptr;
}

}  // namespace

std::string RowToJsonLine(const Row& row, std::size_t columns) {
  json arr = json::array();
  for (std::size_t i = 0; i < columns; ++i) arr.push_back(ValueToJson(row.at(i)));
  try {
    return arr.dump();
  } catch (const json::type_error&) {
    // Some text is not UTF-8: encode those values as hex so the bytes survive.
    json safe = json::array();
    for (std::size_t i = 0; i < columns; ++i) {
      json v = ValueToJson(row.at(i));
      if (v.is_string()) {
        try {
          (void)v.dump();
        } catch (const json::type_error&) {
          v = json{{"hex", core::HexEncode(v.get<std::string>())}};
        }
      }
      safe.push_back(std::move(v));
    }
    return safe.dump();
  }
}

Result<std::vector<Value>> JsonToValues(const json& row) {
  if (!row.is_array()) return Fail(Error::InvalidArgument("a row is not a JSON array"));
  std::vector<Value> out;
  out.reserve(row.size());
  for (const auto& v : row) {
    if (v.is_null()) {
      out.emplace_back(std::monostate{});
    } else if (v.is_number_integer()) {
      out.emplace_back(v.get<std::int64_t>());
    } else if (v.is_number_float()) {
      out.emplace_back(v.get<double>());
    } else if (v.is_string()) {
      out.emplace_back(v.get<std::string>());
    } else if (v.is_object() && v.contains("hex") && v["hex"].is_string()) {
      const std::string& hex = v["hex"].get_ref<const std::string&>();
      auto nibble = [](char c) -> int {
        if (c >= '0' && c <= '9') return c - '0';
        if (c >= 'a' && c <= 'f') return c - 'a' + 10;
        if (c >= 'A' && c <= 'F') return c - 'A' + 10;
        return -1;
      };
      if (hex.size() % 2 != 0) return Fail(Error::InvalidArgument("a row holds malformed hex"));
      std::string bytes;
      bytes.reserve(hex.size() / 2);
      for (std::size_t i = 0; i + 1 < hex.size(); i += 2) {
        const int hi = nibble(hex[i]), lo = nibble(hex[i + 1]);
        if (hi < 0 || lo < 0) return Fail(Error::InvalidArgument("a row holds malformed hex"));
        bytes.push_back(static_cast<char>(hi * 16 + lo));
      }
      out.emplace_back(std::move(bytes));
    } else {
      return Fail(Error::InvalidArgument("a row holds a value of an unknown kind"));
    }
  }
  return out;
}

Result<json> ReadManifest(const std::filesystem::path& dir) {
  std::error_code ec;
  const auto st = std::filesystem::symlink_status(dir / kManifestFile, ec);
  if (!std::filesystem::exists(st))
    return Fail(Error::NotFound((dir / kManifestFile).string() + " does not exist"));
  if (!std::filesystem::is_regular_file(st) ||
      std::filesystem::file_size(dir / kManifestFile, ec) > kMaxManifestBytes) {
    return Fail(Error::InvalidArgument((dir / kManifestFile).string() +
                                       " is not a regular file of at most 512 MiB"));
  }
  std::ifstream in(dir / kManifestFile, std::ios::binary);
  if (!in) return Fail(Error::NotFound((dir / kManifestFile).string() + " does not exist"));
  std::stringstream ss;
  ss << in.rdbuf();
  auto parsed = core::ParseJson(ss.str());
  if (!parsed) {
    return Fail(
        Error::InvalidArgument((dir / kManifestFile).string() + ": " + parsed.error().message));
  }
  json j = std::move(*parsed);
  if (!j.is_object()) {
    return Fail(Error::InvalidArgument((dir / kManifestFile).string() + " is not a JSON object"));
  }
  // value("format", 0) would throw on a format of another type: compare the JSON itself.
  if (j.value("format", json()) != json(kManifestFormat)) {
    return Fail(
        Error::InvalidArgument("unknown backup format in " + (dir / kManifestFile).string()));
  }
  return j;
}

Result<std::vector<std::string>> IntegrityCheckSqliteFile(const std::string& path) {
  // Opening a database for reading still writes to it (journal mode, checkpoints on close):
  // check a private copy so the backup's bytes, and its sha256, never change.
  namespace fs = std::filesystem;
  std::string tmpl = (fs::temp_directory_path() / "storyloom-verify-XXXXXX").string();
  if (::mkdtemp(tmpl.data()) == nullptr)
    return Fail(Error::Unavailable("cannot create a temporary directory"));
  struct Cleanup {
    std::string dir;
    ~Cleanup() {
      std::error_code ec;
      fs::remove_all(dir, ec);
    }
  } cleanup{tmpl};
  const fs::path copy = fs::path(tmpl) / "check.db";
  std::error_code ec;
  fs::copy_file(path, copy, ec);
  if (ec) return Fail(Error::Unavailable("cannot copy " + path + ": " + ec.message()));
  return IntegrityCheckOwnedSqliteFile(copy.string());
}

Result<std::vector<std::string>> IntegrityCheckOwnedSqliteFile(const std::string& path) {
  SL_ASSIGN_OR_RETURN(auto copy, Store::OpenSnapshot(path));
  return copy->CheckIntegrity();
}

}  // namespace storyloom::ops
