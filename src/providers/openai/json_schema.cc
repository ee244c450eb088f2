#include "providers/openai/json_schema.h"

#include <fmt/format.h>

#include <optional>

namespace storyloom::providers::openai {

namespace {

using nlohmann::json;

std::string TypeOf(const json& v) {
  if (v.is_null()) return "null";
  if (v.is_boolean()) return "boolean";
  if (v.is_number_integer() || v.is_number_unsigned()) return "integer";
  if (v.is_number()) return "number";
  if (v.is_string()) return "string";
  if (v.is_array()) return "array";
  return "object";
}

bool HasType(const json& v, const std::string& type) {
  const std::string t = TypeOf(v);
  return t == type || (type == "number" && t == "integer");
}

std::size_t Utf8Length(const std::string& s) {
  std::size_t n = 0;
  for (unsigned char c : s) n += (c & 0xC0) != 0x80;
  return n;
}

// A non-negative integer keyword such as minItems; nullopt when absent or not one.
std::optional<std::size_t> Bound(const json& schema, const char* key) {
  auto it = schema.find(key);
  if (it == schema.end() || !it->is_number_integer() || it->get<std::int64_t>() < 0) {
    return std::nullopt;
  }
  return static_cast<std::size_t>(it->get<std::int64_t>());
}

std::string Validate(const json& schema, const json& v, const std::string& path) {
  if (!schema.is_object()) return {};
  if (auto t = schema.find("type"); t != schema.end()) {
    bool ok = false;
    std::string names;
    for (const json& one : t->is_array() ? *t : json::array({*t})) {
      if (!one.is_string()) continue;
      ok = ok || HasType(v, one.get<std::string>());
      names += (names.empty() ? "" : " or ") + one.get<std::string>();
    }
    if (!ok) return fmt::format("{}: expected {}, got {}", path, names, TypeOf(v));
  }
  if (auto e = schema.find("enum"); e != schema.end() && e->is_array()) {
    if (std::find(e->begin(), e->end(), v) == e->end()) {
      return fmt::format("{}: {} is not one of {}", path, v.dump(), e->dump());
    }
  }
  if (v.is_string()) {
    const std::size_t len = Utf8Length(v.get_ref<const std::string&>());
    if (auto m = Bound(schema, "minLength"); m && len < *m) {
      return fmt::format("{}: shorter than {} characters", path, *m);
    }
    if (auto m = Bound(schema, "maxLength"); m && len > *m) {
      return fmt::format("{}: longer than {} characters", path, *m);
    }
  }
  if (v.is_array()) {
    if (auto m = Bound(schema, "minItems"); m && v.size() < *m) {
      return fmt::format("{}: {} items, expected at least {}", path, v.size(), *m);
    }
    if (auto m = Bound(schema, "maxItems"); m && v.size() > *m) {
      return fmt::format("{}: {} items, expected at most {}", path, v.size(), *m);
    }
    if (auto items = schema.find("items"); items != schema.end()) {
      for (std::size_t i = 0; i < v.size(); ++i) {
        std::string err = Validate(*items, v[i], fmt::format("{}[{}]", path, i));
        if (!err.empty()) return err;
      }
    }
  }
  if (v.is_object()) {
    if (auto req = schema.find("required"); req != schema.end() && req->is_array()) {
      for (const json& name : *req) {
        if (name.is_string() && !v.contains(name.get<std::string>())) {
          return fmt::format("{}: missing required property '{}'", path, name.get<std::string>());
        }
      }
    }
    const json* props = nullptr;
    if (auto p = schema.find("properties"); p != schema.end() && p->is_object()) props = &*p;
    const auto additional = schema.find("additionalProperties");
    const bool closed =
        additional != schema.end() && additional->is_boolean() && !additional->get<bool>();
    for (auto it = v.begin(); it != v.end(); ++it) {
      const std::string sub = path + "." + it.key();
      if (props && props->contains(it.key())) {
        std::string err = Validate((*props)[it.key()], it.value(), sub);
        if (!err.empty()) return err;
      } else if (closed) {
        return fmt::format("{}: unexpected property", sub);
      }
    }
  }
  return {};
}

}  // namespace

std::string ValidateJson(const nlohmann::json& schema, const nlohmann::json& value) {
  return Validate(schema, value, "$");
}

}  // namespace storyloom::providers::openai
