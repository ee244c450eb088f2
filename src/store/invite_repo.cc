// Invitations to sign up, stored as hashes (see storyloom/invite_repo.h).
#include "storyloom/invite_repo.h"

#include <fmt/format.h>

#include "core/clock.h"
#include "core/ids.h"
#include "db/database.h"

namespace storyloom {

using db::Value;

namespace {

constexpr std::string_view kInviteColumns =
    "id, token_hash, role, created_by, created_at, expires_at, used_at, used_by, revoked_at";

Invite InviteFromRow(const db::Row& r) {
  Invite i;
  i.id = r.Text(0);
  i.token_hash = r.Text(1);
  i.role = ParseRole(r.Text(2)).value_or(Role::kUser);
  i.created_by = r.Text(3);
  i.created_at = r.Int(4);
  i.expires_at = r.Int(5);
  i.used_at = r.OptInt(6);
  i.used_by = r.Text(7);
  i.revoked_at = r.OptInt(8);
  return i;
}

}  // namespace

Result<Invite> InviteRepo::Create(const Invite& i) {
  Invite out = i;
  if (out.id.empty()) out.id = core::NewId();
  if (out.created_at == 0) out.created_at = core::WallMillis();
  const Value v[] = {out.id,
                     out.token_hash,
                     std::string(ToString(out.role)),
                     db::TextOrNull(out.created_by),
                     out.created_at,
                     out.expires_at};
  auto r = c_.Exec(
      "INSERT INTO invites (id, token_hash, role, created_by, created_at, expires_at) "
      "VALUES (?, ?, ?, ?, ?, ?)",
      v);
  if (!r) {
    if (r.error().IsForeignKey()) {
      return Fail(Error::NotFound(fmt::format("user {} does not exist", out.created_by)));
    }
    return Fail(r.error());
  }
  return out;
}

Result<Invite> InviteRepo::Get(std::string_view id) {
  const Value v[] = {std::string(id)};
  SL_ASSIGN_OR_RETURN(
      auto row, c_.QueryOpt(fmt::format("SELECT {} FROM invites WHERE id = ?", kInviteColumns), v));
  if (!row) return Fail(Error::NotFound("no such invite"));
  return InviteFromRow(*row);
}

Result<Invite> InviteRepo::FindByHash(std::string_view token_hash) {
  const Value v[] = {std::string(token_hash)};
  SL_ASSIGN_OR_RETURN(
      auto row,
      c_.QueryOpt(fmt::format("SELECT {} FROM invites WHERE token_hash = ?", kInviteColumns), v));
  if (!row) return Fail(Error::NotFound("no such invite"));
  return InviteFromRow(*row);
}

Result<std::vector<Invite>> InviteRepo::ListPending(Millis now) {
  const Value v[] = {now};
  SL_ASSIGN_OR_RETURN(auto rows, c_.Query(fmt::format("SELECT {} FROM invites WHERE used_at IS "
                                                      "NULL AND revoked_at IS NULL AND "
                                                      "expires_at > ? ORDER BY id DESC",
                                                      kInviteColumns),
                                          v));
  std::vector<Invite> out;
  for (const auto& r : rows) out.push_back(InviteFromRow(r));
  return out;
}

Result<void> InviteRepo::Consume(std::string_view id, std::string_view user_id, Millis now) {
  const Value v[] = {now, std::string(user_id), std::string(id), now};
  SL_ASSIGN_OR_RETURN(auto n, c_.Exec("UPDATE invites SET used_at = ?, used_by = ? WHERE id = ? "
                                      "AND used_at IS NULL AND revoked_at IS NULL AND "
                                      "expires_at > ?",
                                      v));
  if (n != 1) {
    return Fail(Error::FailedPrecondition("this invite was already used", "invite_used"));
  }
  return {};
}

Result<void> InviteRepo::Revoke(std::string_view id, Millis now) {
  const Value v[] = {now, std::string(id), now};
  SL_ASSIGN_OR_RETURN(auto n, c_.Exec("UPDATE invites SET revoked_at = ? WHERE id = ? AND used_at "
                                      "IS NULL AND revoked_at IS NULL AND expires_at > ?",
                                      v));
  if (n != 1) return Fail(Error::NotFound("no such pending invite"));
  return {};
}

}  // namespace storyloom
