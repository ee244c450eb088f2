#include "support/server_process.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <fstream>
#include <set>
#include <sstream>
#include <stdexcept>
#include <thread>

#include "api/auth.h"
#include "db/migrations.h"
#include "support/sanitizer_report.h"

namespace storyloom::testing {

namespace {

using Clock = std::chrono::steady_clock;

std::string DescribeExit(int status) {
  if (WIFEXITED(status)) return "exit status " + std::to_string(WEXITSTATUS(status));
  if (WIFSIGNALED(status)) return std::string("signal ") + strsignal(WTERMSIG(status));
  return "wait status " + std::to_string(status);
}

// The inodes of the sockets process `pid` holds open ("socket:[123]" links in /proc/pid/fd).
std::set<std::string> SocketInodes(pid_t pid) {
  std::set<std::string> out;
  std::error_code ec;
  for (const auto& e :
       std::filesystem::directory_iterator("/proc/" + std::to_string(pid) + "/fd", ec)) {
    std::error_code lec;
    const std::string target = std::filesystem::read_symlink(e.path(), lec).string();
    if (!lec && target.starts_with("socket:[")) out.insert(target.substr(8, target.size() - 9));
  }
  return out;
}

// The port of a listening TCP socket (state 0A in /proc/net/tcp) among `inodes`, or 0.
int ListeningPortOf(pid_t pid, const std::set<std::string>& inodes) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/net/tcp");
  std::string line;
  std::getline(in, line);  // the header
  while (std::getline(in, line)) {
    std::istringstream fields(line);
    std::string slot, local, remote, state, queues, timer, retrans, uid, timeout, inode;
    fields >> slot >> local >> remote >> state >> queues >> timer >> retrans >> uid >> timeout >>
        inode;
    if (state != "0A" || !inodes.contains(inode)) continue;
    const std::size_t colon = local.find(':');
    if (colon != std::string::npos) return std::stoi(local.substr(colon + 1), nullptr, 16);
  }
  return 0;
}

}  // namespace

ServerProcess::ServerProcess(ServerOptions options)
    : options_(std::move(options)), dir_(std::make_shared<TempDir>()) {
  data_dir_ = options_.data_dir.empty() ? dir_->str() + "/data" : options_.data_dir;
  database_url_ = options_.database_url.empty() ? "sqlite://" + data_dir_ + "/storyloom.db"
                                                : options_.database_url;
  log_path_ = dir_->str() + "/server.log";
  Seed();
  Start();
}

ServerProcess::ServerProcess(const ServerProcess& previous, ServerOptions options)
    : options_(std::move(options)),
      dir_(previous.dir_),
      data_dir_(previous.data_dir_),
      database_url_(previous.database_url_),
      log_path_(previous.log_path_ + ".2"),
      tokens_(previous.tokens_),
      user_ids_(previous.user_ids_) {
  Start();
}

ServerProcess::~ServerProcess() {
  if (pid_ > 0) Stop();
}

void ServerProcess::Seed() {
  std::filesystem::create_directories(data_dir_);
  auto store = Store::Open(database_url_);
  if (!store) throw std::runtime_error(store.error().ToString());
  auto m = (*store)->Migrate();
  if (!m) throw std::runtime_error(m.error().ToString());
  api::Authenticator auth(**store);
  for (const auto& [name, role] :
       {std::pair{"admin", Role::kAdmin}, {"alice", Role::kUser}, {"bob", Role::kUser}}) {
    User u;
    u.username = name;
    u.role = role;
    u.password_hash = api::Authenticator::HashPassword(std::string(name) + "-password").value();
    auto created = (*store)->WriteOne<User>([&](StoreTx& tx) { return tx.users().Create(u); });
    if (!created) throw std::runtime_error(created.error().ToString());
    user_ids_[name] = created->id;
    auto token = auth.Issue(created->id, "api", "tests", 0);
    if (!token) throw std::runtime_error(token.error().ToString());
    tokens_[name] = token->secret;
  }
}

