// Operations on real databases and real files: backup round trip and verify, restore refusal,
// cleanup retention, fsck, analytics on a known dataset, the metrics registry, job leases,
// the scheduler on two instances and backup retention. All but the metrics registry run
// against each backend.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <thread>

#include "core/clock.h"
#include "core/hash.h"
#include "db/database.h"
#include "files/file_store.h"
#include "ops/analytics.h"
#include "ops/backup.h"
#include "ops/cleanup.h"
#include "ops/fsck.h"
#include "ops/job_lease.h"
#include "ops/metrics.h"
#include "ops/scheduler.h"
#include "support/store_access.h"
#include "support/test_db.h"

namespace storyloom {
namespace {

namespace fs = std::filesystem;
using db::Value;
using testing::MakeUser;
using testing::TempDir;
using testing::TestDatabase;

constexpr Millis kDay = 24LL * 3600 * 1000;

class OpsTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    tdb_ = std::make_unique<TestDatabase>(GetParam());
    store_ = tdb_->OpenMigrated();
    files_ = std::make_unique<files::FileStore>((dir_ / "data" / "save_outputs").string());
    alice_ = MakeUser(*store_, "alice");
    bob_ = MakeUser(*store_, "bob");
  }

  void Exec(const std::string& sql, std::vector<Value> params) {
    auto r = testing::RawDatabase(*store_).Write([&](db::Connection& c) -> Result<void> {
      SL_RETURN_IF_ERROR(c.Exec(sql, params));
      return {};
    });
    ASSERT_TRUE(r.has_value()) << r.error().ToString();
  }

  std::int64_t Count(const std::string& sql) {
    std::int64_t n = -1;
    auto r = testing::RawDatabase(*store_).Read([&](db::Connection& c) -> Result<void> {
      SL_ASSIGN_OR_RETURN(auto row, c.QueryOne(sql));
      n = row.Int(0);
      return {};
    });
    EXPECT_TRUE(r.has_value()) << r.error().ToString();
    return n;
  }

  // A workflow with `nfiles` image files on disk, one usage row costing `cost`, and its
  // phases; finished `age_days` ago in `status` (queued/running ones never finish).
  Workflow Make(const std::string& user, WorkflowStatus status, int age_days, int nfiles,
                NanoUsd cost = 1000000, const std::string& model = "m1") {
    auto created =
        store_->CreateWorkflow({user, "a prompt " + std::to_string(counter_++), "", "{}", ""});
    EXPECT_TRUE(created.has_value());
    Workflow w = created->workflow;
    for (int i = 0; i < nfiles; ++i) {
      const std::string rel = w.id + "/scene_" + std::to_string(i) + ".png";
      const std::string bytes =
          "png bytes of " + rel + std::string(static_cast<std::size_t>(i * 100), 'x');
      auto stored = files_->Write(rel, bytes);
      EXPECT_TRUE(stored.has_value());
      NewFile f;
      f.workflow_id = w.id;
      f.file_type = FileType::kImage;
      f.file_path = rel;
      f.file_name = "scene.png";
      f.mime_type = "image/png";
      f.file_size = stored->size;
      f.sha256 = stored->sha256;
      EXPECT_TRUE(store_->AddGeneratedFile(f).has_value());
    }
    ApiUsage u;
    u.workflow_id = w.id;
    u.user_id = user;
    u.provider = "p";
    u.model = model;
    u.operation = "chat";
    u.input_tokens = 10;
    u.output_tokens = 20;
    u.cost_nusd = cost;
    EXPECT_TRUE(store_->RecordUsage(u).has_value());
    if (status != WorkflowStatus::kQueued) {
      WorkflowUpdate up;
      up.status = WorkflowStatus::kRunning;
      EXPECT_TRUE(store_->UpdateWorkflow(w.id, up).has_value());
      WorkflowPhase p;
      p.workflow_id = w.id;
      p.phase = Phase::kStory;
      p.status = PhaseStatus::kCompleted;
      p.finished_at = core::WallMillis();
      p.started_at = *p.finished_at - 400;  // 400 ms
      EXPECT_TRUE(store_->Write([&](StoreTx& tx) { return tx.phases().Upsert(p); }).has_value());
    }
    if (IsTerminal(status)) {
      WorkflowUpdate up;
      up.status = status;
      up.finished_at = std::optional<Millis>(core::WallMillis() - age_days * kDay);
      EXPECT_TRUE(store_->UpdateWorkflow(w.id, up).has_value());
    }
    return *store_->GetWorkflow(w.id);
  }

