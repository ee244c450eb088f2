// Users and their API tokens / browser sessions (stored as hashes only).
#include <fmt/format.h>

#include "core/clock.h"
#include "core/ids.h"
#include "db/database.h"
#include "store/rows.h"
#include "storyloom/store.h"

namespace storyloom {

using db::Value;
using store::kTokenColumns;
using store::kUserColumns;

namespace {

Result<void> CheckUsername(std::string_view name) {
  if (name.empty() || name.size() > 64) {
    return Fail(Error::InvalidArgument("username must be 1 to 64 characters", "username"));
  }
  for (char c : name) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '_' || c == '-' || c == '.' || c == '@';
    if (!ok) {
      return Fail(Error::InvalidArgument("username may contain letters, digits and _ - . @ only",
                                         "username"));
    }
  }
  return {};
}

}  // namespace

Result<User> UserRepo::Create(const User& u) {
  SL_RETURN_IF_ERROR(CheckUsername(u.username));
  User out = u;
  if (out.id.empty()) out.id = core::NewId();
  out.created_at = out.updated_at = core::WallMillis();
  const Value v[] = {out.id,
                     out.username,
                     db::TextOrNull(out.email),
                     std::string(ToString(out.role)),
                     out.password_hash,
                     std::int64_t{out.disabled ? 1 : 0},
                     db::OptInt(out.monthly_budget_nusd),
                     out.created_at,
                     out.updated_at};
  auto r = c_.Exec(
      "INSERT INTO users (id, username, email, role, password_hash, disabled, "
      "monthly_budget_nusd, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
      v);
  if (!r) {
    if (r.error().code == ErrorCode::kAlreadyExists) {
      return Fail(Error::AlreadyExists(fmt::format("user '{}' already exists", out.username)));
    }
    return Fail(r.error());
  }
  return out;
}

Result<User> UserRepo::Get(std::string_view id) {
  const Value v[] = {std::string(id)};
  SL_ASSIGN_OR_RETURN(
      auto row, c_.QueryOpt(fmt::format("SELECT {} FROM users WHERE id = ?", kUserColumns), v));
  if (!row) return Fail(Error::NotFound(fmt::format("user {} does not exist", id)));
  return store::UserFromRow(*row);
}

Result<User> UserRepo::FindByName(std::string_view username) {
  const Value v[] = {std::string(username)};
  SL_ASSIGN_OR_RETURN(
      auto row,
      c_.QueryOpt(fmt::format("SELECT {} FROM users WHERE username = ?", kUserColumns), v));
  if (!row) return Fail(Error::NotFound(fmt::format("user '{}' does not exist", username)));
  return store::UserFromRow(*row);
}

Result<std::vector<User>> UserRepo::List() {
  SL_ASSIGN_OR_RETURN(
      auto rows, c_.Query(fmt::format("SELECT {} FROM users ORDER BY username", kUserColumns)));
  std::vector<User> out;
  for (const auto& r : rows) out.push_back(store::UserFromRow(r));
  return out;
}

Result<void> UserRepo::Update(const User& u) {
  const Value v[] = {db::TextOrNull(u.email),
                     std::string(ToString(u.role)),
                     u.password_hash,
                     std::int64_t{u.disabled ? 1 : 0},
                     db::OptInt(u.monthly_budget_nusd),
                     core::WallMillis(),
                     u.id};
  SL_ASSIGN_OR_RETURN(auto n, c_.Exec("UPDATE users SET email = ?, role = ?, password_hash = ?, "
                                      "disabled = ?, monthly_budget_nusd = ?, updated_at = ? "
                                      "WHERE id = ?",
                                      v));
  if (n == 0) return Fail(Error::NotFound(fmt::format("user {} does not exist", u.id)));
  return {};
}

Result<std::int64_t> UserRepo::Count() {
  SL_ASSIGN_OR_RETURN(auto row, c_.QueryOne("SELECT count(*) FROM users"));
  return row.Int(0);
}

Result<ApiToken> TokenRepo::Create(const ApiToken& t) {
  if (t.kind != "api" && t.kind != "session" && t.kind != "login") {
    return Fail(Error::InvalidArgument("token kind must be api, session or login", "kind"));
  }
  ApiToken out = t;
  if (out.id.empty()) out.id = core::NewId();
  if (out.created_at == 0) out.created_at = core::WallMillis();
  const Value v[] = {out.id,
                     out.user_id,
                     out.name,
                     out.kind,
                     out.token_hash,
                     out.created_at,
                     db::OptInt(out.expires_at)};
  auto r = c_.Exec(
      "INSERT INTO api_tokens (id, user_id, name, kind, token_hash, created_at, expires_at) "
      "VALUES (?, ?, ?, ?, ?, ?, ?)",
      v);
  if (!r) {
    if (r.error().IsForeignKey()) {
      return Fail(Error::NotFound(fmt::format("user {} does not exist", out.user_id)));
    }
    return Fail(r.error());
  }
  return out;
}

