// ApplyImportPlan: the planned files copied (or hard-linked) into the FileStore and recorded
// as completed, imported workflows. Durability as everywhere: a file is written to a
// temporary name, fsynced, moved into place and its directory fsynced before the row that
// tracks it commits. The scanned tree is only ever opened for reading.
#include <fcntl.h>
#include <fmt/format.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <string_view>

#include "core/clock.h"
#include "core/hash.h"
#include "core/ids.h"
#include "core/storage_error.h"
#include "core/text_util.h"
#include "ops/backup_io.h"
#include "ops/import.h"

namespace storyloom::ops {
namespace {

using nlohmann::json;
namespace fs = std::filesystem;

constexpr std::size_t kRowsPerCommit = 64;
constexpr std::int64_t kMaxNarrationBytes = 64 << 10;

std::string Dump(const json& j) { return j.dump(-1, ' ', false, json::error_handler_t::replace); }

// Opens the regular file `rel` beneath `root`, no component followed if it is a symlink.
Result<UniqueFd> OpenSource(const std::string& root, const std::string& rel) {
  UniqueFd dir(::open(root.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (dir.get() < 0) return Fail(core::SysError("cannot open", root, errno));
  std::size_t start = 0;
  while (true) {
    const std::size_t slash = rel.find('/', start);
    const std::string part = rel.substr(start, slash == std::string::npos ? slash : slash - start);
    if (slash == std::string::npos) {
      UniqueFd f(::openat(dir.get(), part.c_str(), O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC));
      if (f.get() < 0)
        return Fail(Error::Unavailable(fmt::format("cannot open: {}", std::strerror(errno))));
      struct stat st {};
      if (::fstat(f.get(), &st) != 0 || !S_ISREG(st.st_mode)) {
        return Fail(Error::InvalidArgument("no longer a regular file"));
      }
      return f;
    }
    UniqueFd sub(
        ::openat(dir.get(), part.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
    if (sub.get() < 0) {
      return Fail(
          Error::Unavailable(fmt::format("cannot open its folder: {}", std::strerror(errno))));
    }
    dir = std::move(sub);
    start = slash + 1;
  }
}

// Copies the open file to the new file `dest` through `buf`, fsynced; fails past `max_bytes`.
Result<std::int64_t> CopyTo(int in, const std::string& dest, std::int64_t max_bytes,
                            std::string& buf) {
  UniqueFd out(::open(dest.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644));
  if (out.get() < 0) return Fail(core::SysError("cannot create", dest, errno));
  std::int64_t total = 0;
  auto fail = [&](Error e) -> Result<std::int64_t> {
    ::unlink(dest.c_str());
    return Fail(std::move(e));
  };
  while (true) {
    const ssize_t n = ::read(in, buf.data(), buf.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0)
      return fail(Error::Unavailable(fmt::format("cannot read: {}", std::strerror(errno))));
    if (n == 0) break;
    total += n;
    if (total > max_bytes) return fail(Error::ResourceExhausted("grew over the size limit"));
    for (ssize_t done = 0; done < n;) {
      const ssize_t w = ::write(out.get(), buf.data() + done, static_cast<std::size_t>(n - done));
      if (w < 0 && errno == EINTR) continue;
      if (w < 0) return fail(core::SysError("cannot write", dest, errno));
      done += w;
    }
  }
  if (::fsync(out.get()) != 0) return fail(core::SysError("cannot fsync", dest, errno));
  return total;
}

// Up to `max` bytes of the tracked file, as valid UTF-8.
std::string ReadText(const files::FileStore& files, const std::string& rel, std::int64_t max) {
  auto path = files.Resolve(rel);
  if (!path) return "";
  UniqueFd fd(::open(path->c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC));
  if (fd.get() < 0) return "";
  std::string out(static_cast<std::size_t>(max), '\0');
  std::size_t got = 0;
  while (got < out.size()) {
    const ssize_t n = ::read(fd.get(), out.data() + got, out.size() - got);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    got += static_cast<std::size_t>(n);
  }
  out.resize(got);
  return core::SanitizeUtf8(out);
}

// A file moved into the store, waiting for its row.
struct Placed {
  const ImportFile* file;
  files::StoredFile stored;
  bool linked = false;
};

class Importer {
 public:
  Importer(Store& store, files::FileStore& files, const ImportPlan& plan, const ImportOptions& o,
           ImportReport& report)
      : store_(store), files_(files), plan_(plan), o_(o), report_(report) {}

  Result<void> Story(const ImportStory& s) {
    ImportedStory out{s.source, s.title, "", false, 0, 0, 0};
    std::set<std::string> present;
    if (o_.dry_run) {
      SL_RETURN_IF_ERROR(store_.Read([&](StoreTx& tx) -> Result<void> {
        SL_ASSIGN_OR_RETURN(auto w, tx.workflows().FindByKey(o_.user_id, s.key));
        out.created = !w;
        if (w) out.workflow_id = w->id;
        return Present(tx, out.workflow_id, s, present);
      }));
    } else {
      SL_RETURN_IF_ERROR(store_.Write([&](StoreTx& tx) -> Result<void> {
        SL_ASSIGN_OR_RETURN(auto w, FindOrCreate(tx, s, out.created));
        out.workflow_id = w.id;
        return {};
      }));
      // A read of its own: the writer is not held while every file is looked up.
      SL_RETURN_IF_ERROR(store_.Read([&](StoreTx& tx) -> Result<void> {
        present.clear();
        return Present(tx, out.workflow_id, s, present);
      }));
    }
    if (out.created) ++report_.workflows_created;
    out.files_present = static_cast<std::int64_t>(present.size());
    std::vector<Placed> batch;
    for (const auto& f : s.files) {
      Progress();
      if (present.contains(f.dest)) continue;
      if (o_.dry_run) {
        ++out.files_added;
        out.bytes_added += f.size;
        continue;
      }
      auto placed = Place(out.workflow_id, f);
      if (!placed) {
        report_.failed.push_back({f.source, placed.error().message, true});
        continue;
      }
      batch.push_back(std::move(*placed));
      if (batch.size() >= kRowsPerCommit) SL_RETURN_IF_ERROR(Commit(out, batch));
    }
    SL_RETURN_IF_ERROR(Commit(out, batch));
    report_.files_added += out.files_added;
    report_.files_present += out.files_present;
    report_.bytes_added += out.bytes_added;
    report_.stories.push_back(std::move(out));
    return {};
  }

 private:
  void Progress() {
    ++done_;
    if (o_.on_progress) o_.on_progress("import", done_, plan_.files);
  }

  // The workflow of the story's key, created completed and imported if there is none.
  Result<Workflow> FindOrCreate(StoreTx& tx, const ImportStory& s, bool& created) {
    created = false;
    SL_ASSIGN_OR_RETURN(auto found, tx.workflows().FindByKey(o_.user_id, s.key));
    if (found) {
      // Get skips a workflow marked for deletion: it is not filled again.
      SL_ASSIGN_OR_RETURN(auto w, tx.workflows().Get(found->id));
      return w;
    }
    NewWorkflow nw;
    nw.user_id = o_.user_id;
    nw.title = s.title;
    nw.prompt =
        "Imported from " + (s.source.empty() ? fs::path(plan_.root).filename().string() : s.title);
    nw.prompt = core::SanitizeUtf8(nw.prompt);
    nw.options_json = Dump({{"imported",
                             {{"layout", s.layout},
                              {"folder", s.source.empty() ? "." : s.source},
                              {"files", s.files.size()}}}});
    nw.idempotency_key = s.key;
    SL_ASSIGN_OR_RETURN(auto c, tx.workflows().Create(nw));
    if (!c.created) return c.workflow;
    const Millis now = core::WallMillis();
    WorkflowUpdate run;
    run.status = WorkflowStatus::kRunning;
    run.started_at = now;
    SL_RETURN_IF_ERROR(tx.workflows().Update(c.workflow.id, run));
    WorkflowUpdate done;
    done.status = WorkflowStatus::kCompleted;
    done.progress = 1.0;
    done.finished_at = std::optional<Millis>(now);
    SL_RETURN_IF_ERROR(tx.workflows().Update(c.workflow.id, done));
    // No phase ran here: each is skipped, so the detail does not show five pending phases.
    for (Phase phase : kPhaseOrder) {
      SL_RETURN_IF_ERROR(tx.phases().Upsert(
          {c.workflow.id, phase, PhaseStatus::kSkipped, 0, now, now, "", R"({"imported":true})"}));
    }
    SL_RETURN_IF_ERROR(tx.events().Append(c.workflow.id, "status",
                                          Dump({{"status", "completed"}, {"imported", true}})));
    AuditEntry a;
    a.action = "workflow.import";
    a.target = c.workflow.id;
    a.remote_addr = "cli";  // the actor is whoever ran the command, not the owner
    a.detail_json = Dump({{"owner", o_.user_id},
                          {"folder", s.source.empty() ? "." : s.source},
                          {"files", s.files.size()}});
    SL_RETURN_IF_ERROR(tx.audit().Append(a));
    created = true;
    SL_ASSIGN_OR_RETURN(auto w, tx.workflows().Get(c.workflow.id));
    return w;
  }

  // The story's destinations already tracked (by an earlier import).
  Result<void> Present(StoreTx& tx, const std::string& workflow_id, const ImportStory& s,
                       std::set<std::string>& present) {
    if (workflow_id.empty()) return {};
    for (const auto& f : s.files) {
      auto row = tx.files().GetByPath(workflow_id + "/" + f.dest);
      if (row) {
        present.insert(f.dest);
      } else if (row.error().code != ErrorCode::kNotFound) {
        return Fail(row.error());
      }
    }
    return {};
  }

  // Copies (or links) the source file to a temporary name and moves it into the store.
  Result<Placed> Place(const std::string& workflow_id, const ImportFile& f) {
    SL_ASSIGN_OR_RETURN(UniqueFd in, OpenSource(plan_.root, f.source));
    std::error_code ec;
    fs::create_directories(o_.tmp_dir, ec);
    const std::string tmp = o_.tmp_dir + "/import-" + core::RandomHex(8);
    bool linked = false;
    if (o_.link) {
      // Links the very file opened (not whatever the name points to now).
      const std::string proc = fmt::format("/proc/self/fd/{}", in.get());
      linked = ::linkat(AT_FDCWD, proc.c_str(), AT_FDCWD, tmp.c_str(), AT_SYMLINK_FOLLOW) == 0;
    }
    if (!linked) SL_RETURN_IF_ERROR(CopyTo(in.get(), tmp, o_.max_file_bytes, buf_));
    auto stored = files_.Adopt(tmp, workflow_id + "/" + f.dest);
    if (!stored) {
      ::unlink(tmp.c_str());
      return Fail(stored.error());
    }
    return Placed{&f, std::move(*stored), linked};
  }

  // Commits the rows of `batch` (then empties it): the files, their scenes, the story text.
  // If the commit fails the placed files are removed again.
  Result<void> Commit(ImportedStory& out, std::vector<Placed>& batch) {
    if (batch.empty()) return {};
    std::int64_t added = 0, bytes = 0, linked = 0, present = 0;
    auto r = store_.Write([&](StoreTx& tx) -> Result<void> {
      added = bytes = linked = present = 0;
      SL_ASSIGN_OR_RETURN(auto scene_list, tx.scenes().List(out.workflow_id));
      std::map<int, Scene> scenes;
      for (auto& sc : scene_list) scenes.emplace(sc.scene_number, std::move(sc));
      for (const auto& p : batch) {
        const ImportFile& f = *p.file;
        json meta = {{"imported", true}, {"source", f.source}, {"detected_type", f.mime_type}};
        if (f.scene_number > 0) meta["scene_number"] = f.scene_number;
        if (p.linked) meta["hard_link"] = true;
        NewFile nf;
        nf.workflow_id = out.workflow_id;
        nf.file_type = f.type;
        nf.file_path = p.stored.rel_path;
        nf.file_name = core::SanitizeUtf8(fs::path(f.source).filename().string());
        nf.mime_type = f.mime_type;
        nf.file_size = p.stored.size;
        nf.sha256 = p.stored.sha256;
        nf.metadata_json = Dump(meta);
        Scene* scene = nullptr;
        if (f.scene_number > 0) {
          auto it = scenes.find(f.scene_number);
          if (it == scenes.end()) {
            Scene sc;
            sc.workflow_id = out.workflow_id;
            sc.scene_number = f.scene_number;
            sc.title = fmt::format("Scene {}", f.scene_number);
            SL_ASSIGN_OR_RETURN(auto made, tx.scenes().Add(sc));
            it = scenes.emplace(f.scene_number, std::move(made)).first;
          }
          scene = &it->second;
          nf.scene_id = scene->id;
        }
        auto row = tx.files().Add(nf);
        if (!row && row.error().code == ErrorCode::kAlreadyExists) {
          ++present;  // another import of the same tree got there first
          continue;
        }
        if (!row) return Fail(row.error());
        ++added;
        bytes += p.stored.size;
        if (p.linked) ++linked;
        if (scene != nullptr) {
          bool changed = false;
          if (f.type == FileType::kImage && scene->image_file_id.empty()) {
            scene->image_file_id = row->id;
            changed = true;
          } else if (f.type == FileType::kAudio && scene->audio_file_id.empty()) {
            scene->audio_file_id = row->id;
            changed = true;
          } else if (f.type == FileType::kText && scene->narration.empty()) {
            scene->narration = ReadText(files_, p.stored.rel_path, kMaxNarrationBytes);
            changed = true;
          }
          if (changed) SL_RETURN_IF_ERROR(tx.scenes().Update(*scene));
        }
        if (f.story_text) {
          WorkflowUpdate u;
          u.enhanced_story = ReadText(files_, p.stored.rel_path, o_.max_story_text_bytes);
          SL_RETURN_IF_ERROR(tx.workflows().Update(out.workflow_id, u));
        }
      }
      return {};
    });
    if (!r) {
      for (const auto& p : batch) (void)files_.Remove(p.stored.rel_path);
      batch.clear();
      return Fail(r.error());
    }
    out.files_added += added;
    out.files_present += present;
    out.bytes_added += bytes;
    report_.linked += linked;
    batch.clear();
    return {};
  }

  Store& store_;
  files::FileStore& files_;
  const ImportPlan& plan_;
  const ImportOptions& o_;
  ImportReport& report_;
  std::int64_t done_ = 0;
  std::string buf_ = std::string(std::size_t{1} << 20, '\0');  // one copy buffer for all files
};

}  // namespace

Result<ImportReport> ApplyImportPlan(Store& store, files::FileStore& files, const ImportPlan& plan,
                                     const ImportOptions& options) {
  if (options.user_id.empty()) return Fail(Error::InvalidArgument("no owner for the import"));
  ImportReport report;
  Importer importer(store, files, plan, options, report);
  for (const auto& s : plan.stories) SL_RETURN_IF_ERROR(importer.Story(s));
  return report;
}

}  // namespace storyloom::ops
