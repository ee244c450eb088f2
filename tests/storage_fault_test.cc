// Storage faults (issue 13 parts 4 and 5): I/O errors injected by failpoints at every write,
// fsync, rename and directory fsync of the FileStore, at the SQLite commit, between a file's
// rename and its row's commit, and on PostgreSQL between a workflow's claim and its start;
// and a real full disk (a small tmpfs under the data directory).
//
// What each must show, over real HTTP against a real `storyloom serve`:
//   - the error surfaces cleanly: a JSON error with the right status (507
//     insufficient_storage for a full disk, 503 for an I/O error), never a 500 or a crash;
//   - nothing is lost and nothing is half-kept: no tracked file goes missing, no file is
//     left without its row, `storyloom fsck` and `db check` stay clean;
//   - a workflow hit by a fault is not failed: it resumes when its lease expires and
//     finishes exactly once;
//   - /readyz and /metrics say what is wrong, and once the fault is gone everything works
//     again without a restart.
//
// Failpoints are read only by the sanitizer build `make test` uses (src/core/failpoint.h).
// The full-disk test mounts a tmpfs and so needs root; without it, it skips.
#include <gtest/gtest.h>
#include <sys/mount.h>
#include <unistd.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <random>
#include <string>
#include <thread>

#include "core/hash.h"
#include "db/database.h"
#include "support/checks.h"
#include "support/server_process.h"
#include "support/temp_dir.h"
#include "support/test_db.h"

namespace storyloom {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using testing::ExpectStoreClean;
using testing::HttpResult;
using testing::MetricValue;
using testing::QueryText;
using testing::ServerOptions;
using testing::ServerProcess;
using testing::WaitForWorkflow;
using Clock = std::chrono::steady_clock;

void Sleep(int ms) { std::this_thread::sleep_for(std::chrono::milliseconds(ms)); }

// A test name from a failpoint setting: "filestore.write=EIO:2" -> "filestore_write_EIO_2".
template <typename Info>
std::string FailpointName(const Info& info) {
  std::string name = info.param.failpoint;
  for (char& ch : name) {
    if (!std::isalnum(static_cast<unsigned char>(ch))) ch = '_';
  }
  return name;
}

ServerOptions WithFailpoints(const std::string& failpoints, int workers) {
  ServerOptions o;
  o.workers = workers;
  o.env["STORYLOOM_FAILPOINTS"] = failpoints;
  o.env["STORYLOOM_LEASE_MS"] = "1000";  // a paused workflow is tried again after this
  return o;
}

std::string Create(testing::HttpClient& c, int scenes, const std::string& prompt = "a lighthouse") {
  HttpResult r =
      c.Post("/api/v1/workflows", {{"prompt", prompt}, {"options", {{"scenes", scenes}}}});
  EXPECT_EQ(r.status, 201) << r.body;
  return r.Json().value("id", "");
}

// Status events of workflow `id` whose data mentions `status`.
int StatusEvents(const ServerProcess& s, const std::string& id, const std::string& status) {
  return std::stoi(QueryText(s.database_url(),
                             "SELECT count(*) FROM workflow_events WHERE workflow_id = '" + id +
                                 "' AND type = 'status' AND CAST(data AS TEXT) LIKE '%\"" + status +
                                 "\"%'"));
}

// The error body a client gets: {"error": {"code", "message"}}, and no server path in it.
void ExpectJsonError(const HttpResult& r, long status, const std::string& code,
                     const ServerProcess& s) {
  EXPECT_EQ(r.status, status) << r.body;
  const json j = r.Json();
  ASSERT_TRUE(j.contains("error")) << r.body;
  EXPECT_EQ(j["error"].value("code", ""), code) << r.body;
  EXPECT_FALSE(j["error"].value("message", "").empty()) << r.body;
  EXPECT_EQ(r.body.find(s.data_dir()), std::string::npos) << "the error names a server path";
}

// Regular files under `dir` (recursively), as paths relative to it.
std::vector<std::string> FilesUnder(const fs::path& dir) {
  std::vector<std::string> out;
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) return out;
  for (const auto& e : fs::recursive_directory_iterator(dir)) {
    if (e.is_regular_file()) out.push_back(fs::relative(e.path(), dir).generic_string());
  }
  return out;
}

