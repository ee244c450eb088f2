#include "ops/backup_format.h"

#include "core/hash.h"

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

}  // namespace storyloom::ops
