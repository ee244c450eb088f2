#include "cli/app_wiring.h"

#include <filesystem>

#include "cli/context.h"
#include "db/database.h"
#include "providers/offline/offline_provider.h"

namespace storyloom::cli {

Result<std::unique_ptr<Runtime>> BuildRuntime(const core::Config& config, int workers) {
  auto rt = std::make_unique<Runtime>();
  SL_ASSIGN_OR_RETURN(rt->store, OpenStore(config, /*migrate=*/true));
  std::error_code ec;
  std::filesystem::create_directories(config.OutputsDir(), ec);
  std::filesystem::create_directories(config.TmpDir(), ec);
  rt->files = std::make_unique<files::FileStore>(config.OutputsDir());
  rt->bus = std::make_unique<engine::EventBus>();
  rt->usage = std::make_unique<engine::UsageRecorder>(*rt->store);
  providers::OfflineOptions oo;
  oo.espeak_binary = config.espeak_binary;
  oo.temp_dir = config.TmpDir();
  rt->offline = providers::MakeOfflineProvider(oo);
  engine::ManagerOptions mo;
  mo.workers = workers >= 0 ? workers : config.workers;
  mo.max_running_per_user = config.max_running_per_user;
  mo.release_leases_on_start = rt->store->database().dialect() == db::Dialect::kSqlite;
  Runtime* raw = rt.get();
  const std::string default_provider = config.provider;
  auto resolve = [raw, default_provider](const engine::WorkflowOptions& o) -> Result<providers::Provider*> {
    const std::string name = o.provider.empty() ? default_provider : o.provider;
    if (name == "offline") return raw->offline.get();
    if (name == "openai" && raw->openai) return raw->openai.get();
    return Fail(Error::InvalidArgument("provider '" + name + "' is not configured on this server", "options.provider"));
  };
  rt->manager = std::make_unique<engine::WorkflowManager>(*rt->store, *rt->files, *rt->bus, *rt->usage,
                                                          resolve, mo);
  return rt;
}

Result<User> CliUser(Store& store, const std::string& name) {
  if (!name.empty()) return store.ReadOne<User>([&](StoreTx& tx) { return tx.FindUserByName(name); });
  SL_ASSIGN_OR_RETURN(auto users, store.ReadOne<std::vector<User>>([](StoreTx& tx) { return tx.ListUsers(); }));
  for (const auto& u : users) {
    if (u.role == Role::kAdmin && !u.disabled) return u;
  }
  User admin;
  admin.username = "admin";
  admin.role = Role::kAdmin;
  return store.WriteOne<User>([&](StoreTx& tx) { return tx.CreateUser(admin); });
}

}  // namespace storyloom::cli
