// storyloom export ID [-o FILE]: a finished story's zip archive, the same as
// GET /api/v1/workflows/{id}/archive sends, written to a file: under a temporary name,
// fsynced and renamed, so FILE is either the whole archive or untouched.
#include <fcntl.h>
#include <fmt/format.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>

#include "cli/commands.h"
#include "core/durable_dirs.h"
#include "files/file_store.h"
#include "ops/story_export.h"

namespace storyloom::cli {
namespace {

struct ExportFlags {
  std::string id;
  std::string output;  // "" = <folder>.zip in the current directory
};

Result<void> WriteAll(int fd, const std::string& data) {
  std::size_t done = 0;
  while (done < data.size()) {
    const ssize_t n = ::write(fd, data.data() + done, data.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return Fail(Error::Unavailable(std::strerror(errno)));
    done += static_cast<std::size_t>(n);
  }
  return {};
}

// Streams `archive` into `path` through `path`.partial; removes the partial file on failure.
Result<std::uint64_t> WriteArchive(files::StoryArchive& archive, const std::string& path) {
  const std::string tmp = path + ".partial";
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) {
    return Fail(Error::Unavailable(fmt::format("cannot create {}: {}", tmp, std::strerror(errno))));
  }
  std::uint64_t bytes = 0;
  auto written = [&]() -> Result<void> {
    std::string piece;
    for (bool more = true; more;) {
      SL_ASSIGN_OR_RETURN(more, archive.zip->Next(piece));
      SL_RETURN_IF_ERROR(WriteAll(fd, piece));
      bytes += piece.size();
    }
    if (::fsync(fd) != 0) return Fail(Error::Unavailable(std::strerror(errno)));
    return {};
  }();
  ::close(fd);
  std::error_code ec;
  if (written) std::filesystem::rename(tmp, path, ec);
  if (!written || ec) {
    std::filesystem::remove(tmp, ec);
    if (!written) return Fail(written.error());
    return Fail(Error::Unavailable(fmt::format("cannot rename {} to {}", tmp, path)));
  }
  const std::filesystem::path parent = std::filesystem::absolute(path).parent_path();
  SL_RETURN_IF_ERROR(core::FsyncDir(parent.string()));
  return bytes;
}

int Export(const GlobalFlags& flags, const ExportFlags& ef) {
  return WithStore(flags, /*migrate=*/false, [&](const core::Config& config, Store& store) {
    files::FileStore files(config.OutputsDir());
    auto w = store.ReadOne<Workflow>([&](StoreTx& tx) { return tx.workflows().Get(ef.id); });
    if (!w) {
      return Die(w.error().code == ErrorCode::kNotFound
                     ? "no workflow " + ef.id
                     : "cannot read the workflow: " + w.error().message);
    }
    auto archive = ops::OpenStoryArchive(store, files, *w);
    if (!archive) return Die("cannot export " + ef.id + ": " + archive.error().message);
    const std::string path = ef.output.empty() ? archive->file_name : ef.output;
    auto bytes = WriteArchive(*archive, path);
    if (!bytes) return Die("export failed: " + bytes.error().message);
    std::printf("wrote %s: %zu file(s), %llu bytes\n", path.c_str(), archive->files,
                static_cast<unsigned long long>(*bytes));
    return 0;
  });
}

}  // namespace

void AddExportCommand(CLI::App& app, GlobalFlags& flags, Action& action) {
  static ExportFlags ef;
  CLI::App* cmd =
      app.add_subcommand("export", "Write a finished story's files and manifest as a zip archive");
  cmd->add_option("id", ef.id, "the workflow's id")->required();
  cmd->add_option("-o,--output", ef.output,
                  "the zip file to write (default: <title>.zip in the current directory)");
  cmd->callback([&] { action = [&] { return Export(flags, ef); }; });
}

}  // namespace storyloom::cli
