// Invitations to sign up (InviteRepo): one-time secrets an administrator hands out, stored
// as SHA-256 hashes. Reached from a transaction (tx.invites()); used on its thread only.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "storyloom/error.h"
#include "storyloom/types.h"

namespace storyloom {

namespace db {
class Connection;
}  // namespace db

struct Invite {
  std::string id;
  std::string token_hash;  // sha256 hex of the secret; the secret is never stored
  Role role = Role::kUser;
  std::string created_by;  // "" once that administrator is deleted, or from the CLI
  Millis created_at = 0;
  Millis expires_at = 0;
  std::optional<Millis> used_at;
  std::string used_by;  // the user who signed up with it
  std::optional<Millis> revoked_at;
  // Neither used, revoked nor expired at `now`.
  bool pending(Millis now) const { return !used_at && !revoked_at && expires_at > now; }
};

class InviteRepo {
 public:
  explicit InviteRepo(db::Connection& c) : c_(c) {}

  // Stores `i` (id and created_at filled in when empty).
  [[nodiscard]] Result<Invite> Create(const Invite& i);
  // not_found if no invite has `id` / `token_hash`, whatever its state otherwise.
  [[nodiscard]] Result<Invite> Get(std::string_view id);
  [[nodiscard]] Result<Invite> FindByHash(std::string_view token_hash);
  // Invites neither used nor revoked nor expired at `now`, newest first.
  [[nodiscard]] Result<std::vector<Invite>> ListPending(Millis now);
  // Marks the invite used by `user_id` if it is still pending at `now`; failed_precondition
  // ("invite_used") otherwise. One conditional UPDATE: of two transactions consuming the
  // same invite, exactly one succeeds.
  [[nodiscard]] Result<void> Consume(std::string_view id, std::string_view user_id, Millis now);
  // Revokes a pending invite; not_found if none with `id` is pending at `now`.
  [[nodiscard]] Result<void> Revoke(std::string_view id, Millis now);

 private:
  db::Connection& c_;
};

}  // namespace storyloom
