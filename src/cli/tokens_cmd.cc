// storyloom tokens create | list | revoke: API tokens from the command line. `create` prints
// the new token once, as the last line on stdout, so scripts can take it with `tail -1`.
#include <charconv>
#include <cstdio>
#include <map>
#include <nlohmann/json.hpp>

#include "api/auth.h"
#include "api/json_views.h"
#include "cli/commands.h"
#include "cli/output.h"
#include "core/clock.h"
#include "core/ids.h"

namespace storyloom::cli {
namespace {

struct TokensFlags {
  std::string user;
  std::string name = "cli";
  std::string expires;  // "30d", "12h", "90m"; "" or "never" = no expiry
  std::string id;
  bool all = false;
  bool json = false;
};

// "30d" -> 30 days in ms; "" / "never" / "0" -> 0 (no expiry).
Result<Millis> ParseDuration(const std::string& s) {
  if (s.empty() || s == "never" || s == "0") return Millis{0};
  long long n = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), n);
  const std::string unit(p, s.data() + s.size());
  Millis scale = 0;
  if (unit == "d") scale = 24LL * 3600 * 1000;
  if (unit == "h") scale = 3600LL * 1000;
  if (unit == "m") scale = 60LL * 1000;
  if (ec != std::errc() || n <= 0 || n > 3650LL * 24 * 60 || scale == 0) {
    return Fail(
        Error::InvalidArgument("--expires takes a duration like 30d, 12h or 90m, or 'never'"));
  }
  return n * scale;
}

void AuditCli(Store& store, const std::string& action, const std::string& target,
              const std::string& detail) {
  AuditEntry a;
  a.action = action;
  a.target = target;
  a.detail_json = detail;
  a.remote_addr = "cli";
  (void)store.Write([&](StoreTx& tx) { return tx.audit().Append(a); });
}

int Create(const GlobalFlags& flags, const TokensFlags& tf) {
  return WithStore(flags, /*migrate=*/true, [&](Store& store) {
    auto ttl = ParseDuration(tf.expires);
    if (!ttl) return Die(ttl.error().message);
    if (tf.name.empty() || tf.name.size() > 100) return Die("--name must be 1 to 100 characters");
    auto user = store.ReadOne<User>([&](StoreTx& tx) { return tx.users().FindByName(tf.user); });
    if (!user) return Die(user.error().message);
    api::Authenticator auth(store);
    auto issued = auth.Issue(user->id, "api", tf.name, *ttl);
    if (!issued) return Die(issued.error().message);
    AuditCli(store, "token.create", issued->token.id,
             nlohmann::json{{"user_id", user->id}, {"name", tf.name}}.dump());
    std::fprintf(stderr, "created token %s for %s (%s); it is shown once, keep it safe:\n",
                 issued->token.id.c_str(), user->username.c_str(),
                 issued->token.expires_at
                     ? ("expires " + core::FormatRfc3339(*issued->token.expires_at)).c_str()
                     : "no expiry");
    std::printf("%s\n", issued->secret.c_str());
    return 0;
  });
}

int List(const GlobalFlags& flags, const TokensFlags& tf) {
  return WithStore(flags, /*migrate=*/true, [&](Store& store) {
    auto users = store.ReadOne<std::vector<User>>([](StoreTx& tx) { return tx.users().List(); });
    if (!users) return Die(users.error().message);
    std::map<std::string, std::string> names;
    std::string user_id;
    for (const auto& u : *users) {
      names[u.id] = u.username;
      if (u.username == tf.user) user_id = u.id;
    }
    if (!tf.user.empty() && user_id.empty()) return Die("user '" + tf.user + "' does not exist");
    auto tokens = store.ReadOne<std::vector<ApiToken>>(
        [&](StoreTx& tx) { return tx.tokens().List(user_id); });
    if (!tokens) return Die(tokens.error().message);
    const Millis now = core::WallMillis();
    auto when = [](const std::optional<Millis>& t) {
      return t ? core::FormatRfc3339(*t) : std::string("-");
    };
    auto state_of = [now](const ApiToken& t) {
      return t.revoked_at                             ? "revoked"
             : (t.expires_at && *t.expires_at <= now) ? "expired"
                                                      : "active";
    };
    if (tf.json) {
      // GET /api/v1/tokens's items (TokenJson and `active`), plus the owner's name and state.
      nlohmann::json items = nlohmann::json::array();
      for (const auto& t : *tokens) {
        const std::string_view state = state_of(t);
        if (!tf.all && state != "active") continue;
        nlohmann::json j = api::TokenJson(t);
        j["active"] = state == "active";
        j["state"] = state;
        j["username"] = names[t.user_id];
        items.push_back(std::move(j));
      }
      PrintJson({{"items", items}});
      return 0;
    }
    std::printf("%-36s  %-16s  %-20s  %-8s  %-24s  %s\n", "ID", "USER", "NAME", "STATE", "EXPIRES",
                "LAST USED");
    for (const auto& t : *tokens) {
      const char* state = state_of(t);
      if (!tf.all && std::string_view(state) != "active") continue;
      std::printf("%-36s  %-16s  %-20s  %-8s  %-24s  %s\n", t.id.c_str(), names[t.user_id].c_str(),
                  t.name.c_str(), state, when(t.expires_at).c_str(), when(t.last_used_at).c_str());
    }
    return 0;
  });
}

int Revoke(const GlobalFlags& flags, const TokensFlags& tf) {
  return WithStore(flags, /*migrate=*/true, [&](Store& store) {
    if (!core::IsUuid(tf.id))
      return Die("'" + tf.id + "' is not a token id (see storyloom tokens list)");
    std::string user_id;
    auto r = store.Write([&](StoreTx& tx) -> Result<void> {
      SL_ASSIGN_OR_RETURN(ApiToken t, tx.tokens().Get(tf.id));
      user_id = t.user_id;
      return tx.tokens().Revoke(tf.id, core::WallMillis());
    });
    if (!r) return Die(r.error().message);
    AuditCli(store, "token.revoke", tf.id, nlohmann::json{{"user_id", user_id}}.dump());
    // A running server trusts a cached lookup for at most 2 seconds.
    std::printf("revoked %s\n", tf.id.c_str());
    return 0;
  });
}

}  // namespace

void AddTokensCommand(CLI::App& app, GlobalFlags& flags, Action& action) {
  static TokensFlags tf;
  CLI::App* tokens = app.add_subcommand("tokens", "Manage API tokens");
  tokens->require_subcommand(1);
  CLI::App* create =
      tokens->add_subcommand("create", "Create an API token for USER; prints it once on stdout");
  create->add_option("user", tf.user, "username")->required();
  create->add_option("--name", tf.name, "what the token is for (default: cli)");
  create->add_option("--expires", tf.expires, "lifetime such as 30d, 12h or 90m (default: never)");
  create->callback([&] { action = [&] { return Create(flags, tf); }; });
  CLI::App* list = tokens->add_subcommand("list", "List API tokens (of USER if given)");
  list->add_option("user", tf.user, "username");
  list->add_flag("--all", tf.all, "include revoked and expired tokens");
  AddJsonFlag(list, tf.json);
  list->callback([&] { action = [&] { return List(flags, tf); }; });
  CLI::App* revoke = tokens->add_subcommand("revoke", "Revoke the API token with ID");
  revoke->add_option("id", tf.id, "token id (from tokens list)")->required();
  revoke->callback([&] { action = [&] { return Revoke(flags, tf); }; });
}

}  // namespace storyloom::cli
