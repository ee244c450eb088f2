// storyloom run "prompt": one workflow, start to finish, without a server of its own. Safe
// beside a `storyloom serve` on the same data: the workflow is leased to this process from
// the moment it is created (no server claims it), its lease is renewed while it runs, and
// released at the end; no other workflow and no other lease is touched. Main thread.
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>

#include "cli/app_wiring.h"
#include "cli/commands.h"

namespace storyloom::cli {
namespace {

struct RunFlags {
  std::string prompt;
  std::string title;
  std::string style;
  std::string user;
  std::string provider;
  int scenes = 4;
  bool no_narration = false;
  bool no_video = false;
};

std::atomic<bool> g_interrupt{false};

// The terminal view of a run: a bar per phase (labelled with the phase, and "video" while
// the assemble phase encodes the video) on a terminal, one line per phase otherwise. Fed
// from the event bus (the worker thread) and the main thread.
class RunView {
 public:
  void OnEvent(const WorkflowEvent& e) {
    auto j = nlohmann::json::parse(e.data_json, nullptr, false);
    if (!j.is_object()) return;
    std::lock_guard lock(mu_);
    if (e.type == "phase" && j.value("status", "") == "running") {
      Show(j.value("phase", ""), percent_);
    } else if (e.type == "progress") {
      percent_ = static_cast<std::int64_t>(j.value("progress", 0.0) * 100);
      if (j.contains("video") && j["video"].is_number()) {
        Show("assemble: video", static_cast<std::int64_t>(j["video"].get<double>() * 100));
      } else {
        Show(label_.empty() ? "generating" : label_, percent_);
      }
    }
  }
  void Finish() {
    std::lock_guard lock(mu_);
    if (bar_) bar_->Finish();
    bar_.reset();
  }

 private:
  void Show(const std::string& label, std::int64_t done) {
    if (label != label_ || !bar_) {
      if (bar_) bar_->Finish();
      label_ = label;
      bar_ = std::make_unique<Progress>(label_, 100);
      if (!tty_) std::fprintf(stderr, "%s\n", label_.c_str());
    }
    bar_->Update(done);
  }

  std::mutex mu_;
  const bool tty_ = ::isatty(STDERR_FILENO) == 1;
  std::string label_;              // guarded by mu_
  std::unique_ptr<Progress> bar_;  // guarded by mu_
  std::int64_t percent_ = 0;       // overall, guarded by mu_
};

int Run(const GlobalFlags& flags, const RunFlags& rf) {
  const core::Config config = LoadConfigAndLogging(flags);
  // One worker, no claiming from the queue, and never release the leases of others (a
  // server on the same SQLite file releases them at its own start only).
  auto rt = BuildRuntime(config, 1, [](engine::ManagerOptions& mo) {
    mo.claim_queued = false;
    mo.release_leases_on_start = false;
    mo.listen_for_work = false;
  });
  if (!rt) return Die(rt.error().message);
  Runtime& r = **rt;
  auto user = CliUser(*r.store, rf.user);
  if (!user) return Die(user.error().message);
  nlohmann::json options = {{"scenes", rf.scenes}, {"narration", !rf.no_narration}};
  if (rf.no_video) options["video"] = false;
  if (!rf.style.empty()) options["style"] = rf.style;
  if (!rf.provider.empty()) options["provider"] = rf.provider;
  engine::CreateRequest req{user->id, rf.prompt, rf.title, options.dump(), "", "", true};
  auto created = r.manager->Create(req);
  if (!created) return Die("could not create and claim the workflow: " + created.error().message);
  const Workflow& w = created->workflow;
  std::fprintf(stderr, "workflow %s (instance %s)\n", w.id.c_str(),
               r.manager->instance_id().c_str());

  RunView view;
  std::mutex mu;
  std::condition_variable cv;
  auto sub = r.bus->Subscribe(w.id, [&](const WorkflowEvent& e) {
    view.OnEvent(e);
    if (e.type == "status") cv.notify_all();
  });
  // Ctrl+C cancels the workflow (it stops at the next step boundary and ends cancelled;
  // `storyloom retry`/POST .../retry resumes it). A second Ctrl+C kills the process at
  // once: the workflow then stays running until its lease expires and a server resumes it.
  struct sigaction sa {};
  sa.sa_handler = [](int) { g_interrupt.store(true); };
  sa.sa_flags = SA_RESETHAND;
  sigaction(SIGINT, &sa, nullptr);

  r.manager->Start();
  bool cancelled = false;
  {
    std::unique_lock lock(mu);
    while (!r.manager->idle()) {
      if (g_interrupt.load() && !cancelled) {
        cancelled = true;
        lock.unlock();
        view.Finish();
        std::fprintf(stderr, "cancelling workflow %s...\n", w.id.c_str());
        if (auto c = r.manager->Cancel(w.id); !c) {
          std::fprintf(stderr, "cancel: %s\n", c.error().message.c_str());
        }
        lock.lock();
      }
      cv.wait_for(lock, std::chrono::milliseconds(100));
    }
  }
  r.manager->Stop();
  sub.reset();
  view.Finish();

  auto done = r.store->GetWorkflow(w.id);
  if (!done) return Die(done.error().message);
  if (done->status != WorkflowStatus::kCompleted) {
    std::string why = "workflow " + w.id + " " + std::string(ToString(done->status));
    if (!done->error_message.empty()) why += ": " + done->error_message;
    if (!IsTerminal(done->status)) why += " (it resumes on a server once its lease expires)";
    return Die(why);
  }
  std::printf("%s\n", done->title.c_str());
  const std::string dir = config.OutputsDir() + "/" + w.id;
  std::printf("%s/story/storyboard.html\n", dir.c_str());
  std::error_code ec;
  if (std::filesystem::is_regular_file(dir + "/video/story.mp4", ec)) {
    std::printf("%s/video/story.mp4\n", dir.c_str());
  }
  return 0;
}

}  // namespace

void AddRunCommand(CLI::App& app, GlobalFlags& flags, Action& action) {
  static RunFlags rf;
  CLI::App* cmd = app.add_subcommand(
      "run", "Generate one storyboard from a prompt (safe beside a running server)");
  cmd->add_option("prompt", rf.prompt, "what the story is about")->required();
  cmd->add_option("--title", rf.title, "title (default: proposed from the prompt)");
  cmd->add_option("--style", rf.style, "visual style, e.g. watercolor");
  cmd->add_option("--scenes", rf.scenes, "number of scenes (1-20)")->check(CLI::Range(1, 20));
  cmd->add_option("--provider", rf.provider,
                  "offline or openai (default: the configured provider)");
  cmd->add_flag("--no-narration", rf.no_narration, "skip narration audio");
  cmd->add_flag("--no-video", rf.no_video, "skip the narrated video (story.mp4)");
  cmd->add_option("--user", rf.user, "owner of the workflow (default: the first admin)");
  cmd->callback([&] { action = [&] { return Run(flags, rf); }; });
}

}  // namespace storyloom::cli
