// storyloom run "prompt": one workflow, start to finish, without a server.
#include <signal.h>

#include <atomic>
#include <cstdio>
#include <nlohmann/json.hpp>

#include "cli/app_wiring.h"
#include "cli/commands.h"
#include "engine/pipeline.h"

namespace storyloom::cli {
namespace {

struct RunFlags {
  std::string prompt;
  std::string title;
  std::string style;
  std::string user;
  int scenes = 4;
  bool no_narration = false;
};

std::atomic<bool> g_interrupt{false};

int Run(const GlobalFlags& flags, const RunFlags& rf) {
  const core::Config config = LoadConfigAndLogging(flags);
  auto rt = BuildRuntime(config, 0);
  if (!rt) return Die(rt.error().message);
  Runtime& r = **rt;
  auto user = CliUser(*r.store, rf.user);
  if (!user) return Die(user.error().message);
  nlohmann::json options = {{"scenes", rf.scenes}, {"narration", !rf.no_narration}};
  if (!rf.style.empty()) options["style"] = rf.style;
  engine::CreateRequest req{user->id, rf.prompt, rf.title, options.dump(), "", ""};
  auto created = r.manager->Create(req);
  if (!created) return Die(created.error().message);
  const Workflow& w = created->workflow;
  std::fprintf(stderr, "workflow %s\n", w.id.c_str());
  Progress bar("generating", 100);
  auto sub = r.bus->Subscribe(w.id, [&](const WorkflowEvent& e) {
    auto j = nlohmann::json::parse(e.data_json, nullptr, false);
    if (e.type == "progress" && j.is_object())
      bar.Update(static_cast<std::int64_t>(j.value("progress", 0.0) * 100));
  });
  struct sigaction sa {};
  sa.sa_handler = [](int) { g_interrupt.store(true); };
  sigaction(SIGINT, &sa, nullptr);
  std::atomic<bool> stopping{false};
  engine::Pipeline pipeline({*r.store, *r.files, *r.bus, *r.usage, *r.offline}, w, &g_interrupt,
                            &stopping);
  auto outcome = pipeline.Run();
  bar.Finish();
  if (!outcome) return Die(outcome.error().message);
  auto done = r.store->GetWorkflow(w.id);
  if (!done) return Die(done.error().message);
  if (*outcome != engine::RunOutcome::kCompleted) {
    return Die("workflow " + w.id + " " + std::string(ToString(done->status)) +
               (done->error_message.empty() ? "" : ": " + done->error_message));
  }
  std::printf("%s\n", done->title.c_str());
  std::printf("%s/%s/story/storyboard.html\n", config.OutputsDir().c_str(), w.id.c_str());
  return 0;
}

}  // namespace

void AddRunCommand(CLI::App& app, GlobalFlags& flags, Action& action) {
  static RunFlags rf;
  CLI::App* cmd =
      app.add_subcommand("run", "Generate one storyboard from a prompt, without a server");
  cmd->add_option("prompt", rf.prompt, "what the story is about")->required();
  cmd->add_option("--title", rf.title, "title (default: proposed from the prompt)");
  cmd->add_option("--style", rf.style, "visual style, e.g. watercolor");
  cmd->add_option("--scenes", rf.scenes, "number of scenes (1-20)")->check(CLI::Range(1, 20));
  cmd->add_flag("--no-narration", rf.no_narration, "skip narration audio");
  cmd->add_option("--user", rf.user, "owner of the workflow (default: the first admin)");
  cmd->callback([&] { action = [&] { return Run(flags, rf); }; });
}

}  // namespace storyloom::cli
