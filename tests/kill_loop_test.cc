// Kill loop (issue 13 part 3): `kill -9` the server, the CLI and PostgreSQL at random and at
// named moments, restart, and check with the client's ledger (support/ledger.h) that every
// acknowledged write survived, nothing was done twice and the data passes its checks.
//
//   KillLoopTest.FiftyRandomKillsDuringMixedLoad   50 kills at seeded random moments
//                                                 (STORYLOOM_KILL_SEED=N replays a run)
//   KillMomentTest.*                               one named moment each
//   PgKillTest.ImmediateRestartOfPostgresUnderTwoInstances
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <random>
#include <thread>

#include "core/hash.h"
#include "db/database.h"
#include "support/checks.h"
#include "support/fake_openai.h"
#include "support/ledger.h"
#include "support/server_process.h"

namespace storyloom {
namespace {

using nlohmann::json;
using testing::CliResult;
using testing::ExpectStoreClean;
using testing::Ledger;
using testing::QueryText;
using testing::RunCli;
using testing::ServerOptions;
using testing::ServerProcess;
using testing::TargetOf;
using testing::WaitForWorkflow;
using Kind = testing::FakeStep::Kind;
using Clock = std::chrono::steady_clock;

std::uint64_t SeedFromEnv() {
  if (const char* s = std::getenv("STORYLOOM_KILL_SEED"); s && *s) return std::stoull(s);
  return std::random_device{}();
}

std::string Flags(const std::string& data_dir, const std::string& url) {
  return "--data-dir '" + data_dir + "' --database '" + url + "'";
}

void Sleep(int ms) { std::this_thread::sleep_for(std::chrono::milliseconds(ms)); }

// A completed workflow: its scenes' files exactly once, every file on disk tracked, one
// "completed" event.
void ExpectCompletedOnce(const ServerProcess& s, const json& w, int scenes) {
  ASSERT_EQ(w["status"], "completed") << w.dump(2) << s.log();
  testing::ExpectEachSceneHasItsFilesOnce(w, scenes);
  testing::ExpectEveryFileTrackedExactlyOnce(s, w);
  EXPECT_EQ(QueryText(s.database_url(),
                      "SELECT count(*) FROM workflow_events WHERE workflow_id = '" +
                          w["id"].get<std::string>() +
                          "' AND type = 'status' AND CAST(data AS TEXT) LIKE '%\"completed\"%'"),
            "1");
}

// Opens a connection to the server and sends `bytes` without reading an answer; returns
// the socket (the caller closes it).
int SendRaw(int port, const std::string& bytes) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<std::uint16_t>(port));
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  EXPECT_EQ(::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
  std::size_t off = 0;
  while (off < bytes.size()) {
    const ssize_t n = ::send(fd, bytes.data() + off, bytes.size() - off, MSG_NOSIGNAL);
    if (n <= 0) break;
    off += static_cast<std::size_t>(n);
  }
  return fd;
}

// Starts the storyloom CLI with `args` as a child; returns its pid.
pid_t SpawnCli(const std::vector<std::string>& args, const std::string& log) {
  const pid_t pid = ::fork();
  if (pid == 0) {
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    std::FILE* f = std::fopen(log.c_str(), "a");
    ::dup2(::fileno(f), 1);
    ::dup2(::fileno(f), 2);
    ::close_range(3, ~0U, 0);
    std::vector<std::string> all = {STORYLOOM_BINARY};
    all.insert(all.end(), args.begin(), args.end());
    std::vector<char*> argv;
    for (auto& a : all) argv.push_back(a.data());
    argv.push_back(nullptr);
    ::execv(argv[0], argv.data());
    ::_exit(127);
  }
  return pid;
}

// SIGKILLs `pid` after `ms` unless it exited first; true if it was killed.
bool KillAfter(pid_t pid, int ms) {
  const auto deadline = Clock::now() + std::chrono::milliseconds(ms);
  int status = 0;
  while (Clock::now() < deadline) {
    if (::waitpid(pid, &status, WNOHANG) == pid) return false;
    Sleep(1);
  }
  ::kill(pid, SIGKILL);
  ::waitpid(pid, &status, 0);
  return WIFSIGNALED(status);
}

// ---------------------------------------------------------------------------------------
// (a) Random kills during mixed load.

TEST(KillLoopTest, FiftyRandomKillsDuringMixedLoad) {
  const std::uint64_t seed = SeedFromEnv();
  std::cout << "[ kill loop ] seed " << seed << " (STORYLOOM_KILL_SEED=" << seed << " replays it)"
            << std::endl;
  std::mt19937_64 rng(seed);
  constexpr int kKills = 50;
  ServerOptions o;
  o.workers = 2;
  o.env["STORYLOOM_LEASE_MS"] = "2000";
  auto server = std::make_unique<ServerProcess>(o);
  Ledger ledger({.seed = seed});
  int checked = 0;
  const auto start = Clock::now();
  for (int kill = 1; kill <= kKills; ++kill) {
    ledger.StartLoad(TargetOf(*server));
    const int ms = 100 + static_cast<int>(rng() % 1100);
    Sleep(ms);
    server->Kill();
    ledger.StopLoad();
    server = std::make_unique<ServerProcess>(*server, o);
    // Every tenth restart (and the last) waits for all work to finish and checks it all.
    const bool full = kill % 10 == 0;
    checked = ledger.Check(TargetOf(*server), {.finish_all = full});
    if (HasFailure()) {
      ADD_FAILURE() << "after kill " << kill << " (" << ms << " ms into the load), seed " << seed
                    << "\n"
                    << ledger.Summary() << "\nserver log:\n"
                    << server->log();
      return;
    }
  }
  const double secs = std::chrono::duration<double>(Clock::now() - start).count();
  std::cout << "[ kill loop ] " << kKills << " kills survived in " << secs << " s; " << checked
            << " acknowledged writes checked after the last; " << ledger.Summary() << std::endl;
  server->Stop();
}

// ---------------------------------------------------------------------------------------
// (b) Named moments.

// Kills the server while `phase` runs (the provider holds the call that phase makes),
// restarts and checks the workflow completes exactly once.
class KillMomentTest : public ::testing::Test {
 protected:
  ServerOptions FakeOptions() {
    ServerOptions o;
    o.workers = 1;
    o.env = {
        {"STORYLOOM_PROVIDER", "openai"},        {"STORYLOOM_OPENAI_BASE_URL", fake_.base_url()},
        {"STORYLOOM_OPENAI_API_KEY", "sk-kill"}, {"STORYLOOM_OPENAI_TIMEOUT_MS", "600000"},
        {"STORYLOOM_OPENAI_BACKOFF_MS", "10"},   {"STORYLOOM_LEASE_MS", "2000"}};
    return o;
  }

