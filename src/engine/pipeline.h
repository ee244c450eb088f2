// Pipeline: runs one claimed workflow through story -> scenes -> images -> narration ->
// assemble, skipping every step whose outputs are already committed. Used by
// WorkflowManager's workers and by `storyloom run`. One Pipeline per run; not shared.
#pragma once

#include <atomic>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "engine/event_bus.h"
#include "engine/usage_recorder.h"
#include "engine/workflow_options.h"
#include "files/file_store.h"
#include "providers/provider.h"
#include "storyloom/store.h"

namespace storyloom::engine {

// Where the assemble phase puts a workflow's poster (relative to save_outputs): a fixed
// path, so lists can link it without a query per row.
std::string PosterPath(const std::string& workflow_id);

enum class RunOutcome { kCompleted, kFailed, kCancelled, kInterrupted };

struct PipelineDeps {
  Store& store;
  files::FileStore& files;
  EventBus& bus;
  UsageRecorder& usage;
  providers::Provider& provider;
  // The storage quota of a user without one of their own (config storage.default_quota).
  std::optional<std::int64_t> default_storage_quota;
};

class Pipeline {
 public:
  // `interrupt` is set to stop at the next step boundary (providers abort their call);
  // when `stopping` is also set the process is shutting down and the workflow is left
  // resumable, otherwise it was cancelled.
  Pipeline(PipelineDeps deps, Workflow workflow, const std::atomic<bool>* interrupt,
           const std::atomic<bool>* stopping);

  // Runs to the end, a failure, a cancel or a stop. Errors of the run itself (a provider
  // failing) become a failed workflow; the Result is an error only when the database
  // could not record the outcome.
  [[nodiscard]] Result<RunOutcome> Run();

 private:
  // Commits `fn` with `events` (type, data) in one transaction, then publishes them.
  Result<void> Commit(const std::function<Result<void>(StoreTx&)>& fn,
                      const std::vector<std::pair<std::string, std::string>>& events);
  Result<bool> ShouldStop();
  // Marks the current phase completed with `output` (JSON) inside `tx`.
  Result<void> CompletePhase(StoreTx& tx, Phase phase, const std::string& output);
  Result<void> RunPhase(Phase phase);
  Result<void> StoryPhase();
  Result<void> ScenesPhase();
  Result<void> ImagesPhase() { return MediaPhase(Phase::kImages); }
  Result<void> NarrationPhase() { return MediaPhase(Phase::kNarration); }
  Result<void> MediaPhase(Phase phase);
  Result<void> AssemblePhase();
  // The narrated video of the assemble phase: story.mp4 (encoded to a .partial file, then
  // renamed into place), story.vtt and poster.jpg, written but not yet tracked.
  struct VideoFiles {
    files::StoredFile mp4, vtt, poster;
    std::string mp4_metadata, vtt_metadata, poster_metadata;
    double duration_s = 0;
  };
  Result<VideoFiles> MakeVideo(const Workflow& cur, const std::vector<Scene>& scenes,
                               const std::vector<std::string>& images,
                               const std::vector<std::string>& narrations);

  // The one table of the pipeline: each phase, its share of the progress bar, its step.
  struct Step {
    Phase phase;
    double weight;  // the weights sum to 1
    Result<void> (Pipeline::*run)();
  };
  static const std::array<Step, 5> kSteps;
  static const Step& StepOf(Phase phase);
  // Adds the file row for `stored`, replacing a row left at the same path by an earlier try.
  Result<GeneratedFile> TrackFile(StoreTx& tx, const files::StoredFile& stored,
                                  const std::string& scene_id, FileType type,
                                  const std::string& mime, const std::string& metadata);
  // Removes files under the workflow's folder that no row tracks (left by a crash).
  void RemoveUntrackedFiles();
  static double Progress(Phase phase, double within);
  providers::CallContext Context(Phase phase);

  PipelineDeps d_;
  Workflow w_;
  WorkflowOptions opts_;
  providers::StoryRequest req_;
  const std::atomic<bool>* interrupt_;
  const std::atomic<bool>* stopping_;
  std::string request_id_;
  int phase_attempts_ = 0;  // of the phase being run
  Millis phase_started_ = 0;
};

}  // namespace storyloom::engine
