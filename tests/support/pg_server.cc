#include "support/pg_server.h"

#include <fmt/format.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <memory>
#include <mutex>
#include <random>
#include <stdexcept>

#include "db/database.h"
#include "support/temp_dir.h"

namespace storyloom::testing {
namespace {

std::string Script() { return std::string(STORYLOOM_SOURCE_DIR) + "/scripts/test-pg"; }

std::string Trim(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
  return s;
}

class PgServer {
 public:
  static PgServer& Get() {
    static PgServer server;
    return server;
  }

  ~PgServer() {
    admin_.reset();
    if (private_state_) {
      const std::string cmd = fmt::format("TEST_PG_OWNER={} '{}' stop '{}' >/dev/null 2>&1",
                                          ::getpid(), Script(), private_state_->str());
      (void)std::system(cmd.c_str());
    }
  }

  db::Database& Admin() {
    std::lock_guard lock(mu_);
    if (!admin_) Start();
    return *admin_;
  }

  // The URL of database `name` on this server.
  std::string UrlFor(const std::string& name) {
    Admin();
    std::lock_guard lock(mu_);
    const auto slash = admin_url_.rfind('/');
    return admin_url_.substr(0, slash + 1) + name;
  }

 private:
  PgServer() = default;

  void Start() {
    if (const char* url = std::getenv("STORYLOOM_TEST_PG_URL"); url && *url) {
      if (!Connect(url)) throw std::runtime_error(std::string("cannot connect to ") + url);
      return;
    }
    if (const char* dir = std::getenv("STORYLOOM_TEST_PG_DIR"); dir && *dir) {
      const std::string url = Trim(ReadFileOrEmpty(std::filesystem::path(dir) / "url"));
      if (!url.empty() && Connect(url)) return;
      std::cerr << "pg_server: no shared test server in " << dir << "; starting a private one\n";
    }
    private_state_ = std::make_unique<TempDir>();
    const std::string cmd =
        fmt::format("TEST_PG_OWNER={} '{}' start '{}' >'{}' 2>&1", ::getpid(), Script(),
                    private_state_->str(), (*private_state_ / "start.log").string());
    const int rc = std::system(cmd.c_str());
    const std::string url = Trim(ReadFileOrEmpty(*private_state_ / "url"));
    if (rc != 0 || url.empty() || !Connect(url)) {
      throw std::runtime_error("cannot start a PostgreSQL test server: " +
                               ReadFileOrEmpty(*private_state_ / "start.log"));
    }
  }

  bool Connect(const std::string& url) {
    auto db = db::Open(url, {.readers = 2});
    if (!db) {
      std::cerr << "pg_server: " << db.error().ToString() << "\n";
      return false;
    }
    admin_ = std::move(*db);
    admin_url_ = url;
    return true;
  }

  std::mutex mu_;
  std::unique_ptr<TempDir> private_state_;  // set when this process started the server
  std::unique_ptr<db::Database> admin_;     // the maintenance database
  std::string admin_url_;
};

void AdminScript(const std::string& sql) {
  auto r = PgServer::Get().Admin().Exclusive(
      [&](db::Connection& c) -> Result<void> { return c.ExecScript(sql); });
  if (!r) throw std::runtime_error(sql + ": " + r.error().ToString());
}

}  // namespace

std::string CreatePgDatabase() {
  static std::mutex mu;
  static std::mt19937_64 rng(std::random_device{}());
  std::string name;
  {
    std::lock_guard lock(mu);
    name = fmt::format("t_{:016x}", rng());
  }
  AdminScript("CREATE DATABASE " + name);
  return PgServer::Get().UrlFor(name);
}

void DropPgDatabase(const std::string& url) {
  const std::string name = url.substr(url.rfind('/') + 1);
  try {
    AdminScript(fmt::format("DROP DATABASE IF EXISTS {} WITH (FORCE)", name));
  } catch (const std::exception& e) {
    std::cerr << "pg_server: " << e.what() << "\n";
  }
}

void PgAdminExec(const std::string& sql) { AdminScript(sql); }

std::string PgAdminUrl() { return PgServer::Get().UrlFor("postgres"); }

PrivatePgServer::PrivatePgServer(const std::map<std::string, std::string>& env)
    : state_(std::make_unique<TempDir>()) {
  std::string vars;
  for (const auto& [k, v] : env) vars += fmt::format("{}='{}' ", k, v);
  const std::string cmd =
      fmt::format("{}TEST_PG_OWNER={} '{}' start '{}' >'{}' 2>&1", vars, ::getpid(), Script(),
                  state_->str(), (*state_ / "start.log").string());
  const int rc = std::system(cmd.c_str());
  url_ = Trim(ReadFileOrEmpty(*state_ / "url"));
  if (rc != 0 || url_.empty()) {
    throw std::runtime_error("cannot start a private PostgreSQL server: " +
                             ReadFileOrEmpty(*state_ / "start.log"));
  }
}

PrivatePgServer::~PrivatePgServer() {
  const std::string cmd = fmt::format("TEST_PG_OWNER={} '{}' stop '{}' >/dev/null 2>&1", ::getpid(),
                                      Script(), state_->str());
  (void)std::system(cmd.c_str());
}

int PrivatePgServer::port() const {
  // postgresql://storyloom@127.0.0.1:<port>/postgres
  const auto colon = url_.rfind(':');
  return std::atoi(url_.c_str() + colon + 1);
}

}  // namespace storyloom::testing