  // The phase row's status in the database.
  static std::string PhaseStatus(const ServerProcess& s, const std::string& id,
                                 const std::string& phase) {
    return QueryText(s.database_url(), "SELECT status FROM workflow_phases WHERE workflow_id = '" +
                                           id + "' AND phase = '" + phase + "'");
  }

  void KillDuringProviderCall(const std::string& phase, const std::string& endpoint,
                              int calls_before) {
    std::vector<testing::FakeStep> steps(calls_before, testing::FakeStep{});
    steps.push_back({Kind::kSleep, 200, "", 600000});  // never answers before the kill
    fake_.Script(endpoint, steps);
    ServerOptions o = FakeOptions();
    ServerProcess first(o);
    auto c = first.Client("alice");
    auto r = c->Post("/api/v1/workflows",
                     {{"prompt", "killed during " + phase}, {"options", {{"scenes", 3}}}});
    ASSERT_EQ(r.status, 201) << r.body;
    const std::string id = r.Json()["id"];
    const auto deadline = Clock::now() + std::chrono::seconds(60);
    while (fake_.count(endpoint) <= calls_before && Clock::now() < deadline) Sleep(2);
    ASSERT_GT(fake_.count(endpoint), calls_before) << first.log();
    ASSERT_EQ(c->Get("/api/v1/workflows/" + id).Json()["phase"], phase);
    first.Kill();
    EXPECT_EQ(PhaseStatus(first, id, phase), "running") << "the kill came during " << phase;

    ServerProcess second(first, o);
    json w = WaitForWorkflow(*second.Client("alice"), id, 120000);
    ExpectCompletedOnce(second, w, 3);
    ExpectStoreClean(second);
  }

