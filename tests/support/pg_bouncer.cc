#include "support/pg_bouncer.h"

#include <arpa/inet.h>
#include <fmt/format.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
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

bool Alive(pid_t pid) { return pid > 0 && ::kill(pid, 0) == 0; }

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

  // As root it runs as the postgres system user (PgBouncer refuses root), which must read
  // the configuration and write the log and pid files.
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
                               "pidfile = {}\n"
                               "{}\n",
                               host, server_port, user_, port, pool_mode, pool_size,
                               (dir_ / "pgbouncer.log").string(), (dir_ / "pgbouncer.pid").string(),
                               settings));
    std::filesystem::remove(dir_ / "pgbouncer.pid");
    const std::string cmd =
        fmt::format("{}pgbouncer -d -q '{}' >>'{}' 2>&1", root ? "runuser -u postgres -- " : "",
                    ini, (dir_ / "start.log").string());
    if (std::system(cmd.c_str()) != 0) continue;
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (std::chrono::steady_clock::now() < deadline) {
      pid_ = std::atoi(ReadFileOrEmpty(dir_ / "pgbouncer.pid").c_str());
      if (pid_ > 0 && Accepts(port)) {
        port_ = port;
        return;
      }
      if (pid_ > 0 && !Alive(pid_)) break;  // it exited: the port was taken after all
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    if (Alive(pid_)) ::kill(pid_, SIGTERM);
    pid_ = -1;
  }
  throw std::runtime_error("PgBouncer did not start: " + ReadFileOrEmpty(dir_ / "start.log") +
                           log());
}

PgBouncer::~PgBouncer() {
  if (!Alive(pid_)) return;
  ::kill(pid_, SIGTERM);
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (Alive(pid_) && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  if (Alive(pid_)) ::kill(pid_, SIGKILL);
}

std::string PgBouncer::UrlFor(const std::string& database_url, const std::string& query) const {
  const std::string name = database_url.substr(database_url.rfind('/') + 1);
  return fmt::format("postgresql://{}@127.0.0.1:{}/{}{}{}", user_, port_, name,
                     query.empty() ? "" : "?", query);
}

std::string PgBouncer::log() const { return ReadFileOrEmpty(dir_ / "pgbouncer.log"); }

}  // namespace storyloom::testing
