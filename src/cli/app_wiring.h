// Builds the runtime objects a serving or running process needs (file store, providers,
// usage recorder, engine) from the configuration. Composition root helpers; main thread.
#pragma once

#include <functional>
#include <memory>
#include <string>

#include "core/config.h"
#include "engine/event_bus.h"
#include "engine/event_relay.h"
#include "engine/usage_recorder.h"
#include "engine/workflow_manager.h"
#include "files/file_store.h"
#include "providers/openai/openai_provider.h"
#include "providers/provider.h"
#include "storyloom/store.h"

namespace storyloom::cli {

struct Runtime {
  std::unique_ptr<Store> store;
  std::unique_ptr<files::FileStore> files;
  std::unique_ptr<engine::EventBus> bus;
  // Built here, started only by `serve` (Start/Stop there); other commands leave it idle.
  std::unique_ptr<engine::EventRelay> relay;
  std::unique_ptr<engine::UsageRecorder> usage;
  std::unique_ptr<providers::Provider> offline;
  std::unique_ptr<providers::Provider> openai;  // null unless configured
  std::unique_ptr<engine::WorkflowManager> manager;
};

// Opens and migrates the store and builds everything else. `workers` overrides the
// configured worker count when >= 0; `adjust`, when set, changes the engine's options last
// (`storyloom run` claims only its own workflow and releases no other lease).
Result<std::unique_ptr<Runtime>> BuildRuntime(
    const core::Config& config, int workers = -1,
    const std::function<void(engine::ManagerOptions&)>& adjust = {});

// Budget limits and OpenAI-compatible provider settings from the configuration.
engine::BudgetOptions BudgetOptionsFrom(const core::Config& config);
providers::OpenAIOptions OpenAIOptionsFrom(const core::Config& config);

// The user that owns work started from the command line: `name`, or the first admin.
Result<User> CliUser(Store& store, const std::string& name);

}  // namespace storyloom::cli