  std::vector<Workflow> AllWorkflows(Store& s) {
    WorkflowFilter f;
    f.limit = 200;
    return s.ListWorkflows(f)->items;
  }

  TempDir dir_;
  std::unique_ptr<TestDatabase> tdb_;
  std::unique_ptr<Store> store_;
  std::unique_ptr<files::FileStore> files_;
  std::string alice_, bob_;
  int counter_ = 0;
};

TEST_P(OpsTest, JobLeaseIsHeldByOneHolderUntilReleasedOrExpired) {
  auto take = [&](const std::string& holder, Millis ttl) {
    auto r = ops::TryTakeJobLease(*store_, "backup", holder, ttl);
    EXPECT_TRUE(r.has_value()) << r.error().ToString();
    return r.value_or(false);
  };
  EXPECT_TRUE(take("a", 60000));
  EXPECT_FALSE(take("b", 60000)) << "held by a";
  EXPECT_TRUE(take("a", 60000)) << "a renews its own lease";
  EXPECT_TRUE(ops::TryTakeJobLease(*store_, "cleanup", "b", 60000).value_or(false))
      << "another job's lease is separate";
  ASSERT_TRUE(ops::ReleaseJobLease(*store_, "backup", "b").has_value());
  EXPECT_FALSE(take("b", 60000)) << "b cannot release a's lease";
  ASSERT_TRUE(ops::ReleaseJobLease(*store_, "backup", "a").has_value());
  EXPECT_TRUE(take("b", 1)) << "released";
  std::this_thread::sleep_for(std::chrono::milliseconds(5));
  EXPECT_TRUE(take("c", 60000)) << "b's lease expired (a crashed holder)";
}

// Two instances' schedulers on one database, checking at the same moment: each due job
// runs once (one backup, one cleanup), and a second check finds nothing due.
TEST_P(OpsTest, SchedulersSharingADatabaseRunEachDueJobOnce) {
  Make(alice_, WorkflowStatus::kCompleted, 1, 2);
  auto second_store = Store::Open(tdb_->url());
  ASSERT_TRUE(second_store.has_value()) << second_store.error().ToString();
  ops::SchedulerOptions o;
  o.backups_dir = (dir_ / "data" / "backups").string();
  o.backup_interval_hours = 24;
  o.cleanup_interval_hours = 24;
  ops::OpsScheduler a(*store_, *files_, o);
  ops::OpsScheduler b(**second_store, *files_, o);
  for (int round = 0; round < 2; ++round) {
    std::thread ta([&] { a.RunDueJobs(); });
    std::thread tb([&] { b.RunDueJobs(); });
    ta.join();
    tb.join();
  }
  auto backups = ops::ListBackups(*store_);
  ASSERT_TRUE(backups.has_value());
  ASSERT_EQ(backups->size(), 1u);
  EXPECT_EQ((*backups)[0].kind, "scheduled");
  EXPECT_EQ((*backups)[0].status, "ok");
  EXPECT_TRUE(ops::VerifyBackup((*backups)[0].path)->ok());
  EXPECT_EQ(Count("SELECT count(*) FROM audit_log WHERE action = 'cleanup.run'"), 1);
  EXPECT_EQ(Count("SELECT count(*) FROM job_leases"), 0) << "leases are released";
}

