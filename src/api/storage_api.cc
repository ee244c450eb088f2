// Storage use and quotas: GET /api/v1/me/storage (the caller's), and for administrators
// GET and PATCH /api/v1/users/{id}/storage (a user's use; set or clear their own quota,
// audited as user.quota).
#include <fmt/format.h>

#include "api/handler_util.h"
#include "api/routes.h"
#include "api/storage_quota.h"
#include "core/byte_size.h"
#include "core/ids.h"

namespace storyloom::api {

using nlohmann::json;

Result<void> CheckStorageRoom(App& app, const std::string& user_id, std::int64_t add_bytes) {
  SL_ASSIGN_OR_RETURN(StorageUse use, app.store.ReadOne<StorageUse>([&](StoreTx& tx) {
    return tx.storage().Use(user_id, app.config.storage_default_quota);
  }));
  if (use.quota && add_bytes > *use.quota - use.bytes) {
    return Fail(Error::QuotaExceeded(fmt::format(
        "the storage quota of {} ({} bytes) would be exceeded: {} used by {} files, {} more "
        "needed",
        core::FormatByteSize(*use.quota), *use.quota, core::FormatByteSize(use.bytes), use.files,
        core::FormatByteSize(add_bytes))));
  }
  return {};
}

json StorageJson(const std::string& user_id, const StorageUse& use,
                 std::optional<std::int64_t> default_quota) {
  const auto opt = [](const std::optional<std::int64_t>& v) {
    return v ? json(*v) : json(nullptr);
  };
  return {{"user_id", user_id},
          {"bytes_used", use.bytes},
          {"file_count", use.files},
          {"quota_bytes", opt(use.quota)},
          {"user_quota_bytes", opt(use.user_quota)},
          {"default_quota_bytes", opt(default_quota)},
          {"bytes_free",
           use.quota ? json(std::max<std::int64_t>(0, *use.quota - use.bytes)) : json(nullptr)}};
}

namespace {

Result<http::Response> StorageOf(App& app, const std::string& user_id) {
  auto use = app.store.ReadOne<StorageUse>(
      [&](StoreTx& tx) { return tx.storage().Use(user_id, app.config.storage_default_quota); });
  if (!use && use.error().code == ErrorCode::kNotFound)
    return Fail(Error::NotFound("no such user"));
  SL_RETURN_IF_ERROR(use);
  return JsonResponse(200, StorageJson(user_id, *use, app.config.storage_default_quota));
}

Result<http::Response> MyStorage(App& app, http::Request&, const Principal& p) {
  return StorageOf(app, p.user_id);
}

Result<http::Response> UserStorage(App& app, http::Request& req, const Principal&) {
  const std::string id = req.path_params["id"];
  if (!core::IsUuid(id)) return Fail(Error::NotFound("no such user"));
  return StorageOf(app, id);
}

// quota_bytes: a whole number of bytes, a size like "500M" or "2G", or null (the server's
// default applies).
Result<std::optional<std::int64_t>> QuotaFrom(const json& body) {
  auto it = body.find("quota_bytes");
  if (it == body.end())
    return Fail(Error::InvalidArgument("quota_bytes is required", "quota_bytes"));
  if (it->is_null()) return std::optional<std::int64_t>();
  if (it->is_number_integer()) {
    const std::int64_t n = it->get<std::int64_t>();
    if (n < 0 || n > core::kMaxByteSize) {
      return Fail(Error::InvalidArgument("quota_bytes must be from 0 to 2^50 bytes, or null",
                                         "quota_bytes"));
    }
    return std::optional<std::int64_t>(n);
  }
  if (it->is_string()) {
    SL_ASSIGN_OR_RETURN(std::int64_t n, core::ParseByteSize(it->get<std::string>(), "quota_bytes"));
    return std::optional<std::int64_t>(n);
  }
  return Fail(Error::InvalidArgument(
      "quota_bytes must be a number of bytes, a size like \"500M\", or null", "quota_bytes"));
}

Result<http::Response> SetUserQuota(App& app, http::Request& req, const Principal& p) {
  const std::string id = req.path_params["id"];
  if (!core::IsUuid(id)) return Fail(Error::NotFound("no such user"));
  SL_ASSIGN_OR_RETURN(json body, JsonBody(req));
  for (auto it = body.begin(); it != body.end(); ++it) {
    if (it.key() != "quota_bytes") {
      return Fail(Error::InvalidArgument("unknown field '" + it.key() + "'", it.key()));
    }
  }
  SL_ASSIGN_OR_RETURN(std::optional<std::int64_t> quota, QuotaFrom(body));
  std::optional<std::int64_t> before;
  std::string username;
  SL_RETURN_IF_ERROR(app.store.Write([&](StoreTx& tx) -> Result<void> {
    auto u = tx.users().Get(id);
    if (!u) {
      return Fail(u.error().code == ErrorCode::kNotFound ? Error::NotFound("no such user")
                                                         : u.error());
    }
    username = u->username;
    SL_ASSIGN_OR_RETURN(StorageUse use, tx.storage().Use(id, std::nullopt));
    before = use.user_quota;
    SL_RETURN_IF_ERROR(tx.storage().SetQuota(id, quota));
    AuditEntry a;
    a.user_id = p.user_id;
    a.action = "user.quota";
    a.target = username;
    a.remote_addr = req.remote_addr;
    const auto opt = [](const std::optional<std::int64_t>& v) {
      return v ? json(*v) : json(nullptr);
    };
    a.detail_json = json{{"from_bytes", opt(before)}, {"to_bytes", opt(quota)}}.dump();
    return tx.audit().Append(a);
  }));
  return StorageOf(app, id);
}

}  // namespace

void AddStorageRoutes(App& app, http::Router& r) {
  auto bind = [&app](auto fn) {
    return Authed(app,
                  [&app, fn](http::Request& req, const Principal& p) { return fn(app, req, p); });
  };
  auto admin = [&app](auto fn) {
    return AdminOnly(
        app, [&app, fn](http::Request& req, const Principal& p) { return fn(app, req, p); });
  };
  r.Add("GET", "/api/v1/me/storage", bind(MyStorage));
  r.Add("GET", "/api/v1/users/{id}/storage", admin(UserStorage));
  r.Add("PATCH", "/api/v1/users/{id}/storage", admin(SetUserQuota));
}

}  // namespace storyloom::api