HttpResult Upload(testing::HttpClient& c, const std::string& workflow, const std::string& name,
                  const std::string& bytes) {
  return c.Request("PUT", "/api/v1/workflows/" + workflow + "/files/" + name, bytes,
                   {"Content-Type: application/octet-stream"});
}

std::string RandomBytes(std::size_t n, std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::string out(n, '\0');
  for (auto& ch : out) ch = static_cast<char>(rng());
  return out;
}

// ---------------------------------------------------------------------------------------
// Part 5: failpoints in the workflow's writes. The first two calls at the failpoint fail;
// the workflow pauses (its lease kept), is tried again when the lease expires, and
// completes once with every file tracked exactly once.

struct PipelineFault {
  std::string failpoint;  // with ":2", the first two calls fail
  std::string kind;       // "io" or "full": which storyloom_storage_errors_total counts it
};

class PipelineFaultTest : public ::testing::TestWithParam<PipelineFault> {};

TEST_P(PipelineFaultTest, WorkflowPausesThenCompletesOnceAndNothingIsLeftOver) {
  const PipelineFault& f = GetParam();
  ServerProcess server(WithFailpoints(f.failpoint, 1));
  auto c = server.Client("alice");
  const std::string id = Create(*c, 2);
  ASSERT_FALSE(id.empty());
  const json w = WaitForWorkflow(*c, id, 120000);
  ASSERT_EQ(w["status"], "completed") << w.dump(2) << server.log();
  testing::ExpectEachSceneHasItsFilesOnce(w, 2);
  testing::ExpectEveryFileTrackedExactlyOnce(server, w);
  // Paused, never failed; finished once.
  EXPECT_EQ(StatusEvents(server, id, "failed"), 0) << server.log();
  EXPECT_EQ(StatusEvents(server, id, "completed"), 1);
  // The fault was seen, said in the log and counted.
  EXPECT_NE(server.log().find("(storage fault)"), std::string::npos) << server.log();
  EXPECT_GE(MetricValue(server, "storyloom_storage_errors_total{kind=\"" + f.kind + "\"}"), 2);
  // No temporary file of a failed write is left behind.
  for (const auto& rel : FilesUnder(server.outputs_dir())) {
    EXPECT_EQ(rel.find(".tmp-"), std::string::npos) << rel;
  }
  server.Stop();
  ExpectStoreClean(server);
}

INSTANTIATE_TEST_SUITE_P(Failpoints, PipelineFaultTest,
                         ::testing::Values(PipelineFault{"filestore.write=EIO:2", "io"},
                                           PipelineFault{"filestore.write=ENOSPC:2", "full"},
                                           PipelineFault{"filestore.fsync=EIO:2", "io"},
                                           PipelineFault{"filestore.rename=EIO:2", "io"},
                                           PipelineFault{"filestore.dirsync=EIO:2", "io"},
                                           PipelineFault{"files.before_row=EIO:2", "io"}),
                         [](const auto& info) { return FailpointName(info); });

// ---------------------------------------------------------------------------------------
// Part 5: failpoints in an upload. The upload fails with a clear error, leaves neither a
// file nor a row (nor its temporary file), and the same upload then succeeds.

struct UploadFault {
  std::string failpoint;
  long status;
  std::string code;
};

class UploadFaultTest : public ::testing::TestWithParam<UploadFault> {};

TEST_P(UploadFaultTest, UploadFailsCleanlyLeavesNothingAndSucceedsAfterwards) {
  const UploadFault& f = GetParam();
  ServerProcess server(WithFailpoints(f.failpoint, 0));  // no workers: the upload alone
  auto c = server.Client("alice");
  const std::string id = Create(*c, 1);
  ASSERT_FALSE(id.empty());
  const std::string bytes = RandomBytes(300 * 1024, 7);
  ExpectJsonError(Upload(*c, id, "notes.bin", bytes), f.status, f.code, server);
  // Nothing kept: no row, no file under the name, no temporary upload.
  EXPECT_TRUE(c->Get("/api/v1/workflows/" + id).Json()["files"].empty());
  EXPECT_TRUE(FilesUnder(server.outputs_dir()).empty());
  EXPECT_TRUE(FilesUnder(server.data_dir() + "/tmp").empty());
  // The fault has passed (it fails the first call only): the same upload goes through.
  HttpResult ok = Upload(*c, id, "notes.bin", bytes);
  ASSERT_EQ(ok.status, 201) << ok.body << server.log();
  EXPECT_EQ(ok.Json()["sha256"], core::Sha256Hex(bytes));
  EXPECT_EQ(ok.Json()["size"], static_cast<std::int64_t>(bytes.size()));
  server.Stop();
  ExpectStoreClean(server);
}