  testing::FakeOpenAI fake_;
};

TEST_F(KillMomentTest, DuringStory) { KillDuringProviderCall("story", "chat", 0); }
TEST_F(KillMomentTest, DuringScenes) { KillDuringProviderCall("scenes", "chat", 1); }
TEST_F(KillMomentTest, DuringImages) { KillDuringProviderCall("images", "images", 1); }
TEST_F(KillMomentTest, DuringNarration) { KillDuringProviderCall("narration", "speech", 1); }

// Assemble makes no provider call: watch for it and kill as soon as it shows, until a kill
// lands while the phase's row says running.
TEST_F(KillMomentTest, DuringAssemble) {
  ServerOptions o;
  o.workers = 1;
  o.env["STORYLOOM_LEASE_MS"] = "2000";
  auto server = std::make_unique<ServerProcess>(o);
  int caught = 0;
  for (int attempt = 0; attempt < 15 && caught == 0; ++attempt) {
    auto c = server->Client("alice");
    auto r = c->Post("/api/v1/workflows",
                     {{"prompt", "killed while assembling"}, {"options", {{"scenes", 12}}}});
    ASSERT_EQ(r.status, 201) << r.body;
    const std::string id = r.Json()["id"];
    const auto deadline = Clock::now() + std::chrono::seconds(120);
    while (Clock::now() < deadline) {
      json w = c->Get("/api/v1/workflows/" + id).Json();
      if (w["phase"] == "assemble" || w["status"] == "completed") break;
    }
    server->Kill();
    caught = KillMomentTest::PhaseStatus(*server, id, "assemble") == "running";
    server = std::make_unique<ServerProcess>(*server, o);
    json w = WaitForWorkflow(*server->Client("alice"), id, 120000);
    ASSERT_EQ(w["status"], "completed") << w.dump(2) << server->log();
    testing::ExpectEachSceneHasItsFilesOnce(w, 12);
    EXPECT_EQ(QueryText(server->database_url(),
                        "SELECT count(*) FROM workflow_events WHERE workflow_id = '" + id +
                            "' AND type = 'status' AND CAST(data AS TEXT) LIKE '%\"completed\"%'"),
              "1");
    // Only the caught workflow's files stay on disk: the others are deleted.
    if (caught) {
      testing::ExpectEveryFileTrackedExactlyOnce(*server, w);
    } else {
      ASSERT_EQ(server->Client("alice")->Delete("/api/v1/workflows/" + id).status, 204);
    }
  }
  EXPECT_EQ(caught, 1) << "no kill landed inside assemble in 15 tries";
  ExpectStoreClean(*server);
}

// Kill while a 64 MiB upload body is streaming: the file is not tracked, nothing is left
// behind, and the same name uploads afterwards.
TEST_F(KillMomentTest, DuringUpload) {
  ServerOptions o;
  o.workers = 1;
  ServerProcess first(o);
  auto c = first.Client("alice");
  auto r = c->Post("/api/v1/workflows", {{"prompt", "upload target"},
                                         {"options", {{"scenes", 1}, {"narration", false}}}});
  ASSERT_EQ(r.status, 201);
  const std::string id = r.Json()["id"];
  ASSERT_EQ(WaitForWorkflow(*c, id)["status"], "completed");
  constexpr std::size_t kSize = 64 << 20;
  const std::string head =
      "PUT /api/v1/workflows/" + id +
      "/files/big.bin HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + first.token("alice") +
      "\r\nContent-Type: application/octet-stream\r\nContent-Length: " + std::to_string(kSize) +
      "\r\n\r\n";
  const int fd = SendRaw(first.port(), head + std::string(8 << 20, 'x'));  // 8 of 64 MiB
  // The server has the body in hand (its temporary file grows) when it is killed.
  Sleep(300);
  first.Kill();
  ::close(fd);

  ServerProcess second(first, o);
  auto c2 = second.Client("alice");
  json w = c2->Get("/api/v1/workflows/" + id).Json();
  for (const auto& f : w["files"]) EXPECT_NE(f["name"], "big.bin") << "unacknowledged upload";
  ExpectStoreClean(second);
  const std::string body(1 << 20, 'y');
  auto up = c2->Request("PUT", "/api/v1/workflows/" + id + "/files/big.bin", body,
                        {"Content-Type: application/octet-stream"});
  ASSERT_EQ(up.status, 201) << up.body << second.log();
  EXPECT_EQ(up.Json()["sha256"], core::Sha256Hex(body));
  testing::ExpectEveryFileTrackedExactlyOnce(second, c2->Get("/api/v1/workflows/" + id).Json());
}

// Kill right after a DELETE is sent, at several delays: the workflow is then either whole
// or gone (never half), and deleting it again finishes the job. With `no_orphans`, also
// no file of it is left on disk (fsck clean).
void KillDuringDelete(bool no_orphans) {
  ServerOptions o;
  o.workers = 1;
  o.env["STORYLOOM_LEASE_MS"] = "2000";
  auto server = std::make_unique<ServerProcess>(o);
  for (int delay_ms : {0, 1, 3, 8, 20}) {
    SCOPED_TRACE("kill " + std::to_string(delay_ms) + " ms after DELETE");
    auto c = server->Client("alice");
    auto r =
        c->Post("/api/v1/workflows", {{"prompt", "to be deleted"}, {"options", {{"scenes", 6}}}});
    ASSERT_EQ(r.status, 201);
    const std::string id = r.Json()["id"];
    json w = WaitForWorkflow(*c, id);
    ASSERT_EQ(w["status"], "completed");
    const int fd = SendRaw(server->port(), "DELETE /api/v1/workflows/" + id +
                                               " HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " +
                                               server->token("alice") + "\r\n\r\n");
    Sleep(delay_ms);
    server->Kill();
    ::close(fd);
    server = std::make_unique<ServerProcess>(*server, o);
    auto c2 = server->Client("alice");
    auto after = c2->Get("/api/v1/workflows/" + id);
    if (after.status == 200) {
      testing::ExpectEveryFileTrackedExactlyOnce(*server, after.Json());  // whole
    } else {
      EXPECT_EQ(after.status, 404);
    }
    const long again = c2->Delete("/api/v1/workflows/" + id).status;
    EXPECT_TRUE(again == 204 || again == 404) << again;
    // Rows and files go (at once, or once the dead run's lease expires).
    const auto deadline = Clock::now() + std::chrono::seconds(30);
    while (Clock::now() < deadline &&
           QueryText(server->database_url(),
                     "SELECT count(*) FROM workflows WHERE id = '" + id + "'") != "0") {
      Sleep(100);
    }
    EXPECT_EQ(
        QueryText(server->database_url(), "SELECT count(*) FROM workflows WHERE id = '" + id + "'"),
        "0");
    EXPECT_EQ(QueryText(server->database_url(),
                        "SELECT count(*) FROM generated_files WHERE workflow_id = '" + id + "'"),
              "0");
    if (no_orphans) {
      ExpectStoreClean(*server);  // fsck: no file of it left behind
    } else {
      CliResult check = RunCli(Flags(server->data_dir(), server->database_url()) + " db check");
      EXPECT_EQ(check.exit_code, 0) << check.out;
    }
  }
}

TEST_F(KillMomentTest, DuringDelete) { KillDuringDelete(false); }

// DELETE of a workflow no run holds commits the deletion of its rows, then removes its
// folder (WorkflowManager::Delete). A crash in between must not leave the deleted
// workflow's files behind: the next start sweeps folders whose workflow has no row.
TEST_F(KillMomentTest, DuringDeleteLeavesNoFilesBehind) { KillDuringDelete(true); }

// Kill during an admin backup, at several delays: a backup the server lists as ok
// verifies, and the next backup succeeds.
TEST_F(KillMomentTest, DuringBackup) {
  ServerOptions o;
  o.workers = 1;
  auto server = std::make_unique<ServerProcess>(o);
  auto c = server->Client("alice");
  for (int i = 0; i < 3; ++i) {
    auto r = c->Post("/api/v1/workflows",
                     {{"prompt", "backed up " + std::to_string(i)}, {"options", {{"scenes", 4}}}});
    ASSERT_EQ(r.status, 201);
    ASSERT_EQ(WaitForWorkflow(*c, r.Json()["id"])["status"], "completed");
  }
  for (int delay_ms : {5, 30, 100, 250}) {
    SCOPED_TRACE("kill " + std::to_string(delay_ms) + " ms into a backup");
    const int fd = SendRaw(server->port(),
                           "POST /api/v1/admin/backups HTTP/1.1\r\nHost: x\r\nAuthorization: "
                           "Bearer " +
                               server->token("admin") +
                               "\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}");
    Sleep(delay_ms);
    server->Kill();
    ::close(fd);
    server = std::make_unique<ServerProcess>(*server, o);
    auto admin = server->Client("admin");
    auto made = admin->Request("POST", "/api/v1/admin/backups", "{}", {}, 120000);
    ASSERT_EQ(made.status, 201) << made.body << server->log();
    json list = admin->Get("/api/v1/admin/backups?limit=200").Json();
    for (const auto& b : list["items"]) {
      if (b["status"] != "ok") continue;
      CliResult v = RunCli(Flags(server->data_dir(), server->database_url()) + " backup verify '" +
                           b["path"].get<std::string>() + "'");
      EXPECT_EQ(v.exit_code, 0) << b.dump() << "\n" << v.out;
    }
    ExpectStoreClean(*server);
  }
}

// Source data for the CLI tests: a database with workflows, files and usage.
void MakeSource(const std::string& data) {
  CliResult add = RunCli("--data-dir '" + data + "' users add ada --admin");
  ASSERT_EQ(add.exit_code, 0) << add.out;
  for (int i = 0; i < 3; ++i) {
    CliResult run = RunCli("--data-dir '" + data + "' run 'a keeper finds map " +
                           std::to_string(i) + "' --scenes 3");
    ASSERT_EQ(run.exit_code, 0) << run.out;
  }
}

// Row counts of the tables a copy carries, as one string; "" when the database has none.
std::string Counts(const std::string& url) {
  auto d = db::Open(url, {.readers = 1});
  if (!d) return "";
  std::string out;
  auto r = (*d)->Read([&](db::Connection& c) -> Result<void> {
    for (const char* t : {"users", "workflows", "scenes", "generated_files", "api_usage",
                          "workflow_events", "workflow_phases"}) {
      auto rows = c.Query(std::string("SELECT count(*) FROM ") + t);
      if (!rows) return {};  // not created yet
      out += std::string(t) + "=" + (*rows)[0].Text(0) + " ";
    }
    return {};
  });
  (void)r;
  return out;
}

// Kill `storyloom db copy` mid-way: the target is as before (empty) or complete, and a
// second copy completes and verifies.
TEST(KillCliTest, DuringDbCopy) {
  testing::TempDir dir;
  const std::string data = (dir / "data").string();
  MakeSource(data);
  const std::string from = "sqlite://" + data + "/storyloom.db";
  const std::string want = Counts(from);
  ASSERT_FALSE(want.empty());
  int killed = 0;
  for (int delay_ms : {20, 60, 120, 200, 350, 600}) {
    SCOPED_TRACE("kill db copy after " + std::to_string(delay_ms) + " ms");
    const std::string to =
        "sqlite://" + (dir / ("copy" + std::to_string(delay_ms) + ".db")).string();
    const pid_t pid =
        SpawnCli({"db", "copy", "--from", from, "--to", to}, (dir / "copy.log").string());
    if (!KillAfter(pid, delay_ms)) continue;  // finished first
    ++killed;
    const std::string got = Counts(to);
    const bool empty = got.empty() || got.find("workflows=0 ") != std::string::npos;
    if (!empty) {
      // A copy that is there is complete.
      EXPECT_EQ(got, want) << "a killed copy left a partial target";
    }
    CliResult again = RunCli("db copy --from '" + from + "' --to '" + to + "' --force");
    EXPECT_EQ(again.exit_code, 0) << again.out;
    EXPECT_EQ(Counts(to), want);
    CliResult check = RunCli("--database '" + to + "' db check");
    EXPECT_EQ(check.exit_code, 0) << check.out;
  }
  std::cout << "[ kill db copy ] " << killed << " copies killed mid-way" << std::endl;
  EXPECT_GE(killed, 1);
}

// Kill `storyloom db migrate` on a fresh database mid-way: migrating again works and the
// database checks clean.
TEST(KillCliTest, DuringMigration) {
  testing::TempDir dir;
  int killed = 0;
  for (int delay_ms : {10, 30, 60, 100, 160, 250, 400}) {
    SCOPED_TRACE("kill db migrate after " + std::to_string(delay_ms) + " ms");
    const std::string data = (dir / ("m" + std::to_string(delay_ms))).string();
    std::filesystem::create_directories(data);
    const pid_t pid = SpawnCli({"--data-dir", data, "db", "migrate"}, (dir / "m.log").string());
    if (!KillAfter(pid, delay_ms)) continue;
    ++killed;
    CliResult again = RunCli("--data-dir '" + data + "' db migrate");
    EXPECT_EQ(again.exit_code, 0) << again.out;
    CliResult check = RunCli("--data-dir '" + data + "' db check");
    EXPECT_EQ(check.exit_code, 0) << check.out;
    CliResult status = RunCli("--data-dir '" + data + "' db status");
    EXPECT_EQ(status.exit_code, 0) << status.out;
    CliResult add = RunCli("--data-dir '" + data + "' users add ada --admin");
    EXPECT_EQ(add.exit_code, 0) << add.out;
  }
  std::cout << "[ kill db migrate ] " << killed << " migrations killed mid-way" << std::endl;
  EXPECT_GE(killed, 1);
}

// ---------------------------------------------------------------------------------------
// (c) PostgreSQL restarted with `pg_ctl restart -m immediate` under two instances.

class PrivatePg {
 public:
  PrivatePg() {
    Run("start");
    root_ = testing::ReadFileOrEmpty(state_ / "root");
    while (!root_.empty() && root_.back() == '\n') root_.pop_back();
    url_ = testing::ReadFileOrEmpty(state_ / "url");
    while (!url_.empty() && url_.back() == '\n') url_.pop_back();
  }
  ~PrivatePg() { Run("stop"); }
  // A fresh database on it.
  std::string CreateDatabase(const std::string& name) {
    auto d = db::Open(url_, {.readers = 1});
    EXPECT_TRUE(d.has_value());
    auto r = (*d)->Exclusive(
        [&](db::Connection& c) -> Result<void> { return c.ExecScript("CREATE DATABASE " + name); });
    EXPECT_TRUE(r.has_value()) << r.error().ToString();
    return url_.substr(0, url_.rfind('/') + 1) + name;
  }
  // Crash-restarts the server (no checkpoint, as after a power cut of PostgreSQL alone).
  int RestartImmediate() {
    const std::string pg_ctl = "/usr/lib/postgresql/15/bin/pg_ctl";
    const std::string runas = ::getuid() == 0 ? "runuser -u postgres -- " : "";
    const std::string cmd = "cd '" + root_ + "' && " + runas + pg_ctl + " -D '" + root_ +
                            "/data' -m immediate -w -t 60 restart >>'" + root_ +
                            "/restart.log' 2>&1";
    return std::system(cmd.c_str());
  }

