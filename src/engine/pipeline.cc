#include "engine/pipeline.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>
#include <thread>

#include "core/clock.h"
#include "core/failpoint.h"
#include "core/storage_error.h"
#include "media/story_video.h"
#include "providers/storyboard.h"

namespace storyloom::engine {

using nlohmann::json;

namespace {

std::string SceneFileName(int number, const std::string& ext) {
  return fmt::format("scene_{:02}.{}", number, ext.empty() ? "bin" : ext);
}

// A provider error carries its specific code in detail when it has one.
std::string ErrorCodeFor(const Error& e) {
  if (!e.detail.empty() && e.detail.find(' ') == std::string::npos) return e.detail;
  return std::string(ErrorCodeName(e.code));
}

// A step saw a cancel or stop request between two steps.
Error Interrupted() { return Error::Interrupted("interrupted"); }

}  // namespace

std::string PosterPath(const std::string& workflow_id) { return workflow_id + "/video/poster.jpg"; }

Pipeline::Pipeline(PipelineDeps deps, Workflow workflow, const std::atomic<bool>* interrupt,
                   const std::atomic<bool>* stopping)
    : d_(deps), w_(std::move(workflow)), interrupt_(interrupt), stopping_(stopping) {}

Result<void> Pipeline::Commit(const std::function<Result<void>(StoreTx&)>& fn,
                              const std::vector<std::pair<std::string, std::string>>& events) {
  std::vector<WorkflowEvent> committed;
  SL_RETURN_IF_ERROR(d_.store.Write([&](StoreTx& tx) -> Result<void> {
    committed.clear();  // the callback may run again after a transient failure
    SL_RETURN_IF_ERROR(fn(tx));
    for (const auto& [type, data] : events) {
      SL_ASSIGN_OR_RETURN(auto e, tx.events().Append(w_.id, type, data, request_id_));
      committed.push_back(std::move(e));
    }
    return {};
  }));
  d_.bus.Publish(committed);
  return {};
}

const std::array<Pipeline::Step, 5> Pipeline::kSteps = {{
    {Phase::kStory, 0.1, &Pipeline::StoryPhase},
    {Phase::kScenes, 0.1, &Pipeline::ScenesPhase},
    {Phase::kImages, 0.45, &Pipeline::ImagesPhase},
    {Phase::kNarration, 0.25, &Pipeline::NarrationPhase},
    {Phase::kAssemble, 0.1, &Pipeline::AssemblePhase},
}};

const Pipeline::Step& Pipeline::StepOf(Phase phase) {
  return kSteps[static_cast<std::size_t>(phase)];
}

double Pipeline::Progress(Phase phase, double within) {
  double done = 0;
  for (const Step& s : kSteps) {
    if (s.phase == phase) break;
    done += s.weight;
  }
  return std::min(1.0, done + StepOf(phase).weight * within);
}

providers::CallContext Pipeline::Context(Phase phase_enum) {
  const std::string phase(ToString(phase_enum));
  providers::CallContext ctx;
  ctx.workflow_id = w_.id;
  ctx.user_id = w_.user_id;
  ctx.phase = phase;
  ctx.cancelled = interrupt_;
  // The reservation of the attempt in flight; released if the provider never records it.
  struct Pending {
    UsageRecorder* usage;
    std::string id;
    ~Pending() { usage->Release(id); }
  };
  auto pending = std::make_shared<Pending>(Pending{&d_.usage, {}});
  ctx.reserve = [this, phase, pending](const ApiUsage& planned) -> Result<void> {
    ApiUsage p = planned;
    p.workflow_id = w_.id;
    p.user_id = w_.user_id;
    if (p.phase.empty()) p.phase = phase;
    d_.usage.Release(std::exchange(pending->id, {}));
    SL_ASSIGN_OR_RETURN(pending->id, d_.usage.Reserve(p));
    return {};
  };
  ctx.record_usage = [this, phase, pending](ApiUsage& u) -> Result<void> {
    u.workflow_id = w_.id;
    u.user_id = w_.user_id;
    if (u.phase.empty()) u.phase = phase;
    return d_.usage.Record(u, std::exchange(pending->id, {}));
  };
  return ctx;
}

Result<bool> Pipeline::ShouldStop() {
  if (interrupt_ && interrupt_->load()) return true;
  // Another instance (or the API on another node) may have asked for a cancel.
  auto now = d_.store.GetWorkflow(w_.id);
  if (!now) {
    // Deleted (or marked for deletion): stop; the runner finishes the delete.
    if (now.error().code == ErrorCode::kNotFound) return true;
    return Fail(now.error());
  }
  return now->cancel_requested;
}

void Pipeline::RemoveUntrackedFiles() {
  // Only the folders the pipeline itself writes (story/, images/, audio/, video/): a file there
  // without a row is a step's output whose commit never happened, and no one else writes
  // there while this run holds the lease. uploads/ is never touched: an upload in flight
  // has its bytes in place a moment before its row commits, and an upload cleans up after
  // itself when its row fails; a crash mid-upload leaves an orphan for cleanup.
  std::vector<std::string> candidates;
  for (const char* dir : {"story", "images", "audio", "video"}) {
    auto listed = d_.files.ListUnder(w_.id + "/" + dir);
    if (!listed) return;
    candidates.insert(candidates.end(), listed->begin(), listed->end());
  }
  if (candidates.empty()) return;
  // Every tracked row, page by page (a workflow may track any number of files).
  std::set<std::string> keep;
  std::string cursor;
  for (;;) {
    auto page = d_.store.ReadOne<Page<GeneratedFile>>([&](StoreTx& tx) {
      return tx.files().List(
          {.workflow_id = w_.id, .limit = 200, .cursor = cursor, .oldest_first = true});
    });
    if (!page) return;  // without the whole tracked set, delete nothing
    for (const auto& f : page->items) keep.insert(f.file_path);
    if (page->next_cursor.empty()) break;
    cursor = page->next_cursor;
  }
  for (const auto& path : candidates) {
    if (!keep.contains(path)) {
      spdlog::info("workflow {}: removing {} left by an interrupted run", w_.id, path);
      (void)d_.files.Remove(path);
    }
  }
}

Result<GeneratedFile> Pipeline::TrackFile(StoreTx& tx, const files::StoredFile& stored,
                                          const std::string& scene_id, FileType type,
                                          const std::string& mime, const std::string& metadata) {
  // The moment between a file's rename into place and its row's commit.
  if (const int err = FailpointErrno("files.before_row"); err != 0) {
    return Fail(core::SysError("failpoint before the row of", stored.rel_path, err));
  }
  std::int64_t replaced = 0;
  if (auto old = tx.files().GetByPath(stored.rel_path); old) {
    replaced = old->file_size;
    SL_RETURN_IF_ERROR(tx.files().Delete(old->id));
  }
  // Under the user's row lock: the phase's rows commit whole or, over the quota, not at all.
  SL_RETURN_IF_ERROR(
      tx.storage().Reserve(w_.user_id, stored.size - replaced, d_.default_storage_quota));
  NewFile f;
  f.workflow_id = w_.id;
  f.scene_id = scene_id;
  f.file_type = type;
  f.file_path = stored.rel_path;
  f.file_name = std::filesystem::path(stored.rel_path).filename().string();
  f.mime_type = mime;
  f.file_size = stored.size;
  f.sha256 = stored.sha256;
  f.metadata_json = metadata.empty() ? "{}" : metadata;
  return tx.files().Add(f);
}

Result<RunOutcome> Pipeline::Run() {
  SL_ASSIGN_OR_RETURN(opts_, ParseWorkflowOptions(w_.options_json));
  req_.prompt = w_.original_prompt;
  req_.title = w_.title;
  req_.style = opts_.style;
  req_.scenes = opts_.scenes;
  req_.narration = opts_.narration;
  req_.chat_model = opts_.chat_model;
  req_.image_model = opts_.image_model;
  req_.speech_model = opts_.speech_model;

  const Millis now = core::WallMillis();
  // A claimed workflow stays queued until here, so a cancel may have finished it in between:
  // then there is nothing to run (and it must not come back to life as running).
  std::optional<WorkflowStatus> ended;
  std::vector<WorkflowEvent> started;
  SL_RETURN_IF_ERROR(d_.store.Write([&](StoreTx& tx) -> Result<void> {
    started.clear();  // the callback may run again after a transient failure
    ended.reset();
    auto found = tx.workflows().GetForUpdate(w_.id);  // a cancel committing now is seen
    if (!found && found.error().code == ErrorCode::kNotFound) {
      ended = WorkflowStatus::kCancelled;  // deleted before it started
      return {};
    }
    SL_RETURN_IF_ERROR(found);
    const Workflow& cur = *found;
    if (IsTerminal(cur.status)) {
      ended = cur.status;
      return {};
    }
    WorkflowUpdate u;
    u.status = WorkflowStatus::kRunning;
    if (!w_.started_at) u.started_at = now;
    SL_RETURN_IF_ERROR(tx.workflows().Update(w_.id, u));
    SL_ASSIGN_OR_RETURN(
        auto e, tx.events().Append(w_.id, "status",
                                   json{{"status", "running"}, {"attempt", w_.attempt}}.dump(),
                                   request_id_));
    started.push_back(std::move(e));
    return {};
  }));
  d_.bus.Publish(started);
  if (ended) {
    return *ended == WorkflowStatus::kCompleted ? RunOutcome::kCompleted
           : *ended == WorkflowStatus::kFailed  ? RunOutcome::kFailed
                                                : RunOutcome::kCancelled;
  }
  RemoveUntrackedFiles();

  SL_ASSIGN_OR_RETURN(auto phases, d_.store.ReadOne<std::vector<WorkflowPhase>>(
                                       [&](StoreTx& tx) { return tx.phases().List(w_.id); }));
  for (const Step& step : kSteps) {
    const Phase phase = step.phase;
    bool done = false;
    for (const auto& p : phases) {
      if (p.phase == phase &&
          (p.status == PhaseStatus::kCompleted || p.status == PhaseStatus::kSkipped)) {
        done = true;
      }
    }
    if (done) continue;
    SL_ASSIGN_OR_RETURN(bool stop, ShouldStop());
    if (stop) break;
    auto r = RunPhase(phase);
    if (!r) {
      // A provider or step saw the interrupt: not a failure of the workflow.
      if ((interrupt_ && interrupt_->load()) || r.error().IsInterrupted()) break;
      // A step that failed because the workflow was cancelled or deleted under it.
      if (auto stop = ShouldStop(); stop && *stop) break;
      const Error& e = r.error();
      if (e.IsStorageFault() || e.IsDatabaseUnavailable()) {
        // Not the workflow's fault, and it may be unable to record anything: it resumes once
        // the lease expires (a full disk is freed, the database is back).
        return Fail(e);
      }
      spdlog::warn("workflow {} failed in {}: {}", w_.id, ToString(phase), e.message);
      // What the phase wrote and never tracked (over the quota, say) goes now, not at the
      // next run: a failed workflow leaves no orphans for fsck.
      RemoveUntrackedFiles();
      const std::string code = ErrorCodeFor(e);
      int attempts = 1;
      for (const auto& p : phases) {
        if (p.phase == phase) attempts = p.attempts + 1;
      }
      SL_RETURN_IF_ERROR(Commit(
          [&](StoreTx& tx) -> Result<void> {
            WorkflowPhase p{w_.id,     phase, PhaseStatus::kFailed,
                            attempts,  now,   core::WallMillis(),
                            e.message, ""};
            SL_RETURN_IF_ERROR(tx.phases().Upsert(p));
            WorkflowUpdate u;
            u.status = WorkflowStatus::kFailed;
            u.error_code = code;
            u.error_message = e.message;
            u.finished_at = std::optional<Millis>(core::WallMillis());
            return tx.workflows().Update(w_.id, u);
          },
          {{"phase",
            json{{"phase", ToString(phase)}, {"status", "failed"}, {"error", e.message}}.dump()},
           {"status",
            json{{"status", "failed"}, {"error", {{"code", code}, {"message", e.message}}}}
                .dump()}}));
      return RunOutcome::kFailed;
    }
    SL_ASSIGN_OR_RETURN(phases, d_.store.ReadOne<std::vector<WorkflowPhase>>(
                                    [&](StoreTx& tx) { return tx.phases().List(w_.id); }));
  }

  auto found = d_.store.GetWorkflow(w_.id);
  if (!found && found.error().code == ErrorCode::kNotFound) return RunOutcome::kCancelled;
  SL_RETURN_IF_ERROR(found);
  const Workflow& latest = *found;
  if (latest.status == WorkflowStatus::kCompleted) return RunOutcome::kCompleted;
  if (stopping_ && stopping_->load()) return RunOutcome::kInterrupted;
  if (latest.cancel_requested || (interrupt_ && interrupt_->load())) {
    SL_RETURN_IF_ERROR(Commit(
        [&](StoreTx& tx) -> Result<void> {
          WorkflowUpdate u;
          u.status = WorkflowStatus::kCancelled;
          u.cancel_requested = false;
          u.finished_at = std::optional<Millis>(core::WallMillis());
          return tx.workflows().Update(w_.id, u);
        },
        {{"status", json{{"status", "cancelled"}}.dump()}}));
    return RunOutcome::kCancelled;
  }
  return RunOutcome::kInterrupted;
}

Result<void> Pipeline::RunPhase(Phase phase) {
  int attempts = 0;
  SL_ASSIGN_OR_RETURN(auto phases, d_.store.ReadOne<std::vector<WorkflowPhase>>(
                                       [&](StoreTx& tx) { return tx.phases().List(w_.id); }));
  std::optional<Millis> started;
  for (const auto& p : phases) {
    if (p.phase == phase) {
      attempts = p.attempts;
      started = p.started_at;
    }
  }
  const Millis now = core::WallMillis();
  if (phase == Phase::kNarration && !opts_.narration) {
    return Commit(
        [&](StoreTx& tx) -> Result<void> {
          WorkflowPhase p{w_.id, phase, PhaseStatus::kSkipped, attempts, now, now, "", ""};
          SL_RETURN_IF_ERROR(tx.phases().Upsert(p));
          WorkflowUpdate u;
          u.current_phase = std::string(ToString(phase));
          u.progress = Progress(phase, 1.0);
          return tx.workflows().Update(w_.id, u);
        },
        {{"phase", json{{"phase", ToString(phase)}, {"status", "skipped"}}.dump()}});
  }
  SL_RETURN_IF_ERROR(Commit(
      [&](StoreTx& tx) -> Result<void> {
        WorkflowPhase p{
            w_.id, phase, PhaseStatus::kRunning, attempts + 1, started.value_or(now), {}, "", ""};
        SL_RETURN_IF_ERROR(tx.phases().Upsert(p));
        WorkflowUpdate u;
        u.current_phase = std::string(ToString(phase));
        u.progress = Progress(phase, 0.0);
        return tx.workflows().Update(w_.id, u);
      },
      {{"phase", json{{"phase", ToString(phase)}, {"status", "running"}, {"attempt", attempts + 1}}
                     .dump()}}));
  phase_attempts_ = attempts + 1;
  // A user already at their storage quota spends nothing on a phase that could not be kept.
  SL_ASSIGN_OR_RETURN(StorageUse use, d_.store.ReadOne<StorageUse>([&](StoreTx& tx) {
    return tx.storage().Use(w_.user_id, d_.default_storage_quota);
  }));
  if (use.quota && use.bytes >= *use.quota) {
    return Fail(Error::QuotaExceeded(
        fmt::format("the storage quota of {} bytes is used up ({} bytes in {} files); delete "
                    "files or raise the quota, then retry",
                    *use.quota, use.bytes, use.files)));
  }
  phase_started_ = started.value_or(now);
  return (this->*StepOf(phase).run)();
}

Result<void> Pipeline::CompletePhase(StoreTx& tx, Phase phase, const std::string& output) {
  WorkflowPhase p{
      w_.id, phase, PhaseStatus::kCompleted, phase_attempts_, phase_started_, core::WallMillis(),
      "",    output};
  SL_RETURN_IF_ERROR(tx.phases().Upsert(p));
  WorkflowUpdate u;
  u.progress = Progress(phase, 1.0);
  return tx.workflows().Update(w_.id, u);
}

Result<void> Pipeline::StoryPhase() {
  auto ctx = Context(Phase::kStory);
  SL_ASSIGN_OR_RETURN(providers::Story story, d_.provider.WriteStory(req_, ctx));
  if (story.text.empty()) return Fail(Error::Internal("the provider returned an empty story"));
  // The story is also a file, so it can be downloaded and backed up like the rest.
  SL_ASSIGN_OR_RETURN(auto stored, d_.files.Write(w_.id + "/story/story.txt",
                                                  story.title + "\n\n" + story.text + "\n"));
  const std::string title = w_.title.empty() ? story.title : w_.title;
  json meta = json::parse(story.metadata_json.empty() ? "{}" : story.metadata_json, nullptr, false);
  if (!meta.is_object()) meta = json::object();
  meta["prompt"] = w_.original_prompt;
  SL_RETURN_IF_ERROR(Commit(
      [&](StoreTx& tx) -> Result<void> {
        SL_RETURN_IF_ERROR(
            TrackFile(tx, stored, "", FileType::kText, "text/plain; charset=utf-8", meta.dump()));
        WorkflowUpdate u;
        u.enhanced_story = story.text;
        u.title = title;
        SL_RETURN_IF_ERROR(tx.workflows().Update(w_.id, u));
        return CompletePhase(tx, Phase::kStory,
                             json{{"title", title}, {"characters", story.text.size()}}.dump());
      },
      {{"phase", json{{"phase", "story"}, {"status", "completed"}}.dump()},
       {"progress", json{{"progress", Progress(Phase::kStory, 1.0)}}.dump()}}));
  w_.title = title;
  w_.enhanced_story = story.text;
  req_.title = title;
  return {};
}

Result<void> Pipeline::ScenesPhase() {
  SL_ASSIGN_OR_RETURN(Workflow cur, d_.store.GetWorkflow(w_.id));
  providers::Story story{cur.title, cur.enhanced_story, ""};
  req_.title = cur.title;
  auto ctx = Context(Phase::kScenes);
  SL_ASSIGN_OR_RETURN(auto specs, d_.provider.BreakdownScenes(req_, story, ctx));
  if (static_cast<int>(specs.size()) != opts_.scenes) {
    return Fail(Error::Internal(
        fmt::format("the provider returned {} scenes instead of {}", specs.size(), opts_.scenes)));
  }
  SL_RETURN_IF_ERROR(Commit(
      [&](StoreTx& tx) -> Result<void> {
        // A failed earlier try may have left nothing; scenes are written only here, with the
        // phase, so there is never a partial set.
        SL_ASSIGN_OR_RETURN(auto existing, tx.scenes().List(w_.id));
        if (!existing.empty())
          return CompletePhase(tx, Phase::kScenes, json{{"scenes", existing.size()}}.dump());
        for (const auto& spec : specs) {
          Scene s;
          s.workflow_id = w_.id;
          s.scene_number = spec.number;
          s.title = spec.title;
          s.description = spec.description;
          s.image_prompt = spec.image_prompt;
          s.narration = spec.narration;
          SL_RETURN_IF_ERROR(tx.scenes().Add(s));
        }
        return CompletePhase(tx, Phase::kScenes, json{{"scenes", specs.size()}}.dump());
      },
      {{"phase",
        json{{"phase", "scenes"}, {"status", "completed"}, {"scenes", specs.size()}}.dump()},
       {"progress", json{{"progress", Progress(Phase::kScenes, 1.0)}}.dump()}}));
  return {};
}

Result<void> Pipeline::MediaPhase(Phase phase) {
  const bool images = phase == Phase::kImages;
  SL_ASSIGN_OR_RETURN(auto scenes, d_.store.ReadOne<std::vector<Scene>>(
                                       [&](StoreTx& tx) { return tx.scenes().List(w_.id); }));
  const double total = static_cast<double>(std::max<std::size_t>(1, scenes.size()));
  int done = 0;
  for (Scene& scene : scenes) {
    if (!(images ? scene.image_file_id : scene.audio_file_id).empty()) {
      ++done;
      continue;  // committed by an earlier run
    }
    SL_ASSIGN_OR_RETURN(bool stop, ShouldStop());
    if (stop) return Fail(Interrupted());
    providers::SceneSpec spec{scene.scene_number, scene.title, scene.description,
                              scene.image_prompt, scene.narration};
    auto ctx = Context(phase);
    SL_ASSIGN_OR_RETURN(providers::Media media, images ? d_.provider.RenderImage(req_, spec, ctx)
                                                       : d_.provider.Narrate(req_, spec, ctx));
    if (media.bytes.empty()) return Fail(Error::Internal("the provider returned an empty file"));
    const std::string rel = fmt::format("{}/{}/{}", w_.id, images ? "images" : "audio",
                                        SceneFileName(scene.scene_number, media.extension));
    SL_ASSIGN_OR_RETURN(auto stored, d_.files.Write(rel, media.bytes));
    json meta =
        json::parse(media.metadata_json.empty() ? "{}" : media.metadata_json, nullptr, false);
    if (!meta.is_object()) meta = json::object();
    meta["scene_number"] = scene.scene_number;
    meta["provider"] = d_.provider.name();
    if (images) {
      meta["prompt"] = scene.image_prompt;
      // The style the workflow asked for (options.style), null when it named none.
      meta["style"] = opts_.style.empty() ? json(nullptr) : json(opts_.style);
    }
    ++done;
    const double progress = Progress(phase, done / total);
    SL_RETURN_IF_ERROR(Commit(
        [&](StoreTx& tx) -> Result<void> {
          SL_ASSIGN_OR_RETURN(
              GeneratedFile f,
              TrackFile(tx, stored, scene.id, images ? FileType::kImage : FileType::kAudio,
                        media.mime_type, meta.dump()));
          (images ? scene.image_file_id : scene.audio_file_id) = f.id;
          SL_RETURN_IF_ERROR(tx.scenes().Update(scene));
          WorkflowUpdate u;
          u.progress = progress;
          return tx.workflows().Update(w_.id, u);
        },
        {{"file", json{{"phase", ToString(phase)},
                       {"scene", scene.scene_number},
                       {"path", stored.rel_path},
                       {"size", stored.size}}
                      .dump()},
         {"progress", json{{"progress", progress}}.dump()}}));
  }
  return Commit(
      [&](StoreTx& tx) {
        return CompletePhase(tx, phase, json{{"files", done}}.dump());
      },
      {{"phase", json{{"phase", ToString(phase)}, {"status", "completed"}}.dump()}});
}

Result<Pipeline::VideoFiles> Pipeline::MakeVideo(const Workflow& cur,
                                                 const std::vector<Scene>& scenes,
                                                 const std::vector<std::string>& images,
                                                 const std::vector<std::string>& narrations) {
  media::VideoSpec spec;
  spec.title = cur.title;
  // The offline provider's work is labelled as such wherever it is shown (storyboard.html,
  // the scene cards); the video's title card says so too.
  if (d_.provider.name() == "offline") {
    spec.note =
        "Made offline from templates, drawn scene cards and synthetic speech — not AI "
        "generated";
  }
  spec.scene_seconds = opts_.scene_seconds;
  if (opts_.resolution == "1080p") {
    spec.width = 1920;
    spec.height = 1080;
  }
  for (std::size_t i = 0; i < scenes.size(); ++i) {
    if (images[i].empty()) {
      return Fail(Error::Internal(
          fmt::format("scene {} has no picture for the video", scenes[i].scene_number)));
    }
    spec.scenes.push_back({scenes[i].scene_number, images[i], narrations[i], scenes[i].narration});
  }
  SL_ASSIGN_OR_RETURN(media::Timeline timeline, media::PlanTimeline(spec));
  const std::string dir = w_.id + "/video/";
  VideoFiles out_files;
  const std::vector<media::Cue> cues = media::SubtitleCues(spec, timeline);
  SL_ASSIGN_OR_RETURN(out_files.vtt, d_.files.Write(dir + "story.vtt", media::WebVtt(cues)));
  out_files.vtt_metadata = json{{"cues", cues.size()}, {"video", dir + "story.mp4"}}.dump();
  SL_ASSIGN_OR_RETURN(std::string poster, media::PosterJpeg(spec));
  SL_ASSIGN_OR_RETURN(out_files.poster, d_.files.Write(PosterPath(w_.id), poster));
  out_files.poster_metadata =
      json{{"width", spec.width}, {"height", spec.height}, {"video", dir + "story.mp4"}}.dump();

  // Encoded under a name no row tracks, so a crash mid-encode leaves a file that the next
  // run's RemoveUntrackedFiles deletes; only a whole, fsynced video is renamed into place.
  SL_ASSIGN_OR_RETURN(std::string partial, d_.files.Resolve(dir + "story.mp4.partial"));
  std::error_code ec;
  std::filesystem::create_directories(std::filesystem::path(partial).parent_path(), ec);
  if (ec) return Fail(core::SysError("cannot create", dir, ec.value()));

  std::atomic<bool> stop{false};
  double next_report = 0.05;
  const auto slow = FailpointArg("video.slow_frame_ms");  // tests: time to kill or cancel
  auto on_progress = [&](double fraction) {
    if (interrupt_ && interrupt_->load()) stop = true;
    if (slow) std::this_thread::sleep_for(std::chrono::milliseconds(std::atoi(slow->c_str())));
    if (fraction < next_report || stop) return;
    while (next_report <= fraction) next_report += 0.05;
    // A cancel from another instance, or the workflow deleted under us.
    if (auto s = ShouldStop(); !s || *s) {
      stop = true;
      return;
    }
    const double progress = Progress(Phase::kAssemble, 0.1 + 0.85 * fraction);
    auto r = Commit(
        [&](StoreTx& tx) {
          WorkflowUpdate u;
          u.progress = progress;
          return tx.workflows().Update(w_.id, u);
        },
        {{"progress",
          json{{"progress", progress}, {"phase", "assemble"}, {"video", fraction}}.dump()}});
    if (!r) spdlog::warn("workflow {}: video progress not recorded: {}", w_.id, r.error().message);
  };
  auto encoded = media::EncodeStoryVideo(spec, timeline, partial, on_progress, &stop);
  if (!encoded) {
    std::filesystem::remove(partial, ec);
    if (stop.load()) return Fail(Interrupted());
    return Fail(encoded.error());
  }
  auto adopted = d_.files.Adopt(partial, dir + "story.mp4");
  if (!adopted) {
    std::filesystem::remove(partial, ec);
    return Fail(adopted.error());
  }
  out_files.mp4 = *adopted;
  out_files.duration_s = encoded->duration_s;
  out_files.mp4_metadata = json{
      {"duration_s", encoded->duration_s},
      {"video_codec", encoded->video_codec},
      {"audio_codec", encoded->audio_codec},
      {"bitrate", encoded->bitrate},
      {"width", encoded->width},
      {"height", encoded->height},
      {"fps", encoded->fps},
      {"subtitles", encoded->subtitles},
      {"scenes", scenes.size()},
      {"provider",
       d_.provider.name()}}.dump();
  return out_files;
}

Result<void> Pipeline::AssemblePhase() {
  SL_ASSIGN_OR_RETURN(Workflow cur, d_.store.GetWorkflow(w_.id));
  SL_ASSIGN_OR_RETURN(auto scenes, d_.store.ReadOne<std::vector<Scene>>(
                                       [&](StoreTx& tx) { return tx.scenes().List(w_.id); }));
  providers::StoryboardInput in;
  in.workflow_id = w_.id;
  in.title = cur.title;
  in.prompt = cur.original_prompt;
  in.story = cur.enhanced_story;
  in.provider = d_.provider.name();
  in.created_at = core::FormatRfc3339(cur.created_at);
  std::vector<std::string> image_paths, audio_paths;  // absolute, for the video
  for (const Scene& s : scenes) {
    providers::StoryboardScene out;
    out.number = s.scene_number;
    out.title = s.title;
    out.description = s.description;
    out.narration = s.narration;
    auto load = [&](const std::string& file_id, std::string& bytes, std::string& mime,
                    std::string& name, std::vector<std::string>& paths) -> Result<void> {
      paths.emplace_back();
      if (file_id.empty()) return {};
      SL_ASSIGN_OR_RETURN(GeneratedFile f, d_.store.ReadOne<GeneratedFile>([&](StoreTx& tx) {
        return tx.files().Get(file_id);
      }));
      SL_ASSIGN_OR_RETURN(std::string path, d_.files.Resolve(f.file_path));
      std::ifstream in_file(path, std::ios::binary);
      if (!in_file) return Fail(Error::Unavailable("cannot read " + f.file_path));
      bytes.assign(std::istreambuf_iterator<char>(in_file), {});
      mime = f.mime_type;
      name = "../" + f.file_path.substr(f.file_path.find('/') + 1);
      paths.back() = path;
      return {};
    };
    SL_RETURN_IF_ERROR(
        load(s.image_file_id, out.image_bytes, out.image_mime, out.image_file, image_paths));
    SL_RETURN_IF_ERROR(
        load(s.audio_file_id, out.audio_bytes, out.audio_mime, out.audio_file, audio_paths));
    in.scenes.push_back(std::move(out));
  }
  std::optional<VideoFiles> video;
  if (opts_.VideoOn() && !scenes.empty()) {
    SL_ASSIGN_OR_RETURN(video, MakeVideo(cur, scenes, image_paths, audio_paths));
    in.video_file = "../video/story.mp4";
    in.subtitles_file = "../video/story.vtt";
    in.poster_file = "../video/poster.jpg";
  }
  providers::Storyboard board = providers::AssembleStoryboard(in);
  SL_ASSIGN_OR_RETURN(auto json_file, d_.files.Write(w_.id + "/story/storyboard.json", board.json));
  SL_ASSIGN_OR_RETURN(auto html_file, d_.files.Write(w_.id + "/story/storyboard.html", board.html));
  const Millis now = core::WallMillis();
  std::vector<std::pair<std::string, std::string>> events;
  if (video) {
    events.emplace_back("file", json{{"phase", "assemble"},
                                     {"path", video->mp4.rel_path},
                                     {"size", video->mp4.size},
                                     {"duration_s", video->duration_s}}
                                    .dump());
  }
  events.emplace_back("phase", json{{"phase", "assemble"}, {"status", "completed"}}.dump());
  events.emplace_back("progress", json{{"progress", 1.0}}.dump());
  events.emplace_back("status", json{{"status", "completed"}}.dump());
  return Commit(
      [&](StoreTx& tx) -> Result<void> {
        const std::string meta =
            json{{"provider", d_.provider.name()}, {"scenes", scenes.size()}}.dump();
        SL_RETURN_IF_ERROR(TrackFile(tx, json_file, "", FileType::kJson, "application/json", meta));
        SL_RETURN_IF_ERROR(
            TrackFile(tx, html_file, "", FileType::kText, "text/html; charset=utf-8", meta));
        int files = 2;
        if (video) {
          SL_RETURN_IF_ERROR(
              TrackFile(tx, video->mp4, "", FileType::kVideo, "video/mp4", video->mp4_metadata));
          SL_RETURN_IF_ERROR(TrackFile(tx, video->vtt, "", FileType::kText,
                                       "text/vtt; charset=utf-8", video->vtt_metadata));
          SL_RETURN_IF_ERROR(TrackFile(tx, video->poster, "", FileType::kImage, "image/jpeg",
                                       video->poster_metadata));
          files += 3;
        }
        SL_RETURN_IF_ERROR(CompletePhase(tx, Phase::kAssemble, json{{"files", files}}.dump()));
        WorkflowUpdate u;
        u.status = WorkflowStatus::kCompleted;
        u.progress = 1.0;
        u.finished_at = std::optional<Millis>(now);
        u.error_code = "";
        u.error_message = "";
        return tx.workflows().Update(w_.id, u);
      },
      events);
}

}  // namespace storyloom::engine