// Scheduled backups over 20 days, two a day: retention keeps the newest of each of the last
// 3 days and of each of the last 2 weeks, never a manual backup, and deletes the rest with
// their directories.
TEST_P(OpsTest, BackupRetentionKeepsTheLastDailyAndWeeklyBackups) {
  const std::string root = (dir_ / "data" / "backups").string();
  // 2026-11-25 12:00 UTC, a Wednesday.
  const Millis base = 1795608000000;
  std::map<std::string, std::string> paths;  // id -> path
  auto add = [&](const std::string& id, const std::string& kind, Millis at) {
    const std::string path = root + "/" + id;
    fs::create_directories(path);
    paths[id] = path;
    Exec(
        "INSERT INTO backups (id, path, kind, status, created_at, finished_at) "
        "VALUES (?, ?, ?, 'ok', ?, ?)",
        {id, path, kind, at, at + 1000});
  };
  for (int day = 0; day < 20; ++day) {
    add("d" + std::to_string(day) + "-am", "scheduled", base - day * kDay - 3 * 3600 * 1000);
    add("d" + std::to_string(day) + "-pm", "scheduled", base - day * kDay + 3 * 3600 * 1000);
  }
  add("manual-old", "manual", base - 19 * kDay);
  auto r = ops::ApplyBackupRetention(*store_, 3, 2);
  ASSERT_TRUE(r.has_value()) << r.error().ToString();
  auto left = ops::ListBackups(*store_, 1000);
  ASSERT_TRUE(left.has_value()) << left.error().ToString();
  std::set<std::string> kept;
  for (const auto& b : *left) kept.insert(b.id);
  // Days 0, 1, 2 (newest of each); week of base (Mon 23rd..): day 0 already; the week
  // before: its newest is Sunday the 22nd = day 3.
  const std::set<std::string> want = {"d0-pm", "d1-pm", "d2-pm", "d3-pm", "manual-old"};
  EXPECT_EQ(kept, want);
  EXPECT_EQ(r->removed.size(), 41u - want.size());
  for (const auto& [id, path] : paths) {
    EXPECT_EQ(fs::exists(path), want.contains(id)) << id;
  }
}

INSTANTIATE_TEST_SUITE_P(Backends, OpsTest, ::testing::ValuesIn(testing::Backends()));