 private:
  void Run(const std::string& what) {
    // TEST_PG_DURABLE: PostgreSQL's durable defaults. The shared test server runs with
    // synchronous_commit=off, which loses the last commits on an immediate restart.
    const std::string cmd = "TEST_PG_DURABLE=1 TEST_PG_OWNER=" + std::to_string(::getpid()) + " '" +
                            STORYLOOM_SOURCE_DIR + "/scripts/test-pg' " + what + " '" +
                            state_.str() + "' >/dev/null 2>&1";
    EXPECT_EQ(std::system(cmd.c_str()), 0) << cmd;
  }
  testing::TempDir state_;
  std::string root_, url_;
};

TEST(PgKillTest, ImmediateRestartOfPostgresUnderTwoInstances) {
  PrivatePg pg;
  const std::uint64_t seed = SeedFromEnv();
  std::cout << "[ pg kill ] seed " << seed << std::endl;
  ServerOptions o;
  o.database_url = pg.CreateDatabase("killtest");
  o.workers = 2;
  o.env["STORYLOOM_LEASE_MS"] = "3000";
  ServerProcess a(o);
  ServerProcess b(a, o);
  Ledger ledger({.seed = seed, .max_live_workflows = 8});
  constexpr int kRestarts = 3;
  for (int i = 0; i < kRestarts; ++i) {
    // Load through both instances, the restart in the middle of it.
    ledger.StartLoad(TargetOf(i % 2 == 0 ? a : b));
    Sleep(1500);
    ASSERT_EQ(pg.RestartImmediate(), 0) << "pg_ctl restart failed";
    Sleep(1500);
    ledger.StopLoad();
  }
  // Both instances reconnected: each answers from the database and runs work.
  for (const ServerProcess* s : {&a, &b}) {
    auto c = s->Client("alice");
    auto r = c->Post("/api/v1/workflows",
                     {{"prompt", "after the restart"}, {"options", {{"scenes", 1}}}});
    ASSERT_EQ(r.status, 201) << r.body << s->log();
    EXPECT_EQ(WaitForWorkflow(*c, r.Json()["id"], 120000)["status"], "completed");
    EXPECT_EQ(s->Client()->Get("/readyz").status, 200);
  }
  const int checked_a = ledger.Check(TargetOf(a), {.finish_all = true});
  ledger.Check(TargetOf(b), {});
  std::cout << "[ pg kill ] " << kRestarts << " immediate restarts; " << checked_a
            << " acknowledged writes checked; " << ledger.Summary() << std::endl;
  EXPECT_GT(ledger.counts().creates, 0);
}

}  // namespace
}  // namespace storyloom