Result<ApiToken> TokenRepo::FindByHash(std::string_view token_hash) {
  const Value v[] = {std::string(token_hash)};
  SL_ASSIGN_OR_RETURN(auto row, c_.QueryOpt(fmt::format("SELECT {} FROM api_tokens WHERE "
                                                        "token_hash = ?",
                                                        kTokenColumns),
                                            v));
  if (!row) return Fail(Error::NotFound("no such token"));
  return store::TokenFromRow(*row);
}

Result<ApiToken> TokenRepo::Get(std::string_view id) {
  const Value v[] = {std::string(id)};
  SL_ASSIGN_OR_RETURN(
      auto row,
      c_.QueryOpt(fmt::format("SELECT {} FROM api_tokens WHERE id = ?", kTokenColumns), v));
  if (!row) return Fail(Error::NotFound(fmt::format("token {} does not exist", id)));
  return store::TokenFromRow(*row);
}

Result<std::vector<ApiToken>> TokenRepo::List(std::string_view user_id) {
  std::string sql = fmt::format("SELECT {} FROM api_tokens WHERE kind = 'api'", kTokenColumns);
  std::vector<Value> params;
  if (!user_id.empty()) {
    sql += " AND user_id = ?";
    params.emplace_back(std::string(user_id));
  }
  sql += " ORDER BY id DESC";  // newest first (UUIDv7 ids)
  SL_ASSIGN_OR_RETURN(auto rows, c_.Query(sql, params));
  std::vector<ApiToken> out;
  for (const auto& r : rows) out.push_back(store::TokenFromRow(r));
  return out;
}

Result<std::vector<ApiToken>> TokenRepo::ListLive(std::string_view user_id, Millis now) {
  const Value v[] = {std::string(user_id), now};
  SL_ASSIGN_OR_RETURN(
      auto rows, c_.Query(fmt::format("SELECT {} FROM api_tokens WHERE user_id = ? AND kind "
                                      "IN ('api', 'session') AND revoked_at IS NULL AND "
                                      "(expires_at IS NULL OR expires_at > ?) ORDER BY id DESC",
                                      kTokenColumns),
                          v));
  std::vector<ApiToken> out;
  for (const auto& r : rows) out.push_back(store::TokenFromRow(r));
  return out;
}

Result<void> TokenRepo::Revoke(std::string_view id, Millis at) {
  const Value v[] = {at, std::string(id)};
  SL_ASSIGN_OR_RETURN(auto n, c_.Exec("UPDATE api_tokens SET revoked_at = coalesce(revoked_at, ?) "
                                      "WHERE id = ?",
                                      v));
  if (n == 0) return Fail(Error::NotFound(fmt::format("token {} does not exist", id)));
  return {};
}

Result<std::int64_t> TokenRepo::RevokeAllOfUser(std::string_view user_id, std::string_view kind,
                                                Millis at) {
  const Value v[] = {at, std::string(user_id), std::string(kind)};
  return c_.Exec(
      "UPDATE api_tokens SET revoked_at = ? WHERE user_id = ? AND kind = ? AND revoked_at IS NULL",
      v);
}

Result<void> TokenRepo::Touch(std::string_view id, Millis at) {
  const Value v[] = {at, std::string(id)};
  SL_RETURN_IF_ERROR(c_.Exec("UPDATE api_tokens SET last_used_at = ? WHERE id = ?", v));
  return {};
}

namespace {
constexpr std::string_view kDeadSessions =
    " FROM api_tokens WHERE kind IN ('session', 'login') AND (expires_at < ? OR revoked_at < ?)";
}  // namespace

Result<std::int64_t> TokenRepo::CountDeadSessions(Millis cutoff) {
  const Value v[] = {cutoff, cutoff};
  SL_ASSIGN_OR_RETURN(auto r, c_.QueryOne("SELECT count(*)" + std::string(kDeadSessions), v));
  return r.Int(0);
}

Result<std::int64_t> TokenRepo::DeleteDeadSessions(Millis cutoff) {
  const Value v[] = {cutoff, cutoff};
  return c_.Exec("DELETE" + std::string(kDeadSessions), v);
}

}  // namespace storyloom