TEST_P(OpsTest, BackupRestoresEveryWorkflowFileAndUsageRow) {
  Make(alice_, WorkflowStatus::kCompleted, 1, 3);
  Make(bob_, WorkflowStatus::kFailed, 2, 1);
  Make(alice_, WorkflowStatus::kQueued, 0, 0);
  // A backup some other instance was writing when this one was taken.
  ASSERT_TRUE(store_->Write(
      [](StoreTx& tx) { return tx.backups().Start("elsewhere", "/elsewhere", "scheduled", 1); }));
  ops::BackupOptions o;
  o.backups_dir = (dir_ / "data" / "backups").string();
  auto b = ops::CreateBackup(*store_, *files_, o);
  ASSERT_TRUE(b.has_value()) << b.error().ToString();
  EXPECT_EQ(b->files, 4);
  EXPECT_TRUE(b->missing.empty());
  auto list = ops::ListBackups(*store_);
  ASSERT_TRUE(list.has_value());
  ASSERT_EQ(list->size(), 2u);  // newest first: this backup, then the other one
  EXPECT_EQ((*list)[0].status, "ok");
  EXPECT_EQ((*list)[0].manifest_sha256, b->manifest_sha256);

  // Written after the snapshot: not in the backup.
  Make(bob_, WorkflowStatus::kCompleted, 0, 1);

  auto verify = ops::VerifyBackup(b->path);
  ASSERT_TRUE(verify.has_value()) << verify.error().ToString();
  EXPECT_TRUE(verify->ok()) << verify->problems.front();
  EXPECT_EQ(verify->files_checked, 4);

  std::unique_ptr<TestDatabase> target_db;
  ops::RestoreOptions ro;
  ro.data_dir = (dir_ / "restored").string();
  if (GetParam() == "postgres") {
    target_db = std::make_unique<TestDatabase>("postgres");
    ro.database_url = target_db->url();
  }
  auto restored = ops::RestoreBackup(b->path, ro);
  ASSERT_TRUE(restored.has_value()) << restored.error().ToString();
  auto rs = Store::Open(restored->database_url);
  ASSERT_TRUE(rs.has_value()) << rs.error().ToString();
  Store& r = **rs;
  // The restored database's own record of backups: its snapshot saw this backup running,
  // which finished ok; the other one never finished there.
  auto records = ops::ListBackups(r);
  ASSERT_TRUE(records.has_value()) << records.error().ToString();
  ASSERT_EQ(records->size(), 2u);
  EXPECT_EQ((*records)[0].id, b->id);
  EXPECT_EQ((*records)[0].status, "ok");
  EXPECT_EQ((*records)[1].id, "elsewhere");
  EXPECT_EQ((*records)[1].status, "failed");
  EXPECT_EQ((*records)[1].error, "unfinished when the restored backup was taken");

  // Compare with the live database minus the workflow made after the snapshot.
  auto live = AllWorkflows(*store_);
  auto back = AllWorkflows(r);
  ASSERT_EQ(back.size(), 3u);
  std::map<std::string, Workflow> by_id;
  for (auto& w : back) by_id[w.id] = w;
  int matched = 0;
  for (const auto& w : live) {
    auto it = by_id.find(w.id);
    if (it == by_id.end()) continue;
    ++matched;
    EXPECT_EQ(it->second.status, w.status);
    EXPECT_EQ(it->second.original_prompt, w.original_prompt);
    EXPECT_EQ(it->second.created_at, w.created_at);
    EXPECT_EQ(it->second.finished_at, w.finished_at);
    FileFilter ff;
    ff.workflow_id = w.id;
    auto lf =
        store_->ReadOne<Page<GeneratedFile>>([&](StoreTx& tx) { return tx.files().List(ff); });
    auto rf = r.ReadOne<Page<GeneratedFile>>([&](StoreTx& tx) { return tx.files().List(ff); });
    ASSERT_EQ(lf->items.size(), rf->items.size());
    for (std::size_t i = 0; i < lf->items.size(); ++i) {
      EXPECT_EQ(rf->items[i].id, lf->items[i].id);
      EXPECT_EQ(rf->items[i].sha256, lf->items[i].sha256);
      const auto on_disk = dir_ / "restored" / "save_outputs" / rf->items[i].file_path;
      EXPECT_EQ(*core::Sha256File(on_disk.string()), lf->items[i].sha256);
    }
    UsageFilter uf;
    uf.workflow_id = w.id;
    auto lu = store_->ReadOne<Page<ApiUsage>>([&](StoreTx& tx) { return tx.usage().List(uf); });
    auto ru = r.ReadOne<Page<ApiUsage>>([&](StoreTx& tx) { return tx.usage().List(uf); });
    ASSERT_EQ(lu->items.size(), ru->items.size());
    for (std::size_t i = 0; i < lu->items.size(); ++i) {
      EXPECT_EQ(ru->items[i].id, lu->items[i].id);
      EXPECT_EQ(ru->items[i].cost_nusd, lu->items[i].cost_nusd);
      EXPECT_EQ(ru->items[i].created_at, lu->items[i].created_at);
    }
  }
  EXPECT_EQ(matched, 3);
  // Rollups come back as they were, not doubled by the triggers that ran on restore.
  auto rollup = [](Store& s) {
    return db::ReadValue<std::int64_t>(
        testing::RawDatabase(s), [](db::Connection& c) -> Result<std::int64_t> {
          SL_ASSIGN_OR_RETURN(
              auto row,
              c.QueryOne(
                  "SELECT coalesce(sum(workflows), 0) FROM workflow_daily WHERE user_id = '*'"));
          return row.Int(0);
        });
  };
  EXPECT_EQ(*rollup(r), 3);
  // New rows get fresh ids after a restore (sequences moved past the restored ones).
  ApiUsage u;
  u.user_id = alice_;
  u.provider = "p";
  u.operation = "chat";
  auto added = r.RecordUsage(u);
  ASSERT_TRUE(added.has_value()) << added.error().ToString();
}

TEST_P(OpsTest, VerifyNamesCorruptAndMissingFiles) {
  Workflow w = Make(alice_, WorkflowStatus::kCompleted, 1, 3);
  ops::BackupOptions o;
  o.backups_dir = (dir_ / "backups").string();
  auto b = ops::CreateBackup(*store_, *files_, o);
  ASSERT_TRUE(b.has_value()) << b.error().ToString();
  const fs::path root = fs::path(b->path) / "save_outputs";
  const std::string corrupt = w.id + "/scene_1.png";
  const std::string gone = w.id + "/scene_2.png";
  // Same size, different bytes; and, since the backup may hard-link, replace rather than
  // write through (that would corrupt the live file too).
  std::string bytes = testing::ReadFileOrEmpty(root / corrupt);
  bytes[0] ^= 1;
  fs::remove(root / corrupt);
  testing::WriteFile(root / corrupt, bytes);
  fs::remove(root / gone);
  auto v = ops::VerifyBackup(b->path);
  ASSERT_TRUE(v.has_value());
  ASSERT_EQ(v->problems.size(), 2u);
  std::string all;
  for (const auto& p : v->problems) all += p + "\n";
  EXPECT_NE(all.find(corrupt + ": sha256"), std::string::npos) << all;
  EXPECT_NE(all.find(gone + ": missing"), std::string::npos) << all;
  // A damaged backup is never restored.
  ops::RestoreOptions ro;
  ro.data_dir = (dir_ / "restored").string();
  auto r = ops::RestoreBackup(b->path, ro);
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code, ErrorCode::kFailedPrecondition);
}

