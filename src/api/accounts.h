// Account pieces shared by the handler files and the CLI: the password rule every way of
// setting a password applies, the browser session a sign-in or sign-up starts, and
// invitations (their secret, link and JSON). Internal to src/api and src/cli; any thread.
#pragma once

#include <nlohmann/json.hpp>
#include <string>

#include "api/app.h"
#include "storyloom/invite_repo.h"

namespace storyloom::api {

// The password in `j` if it is a string of 8 to 1024 bytes; invalid_argument naming `field`
// otherwise.
[[nodiscard]] Result<std::string> CheckPassword(const nlohmann::json& j,
                                                const std::string& field = "password");

// Starts a browser session for `user`: 200 with {"user", "csrf_token"} and the session and
// CSRF cookies (auth_api.cc).
[[nodiscard]] Result<http::Response> StartSession(App& app, const User& user);

inline constexpr Millis kDefaultInviteMs = 7LL * 24 * 3600 * 1000;
inline constexpr Millis kMaxInviteMs = 30LL * 24 * 3600 * 1000;

struct IssuedInvite {
  Invite invite;
  std::string secret;  // shown once; only its hash is stored
};

// Stores a new invite for `role`, made by `created_by` ("" from the CLI), valid `ttl_ms`.
[[nodiscard]] Result<IssuedInvite> IssueInvite(Store& store, const std::string& created_by,
                                               Role role, Millis ttl_ms);
// The sign-up link of an invite: `base_url` + "/#/signup?invite=" + secret. The secret is in
// the fragment, so it never reaches a server's access log.
std::string InviteUrl(const std::string& base_url, const std::string& secret);
// An invite as the API shows it (never the hash): id, role, created_by, created_at,
// expires_at, used_at, used_by, revoked_at.
nlohmann::json InviteJson(const Invite& i);
// A browser session or API token as GET /api/v1/me/sessions shows it (never the secret or its
// hash); `current` marks the one making the request.
nlohmann::json SessionJson(const ApiToken& t, bool current);

}  // namespace storyloom::api
