// Per-user storage quotas as the handlers use them: the early checks of an upload (from its
// Content-Length, then from the bytes received) and the JSON of a user's storage. Internal to
// src/api; any thread.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>

#include "api/app.h"

namespace storyloom::api {

// resource_exhausted (HTTP 507, naming the quota and the use) if `add_bytes` more would not
// fit under the quota of `user_id`. A read, not a reservation: the row's transaction checks
// again under the user's lock (StorageRepo::Reserve).
[[nodiscard]] Result<void> CheckStorageRoom(App& app, const std::string& user_id,
                                            std::int64_t add_bytes);

// {"user_id", "bytes_used", "file_count", "quota_bytes", "user_quota_bytes",
// "default_quota_bytes", "bytes_free"}: null quotas are none.
nlohmann::json StorageJson(const std::string& user_id, const StorageUse& use,
                           std::optional<std::int64_t> default_quota);

}  // namespace storyloom::api
