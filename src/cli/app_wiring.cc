#include "cli/app_wiring.h"

#include <cmath>
#include <filesystem>

#include "cli/context.h"
#include "core/durable_dirs.h"
#include "db/database.h"
#include "providers/offline/offline_provider.h"
#include "providers/openai/openai_provider.h"

namespace storyloom::cli {

engine::BudgetOptions BudgetOptionsFrom(const core::Config& config) {
  engine::BudgetOptions b;
  auto nano = [](double usd) { return static_cast<NanoUsd>(std::llround(usd * 1e9)); };
  if (config.budget_monthly_usd) b.global_hard_nusd = nano(*config.budget_monthly_usd);
  if (config.budget_soft_usd) b.global_soft_nusd = nano(*config.budget_soft_usd);
  b.reservation_ttl_ms = static_cast<Millis>(config.budget_reservation_ttl_s) * 1000;
  return b;
}

providers::OpenAIOptions OpenAIOptionsFrom(const core::Config& config) {
  providers::OpenAIOptions o;
  o.base_url = config.openai_base_url;
  o.api_key = config.openai_api_key;
  o.chat_model = config.openai_chat_model;
  o.image_model = config.openai_image_model;
  o.speech_model = config.openai_speech_model;
  o.phase_models = config.phase_models;
  o.image_size = config.openai_image_size;
  o.image_quality = config.openai_image_quality;
  o.speech_voice = config.openai_speech_voice;
  o.speech_format = config.openai_speech_format;
  o.connect_timeout_ms = config.openai_connect_timeout_ms;
  o.timeout_ms = config.openai_timeout_ms;
  o.max_retries = config.openai_max_retries;
  o.backoff_ms = config.openai_backoff_ms;
  o.max_backoff_ms = config.openai_max_backoff_ms;
  o.max_output_tokens = config.openai_max_output_tokens;
  return o;
}

Result<std::unique_ptr<Runtime>> BuildRuntime(
    const core::Config& config, int workers,
    const std::function<void(engine::ManagerOptions&)>& adjust) {
  auto rt = std::make_unique<Runtime>();
  SL_ASSIGN_OR_RETURN(rt->store, OpenStore(config, /*migrate=*/true));
  SL_RETURN_IF_ERROR(core::MakeDirsDurable(config.OutputsDir()));
  SL_RETURN_IF_ERROR(core::MakeDirsDurable(config.TmpDir()));
  rt->files = std::make_unique<files::FileStore>(config.OutputsDir());
  rt->bus = std::make_unique<engine::EventBus>();
  rt->relay = std::make_unique<engine::EventRelay>(*rt->store,
                                                   std::chrono::milliseconds(config.sse_poll_ms));
  rt->usage =
      std::make_unique<engine::UsageRecorder>(*rt->store, BudgetOptionsFrom(config), rt->bus.get());
  providers::OfflineOptions oo;
  oo.espeak_binary = config.espeak_binary;
  oo.temp_dir = config.TmpDir();
  rt->offline = providers::MakeOfflineProvider(oo);
  // The OpenAI-compatible provider exists when chosen, or when an endpoint or key is set so
  // that workflows may pick it with options.provider.
  if (config.provider == "openai" || !config.openai_api_key.empty() ||
      config.openai_base_url != core::Config{}.openai_base_url) {
    rt->openai = providers::MakeOpenAIProvider(OpenAIOptionsFrom(config));
  }
  engine::ManagerOptions mo;
  mo.workers = workers >= 0 ? workers : config.workers;
  mo.max_running_per_user = config.max_running_per_user;
  mo.video_default = config.video_default;
  mo.default_storage_quota = config.storage_default_quota;
  mo.lease_ms = config.lease_ms;
  mo.poll_ms = config.queue_poll_ms;
  mo.release_leases_on_start = rt->store->capabilities().embedded;
  if (adjust) adjust(mo);
  Runtime* raw = rt.get();
  const std::string default_provider = config.provider;
  auto resolve =
      [raw, default_provider](const engine::WorkflowOptions& o) -> Result<providers::Provider*> {
    const std::string name = o.provider.empty() ? default_provider : o.provider;
    if (name == "offline") return raw->offline.get();
    if (name == "openai" && raw->openai) return raw->openai.get();
    return Fail(Error::InvalidArgument("provider '" + name + "' is not configured on this server",
                                       "options.provider"));
  };
  rt->manager = std::make_unique<engine::WorkflowManager>(*rt->store, *rt->files, *rt->bus,
                                                          *rt->usage, resolve, mo);
  return rt;
}

Result<User> CliUser(Store& store, const std::string& name) {
  if (!name.empty())
    return store.ReadOne<User>([&](StoreTx& tx) { return tx.users().FindByName(name); });
  SL_ASSIGN_OR_RETURN(
      auto users, store.ReadOne<std::vector<User>>([](StoreTx& tx) { return tx.users().List(); }));
  for (const auto& u : users) {
    if (u.role == Role::kAdmin && !u.disabled) return u;
  }
  User admin;
  admin.username = "admin";
  admin.role = Role::kAdmin;
  return store.WriteOne<User>([&](StoreTx& tx) { return tx.users().Create(admin); });
}

}  // namespace storyloom::cli
