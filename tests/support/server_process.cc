#include "support/server_process.h"

#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <stdexcept>
#include <thread>

#include "api/auth.h"
#include "db/migrations.h"

namespace storyloom::testing {

namespace {

int FreePort() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
  socklen_t len = sizeof addr;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  ::close(fd);
  return ntohs(addr.sin_port);
}

}  // namespace

ServerProcess::ServerProcess(ServerOptions options)
    : options_(std::move(options)), dir_(std::make_shared<TempDir>()) {
  data_dir_ = dir_->str() + "/data";
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
  auto m = db::Migrate((*store)->database());
  if (!m) throw std::runtime_error(m.error().ToString());
  api::Authenticator auth(**store);
  for (const auto& [name, role] : {std::pair{"admin", Role::kAdmin}, {"alice", Role::kUser}, {"bob", Role::kUser}}) {
    User u;
    u.username = name;
    u.role = role;
    u.password_hash = api::Authenticator::HashPassword(std::string(name) + "-password").value();
    auto created = (*store)->WriteOne<User>([&](StoreTx& tx) { return tx.CreateUser(u); });
    if (!created) throw std::runtime_error(created.error().ToString());
    user_ids_[name] = created->id;
    auto token = auth.Issue(created->id, "api", "tests", 0);
    if (!token) throw std::runtime_error(token.error().ToString());
    tokens_[name] = token->secret;
  }
}

void ServerProcess::Start() {
  port_ = FreePort();
  std::vector<std::string> args = {STORYLOOM_BINARY, "--data-dir", data_dir_, "--database", database_url_,
                                   "serve", "--port", std::to_string(port_), "--workers",
                                   std::to_string(options_.workers)};
  for (const auto& a : options_.args) args.push_back(a);
  pid_ = ::fork();
  if (pid_ == 0) {
    const int fd = ::open(log_path_.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
    ::dup2(fd, 1);
    ::dup2(fd, 2);
    ::setenv("STORYLOOM_ACCESS_LOG", "false", 1);
    for (const auto& [k, v] : options_.env) ::setenv(k.c_str(), v.c_str(), 1);
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    ::execv(argv[0], argv.data());
    ::_exit(127);
  }
  HttpClient c(url());
  for (int i = 0; i < 600; ++i) {
    if (c.Request("GET", "/healthz", "", {}, 500).status == 200) return;
    int status = 0;
    if (::waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      throw std::runtime_error("storyloom serve exited at start:\n" + log());
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  throw std::runtime_error("storyloom serve did not become healthy:\n" + log());
}

void ServerProcess::Stop() {
  if (pid_ <= 0) return;
  ::kill(pid_, SIGTERM);
  int status = 0;
  for (int i = 0; i < 400; ++i) {
    if (::waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      return;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  Kill();
}

void ServerProcess::Kill() {
  if (pid_ <= 0) return;
  ::kill(pid_, SIGKILL);
  int status = 0;
  ::waitpid(pid_, &status, 0);
  pid_ = -1;
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
