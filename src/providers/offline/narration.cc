#include "providers/offline/narration.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <fstream>
#include <iterator>
#include <system_error>
#include <vector>

namespace storyloom::providers::offline {
namespace {

// Closes a descriptor once.
class Fd {
 public:
  explicit Fd(int fd = -1) : fd_(fd) {}
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  ~Fd() { Reset(); }
  int get() const { return fd_; }
  void Reset() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }

 private:
  int fd_;
};

// Removes the temporary file when the call ends, however it ends.
class TempFile {
 public:
  TempFile() = default;
  TempFile(const TempFile&) = delete;
  TempFile& operator=(const TempFile&) = delete;
  ~TempFile() {
    if (!path_.empty()) ::unlink(path_.c_str());
  }
  // Creates a new, empty, owner-only file in `dir`.
  Result<void> Create(const std::filesystem::path& dir) {
    std::string pattern = (dir / "storyloom-narration-XXXXXX.wav").string();
    const int fd = ::mkostemps(pattern.data(), 4, O_CLOEXEC);
    if (fd < 0) {
      return Fail(Error::Unavailable("cannot create a temporary file in " + dir.string() + ": " +
                                     std::strerror(errno)));
    }
    ::close(fd);
    path_ = pattern;
    return {};
  }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

bool IsPlainVoiceName(std::string_view voice) {
  if (voice.empty() || voice.size() > 64 || voice[0] == '-') return false;
  for (char c : voice) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '-' || c == '_' || c == '+' || c == '/';
    if (!ok) return false;
  }
  return true;
}

Result<std::string> ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Fail(Error::Unavailable("cannot read " + path));
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

void KillAndReap(pid_t pid) {
  ::kill(pid, SIGKILL);
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
}

}  // namespace

Result<std::string> SynthesizeSpeech(const SpeechOptions& options, std::string_view text,
                                     const std::atomic<bool>* cancelled) {
  if (text.find_first_not_of(" \t\r\n") == std::string_view::npos) {
    return Fail(Error::InvalidArgument("narration text is empty", "narration"));
  }
  if (!IsPlainVoiceName(options.voice)) {
    return Fail(Error::InvalidArgument("espeak-ng voice must be a plain name like en-us", "voice"));
  }
  std::error_code ec;
  const std::filesystem::path dir =
      options.temp_dir.empty() ? std::filesystem::temp_directory_path(ec) : options.temp_dir;
  if (ec) return Fail(Error::Unavailable("no temporary directory: " + ec.message()));
  TempFile wav;
  SL_RETURN_IF_ERROR(wav.Create(dir));

  // stdin is a socket rather than a pipe so that writing to a child that died early fails
  // with EPIPE (MSG_NOSIGNAL) instead of raising SIGPIPE in the whole server.
  int in_pair[2];
  if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, in_pair) != 0) {
    return Fail(Error::Unavailable(std::string("socketpair: ") + std::strerror(errno)));
  }
  Fd in_parent(in_pair[0]), in_child(in_pair[1]);
  int err_pipe[2];
  if (::pipe2(err_pipe, O_CLOEXEC) != 0) {
    return Fail(Error::Unavailable(std::string("pipe: ") + std::strerror(errno)));
  }
  Fd err_parent(err_pipe[0]), err_child(err_pipe[1]);

  const std::string rate = std::to_string(std::clamp(options.words_per_minute, 80, 450));
  std::vector<std::string> args = {options.binary, "-v", options.voice, "-s",
                                   rate,           "-w", wav.path(),    "--stdin"};
  std::vector<char*> argv;
  argv.reserve(args.size() + 1);
  for (std::string& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);

  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, in_child.get(), STDIN_FILENO);
  posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, "/dev/null", O_WRONLY, 0);
  posix_spawn_file_actions_adddup2(&actions, err_child.get(), STDERR_FILENO);
  pid_t pid = 0;
  const int spawn_error =
      ::posix_spawnp(&pid, options.binary.c_str(), &actions, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  if (spawn_error != 0) {
    return Fail(Error::Unavailable("cannot run " + options.binary + " (" +
                                   std::strerror(spawn_error) +
                                   "); install the espeak-ng package or configure its path"));
  }
  in_child.Reset();
  err_child.Reset();

  // Feed the text and collect stderr until the child closes it (it exits), watching for
  // cancellation and the deadline.
  const auto deadline =
      std::chrono::steady_clock::now() + std::chrono::milliseconds(options.timeout_ms);
  std::string input(text);
  input += '\n';
  std::size_t written = 0;
  std::string errors;
  bool err_open = true;
  while (err_open) {
    if (cancelled && cancelled->load()) {
      KillAndReap(pid);
      return Fail(Error::Aborted("cancelled"));
    }
    if (std::chrono::steady_clock::now() > deadline) {
      KillAndReap(pid);
      return Fail(Error::Unavailable(options.binary + " timed out"));
    }
    pollfd fds[2] = {{err_parent.get(), POLLIN, 0}, {in_parent.get(), POLLOUT, 0}};
    const nfds_t nfds = in_parent.get() >= 0 ? 2 : 1;
    if (::poll(fds, nfds, 100) < 0 && errno != EINTR) {
      KillAndReap(pid);
      return Fail(Error::Unavailable(std::string("poll: ") + std::strerror(errno)));
    }
    if (nfds == 2 && fds[1].revents != 0) {
      const ssize_t n = ::send(in_parent.get(), input.data() + written, input.size() - written,
                               MSG_NOSIGNAL | MSG_DONTWAIT);
      if (n > 0) written += static_cast<std::size_t>(n);
      if ((n < 0 && errno != EAGAIN && errno != EINTR) || written == input.size()) {
        in_parent.Reset();  // end of input
      }
    }
    if (fds[0].revents != 0) {
      char buf[1024];
      const ssize_t n = ::read(err_parent.get(), buf, sizeof buf);
      if (n > 0 && errors.size() < 4096) errors.append(buf, static_cast<std::size_t>(n));
      if (n == 0 || (n < 0 && errno != EINTR && errno != EAGAIN)) err_open = false;
    }
  }
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0) {
    if (errno != EINTR)
      return Fail(Error::Unavailable(std::string("waitpid: ") + std::strerror(errno)));
  }
  while (!errors.empty() && (errors.back() == '\n' || errors.back() == ' ')) errors.pop_back();
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    const std::string how = WIFEXITED(status) ? "exit status " + std::to_string(WEXITSTATUS(status))
                                              : "signal " + std::to_string(WTERMSIG(status));
    return Fail(Error::Unavailable(options.binary + " failed (" + how + ")" +
                                   (errors.empty() ? "" : ": " + errors)));
  }
  SL_ASSIGN_OR_RETURN(std::string bytes, ReadFile(wav.path()));
  if (bytes.size() <= 44) {
    return Fail(Error::Unavailable(options.binary + " wrote no audio" +
                                   (errors.empty() ? "" : ": " + errors)));
  }
  return bytes;
}

}  // namespace storyloom::providers::offline