TEST_P(OpsTest, RestoreRefusesANonEmptyTarget) {
  Make(alice_, WorkflowStatus::kCompleted, 1, 1);
  ops::BackupOptions o;
  o.backups_dir = (dir_ / "backups").string();
  auto b = ops::CreateBackup(*store_, *files_, o);
  ASSERT_TRUE(b.has_value()) << b.error().ToString();
  fs::create_directories(dir_ / "busy");
  testing::WriteFile(dir_ / "busy" / "something", "x");
  ops::RestoreOptions ro;
  ro.data_dir = (dir_ / "busy").string();
  auto r = ops::RestoreBackup(b->path, ro);
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code, ErrorCode::kFailedPrecondition);
  // An empty directory but a database that already has tables.
  ro.data_dir = (dir_ / "fresh").string();
  ro.database_url = tdb_->url();
  r = ops::RestoreBackup(b->path, ro);
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code, ErrorCode::kFailedPrecondition) << r.error().ToString();
}

TEST_P(OpsTest, CleanupDeletesOnlyWhatThePolicySays) {
  Workflow old_done = Make(alice_, WorkflowStatus::kCompleted, 100, 2);
  Workflow new_done = Make(alice_, WorkflowStatus::kCompleted, 10, 1);
  Workflow old_failed = Make(bob_, WorkflowStatus::kFailed, 40, 1);
  Workflow old_cancelled = Make(bob_, WorkflowStatus::kCancelled, 40, 0);
  Workflow new_failed = Make(bob_, WorkflowStatus::kFailed, 10, 1);
  Workflow running = Make(alice_, WorkflowStatus::kRunning, 0, 1);
  Workflow queued = Make(alice_, WorkflowStatus::kQueued, 0, 0);
  // Ancient running and queued workflows are never touched.
  Exec("UPDATE workflows SET created_at = ?, finished_at = ? WHERE id = ?",
       {core::WallMillis() - 500 * kDay, core::WallMillis() - 500 * kDay, running.id});
  Exec("UPDATE workflows SET created_at = ? WHERE id = ?",
       {core::WallMillis() - 500 * kDay, queued.id});
  // Usage: one row 500 days old, the rest recent.
  Exec("UPDATE api_usage SET created_at = ? WHERE workflow_id = ?",
       {core::WallMillis() - 500 * kDay, new_done.id});
  std::int64_t old_bytes = 0;
  for (const auto& w : {old_done, old_failed, old_cancelled}) {
    FileFilter ff;
    ff.workflow_id = w.id;
    auto page =
        store_->ReadOne<Page<GeneratedFile>>([&](StoreTx& tx) { return tx.files().List(ff); });
    for (const auto& f : page->items) old_bytes += f.file_size;
  }
  // Tokens: sessions and sign-in links a day past expiry or revocation go; a live session,
  // one expired an hour ago and every API token (even expired) stay.
  const Millis now = core::WallMillis();
  auto token = [&](const std::string& id, const std::string& kind, std::optional<Millis> expires,
                   std::optional<Millis> revoked) {
    Exec(
        "INSERT INTO api_tokens (id, user_id, kind, token_hash, created_at, expires_at, "
        "revoked_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
        {id, alice_, kind, "hash-" + id, now - 10 * kDay, db::OptInt(expires),
         db::OptInt(revoked)});
  };
  token("s-old", "session", now - 2 * kDay, std::nullopt);
  token("s-revoked", "session", now + kDay, now - 2 * kDay);
  token("l-old", "login", now - 3 * kDay, std::nullopt);
  token("s-live", "session", now + kDay, std::nullopt);
  token("s-recent", "session", now - 3600 * 1000, std::nullopt);
  token("a-expired", "api", now - 30 * kDay, std::nullopt);

  ops::CleanupOptions o;
  o.completed_days = 90;
  o.failed_days = 30;
  o.usage_days = 400;
  o.batch = 2;  // several batches
  o.dry_run = true;
  auto dry = ops::RunCleanup(*store_, *files_, o);
  ASSERT_TRUE(dry.has_value()) << dry.error().ToString();
  std::set<std::string> ids;
  for (const auto& i : dry->workflows) ids.insert(i.workflow_id);
  EXPECT_EQ(ids, (std::set<std::string>{old_done.id, old_failed.id, old_cancelled.id}));
  EXPECT_EQ(dry->files, 3);
  EXPECT_EQ(dry->bytes, old_bytes);
  EXPECT_EQ(dry->usage_rows, 1);
  EXPECT_EQ(dry->sessions, 3);
  EXPECT_EQ(AllWorkflows(*store_).size(), 7u);  // dry run deleted nothing
  EXPECT_EQ(Count("SELECT count(*) FROM api_tokens WHERE id IN ('s-old', 's-revoked', 'l-old')"),
            3);
  EXPECT_EQ(files_->ListAll()->size(), 6u);

  o.dry_run = false;
  auto real = ops::RunCleanup(*store_, *files_, o);
  ASSERT_TRUE(real.has_value()) << real.error().ToString();
  EXPECT_EQ(real->workflows.size(), 3u);
  EXPECT_EQ(real->bytes, old_bytes);
  EXPECT_EQ(real->usage_rows, 1);
  EXPECT_EQ(real->sessions, 3);
  EXPECT_EQ(Count("SELECT count(*) FROM api_tokens WHERE id IN ('s-old', 's-revoked', 'l-old')"),
            0);
  EXPECT_EQ(
      Count("SELECT count(*) FROM api_tokens WHERE id IN ('s-live', 's-recent', 'a-expired')"), 3);
  std::set<std::string> left;
  for (const auto& w : AllWorkflows(*store_)) left.insert(w.id);
  EXPECT_EQ(left, (std::set<std::string>{new_done.id, new_failed.id, running.id, queued.id}));
  const auto remaining = *files_->ListAll();
  for (const auto& rel : remaining) {
    EXPECT_FALSE(rel.starts_with(old_done.id) || rel.starts_with(old_failed.id)) << rel;
  }
  EXPECT_EQ(files_->ListAll()->size(), 3u);
  // Usage rows of deleted workflows stay (with workflow_id cleared) until their own policy.
  auto usage = db::ReadValue<std::int64_t>(
      testing::RawDatabase(*store_), [](db::Connection& c) -> Result<std::int64_t> {
        SL_ASSIGN_OR_RETURN(auto row, c.QueryOne("SELECT count(*) FROM api_usage"));
        return row.Int(0);
      });
  EXPECT_EQ(*usage, 6);
  auto last = ops::LastCleanup(*store_);
  ASSERT_TRUE(last.has_value() && last->has_value());
}

