// Helpers shared by the handler files: authentication wrappers, owner checks, JSON bodies
// and query parameters. Internal to src/api; any thread.
#pragma once

#include <functional>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "api/app.h"
#include "api/errors.h"

namespace storyloom::api {

using AuthedHandler = std::function<Result<http::Response>(http::Request&, const Principal&)>;

// Authenticates, then runs `fn`; errors become JSON error responses. An event stream it
// answers holds one of app.sse_streams' slots for the user while it is open (429 when none).
http::Handler Authed(App& app, AuthedHandler fn);
// Like Authed, and refuses non-admins with 403.
http::Handler AdminOnly(App& app, AuthedHandler fn);
// Gives every Authed/AdminOnly route of `r` without a before_body hook one that refuses
// (401/403) from the headers, before its body is read. Call once all routes are added.
void AuthenticateBeforeBody(App& app, http::Router& r);
// The before_body hook of PUT /api/v1/workflows/{id}/files/{name}: authenticates, checks the
// workflow is the caller's (404 otherwise), refuses a Content-Length that would not fit under
// the owner's storage quota (507) and takes one of app.uploads' slots (429).
http::BeforeBody BeforeUpload(App& app);
// Wraps an unauthenticated handler returning Result.
http::Handler Public(std::function<Result<http::Response>(http::Request&)> fn);

// The workflow `id` if `p` may see it; not_found otherwise (also for malformed ids), so ids
// of other users cannot be probed.
Result<Workflow> OwnedWorkflow(App& app, const std::string& id, const Principal& p);
// The same inside a caller's transaction.
Result<Workflow> OwnedWorkflow(StoreTx& tx, const std::string& id, const Principal& p);

// Parses the body as a JSON object; 400 (malformed) otherwise.
Result<nlohmann::json> JsonBody(const http::Request& req);
// Optional string member; invalid_argument naming `key` when present but not a string.
Result<std::optional<std::string>> OptString(const nlohmann::json& j, const std::string& key);
// Integer query parameter within [lo, hi] or `fallback` when absent.
Result<int> QueryInt(const http::Request& req, const std::string& name, int fallback, int lo,
                     int hi);
// RFC 3339 or YYYY-MM-DD query parameter; nullopt when absent.
Result<std::optional<Millis>> QueryTime(const http::Request& req, const std::string& name);

http::Response JsonResponse(int status, const nlohmann::json& body);

// Appends to the audit log: `actor_id` ("" = anonymous/system) did `action` to `target`, from
// the request's address. Best effort: a failed audit write is logged, not returned.
void Audit(App& app, const std::string& actor_id, const std::string& action,
           const std::string& target, const http::Request& req,
           const nlohmann::json& detail = nlohmann::json::object());

// 429 with Retry-After (whole seconds, rounded up) and a JSON error body.
http::Response TooManyRequests(const std::string& message, Millis retry_after_ms);

}  // namespace storyloom::api
