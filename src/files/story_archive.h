// A story's files as one zip archive, made piece by piece while it is sent (libarchive, every
// entry stored as is: PNG, MP3 and MP4 do not compress; Zip64 where an entry or the archive
// passes 4 GiB). Each file's bytes are checked against its row as they are read: a file
// shorter, longer or other than its recorded size and sha256 fails the archive at that
// point, so a caller streaming it ends the download incomplete instead of sending a bad
// archive that looks whole. A ZipStream is used by one thread at a time.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "files/file_store.h"
#include "storyloom/error.h"
#include "storyloom/types.h"

namespace storyloom::files {

// One member of an archive: a file on disk (`disk_path`) or bytes made in memory (`content`).
struct ArchiveEntry {
  std::string zip_path;    // inside the archive
  std::string disk_path;   // absolute; "" for an in-memory entry
  std::string content;     // the bytes of an in-memory entry
  std::uint64_t size = 0;  // what the row says (a disk entry's bytes must match it)
  std::string sha256;      // lowercase hex the disk bytes must match; "" = not checked
  Millis modified = 0;     // the entry's time
};

class ZipStream {
 public:
  // Up to this many bytes of a file are read (and passed on) per Next.
  static constexpr std::size_t kPieceBytes = std::size_t{64} * 1024;

  explicit ZipStream(std::vector<ArchiveEntry> entries);
  ~ZipStream();
  ZipStream(const ZipStream&) = delete;
  ZipStream& operator=(const ZipStream&) = delete;

  // Replaces `out` with the next piece of the archive (at most kPieceBytes of file data and
  // the zip headers around it). Returns true while more follows, false with the last piece.
  // failed_precondition when a file no longer matches its row (named in the message),
  // unavailable when it cannot be read; the archive cannot be continued after an error.
  Result<bool> Next(std::string& out);

 private:
  struct State;
  std::unique_ptr<State> s_;
};

// What GET /api/v1/workflows/{id}/archive and `storyloom export` send.
struct StoryArchive {
  std::string folder;     // the folder every entry is under: the title made safe, or the id
  std::string file_name;  // folder + ".zip"
  std::size_t files = 0;  // tracked files in it (the manifest is not counted)
  std::uint64_t file_bytes = 0;
  std::unique_ptr<ZipStream> zip;
};

// The folder name of `w`'s archive: its title in lowercase ASCII letters and digits joined
// by '-' (at most 60 characters), or its id when nothing of the title is left.
std::string ArchiveFolderName(const Workflow& w);

// The archive of workflow `w` and its tracked `files` (rows read in one transaction):
// `<folder>/manifest.json` first (workflow id, title, status, created, and per file its path
// in the zip, size, sha256, type, mime type and scene number), then every file at
// `<folder>/<its path under the workflow's folder>`. Every file is checked on disk first:
// failed_precondition (naming it, and `storyloom fsck`) when one is missing or not its
// recorded size.
Result<StoryArchive> MakeStoryArchive(const FileStore& store, const Workflow& w,
                                      const std::vector<GeneratedFile>& files);

}  // namespace storyloom::files