TEST_P(OpsTest, FsckFindsMissingCorruptAndOrphansAndRepairsSafely) {
  Workflow w = Make(alice_, WorkflowStatus::kCompleted, 1, 3);
  const std::string ok = w.id + "/scene_0.png";
  const std::string missing = w.id + "/scene_1.png";
  const std::string corrupt = w.id + "/scene_2.png";
  const fs::path root = files_->root();
  fs::remove(root / missing);
  std::string bytes = testing::ReadFileOrEmpty(root / corrupt);
  bytes[0] ^= 1;
  testing::WriteFile(root / corrupt, bytes);
  ASSERT_TRUE(files_->Write("stray/orphan.bin", "nobody tracks me").has_value());

  ops::FsckOptions o;
  o.orphan_grace_ms = 0;
  auto r = ops::RunFsck(*store_, *files_, o);
  ASSERT_TRUE(r.has_value()) << r.error().ToString();
  EXPECT_FALSE(r->ok());
  EXPECT_EQ(r->checked, 3);
  std::map<std::string, std::string> kinds;
  for (const auto& p : r->problems) kinds[p.path] = p.kind;
  EXPECT_EQ(kinds, (std::map<std::string, std::string>{{missing, "missing"}, {corrupt, "sha256"}}));
  EXPECT_EQ(r->orphans, std::vector<std::string>{"stray/orphan.bin"});

  o.repair = true;
  r = ops::RunFsck(*store_, *files_, o);
  ASSERT_TRUE(r.has_value()) << r.error().ToString();
  EXPECT_EQ(r->marked_missing, 1);
  ASSERT_EQ(r->quarantined.size(), 1u);
  EXPECT_TRUE(fs::exists(r->quarantined[0]));
  EXPECT_FALSE(fs::exists(root / "stray/orphan.bin"));
  // Referenced files are never moved or deleted, even a corrupt one.
  EXPECT_TRUE(fs::exists(root / ok));
  EXPECT_TRUE(fs::exists(root / corrupt));

  o.repair = false;
  r = ops::RunFsck(*store_, *files_, o);
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->known_missing, std::vector<std::string>{missing});
  ASSERT_EQ(r->problems.size(), 1u);  // the corrupt file stays reported
  EXPECT_EQ(r->problems[0].path, corrupt);
  EXPECT_TRUE(r->orphans.empty());
}

