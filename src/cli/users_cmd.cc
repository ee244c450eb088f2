// storyloom users add | list | disable | enable | passwd | login-link | invite | quota
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <iostream>
#include <nlohmann/json.hpp>

#include "api/accounts.h"
#include "api/auth.h"
#include "api/json_views.h"
#include "api/storage_quota.h"
#include "cli/commands.h"
#include "cli/output.h"
#include "core/byte_size.h"
#include "core/clock.h"
#include "core/ids.h"

namespace storyloom::cli {
namespace {

struct UsersFlags {
  std::string name;
  bool admin = false;
  bool password_stdin = false;
  std::string email;
  std::string budget;  // USD; "" = none
  bool json = false;
  std::string role = "user";   // invite
  std::string expires = "7d";  // invite: 30m, 12h, 7d (at most 30 days)
  std::string quota;           // quota: "" = show, "none" = clear, else a size
};

// "12.50" -> nano-USD, exactly (up to 9 decimals).
Result<NanoUsd> ParseUsd(const std::string& s) {
  NanoUsd whole = 0, frac = 0;
  int frac_digits = -1;
  bool ok = !s.empty() && s.size() <= 20;
  for (char c : s) {
    if (c == '.' && frac_digits < 0) {
      frac_digits = 0;
    } else if (c >= '0' && c <= '9' && frac_digits < 0) {
      whole = whole * 10 + (c - '0');
      ok = ok && whole <= 1000000000;
    } else if (c >= '0' && c <= '9') {
      if (++frac_digits <= 9) frac = frac * 10 + (c - '0');
    } else {
      ok = false;
    }
  }
  if (!ok)
    return Fail(Error::InvalidArgument("--budget takes an amount in USD such as 25 or 12.50"));
  for (int i = std::max(frac_digits, 0); i < 9; ++i) frac *= 10;
  return whole * 1000000000 + frac;
}

Result<std::string> ReadPassword(bool from_stdin) {
  std::string password;
  if (from_stdin) {
    std::getline(std::cin, password);
    if (password.empty()) return Fail(Error::InvalidArgument("no password on standard input"));
    if (password.size() < 8)
      return Fail(Error::InvalidArgument("the password must have at least 8 characters"));
    return password;
  }
  return core::RandomToken(12);
}

int Add(const GlobalFlags& flags, const UsersFlags& uf) {
  return WithStore(flags, /*migrate=*/true, [&](Store& store) {
    auto password = ReadPassword(uf.password_stdin);
    if (!password) return Die(password.error().message);
    User u;
    u.username = uf.name;
    u.email = uf.email;
    u.role = uf.admin ? Role::kAdmin : Role::kUser;
    if (!uf.budget.empty()) {
      auto budget = ParseUsd(uf.budget);
      if (!budget) return Die(budget.error().message);
      u.monthly_budget_nusd = *budget;
    }
    auto hash = api::Authenticator::HashPassword(*password);
    if (!hash) return Die(hash.error().message);
    u.password_hash = *hash;
    auto created = store.WriteOne<User>([&](StoreTx& tx) { return tx.users().Create(u); });
    if (!created) return Die(created.error().message);
    AuditEntry a;
    a.action = "user.create";
    a.target = created->username;
    a.remote_addr = "cli";
    nlohmann::json detail = {{"role", ToString(created->role)}};
    if (created->monthly_budget_nusd) detail["monthly_budget_nusd"] = *created->monthly_budget_nusd;
    a.detail_json = detail.dump();
    (void)store.Write([&](StoreTx& tx) { return tx.audit().Append(a); });
    std::printf("created %s %s\n", uf.admin ? "admin" : "user", created->username.c_str());
    if (!uf.password_stdin) std::printf("password: %s\n", password->c_str());
    return 0;
  });
}

int List(const GlobalFlags& flags, bool json) {
  return WithStore(flags, /*migrate=*/true, [&](Store& store) {
    auto users = store.ReadOne<std::vector<User>>([](StoreTx& tx) { return tx.users().List(); });
    if (!users) return Die(users.error().message);
    if (json) {
      // GET /api/v1/users's items, field for field.
      nlohmann::json items = nlohmann::json::array();
      for (const auto& u : *users) items.push_back(api::UserJson(u));
      PrintJson({{"items", items}});
      return 0;
    }
    std::printf("%-24s %-6s %-9s %s\n", "USERNAME", "ROLE", "STATE", "ID");
    for (const auto& u : *users) {
      std::printf("%-24s %-6s %-9s %s\n", u.username.c_str(), std::string(ToString(u.role)).c_str(),
                  u.disabled ? "disabled" : "active", u.id.c_str());
    }
    return 0;
  });
}

int SetDisabled(const GlobalFlags& flags, const std::string& name, bool disabled) {
  return WithStore(flags, /*migrate=*/true, [&](Store& store) {
    auto r = store.Write([&](StoreTx& tx) -> Result<void> {
      SL_ASSIGN_OR_RETURN(User u, tx.users().FindByName(name));
      u.disabled = disabled;
      SL_RETURN_IF_ERROR(tx.users().Update(u));
      // Browser sessions end with the account; API tokens are refused while it is disabled.
      if (disabled)
        SL_RETURN_IF_ERROR(tx.tokens().RevokeAllOfUser(u.id, "session", core::WallMillis()));
      AuditEntry a;
      a.action = disabled ? "user.disable" : "user.enable";
      a.target = name;
      a.remote_addr = "cli";
      return tx.audit().Append(a);
    });
    if (!r) return Die(r.error().message);
    std::printf("%s %s\n", disabled ? "disabled" : "enabled", name.c_str());
    return 0;
  });
}

int Passwd(const GlobalFlags& flags, const UsersFlags& uf) {
  return WithStore(flags, /*migrate=*/true, [&](Store& store) {
    auto password = ReadPassword(uf.password_stdin);
    if (!password) return Die(password.error().message);
    auto hash = api::Authenticator::HashPassword(*password);
    if (!hash) return Die(hash.error().message);
    auto r = store.Write([&](StoreTx& tx) -> Result<void> {
      SL_ASSIGN_OR_RETURN(User u, tx.users().FindByName(uf.name));
      u.password_hash = *hash;
      SL_RETURN_IF_ERROR(tx.users().Update(u));
      SL_RETURN_IF_ERROR(tx.tokens().RevokeAllOfUser(u.id, "session", core::WallMillis()));
      AuditEntry a;
      a.action = "user.passwd";
      a.target = uf.name;
      a.remote_addr = "cli";
      return tx.audit().Append(a);
    });
    if (!r) return Die(r.error().message);
    std::printf("changed the password of %s\n", uf.name.c_str());
    if (!uf.password_stdin) std::printf("password: %s\n", password->c_str());
    return 0;
  });
}

// A one-time sign-in link for `name` (valid 15 minutes). It does not go through the sign-in
// limiter, so an administrator locked out of password sign-in still gets in; whoever runs
// this already holds the database.
int LoginLink(const GlobalFlags& flags, const UsersFlags& uf) {
  return WithStore(flags, /*migrate=*/true, [&](const core::Config& config, Store& store) {
    auto user = store.ReadOne<User>([&](StoreTx& tx) { return tx.users().FindByName(uf.name); });
    if (!user) return Die(user.error().message);
    if (user->disabled) return Die(uf.name + " is disabled; enable it first");
    api::Authenticator auth(store);
    auto link = auth.Issue(user->id, "login", "cli login-link", 15LL * 60 * 1000);
    if (!link) return Die(link.error().message);
    AuditEntry a;
    a.action = "user.login_link";
    a.target = uf.name;
    a.remote_addr = "cli";
    (void)store.Write([&](StoreTx& tx) { return tx.audit().Append(a); });
    std::printf("one-time sign-in link for %s (valid 15 minutes):\n", uf.name.c_str());
    std::printf("%s/login?token=%s\n", config.PublicUrl().c_str(), link->secret.c_str());
    return 0;
  });
}

// "90m", "12h", "7d" (or plain seconds) -> milliseconds, from a minute to 30 days.
Result<Millis> ParseExpiry(const std::string& s) {
  const auto bad = [] {
    return Fail(Error::InvalidArgument(
        "--expires takes a duration such as 30m, 12h or 7d (a minute to 30 days)"));
  };
  if (s.empty() || s.size() > 12) return bad();
  Millis unit = 1000;
  std::string digits = s;
  switch (s.back()) {
    case 's':
      unit = 1000;
      digits.pop_back();
      break;
    case 'm':
      unit = 60LL * 1000;
      digits.pop_back();
      break;
    case 'h':
      unit = 3600LL * 1000;
      digits.pop_back();
      break;
    case 'd':
      unit = 24LL * 3600 * 1000;
      digits.pop_back();
      break;
    default:
      break;
  }
  if (digits.empty() || digits.find_first_not_of("0123456789") != std::string::npos) return bad();
  const Millis ms = std::stoll(digits) * unit;
  if (ms < Millis{60} * 1000 || ms > api::kMaxInviteMs) return bad();
  return ms;
}

// A one-time sign-up link: whoever opens it picks a username and password and gets an
// account with --role. Only the secret's hash is stored; the link is printed once.
int Invite(const GlobalFlags& flags, const UsersFlags& uf) {
  auto role = ParseRole(uf.role);
  if (!role) return Die("--role must be user or admin");
  auto ttl = ParseExpiry(uf.expires);
  if (!ttl) return Die(ttl.error().message);
  return WithStore(flags, /*migrate=*/true, [&](const core::Config& config, Store& store) {
    auto issued = api::IssueInvite(store, "", *role, *ttl);
    if (!issued) return Die(issued.error().message);
    AuditEntry a;
    a.action = "invite.create";
    a.target = issued->invite.id;
    a.remote_addr = "cli";
    a.detail_json = nlohmann::json{{"role", ToString(*role)},
                                   {"expires_at", api::TimeJson(issued->invite.expires_at)}}
                        .dump();
    (void)store.Write([&](StoreTx& tx) { return tx.audit().Append(a); });
    const std::string url = api::InviteUrl(config.PublicUrl(), issued->secret);
    if (uf.json) {
      // POST /api/v1/invites's answer, field for field.
      nlohmann::json j = api::InviteJson(issued->invite);
      j["token"] = issued->secret;
      j["url"] = url;
      PrintJson(j);
      return 0;
    }
    std::printf("one-time sign-up link (role %s, expires %s):\n%s\n", uf.role.c_str(),
                core::FormatRfc3339(issued->invite.expires_at).c_str(), url.c_str());
    return 0;
  });
}

// users quota NAME [SIZE|none]: shows the user's storage use and quota, or sets (a size
// like 500M or 2G) or clears ("none": the server's storage.default_quota applies) their own
// quota. Audited like PATCH /api/v1/users/{id}/storage.
int Quota(const GlobalFlags& flags, const UsersFlags& uf) {
  return WithStore(flags, /*migrate=*/true, [&](const core::Config& config, Store& store) {
    std::optional<std::optional<std::int64_t>> set;
    if (uf.quota == "none") {
      set.emplace();
    } else if (!uf.quota.empty()) {
      auto n = core::ParseByteSize(uf.quota, "the quota");
      if (!n) return Die(n.error().message);
      set.emplace(*n);
    }
    std::string id;
    auto r = store.Write([&](StoreTx& tx) -> Result<void> {
      SL_ASSIGN_OR_RETURN(User u, tx.users().FindByName(uf.name));
      id = u.id;
      if (!set) return {};
      SL_ASSIGN_OR_RETURN(StorageUse before, tx.storage().Use(u.id, std::nullopt));
      SL_RETURN_IF_ERROR(tx.storage().SetQuota(u.id, *set));
      const auto opt = [](const std::optional<std::int64_t>& v) {
        return v ? nlohmann::json(*v) : nlohmann::json(nullptr);
      };
      AuditEntry a;
      a.action = "user.quota";
      a.target = u.username;
      a.remote_addr = "cli";
      a.detail_json =
          nlohmann::json{{"from_bytes", opt(before.user_quota)}, {"to_bytes", opt(*set)}}.dump();
      return tx.audit().Append(a);
    });
    if (!r) return Die(r.error().message);
    auto use = store.ReadOne<StorageUse>(
        [&](StoreTx& tx) { return tx.storage().Use(id, config.storage_default_quota); });
    if (!use) return Die(use.error().message);
    if (uf.json) {
      // GET /api/v1/users/{id}/storage's answer, field for field.
      PrintJson(api::StorageJson(id, *use, config.storage_default_quota));
      return 0;
    }
    const std::string quota =
        !use->quota ? std::string("no quota")
                    : "quota " + core::FormatByteSize(*use->quota) +
                          (use->user_quota ? " (the user's own)" : " (the server's default)");
    std::printf("%s: %s used in %lld files; %s\n", uf.name.c_str(),
                core::FormatByteSize(use->bytes).c_str(), static_cast<long long>(use->files),
                quota.c_str());
    return 0;
  });
}

}  // namespace

void AddUsersCommand(CLI::App& app, GlobalFlags& flags, Action& action) {
  static UsersFlags uf;
  CLI::App* users = app.add_subcommand("users", "Manage user accounts");
  users->require_subcommand(1);
  CLI::App* add = users->add_subcommand(
      "add", "Create a user (prints a random password unless --password-stdin)");
  add->add_option("name", uf.name, "username")->required();
  add->add_flag("--admin", uf.admin, "make an administrator");
  add->add_option("--email", uf.email, "email address");
  add->add_flag("--password-stdin", uf.password_stdin, "read the password from standard input");
  add->add_option("--budget", uf.budget, "monthly budget in USD (default: none)");
  add->callback([&] { action = [&] { return Add(flags, uf); }; });
  CLI::App* list = users->add_subcommand("list", "List users");
  AddJsonFlag(list, uf.json);
  list->callback([&] { action = [&] { return List(flags, uf.json); }; });
  CLI::App* disable =
      users->add_subcommand("disable", "Disable a user (their tokens stop working)");
  disable->add_option("name", uf.name, "username")->required();
  disable->callback([&] { action = [&] { return SetDisabled(flags, uf.name, true); }; });
  CLI::App* enable = users->add_subcommand("enable", "Enable a disabled user");
  enable->add_option("name", uf.name, "username")->required();
  enable->callback([&] { action = [&] { return SetDisabled(flags, uf.name, false); }; });
  CLI::App* passwd =
      users->add_subcommand("passwd", "Set a new password (random unless --password-stdin)");
  passwd->add_option("name", uf.name, "username")->required();
  passwd->add_flag("--password-stdin", uf.password_stdin, "read the password from standard input");
  passwd->callback([&] { action = [&] { return Passwd(flags, uf); }; });
  CLI::App* link = users->add_subcommand(
      "login-link",
      "Print a one-time sign-in link for a user (valid 15 minutes; works while "
      "password sign-in is locked out)");
  link->add_option("name", uf.name, "username")->required();
  link->callback([&] { action = [&] { return LoginLink(flags, uf); }; });
  CLI::App* invite = users->add_subcommand(
      "invite", "Print a one-time sign-up link: whoever opens it creates their own account");
  invite->add_option("--role", uf.role, "role of the new account: user (default) or admin")
      ->check(CLI::IsMember({"user", "admin"}));
  invite->add_option("--expires", uf.expires,
                     "how long the link works: 30m, 12h, 7d (default 7d, at most 30d)");
  AddJsonFlag(invite, uf.json);
  invite->callback([&] { action = [&] { return Invite(flags, uf); }; });
  CLI::App* quota = users->add_subcommand(
      "quota",
      "Show a user's storage use and quota, or set it: a size like 500M or 2G, or none (the "
      "server's storage.default_quota applies)");
  quota->add_option("name", uf.name, "username")->required();
  quota->add_option("size", uf.quota, "the new quota: bytes, 500M, 2G, ... or none");
  AddJsonFlag(quota, uf.json);
  quota->callback([&] { action = [&] { return Quota(flags, uf); }; });
}

}  // namespace storyloom::cli
