// The story zip archive of one workflow (files/story_archive.h) from its rows: what
// GET /api/v1/workflows/{id}/archive streams and `storyloom export` writes. Thread-safe.
#pragma once

#include "files/file_store.h"
#include "files/story_archive.h"
#include "storyloom/store.h"

namespace storyloom::ops {

// More files than a story makes (scenes, their media, the video and uploads) by far.
inline constexpr std::size_t kMaxArchiveFiles = 10000;

// The archive of `w`, its tracked files read in one transaction. failed_precondition while
// `w` is queued or running (its files are still changing), when it has more than
// kMaxArchiveFiles files, or when a file is missing or changed on disk (run fsck).
Result<files::StoryArchive> OpenStoryArchive(Store& store, const files::FileStore& files,
                                             const Workflow& w);

}  // namespace storyloom::ops
