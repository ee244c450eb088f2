// storyloom users add | list | disable | enable | passwd
#include <unistd.h>

#include <cstdio>
#include <iostream>

#include "api/auth.h"
#include "cli/commands.h"
#include "core/ids.h"

namespace storyloom::cli {
namespace {

struct UsersFlags {
  std::string name;
  bool admin = false;
  bool password_stdin = false;
  std::string email;
};

Result<std::string> ReadPassword(bool from_stdin) {
  std::string password;
  if (from_stdin) {
    std::getline(std::cin, password);
    if (password.empty()) return Fail(Error::InvalidArgument("no password on standard input"));
    if (password.size() < 8) return Fail(Error::InvalidArgument("the password must have at least 8 characters"));
    return password;
  }
  return core::RandomToken(12);
}

int WithStore(const GlobalFlags& flags, const std::function<int(Store&)>& fn) {
  core::Config config = LoadConfigOrExit(flags);
  SetupLogging(config);
  auto store = OpenStore(config, /*migrate=*/true);
  if (!store) return Die(store.error().message);
  return fn(**store);
}

int Add(const GlobalFlags& flags, const UsersFlags& uf) {
  return WithStore(flags, [&](Store& store) {
    auto password = ReadPassword(uf.password_stdin);
    if (!password) return Die(password.error().message);
    User u;
    u.username = uf.name;
    u.email = uf.email;
    u.role = uf.admin ? Role::kAdmin : Role::kUser;
    auto hash = api::Authenticator::HashPassword(*password);
    if (!hash) return Die(hash.error().message);
    u.password_hash = *hash;
    auto created = store.WriteOne<User>([&](StoreTx& tx) { return tx.CreateUser(u); });
    if (!created) return Die(created.error().message);
    AuditEntry a;
    a.action = "user.create";
    a.target = created->username;
    (void)store.Write([&](StoreTx& tx) { return tx.AppendAudit(a); });
    std::printf("created %s %s\n", uf.admin ? "admin" : "user", created->username.c_str());
    if (!uf.password_stdin) std::printf("password: %s\n", password->c_str());
    return 0;
  });
}

int List(const GlobalFlags& flags) {
  return WithStore(flags, [&](Store& store) {
    auto users = store.ReadOne<std::vector<User>>([](StoreTx& tx) { return tx.ListUsers(); });
    if (!users) return Die(users.error().message);
    std::printf("%-24s %-6s %-9s %s\n", "USERNAME", "ROLE", "STATE", "ID");
    for (const auto& u : *users) {
      std::printf("%-24s %-6s %-9s %s\n", u.username.c_str(), std::string(ToString(u.role)).c_str(),
                  u.disabled ? "disabled" : "active", u.id.c_str());
    }
    return 0;
  });
}

int SetDisabled(const GlobalFlags& flags, const std::string& name, bool disabled) {
  return WithStore(flags, [&](Store& store) {
    auto r = store.Write([&](StoreTx& tx) -> Result<void> {
      SL_ASSIGN_OR_RETURN(User u, tx.FindUserByName(name));
      u.disabled = disabled;
      SL_RETURN_IF_ERROR(tx.UpdateUser(u));
      AuditEntry a;
      a.action = disabled ? "user.disable" : "user.enable";
      a.target = name;
      return tx.AppendAudit(a);
    });
    if (!r) return Die(r.error().message);
    std::printf("%s %s\n", disabled ? "disabled" : "enabled", name.c_str());
    return 0;
  });
}

int Passwd(const GlobalFlags& flags, const UsersFlags& uf) {
  return WithStore(flags, [&](Store& store) {
    auto password = ReadPassword(uf.password_stdin);
    if (!password) return Die(password.error().message);
    auto hash = api::Authenticator::HashPassword(*password);
    if (!hash) return Die(hash.error().message);
    auto r = store.Write([&](StoreTx& tx) -> Result<void> {
      SL_ASSIGN_OR_RETURN(User u, tx.FindUserByName(uf.name));
      u.password_hash = *hash;
      SL_RETURN_IF_ERROR(tx.UpdateUser(u));
      AuditEntry a;
      a.action = "user.passwd";
      a.target = uf.name;
      return tx.AppendAudit(a);
    });
    if (!r) return Die(r.error().message);
    std::printf("changed the password of %s\n", uf.name.c_str());
    if (!uf.password_stdin) std::printf("password: %s\n", password->c_str());
    return 0;
  });
}

}  // namespace

void AddUsersCommand(CLI::App& app, GlobalFlags& flags, Action& action) {
  static UsersFlags uf;
  CLI::App* users = app.add_subcommand("users", "Manage user accounts");
  users->require_subcommand(1);
  CLI::App* add = users->add_subcommand("add", "Create a user (prints a random password unless --password-stdin)");
  add->add_option("name", uf.name, "username")->required();
  add->add_flag("--admin", uf.admin, "make an administrator");
  add->add_option("--email", uf.email, "email address");
  add->add_flag("--password-stdin", uf.password_stdin, "read the password from standard input");
  add->callback([&] { action = [&] { return Add(flags, uf); }; });
  users->add_subcommand("list", "List users")->callback([&] { action = [&] { return List(flags); }; });
  CLI::App* disable = users->add_subcommand("disable", "Disable a user (their tokens stop working)");
  disable->add_option("name", uf.name, "username")->required();
  disable->callback([&] { action = [&] { return SetDisabled(flags, uf.name, true); }; });
  CLI::App* enable = users->add_subcommand("enable", "Enable a disabled user");
  enable->add_option("name", uf.name, "username")->required();
  enable->callback([&] { action = [&] { return SetDisabled(flags, uf.name, false); }; });
  CLI::App* passwd = users->add_subcommand("passwd", "Set a new password (random unless --password-stdin)");
  passwd->add_option("name", uf.name, "username")->required();
  passwd->add_flag("--password-stdin", uf.password_stdin, "read the password from standard input");
  passwd->callback([&] { action = [&] { return Passwd(flags, uf); }; });
}

}  // namespace storyloom::cli