INSTANTIATE_TEST_SUITE_P(
    Failpoints, UploadFaultTest,
    ::testing::Values(UploadFault{"filestore.rename=EIO:1", 503, "unavailable"},
                      UploadFault{"filestore.rename=ENOSPC:1", 507, "insufficient_storage"},
                      UploadFault{"filestore.fsync=EIO:1", 503, "unavailable"},
                      UploadFault{"filestore.dirsync=EIO:1", 503, "unavailable"},
                      UploadFault{"files.before_row=EIO:1", 503, "unavailable"}),
    [](const auto& info) { return FailpointName(info); });

// ---------------------------------------------------------------------------------------
// Part 5: the SQLite commit fails. Every write refused answers a clear error and leaves
// nothing; every write acknowledged is there; the next commits go through.

struct CommitFault {
  std::string failpoint;
  long status;
  std::string code;
};

class SqliteCommitFaultTest : public ::testing::TestWithParam<CommitFault> {};

TEST_P(SqliteCommitFaultTest, RefusedWritesLeaveNothingAndAcknowledgedOnesStay) {
  const CommitFault& f = GetParam();
  // No scheduled backup or cleanup: their commits would take the failures meant for creates.
  ServerOptions o = WithFailpoints(f.failpoint, 0);
  o.env["STORYLOOM_BACKUP_INTERVAL_HOURS"] = "0";
  o.env["STORYLOOM_CLEANUP_INTERVAL_HOURS"] = "0";
  ServerProcess server(o);
  auto c = server.Client("alice");
  int refused = 0;
  std::vector<std::string> acknowledged;
  for (int i = 0; i < 30 && acknowledged.size() < 3; ++i) {
    HttpResult r = c->Post("/api/v1/workflows", {{"prompt", "commit " + std::to_string(i)}},
                           {"Idempotency-Key: commit-" + std::to_string(i)});
    if (r.status == 201) {
      acknowledged.push_back(r.Json()["id"]);
    } else {
      ExpectJsonError(r, f.status, f.code, server);
      ++refused;
    }
  }
  EXPECT_GE(refused, 1) << "the failpoint never fired; " << server.log();
  ASSERT_EQ(acknowledged.size(), 3u) << server.log();
  // Exactly the acknowledged workflows exist.
  HttpResult list = c->Get("/api/v1/workflows?limit=100");
  ASSERT_EQ(list.status, 200) << list.body;
  std::set<std::string> listed;
  const json items = list.Json()["items"];
  for (const auto& w : items) listed.insert(w["id"]);
  EXPECT_EQ(listed, std::set<std::string>(acknowledged.begin(), acknowledged.end()));
  EXPECT_NE(server.log().find("SQLite commit failed"), std::string::npos);
  EXPECT_EQ(server.Client()->Get("/readyz").status, 200);
  server.Stop();
  ExpectStoreClean(server);
}

INSTANTIATE_TEST_SUITE_P(
    Failpoints, SqliteCommitFaultTest,
    ::testing::Values(CommitFault{"sqlite.commit=EIO:6", 503, "unavailable"},
                      CommitFault{"sqlite.commit=ENOSPC:6", 507, "insufficient_storage"}),
    [](const auto& info) { return info.param.status == 507 ? "ENOSPC" : "EIO"; });

// ---------------------------------------------------------------------------------------
// Part 5: PostgreSQL loses every connection between a workflow's claim and its start
// (engine.after_claim_ms holds the worker there; the test terminates the backends). The
// server reconnects and the workflow completes once.

