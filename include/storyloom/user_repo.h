// Accounts: users (UserRepo) and their API tokens, browser sessions and sign-in links
// (TokenRepo). Reached from a transaction (tx.users(), tx.tokens()); used on its thread only.
#pragma once

#include <string_view>
#include <vector>

#include "storyloom/error.h"
#include "storyloom/types.h"

namespace storyloom {

namespace db {
class Connection;
}  // namespace db

class UserRepo {
 public:
  explicit UserRepo(db::Connection& c) : c_(c) {}

  // already_exists if the username is taken.
  [[nodiscard]] Result<User> Create(const User& u);
  [[nodiscard]] Result<User> Get(std::string_view id);
  [[nodiscard]] Result<User> FindByName(std::string_view username);
  [[nodiscard]] Result<std::vector<User>> List();
  [[nodiscard]] Result<void> Update(const User& u);
  [[nodiscard]] Result<std::int64_t> Count();

 private:
  db::Connection& c_;
};

class TokenRepo {
 public:
  explicit TokenRepo(db::Connection& c) : c_(c) {}

  [[nodiscard]] Result<ApiToken> Create(const ApiToken& t);
  // The token with `token_hash`, whatever its state; not_found if none.
  [[nodiscard]] Result<ApiToken> FindByHash(std::string_view token_hash);
  [[nodiscard]] Result<ApiToken> Get(std::string_view id);
  [[nodiscard]] Result<std::vector<ApiToken>> List(std::string_view user_id);
  // `user_id`'s API tokens and browser sessions neither revoked nor expired at `now`, newest
  // first (sign-in links are not listed).
  [[nodiscard]] Result<std::vector<ApiToken>> ListLive(std::string_view user_id, Millis now);
  [[nodiscard]] Result<void> Revoke(std::string_view id, Millis at);
  // Revokes every unrevoked token of `kind` (api | session | login) of `user_id`; returns
  // how many.
  [[nodiscard]] Result<std::int64_t> RevokeAllOfUser(std::string_view user_id,
                                                     std::string_view kind, Millis at);
  [[nodiscard]] Result<void> Touch(std::string_view id, Millis at);
  // Browser sessions and sign-in links expired or revoked before `cutoff` (API tokens stay
  // until their owner deletes them). Count, or delete and return how many.
  [[nodiscard]] Result<std::int64_t> CountDeadSessions(Millis cutoff);
  [[nodiscard]] Result<std::int64_t> DeleteDeadSessions(Millis cutoff);

 private:
  db::Connection& c_;
};

}  // namespace storyloom
