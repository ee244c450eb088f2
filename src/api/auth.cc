#include "api/auth.h"

#include <sodium.h>

#include "api/request_parsers.h"
#include "core/clock.h"
#include "core/hash.h"
#include "core/ids.h"

namespace storyloom::api {
namespace {

// How long a verified token may be trusted without asking the database again. Revocations
// through this server evict at once; this bounds the delay for other instances.
constexpr Millis kCacheMs = 2000;
// last_used_at is written at most this often per token, so reads stay reads.
constexpr Millis kTouchEveryMs = 60000;

bool IsUnsafeMethod(std::string_view m) { return m != "GET" && m != "HEAD" && m != "OPTIONS"; }

}  // namespace

std::string Authenticator::HashSecret(std::string_view secret) { return core::Sha256Hex(secret); }

Result<std::string> Authenticator::HashPassword(std::string_view password) {
  if (sodium_init() < 0) return Fail(Error::Internal("libsodium failed to initialise"));
  char out[crypto_pwhash_STRBYTES];
  if (crypto_pwhash_str(out, password.data(), password.size(), crypto_pwhash_OPSLIMIT_INTERACTIVE,
                        crypto_pwhash_MEMLIMIT_INTERACTIVE) != 0) {
    return Fail(Error::ResourceExhausted("out of memory hashing a password"));
  }
  return std::string(out);
}

bool Authenticator::VerifyPassword(const std::string& hash, std::string_view password) {
  if (hash.empty() || sodium_init() < 0) return false;
  return crypto_pwhash_str_verify(hash.c_str(), password.data(), password.size()) == 0;
}

std::string Authenticator::Cookie(const http::Request& req, std::string_view name) {
  auto header = req.headers.Get("Cookie");
  if (!header) return "";
  return CookieValue(*header, name);
}

Result<Principal> Authenticator::Authenticate(const http::Request& req) {
  if (auto auth = req.headers.Get("Authorization")) {
    SL_ASSIGN_OR_RETURN(std::string secret, BearerSecret(*auth));
    return FromSecret(secret, false);
  }
  const std::string session = Cookie(req, kSessionCookie);
  if (session.empty()) return Fail(Error::Unauthenticated("sign in or send a bearer token"));
  SL_ASSIGN_OR_RETURN(Principal p, FromSecret(session, true));
  if (IsUnsafeMethod(req.method)) {
    const std::string cookie = Cookie(req, kCsrfCookie);
    auto header = req.headers.Get(kCsrfHeader);
    if (cookie.empty() || !header || !core::ConstantTimeEquals(cookie, *header)) {
      return Fail(Error::PermissionDenied("missing or wrong CSRF token (X-CSRF-Token header)"));
    }
  }
  return p;
}

Result<Principal> Authenticator::FromSecret(const std::string& secret, bool via_cookie) {
  if (secret.empty() || secret.size() > 256) return Fail(Error::Unauthenticated("invalid token"));
  const std::string hash = HashSecret(secret);
  const Millis now = core::WallMillis();
  bool touch = false;
  {
    std::lock_guard lock(mu_);
    auto it = cache_.find(hash);
    // The kind check is repeated here: a session secret is only good as a cookie, an API
    // token only as a bearer token, cached or not.
    if (it != cache_.end() && now - it->second.checked_at < kCacheMs &&
        (!it->second.expires_at || *it->second.expires_at > now) &&
        it->second.is_session == via_cookie) {
      Principal p = it->second.principal;
      p.via_cookie = via_cookie;
      return p;
    }
  }
  // A lookup by hash: the hash of a random 256-bit secret is as unguessable as the secret,
  // and the index lookup does not leak timing about other tokens.
  auto token = store_.ReadOne<ApiToken>([&](StoreTx& tx) { return tx.tokens().FindByHash(hash); });
  if (!token) {
    if (token.error().code == ErrorCode::kNotFound)
      return Fail(Error::Unauthenticated("invalid token"));
    return Fail(token.error());
  }
  if (!core::ConstantTimeEquals(token->token_hash, hash))
    return Fail(Error::Unauthenticated("invalid token"));
  if (token->revoked_at) return Fail(Error::Unauthenticated("this token was revoked"));
  if (token->expires_at && *token->expires_at <= now)
    return Fail(Error::Unauthenticated("this token has expired"));
  if (token->kind == "login")
    return Fail(Error::Unauthenticated("a login link cannot be used as a token"));
  if (via_cookie != (token->kind == "session"))
    return Fail(Error::Unauthenticated("invalid token"));
  auto user = store_.ReadOne<User>([&](StoreTx& tx) { return tx.users().Get(token->user_id); });
  if (!user) return Fail(Error::Unauthenticated("invalid token"));
  if (user->disabled) return Fail(Error::Unauthenticated("this account is disabled"));
  Principal p{user->id, user->username, user->role, token->id, via_cookie};
  {
    std::lock_guard lock(mu_);
    if (cache_.size() > 10000) cache_.clear();
    Cached& c = cache_[hash];
    touch = now - std::max(c.last_touched, token->last_used_at.value_or(0)) > kTouchEveryMs;
    c = Cached{p, token->expires_at, now, touch ? now : c.last_touched, token->kind == "session"};
  }
  if (touch) (void)store_.Write([&](StoreTx& tx) { return tx.tokens().Touch(token->id, now); });
  return p;
}

Result<IssuedToken> Authenticator::Issue(const std::string& user_id, const std::string& kind,
                                         const std::string& name, Millis ttl_ms) {
  IssuedToken out;
  out.secret = (kind == "session" ? "sls_"
                : kind == "login" ? "sll_"
                                  : "slt_") +
               core::RandomToken(32);
  ApiToken t;
  t.user_id = user_id;
  t.kind = kind;
  t.name = name;
  t.token_hash = HashSecret(out.secret);
  if (ttl_ms > 0) t.expires_at = core::WallMillis() + ttl_ms;
  SL_ASSIGN_OR_RETURN(
      out.token, store_.WriteOne<ApiToken>([&](StoreTx& tx) { return tx.tokens().Create(t); }));
  return out;
}

void Authenticator::Forget(const std::string& token_id) {
  std::lock_guard lock(mu_);
  std::erase_if(cache_, [&](const auto& kv) { return kv.second.principal.token_id == token_id; });
}

void Authenticator::ForgetUser(const std::string& user_id) {
  std::lock_guard lock(mu_);
  std::erase_if(cache_, [&](const auto& kv) { return kv.second.principal.user_id == user_id; });
}

}  // namespace storyloom::api