TEST(PgFaultTest, ConnectionLostBetweenClaimAndStartIsSurvived) {
  testing::TestDatabase database("postgres");
  ServerOptions o = WithFailpoints("engine.after_claim_ms=1500", 1);
  o.database_url = database.url();
  ServerProcess server(o);
  auto c = server.Client("alice");
  const std::string id = Create(*c, 2);
  ASSERT_FALSE(id.empty());
  // Claimed (a lease is held) but not started.
  const auto deadline = Clock::now() + std::chrono::seconds(60);
  std::string claimed;
  while (Clock::now() < deadline) {
    claimed = QueryText(server.database_url(),
                        "SELECT status FROM workflows WHERE id = '" + id +
                            "' AND lease_owner IS NOT NULL AND started_at IS NULL");
    if (!claimed.empty()) break;
    Sleep(20);
  }
  ASSERT_EQ(claimed, "queued") << server.log();
  const std::string killed =
      QueryText(server.database_url(),
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE datname = "
                "current_database() AND pid <> pg_backend_pid()");
  EXPECT_GE(std::stoi(killed), 1) << "no server connection was open to terminate";
  const json w = WaitForWorkflow(*c, id, 120000);
  ASSERT_EQ(w["status"], "completed") << w.dump(2) << server.log();
  testing::ExpectEachSceneHasItsFilesOnce(w, 2);
  testing::ExpectEveryFileTrackedExactlyOnce(server, w);
  EXPECT_EQ(StatusEvents(server, id, "completed"), 1);
  EXPECT_EQ(server.Client()->Get("/readyz").status, 200);
  server.Stop();
  ExpectStoreClean(server);
}

// ---------------------------------------------------------------------------------------
// Part 4: a real full disk. The data directory is a 24 MiB tmpfs; a workflow runs while a
// filler file takes the rest of it.

class FullDisk {
 public:
  FullDisk() {
    if (::geteuid() != 0) {
      reason_ = "mounting a tmpfs needs root";
      return;
    }
    if (::mount("tmpfs", dir_.str().c_str(), "tmpfs", MS_NOSUID | MS_NODEV, "size=24m,mode=0700") !=
        0) {
      reason_ = std::string("cannot mount a tmpfs: ") + std::strerror(errno);
      return;
    }
    mounted_ = true;
  }
  ~FullDisk() {
    if (mounted_) ::umount2(dir_.str().c_str(), MNT_DETACH);
  }
  const std::string& skip_reason() const { return reason_; }
  std::string data_dir() const { return dir_.str() + "/data"; }
  std::string filler() const { return dir_.str() + "/filler"; }

  // Writes the filler until at most `leave` bytes are free.
  void Fill(std::uint64_t leave) {
    std::ofstream out(filler(), std::ios::binary | std::ios::app);
    const std::string chunk(4096, 'x');
    for (;;) {
      const std::uint64_t free = Free();
      if (free <= leave) break;
      const std::uint64_t n = std::min<std::uint64_t>(chunk.size(), free - leave);
      out.write(chunk.data(), static_cast<std::streamsize>(n));
      out.flush();
      if (!out) break;  // full
    }
  }
  void Unfill() { fs::remove(filler()); }
  std::uint64_t Free() const { return fs::space(dir_.str()).available; }

 private:
  testing::TempDir dir_;
  bool mounted_ = false;
  std::string reason_;
};