// A file hard-linked into the data directory (storyloom import --link) keeps its original's
// modification time, which may be years old; it is new to the data directory all the same, so
// the grace period counts from its last status change (the link) too, and fsck --repair must
// not quarantine it before its row commits.
TEST_P(OpsTest, FsckGraceCountsFromTheLinkNotAnOldModificationTime) {
  const fs::path root = files_->root();
  const fs::path outside = dir_ / "original.png";
  testing::WriteFile(outside, "a picture the user made years ago");
  const timespec old_times[2] = {{1'000'000'000, 0}, {1'000'000'000, 0}};  // 2001
  ASSERT_EQ(::utimensat(AT_FDCWD, outside.c_str(), old_times, 0), 0);
  fs::create_directories(root / "linked");
  fs::create_hard_link(outside, root / "linked/scene_1.png");

  ops::FsckOptions o;
  o.repair = true;  // the default grace: 15 minutes
  auto r = ops::RunFsck(*store_, *files_, o);
  ASSERT_TRUE(r.has_value()) << r.error().ToString();
  EXPECT_TRUE(r->orphans.empty());
  EXPECT_TRUE(r->quarantined.empty());
  EXPECT_TRUE(fs::exists(root / "linked/scene_1.png"));
}

TEST_P(OpsTest, AnalyticsSummaryOnAKnownDataset) {
  Make(alice_, WorkflowStatus::kCompleted, 0, 2, 1000000, "m1");  // 0.001 USD
  Make(alice_, WorkflowStatus::kCompleted, 0, 1, 3000000, "m2");
  Make(alice_, WorkflowStatus::kFailed, 0, 0, 1000000, "m1");
  Make(bob_, WorkflowStatus::kCompleted, 0, 1, 20000000, "m1");  // 0.02 USD
  Make(bob_, WorkflowStatus::kQueued, 0, 0, 0, "m1");
  const std::string today = core::FormatDay(core::WallMillis());
  ops::AnalyticsQuery q{"", today, today};
  auto s = ops::Summarize(*store_, q);
  ASSERT_TRUE(s.has_value()) << s.error().ToString();
  EXPECT_EQ(s->total, 5);
  EXPECT_EQ(s->completed, 3);
  EXPECT_EQ(s->failed, 1);
  EXPECT_EQ(s->queued, 1);
  ASSERT_TRUE(s->success_rate.has_value());
  EXPECT_DOUBLE_EQ(*s->success_rate, 0.75);
  ASSERT_EQ(s->phase_ms.size(), 1u);
  EXPECT_EQ(s->phase_ms[0].first, "story");
  EXPECT_EQ(s->phase_ms[0].second.count, 4);
  // Every phase took 400 ms: bucket (250, 500], interpolated.
  EXPECT_DOUBLE_EQ(*s->phase_ms[0].second.p50, 375);
  EXPECT_DOUBLE_EQ(*s->phase_ms[0].second.p95, 487.5);
  EXPECT_DOUBLE_EQ(s->phase_ms[0].second.sum, 1600);
  EXPECT_EQ(s->cost_per_workflow_nusd.count, 4);  // finished workflows only
  EXPECT_EQ(s->cost_per_workflow_nusd.sum, 25000000);
  ASSERT_EQ(s->by_model.size(), 2u);
  EXPECT_EQ(s->by_model[0].key, "p/m1");
  EXPECT_EQ(s->by_model[0].cost_nusd, 22000000);
  EXPECT_EQ(s->by_model[0].calls, 4);
  EXPECT_EQ(s->by_model[1].cost_nusd, 3000000);
  ASSERT_EQ(s->by_user.size(), 2u);
  std::map<std::string, NanoUsd> per_user;
  for (const auto& g : s->by_user) per_user[g.name] = g.cost_nusd;
  EXPECT_EQ(per_user["alice"], 5000000);
  EXPECT_EQ(per_user["bob"], 20000000);
  ASSERT_EQ(s->files.size(), 1u);
  EXPECT_EQ(s->files[0].file_type, "image");
  EXPECT_EQ(s->files[0].files, 4);

  // A user sees only their own numbers.
  q.user_id = alice_;
  s = ops::Summarize(*store_, q);
  ASSERT_TRUE(s.has_value());
  EXPECT_EQ(s->total, 3);
  ASSERT_EQ(s->by_user.size(), 1u);
  EXPECT_EQ(s->by_user[0].cost_nusd, 5000000);
  EXPECT_EQ(s->files[0].files, 3);
  // Outside the range: nothing.
  s = ops::Summarize(*store_, {"", "2000-01-01", "2000-12-31"});
  ASSERT_TRUE(s.has_value());
  EXPECT_EQ(s->total, 0);
  EXPECT_FALSE(s->success_rate.has_value());
}

