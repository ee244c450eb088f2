#include "support/pg_bouncer.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <fmt/format.h>
#include <grp.h>
#include <netinet/in.h>
#include <pwd.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <random>
#include <stdexcept>
#include <thread>

namespace storyloom::testing {
namespace {

// True when something accepts TCP connections on 127.0.0.1:`port`.
bool Accepts(int port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return false;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<std::uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  const bool ok = ::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
  ::close(fd);
  return ok;
}

// Starts pgbouncer in the foreground on `ini`, its output to `log`; as root, as the postgres
// system user (PgBouncer refuses root). It gets SIGTERM when the test process dies, so a
// killed test leaves no pooler behind. Returns its pid, or -1.
pid_t Spawn(const std::string& ini, const std::string& log, bool root) {
  const passwd* pg = root ? ::getpwnam("postgres") : nullptr;
  if (root && pg == nullptr) return -1;
  const pid_t parent = ::getpid();
  const pid_t pid = ::fork();
  if (pid != 0) return pid;
  // The child: only async-signal-safe calls until exec.
  const int fd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (fd >= 0) {
    ::dup2(fd, STDOUT_FILENO);
    ::dup2(fd, STDERR_FILENO);
  }
  ::close_range(3, ~0U, 0);  // none of the test's descriptors
  if (pg != nullptr &&
      (::setgroups(0, nullptr) != 0 || ::setgid(pg->pw_gid) != 0 || ::setuid(pg->pw_uid) != 0)) {
    ::_exit(126);
  }
  // After setuid, which clears it.
  ::prctl(PR_SET_PDEATHSIG, SIGTERM);
  if (::getppid() != parent) ::_exit(0);
  ::execl("/usr/sbin/pgbouncer", "pgbouncer", ini.c_str(), static_cast<char*>(nullptr));
  ::execlp("pgbouncer", "pgbouncer", ini.c_str(), static_cast<char*>(nullptr));
  ::_exit(127);
}

}  // namespace

PgBouncer::PgBouncer(const std::string& server_url, const std::string& pool_mode, int pool_size,
                     const std::string& settings) {
  // postgresql://user[:password]@host:port/database
  const auto scheme_end = server_url.find("://");
  const auto at = server_url.find('@');
  const auto slash = server_url.find('/', at == std::string::npos ? 0 : at);
  if (scheme_end == std::string::npos || at == std::string::npos || slash == std::string::npos) {
    throw std::runtime_error("PgBouncer: cannot read user, host and port from " + server_url);
  }
  user_ = server_url.substr(scheme_end + 3, at - scheme_end - 3);
  user_ = user_.substr(0, user_.find(':'));
  const std::string host_port = server_url.substr(at + 1, slash - at - 1);
  const auto colon = host_port.rfind(':');
  const std::string host = host_port.substr(0, colon);
  const std::string server_port = colon == std::string::npos ? "5432" : host_port.substr(colon + 1);

  // As root it runs as the postgres system user, which must read the configuration and
  // write the log and pid files.
  const bool root = ::geteuid() == 0;
  if (root) (void)std::system(fmt::format("chown postgres: '{}'", dir_.str()).c_str());
  std::mt19937 rng(std::random_device{}());
  for (int attempt = 0; attempt < 8; ++attempt) {
    const int port = 20000 + static_cast<int>(rng() % 30000);
    if (Accepts(port)) continue;
    const std::string ini = (dir_ / "pgbouncer.ini").string();
    WriteFile(ini, fmt::format("[databases]\n"
                               "* = host={} port={} user={}\n"
                               "[pgbouncer]\n"
                               "listen_addr = 127.0.0.1\n"
                               "listen_port = {}\n"
                               "unix_socket_dir =\n"
                               "auth_type = any\n"
                               "pool_mode = {}\n"
                               "default_pool_size = {}\n"
                               "max_client_conn = 200\n"
                               "logfile = {}\n"
                               "{}\n",
                               host, server_port, user_, port, pool_mode, pool_size,
                               (dir_ / "pgbouncer.log").string(), settings));
    pid_ = Spawn(ini, (dir_ / "start.log").string(), root);
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (pid_ > 0 && std::chrono::steady_clock::now() < deadline) {
      if (Accepts(port)) {
        port_ = port;
        return;
      }
      int status = 0;
      if (::waitpid(pid_, &status, WNOHANG) == pid_) {
        pid_ = -1;  // it exited: the port was taken after all
        break;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    Stop();
  }
  throw std::runtime_error("PgBouncer did not start: " + ReadFileOrEmpty(dir_ / "start.log") +
                           log());
}

PgBouncer::~PgBouncer() { Stop(); }

void PgBouncer::Stop() {
  if (pid_ <= 0) return;
  ::kill(pid_, SIGTERM);
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  int status = 0;
  while (::waitpid(pid_, &status, WNOHANG) == 0) {
    if (std::chrono::steady_clock::now() > deadline) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, &status, 0);
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  pid_ = -1;
}

std::string PgBouncer::UrlFor(const std::string& database_url, const std::string& query) const {
  const std::string name = database_url.substr(database_url.rfind('/') + 1);
  return fmt::format("postgresql://{}@127.0.0.1:{}/{}{}{}", user_, port_, name,
                     query.empty() ? "" : "?", query);
}

std::string PgBouncer::log() const { return ReadFileOrEmpty(dir_ / "pgbouncer.log"); }

}  // namespace storyloom::testing