TEST(FullDiskTest, WritesAnswer507NothingIsLostAndAllRecoversWithoutARestart) {
  FullDisk disk;
  if (!disk.skip_reason().empty()) GTEST_SKIP() << disk.skip_reason();
  ServerOptions o;
  o.data_dir = disk.data_dir();
  o.workers = 1;
  o.env["STORYLOOM_LEASE_MS"] = "1000";
  o.env["STORYLOOM_MIN_FREE_DISK_BYTES"] = std::to_string(1 << 20);
  ServerProcess server(o);
  auto alice = server.Client("alice");
  auto admin = server.Client("admin");

  // Before: a finished workflow and an upload, the writes that must not be lost.
  const std::string first = Create(*alice, 2, "before the disk fills");
  ASSERT_EQ(WaitForWorkflow(*alice, first, 120000)["status"], "completed") << server.log();
  const std::string kept_bytes = RandomBytes(100 * 1024, 1);
  HttpResult kept = Upload(*alice, first, "kept.bin", kept_bytes);
  ASSERT_EQ(kept.status, 201) << kept.body;
  ASSERT_EQ(server.Client()->Get("/readyz").status, 200);

  // The disk fills while a workflow runs.
  disk.Fill(64 * 1024);
  const std::string during = Create(*alice, 6, "while the disk fills");
  disk.Fill(0);
  const auto deadline = Clock::now() + std::chrono::seconds(60);
  while (Clock::now() < deadline &&
         !(MetricValue(server, "storyloom_storage_errors_total{kind=\"full\"}") >= 1)) {
    Sleep(50);
  }

  // Full: every write answers 507 (or, when it still fits, succeeds), never a 500.
  HttpResult create = alice->Post("/api/v1/workflows", {{"prompt", "on a full disk"}});
  EXPECT_TRUE(create.status == 201 || create.status == 507) << create.status << create.body;
  if (create.status == 507) ExpectJsonError(create, 507, "insufficient_storage", server);
  HttpResult up = Upload(*alice, first, "big.bin", RandomBytes(512 * 1024, 2));
  ExpectJsonError(up, 507, "insufficient_storage", server);
  EXPECT_TRUE(FilesUnder(server.data_dir() + "/tmp").empty()) << "a partial upload was kept";
  HttpResult backup = admin->Post("/api/v1/admin/backups", json::object());
  EXPECT_TRUE(backup.status == 507 || backup.status == 503) << backup.status << backup.body;
  EXPECT_NE(backup.Json().value("error", json::object()).value("code", ""), "internal");
  // A failed backup leaves no partial copy (it would hold the space).
  EXPECT_TRUE(FilesUnder(server.data_dir() + "/backups").empty())
      << FilesUnder(server.data_dir() + "/backups").size() << " files of a failed backup kept";
  HttpResult cleanup = admin->Post("/api/v1/admin/cleanup", json::object());
  EXPECT_NE(cleanup.status, 500) << cleanup.body;
  EXPECT_NE(cleanup.status, 0) << "the server died";
  // The workflow that ran into it is paused, not failed.
  EXPECT_EQ(StatusEvents(server, during, "failed"), 0) << server.log();
  // /readyz and /metrics say what is wrong. (Retries of the paused workflow remove the
  // untracked files of the attempt that failed, so the disk is topped up first.)
  disk.Fill(0);
  HttpResult ready = server.Client()->Get("/readyz");
  EXPECT_EQ(ready.status, 503) << ready.body;
  EXPECT_EQ(ready.Json()["disk"]["status"], "full") << ready.body;
  EXPECT_GE(ready.Json()["disk"]["storage_errors"]["full"].get<int>(), 1) << ready.body;
  EXPECT_EQ(MetricValue(server, "storyloom_disk_low"), 1);
  EXPECT_GE(MetricValue(server, "storyloom_storage_errors_total{kind=\"full\"}"), 1);
  EXPECT_EQ(server.Client()->Get("/healthz").status, 200);

  // Space freed: everything works again, with no restart.
  disk.Unfill();
  EXPECT_EQ(server.Client()->Get("/readyz").status, 200);
  EXPECT_EQ(MetricValue(server, "storyloom_disk_low"), 0);
  json w = WaitForWorkflow(*alice, during, 120000);
  EXPECT_EQ(w["status"], "completed") << w.dump(2) << server.log();
  testing::ExpectEachSceneHasItsFilesOnce(w, 6);
  EXPECT_EQ(StatusEvents(server, during, "completed"), 1);
  const std::string after = Create(*alice, 1, "after the disk was freed");
  EXPECT_EQ(WaitForWorkflow(*alice, after, 120000)["status"], "completed");
  HttpResult again = Upload(*alice, first, "big.bin", RandomBytes(512 * 1024, 2));
  EXPECT_EQ(again.status, 201) << again.body;
  HttpResult backup2 = admin->Post("/api/v1/admin/backups", json::object());
  EXPECT_TRUE(backup2.status == 200 || backup2.status == 201) << backup2.body;

  // Nothing acknowledged was lost: the upload and the first workflow's files, by sha256.
  HttpResult file = alice->Get("/api/v1/files/" + kept.Json()["id"].get<std::string>());
  ASSERT_EQ(file.status, 200) << file.body;
  EXPECT_EQ(file.Json()["sha256"], core::Sha256Hex(kept_bytes));
  const json first_now = alice->Get("/api/v1/workflows/" + first).Json();
  for (const auto& f : first_now["files"]) {
    std::ifstream in(server.outputs_dir() + "/" + f["path"].get<std::string>(), std::ios::binary);
    const std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    EXPECT_EQ(core::Sha256Hex(bytes), f["sha256"]) << f["path"];
  }
  server.Stop();
  ExpectStoreClean(server);  // no half-written file, no tracked file missing
}

}  // namespace
}  // namespace storyloom
