// Import of an existing save_outputs/ tree (the seed's layout, or Storyloom's own) as
// completed, imported workflows: ScanImportTree reads a directory into a plan without writing
// anything anywhere; ApplyImportPlan copies (or hard-links) the planned files durably into the
// FileStore and records them. Running both again adds nothing. Neither ever writes under the
// scanned directory. Thread-safe (no shared state).
//
// Layouts (docs/OPERATIONS.md, "Importing existing outputs"): every folder directly under the
// scanned directory is one story (one workflow holding every file beneath it), except the
// kind folders (images, audio, narration, story, stories, text, video, json, scenes, ...),
// which together with the files lying directly in the directory make one more workflow (a
// flat tree: the seed's save_outputs/images/scene_1.png).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "files/file_store.h"
#include "storyloom/store.h"

namespace storyloom::ops {

struct ImportLimits {
  std::int64_t max_files = 100'000;             // regular files in the tree; more is refused
  std::int64_t max_file_bytes = 16LL << 30;     // a larger file is skipped (and reported)
  int max_depth = 16;                           // folders below the scanned directory
  std::int64_t max_story_text_bytes = 1 << 20;  // a longer text is tracked, not the story
};

struct ImportFile {
  std::string source;  // relative to the scanned directory, the bytes of its name as on disk
  std::string dest;    // relative to the workflow's folder under save_outputs/: safe characters
  FileType type = FileType::kOther;
  std::string mime_type;    // from the bytes (magic numbers, UTF-8 text), not the extension
  std::int64_t size = 0;    // when scanned
  int scene_number = 0;     // from a name like scene_1.png or a folder scene_01/; 0: none
  bool story_text = false;  // the text file that holds the story
};

struct ImportStory {
  std::string source;  // its folder relative to the scanned directory; "" for a flat tree
  std::string title;   // the folder's name, as valid UTF-8
  std::string layout;  // "story-folder" | "flat"
  std::string key;     // the workflow's idempotency key: the same folder gives the same key
  std::vector<ImportFile> files;  // by source path
};

struct ImportSkip {
  std::string source;
  std::string reason;
  bool error = false;  // could not be read (true), or left out by rule (symlink, hidden, ...)
};

struct ImportPlan {
  std::string root;  // the scanned directory, absolute and canonical
  std::vector<ImportStory> stories;
  std::vector<ImportSkip> skipped;  // the first kMaxListedSkips
  std::int64_t skipped_total = 0;
  std::int64_t skipped_errors = 0;
  std::int64_t files = 0;
  std::int64_t bytes = 0;
};

inline constexpr std::size_t kMaxListedSkips = 1000;

// Scans `dir` without following any symlink (they are skipped and listed, as are hidden
// names, special files, the data directory `data_dir` if it lies inside, and files over the
// size limit). invalid_argument if `dir` is not a directory, lies inside `data_dir` or holds
// nothing to import; resource_exhausted past limits.max_files.
[[nodiscard]] Result<ImportPlan> ScanImportTree(const std::string& dir, const std::string& data_dir,
                                                const ImportLimits& limits = {});

struct ImportOptions {
  std::string user_id;   // who owns the workflows
  std::string tmp_dir;   // on the FileStore's file system: copies are made here, then moved
  bool link = false;     // hard-link where the file system allows it (copy otherwise)
  bool dry_run = false;  // report what would be added; write nothing
  std::int64_t max_file_bytes = ImportLimits{}.max_file_bytes;
  std::int64_t max_story_text_bytes = ImportLimits{}.max_story_text_bytes;
  ProgressFn on_progress;  // stage "import": files done of the plan's files
};

struct ImportedStory {
  std::string source;
  std::string title;
  std::string workflow_id;  // "" in a dry run for a workflow not created yet
  bool created = false;     // a new workflow (would be, in a dry run)
  std::int64_t files_added = 0;
  std::int64_t files_present = 0;  // tracked by an earlier import
  std::int64_t bytes_added = 0;
};

struct ImportReport {
  std::vector<ImportedStory> stories;
  std::int64_t workflows_created = 0;
  std::int64_t files_added = 0;
  std::int64_t files_present = 0;
  std::int64_t bytes_added = 0;
  std::int64_t linked = 0;         // of files_added, hard links
  std::vector<ImportSkip> failed;  // files that could not be imported (the rest were)
};

// Creates (or finds, by its key) one completed workflow per story, marked imported in its
// options, and adds every planned file not tracked yet: copied (or linked) to a temporary
// name, fsynced, moved into <workflow id>/<dest>, the directory fsynced, then its row, its
// scene and the story text committed. A file that fails is listed in `failed` and the rest
// go on; an error is returned only when the database fails.
[[nodiscard]] Result<ImportReport> ApplyImportPlan(Store& store, files::FileStore& files,
                                                   const ImportPlan& plan,
                                                   const ImportOptions& options);

}  // namespace storyloom::ops