TEST(OpsAnalytics, BucketQuantileInterpolatesInsideTheBucket) {
  using B = std::vector<std::pair<std::int64_t, std::int64_t>>;
  EXPECT_FALSE(ops::BucketQuantile(B{}, 0.5).has_value());
  EXPECT_DOUBLE_EQ(*ops::BucketQuantile(B{{100, 10}}, 0.5), 50);
  EXPECT_DOUBLE_EQ(*ops::BucketQuantile(B{{100, 5}, {200, 5}}, 0.5), 100);
  EXPECT_DOUBLE_EQ(*ops::BucketQuantile(B{{100, 5}, {200, 5}}, 0.75), 150);
  EXPECT_DOUBLE_EQ(*ops::BucketQuantile(B{{100, 1}, {ops::kInfBucket, 9}}, 0.95), 100);
}

TEST(OpsMetrics, RegistryRendersTheTextFormat) {
  ops::MetricsRegistry reg;
  auto& c = reg.AddCounter("t_requests_total", "Requests.", {"route", "status"});
  c.With({"/a", "200"}).Inc();
  c.With({"/a", "200"}).Inc(2);
  c.With({"/b\"x", "500"}).Inc();
  auto& h = reg.AddHistogram("t_seconds", "Latency.", {"route"}, {0.1, 1});
  h.With({"/a"}).Observe(0.05);
  h.With({"/a"}).Observe(0.5);
  h.With({"/a"}).Observe(5);
  reg.AddCollector([](ops::MetricsWriter& w) {
    w.Family("t_up", "gauge", "Up.");
    w.Sample("t_up", {}, {}, 1);
  });
  const std::string text = reg.Render();
  EXPECT_NE(text.find("# TYPE t_requests_total counter\n"), std::string::npos) << text;
  EXPECT_NE(text.find("t_requests_total{route=\"/a\",status=\"200\"} 3\n"), std::string::npos)
      << text;
  EXPECT_NE(text.find("t_requests_total{route=\"/b\\\"x\",status=\"500\"} 1\n"), std::string::npos)
      << text;
  EXPECT_NE(text.find("t_seconds_bucket{route=\"/a\",le=\"0.1\"} 1\n"), std::string::npos) << text;
  EXPECT_NE(text.find("t_seconds_bucket{route=\"/a\",le=\"1\"} 2\n"), std::string::npos) << text;
  EXPECT_NE(text.find("t_seconds_bucket{route=\"/a\",le=\"+Inf\"} 3\n"), std::string::npos) << text;
  EXPECT_NE(text.find("t_seconds_count{route=\"/a\"} 3\n"), std::string::npos) << text;
  EXPECT_NE(text.find("t_seconds_sum{route=\"/a\"} 5.55\n"), std::string::npos) << text;
  EXPECT_NE(text.find("t_up 1\n"), std::string::npos) << text;
}

}  // namespace
}  // namespace storyloom