void ServerProcess::Start() {
  // Port 0: the server binds a free port itself, so no other process can take it between
  // our choice and its bind (the race a test-side "find a free port" has).
  std::vector<std::string> args = {
      STORYLOOM_BINARY, "--data-dir", data_dir_, "--database", database_url_,
      "serve",          "--port",     "0",       "--workers",  std::to_string(options_.workers)};
  for (const auto& a : options_.args) args.push_back(a);
  pid_ = ::fork();
  if (pid_ == 0) {
    // The server dies with the test process (a test killed by its timeout must not leave a
    // server running), and inherits none of the test's descriptors but its log.
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    const int fd = ::open(log_path_.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
    ::dup2(fd, 1);
    ::dup2(fd, 2);
    // Nothing else of the test process reaches the server: the listening socket of an
    // in-process fake (FakeOpenAI) would be taken for the server's port, and an inherited
    // flock'd descriptor (the build lock) would be held by the server past the test.
    ::close_range(3, ~0U, 0);
    ::setenv("STORYLOOM_ACCESS_LOG", "false", 1);
    for (const auto& [k, v] : options_.env) ::setenv(k.c_str(), v.c_str(), 1);
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    ::execv(argv[0], argv.data());
    ::_exit(127);
  }
  port_ = WaitForListeningPort();
  HttpClient c(url());
  for (int i = 0; i < 600; ++i) {
    if (c.Request("GET", "/healthz", "", {}, 500).status == 200) return;
    int status = 0;
    if (::waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      CheckLogForSanitizerReports();
      throw std::runtime_error("storyloom serve exited at start (" + DescribeExit(status) + "):\n" +
                               log());
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  ::kill(pid_, SIGKILL);  // never leave an orphan behind
  ::waitpid(pid_, nullptr, 0);
  pid_ = -1;
  throw std::runtime_error("storyloom serve did not become healthy:\n" + log());
}

int ServerProcess::WaitForListeningPort() {
  const auto deadline = Clock::now() + std::chrono::seconds(60);
  while (Clock::now() < deadline) {
    // Until execv the child still holds the test's descriptors (an in-process fake's
    // listening socket among them): look for the port only once it runs the server.
    std::error_code ec;
    const auto exe = std::filesystem::read_symlink("/proc/" + std::to_string(pid_) + "/exe", ec);
    const bool runs_server = !ec && std::filesystem::equivalent(exe, STORYLOOM_BINARY, ec) && !ec;
    if (int port = runs_server ? ListeningPortOf(pid_, SocketInodes(pid_)) : 0; port > 0) {
      return port;
    }
    int status = 0;
    if (::waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      CheckLogForSanitizerReports();
      throw std::runtime_error("storyloom serve exited at start (" + DescribeExit(status) + "):\n" +
                               log());
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  ::kill(pid_, SIGKILL);
  ::waitpid(pid_, nullptr, 0);
  pid_ = -1;
  throw std::runtime_error("storyloom serve did not listen within 60 s:\n" + log());
}

void ServerProcess::Stop() {
  if (pid_ <= 0) return;
  ::kill(pid_, SIGTERM);
  const auto deadline = Clock::now() + std::chrono::milliseconds(options_.stop_grace_ms);
  int status = 0;
  bool exited = false;
  while (!exited && Clock::now() < deadline) {
    exited = ::waitpid(pid_, &status, WNOHANG) == pid_;
    if (!exited) std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  std::string problem;
  if (!exited) {
    ::kill(pid_, SIGKILL);
    ::waitpid(pid_, &status, 0);
    problem = "did not stop within " + std::to_string(options_.stop_grace_ms) +
              " ms of SIGTERM and was killed";
  } else if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    problem = "ended with " + DescribeExit(status) + " after SIGTERM";
  }
  pid_ = -1;
  // One failure per stop: a sanitizer report (which also sets the exit status) says most.
  const std::string report = sanitizer_reported_ ? "" : SanitizerReport(log());
  if (!report.empty()) {
    sanitizer_reported_ = true;
    ADD_FAILURE() << "storyloom serve printed a sanitizer report (" << log_path_ << ")"
                  << (problem.empty() ? "" : " and " + problem) << ":\n"
                  << report;
  } else if (!problem.empty()) {
    ADD_FAILURE() << "storyloom serve " << problem << "; its log:\n" << log();
  }
}

void ServerProcess::Kill() {
  if (pid_ <= 0) return;
  ::kill(pid_, SIGKILL);
  int status = 0;
  ::waitpid(pid_, &status, 0);
  pid_ = -1;
  CheckLogForSanitizerReports();
}

void ServerProcess::CheckLogForSanitizerReports() {
  if (sanitizer_reported_) return;
  const std::string report = SanitizerReport(log());
  if (report.empty()) return;
  sanitizer_reported_ = true;
  ADD_FAILURE() << "storyloom serve printed a sanitizer report (" << log_path_ << "):\n" << report;
}

std::string ServerProcess::url() const { return "http://127.0.0.1:" + std::to_string(port_); }

std::string ServerProcess::log() const { return ReadFileOrEmpty(log_path_); }

std::unique_ptr<HttpClient> ServerProcess::Client(const std::string& user) const {
  auto c = std::make_unique<HttpClient>(url());
  if (!user.empty()) c->set_token(token(user));
  return c;
}

std::unique_ptr<Store> ServerProcess::OpenStore() const {
  auto store = Store::Open(database_url_);
  if (!store) throw std::runtime_error(store.error().ToString());
  return std::move(*store);
}

nlohmann::json WaitForWorkflow(HttpClient& client, const std::string& id, int timeout_ms) {
  nlohmann::json last;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  while (std::chrono::steady_clock::now() < deadline) {
    auto r = client.Get("/api/v1/workflows/" + id);
    last = r.Json();
    if (last.is_object()) {
      const std::string status = last.value("status", "");
      if (status == "completed" || status == "failed" || status == "cancelled") return last;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  return last;
}

}  // namespace storyloom::testing
