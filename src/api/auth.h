// Authenticator: who is calling. API clients send `Authorization: Bearer <token>`; browsers
// carry an HttpOnly session cookie plus a CSRF token (double submit) on state-changing
// requests. Secrets are stored only as SHA-256 hashes and compared in constant time.
// Thread-safe.
#pragma once

#include <chrono>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>

#include "http/http.h"
#include "storyloom/error.h"
#include "storyloom/store.h"

namespace storyloom::api {

inline constexpr std::string_view kSessionCookie = "sl_session";
inline constexpr std::string_view kCsrfCookie = "sl_csrf";
inline constexpr std::string_view kCsrfHeader = "X-CSRF-Token";

struct Principal {
  std::string user_id;
  std::string username;
  Role role = Role::kUser;
  std::string token_id;
  bool via_cookie = false;
  bool is_admin() const { return role == Role::kAdmin; }
};

struct IssuedToken {
  ApiToken token;
  std::string secret;  // shown once; only its hash is stored
};

class Authenticator {
 public:
  explicit Authenticator(Store& store) : store_(store) {}

  // Returns the caller, or unauthenticated (no/unknown/expired/revoked credentials,
  // disabled user) or permission_denied (cookie request without a matching CSRF token).
  [[nodiscard]] Result<Principal> Authenticate(const http::Request& req);

  // Creates a token of `kind` (api | session | login) for `user_id`, valid for `ttl_ms`
  // (0 = no expiry).
  [[nodiscard]] Result<IssuedToken> Issue(const std::string& user_id, const std::string& kind,
                                          const std::string& name, Millis ttl_ms);
  // Forgets any cached lookup of the token with `token_id` (after revocation).
  void Forget(const std::string& token_id);
  // Forgets every cached lookup of `user_id`'s tokens and sessions (after the user is
  // disabled, demoted or their password changes), so the next request asks the database.
  void ForgetUser(const std::string& user_id);

  static std::string HashSecret(std::string_view secret);
  // argon2id (libsodium's crypto_pwhash_str, interactive limits).
  static Result<std::string> HashPassword(std::string_view password);
  static bool VerifyPassword(const std::string& hash, std::string_view password);
  // Value of cookie `name` in the request's Cookie header ("" if absent).
  static std::string Cookie(const http::Request& req, std::string_view name);

 private:
  Result<Principal> FromSecret(const std::string& secret, bool via_cookie);

  struct Cached {
    Principal principal;
    std::optional<Millis> expires_at;
    Millis checked_at = 0;
    Millis last_touched = 0;
    bool is_session = false;  // a browser session (cookie only), not an API token
  };
  Store& store_;
  std::mutex mu_;
  std::unordered_map<std::string, Cached> cache_;  // by token hash; guarded by mu_
};

}  // namespace storyloom::api
