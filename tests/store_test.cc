// Store conformance suite: every store operation, run against each backend.
#include "storyloom/store.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <nlohmann/json.hpp>
#include <set>
#include <thread>

#include "core/hash.h"
#include "db/database.h"
#include "support/store_access.h"
#include "support/test_db.h"
#include "support/usage_rows.h"

namespace storyloom {
namespace {

using testing::MakeUser;
using testing::TestDatabase;

// JSON columns are JSONB on PostgreSQL, which normalises spacing and key order: compare
// documents, not their text.
nlohmann::json Json(const std::string& text) { return nlohmann::json::parse(text); }

class StoreTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    tdb_ = std::make_unique<TestDatabase>(GetParam());
    store_ = tdb_->OpenMigrated();
    alice_ = MakeUser(*store_, "alice");
    bob_ = MakeUser(*store_, "bob");
  }

  Workflow Create(const std::string& user, const std::string& prompt,
                  const std::string& title = "") {
    auto r = store_->CreateWorkflow({user, prompt, title, "{}", ""});
    EXPECT_TRUE(r.has_value()) << r.error().ToString();
    return r->workflow;
  }

  GeneratedFile AddFile(const Workflow& w, const std::string& path, FileType type,
                        const std::string& scene_id = "") {
    NewFile f;
    f.workflow_id = w.id;
    f.scene_id = scene_id;
    f.file_type = type;
    f.file_path = path;
    f.file_name = path.substr(path.rfind('/') + 1);
    f.mime_type = "image/png";
    f.file_size = 42;
    f.sha256 = core::Sha256Hex(path);
    f.metadata_json = R"({"scene_number":1})";
    auto r = store_->AddGeneratedFile(f);
    EXPECT_TRUE(r.has_value()) << r.error().ToString();
    return *r;
  }

  std::unique_ptr<TestDatabase> tdb_;
  std::unique_ptr<Store> store_;
  std::string alice_, bob_;
};

TEST_P(StoreTest, CreateAndGetWorkflow) {
  Workflow w = Create(alice_, "A lighthouse keeper finds a map", "The Map");
  EXPECT_EQ(w.status, WorkflowStatus::kQueued);
  auto got = store_->GetWorkflow(w.id);
  ASSERT_TRUE(got) << got.error().ToString();
  EXPECT_EQ(got->original_prompt, "A lighthouse keeper finds a map");
  EXPECT_EQ(got->title, "The Map");
  EXPECT_EQ(got->user_id, alice_);
  EXPECT_EQ(got->status, WorkflowStatus::kQueued);
  EXPECT_GT(got->created_at, 0);
  EXPECT_FALSE(got->started_at.has_value());
}

TEST_P(StoreTest, GetUnknownWorkflowIsNotFound) {
  auto got = store_->GetWorkflow("0190aaaa-0000-7000-8000-000000000000");
  ASSERT_FALSE(got);
  EXPECT_EQ(got.error().code, ErrorCode::kNotFound);
}

TEST_P(StoreTest, InvalidArgumentsAreErrorsNotCrashes) {
  auto r = store_->CreateWorkflow({alice_, "", "", "{}", ""});
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::kInvalidArgument);
  EXPECT_EQ(r.error().detail, "prompt");
  auto r2 = store_->CreateWorkflow({"", "x", "", "{}", ""});
  ASSERT_FALSE(r2);
  EXPECT_EQ(r2.error().code, ErrorCode::kInvalidArgument);
  // A user that does not exist violates the foreign key.
  auto r3 = store_->CreateWorkflow({"nobody", "x", "", "{}", ""});
  ASSERT_FALSE(r3);
  Workflow w = Create(alice_, "p");
  WorkflowUpdate bad;
  bad.progress = 1.5;
  auto r4 = store_->UpdateWorkflow(w.id, bad);
  ASSERT_FALSE(r4);
  EXPECT_EQ(r4.error().code, ErrorCode::kInvalidArgument);
  WorkflowUpdate bad_phase;
  bad_phase.current_phase = "dance";
  EXPECT_EQ(store_->UpdateWorkflow(w.id, bad_phase).error().code, ErrorCode::kInvalidArgument);
  auto list = store_->ListWorkflows({.cursor = "not-a-cursor"});
  ASSERT_FALSE(list);
  EXPECT_EQ(list.error().detail, "cursor");
}

TEST_P(StoreTest, IdempotencyKeyReturnsTheSameWorkflow) {
  auto a = store_->CreateWorkflow({alice_, "prompt one", "", "{}", "key-1"});
  ASSERT_TRUE(a);
  EXPECT_TRUE(a->created);
  auto b = store_->CreateWorkflow({alice_, "prompt two", "", "{}", "key-1"});
  ASSERT_TRUE(b);
  EXPECT_FALSE(b->created);
  EXPECT_EQ(a->workflow.id, b->workflow.id);
  EXPECT_EQ(b->workflow.original_prompt, "prompt one");
  // Keys are per user.
  auto c = store_->CreateWorkflow({bob_, "prompt", "", "{}", "key-1"});
  ASSERT_TRUE(c);
  EXPECT_TRUE(c->created);
  EXPECT_NE(c->workflow.id, a->workflow.id);
}

TEST_P(StoreTest, ConcurrentCreatesWithOneIdempotencyKeyMakeOneWorkflow) {
  constexpr int kThreads = 4;
  std::vector<Result<CreateResult>> results(kThreads, Fail(Error::Internal("not run")));
  std::atomic<int> ready{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < kThreads; ++i) {
    threads.emplace_back([&, i] {
      ready.fetch_add(1);
      while (ready.load() < kThreads) std::this_thread::yield();
      results[i] = store_->CreateWorkflow({alice_, "same request", "", "{}", "retry-key"});
    });
  }
  for (auto& t : threads) t.join();
  std::set<std::string> ids;
  int created = 0;
  for (const auto& r : results) {
    ASSERT_TRUE(r) << r.error().ToString();
    ids.insert(r->workflow.id);
    created += r->created ? 1 : 0;
  }
  EXPECT_EQ(ids.size(), 1u);
  EXPECT_EQ(created, 1);
}

TEST_P(StoreTest, UpdateWorkflowFields) {
  Workflow w = Create(alice_, "p");
  WorkflowUpdate u;
  u.status = WorkflowStatus::kRunning;
  u.current_phase = "images";
  u.progress = 0.5;
  u.enhanced_story = "Once upon a time";
  u.started_at = 1234;
  ASSERT_TRUE(store_->UpdateWorkflow(w.id, u));
  auto got = store_->GetWorkflow(w.id);
  ASSERT_TRUE(got);
  EXPECT_EQ(got->status, WorkflowStatus::kRunning);
  EXPECT_EQ(got->current_phase, "images");
  EXPECT_DOUBLE_EQ(got->progress, 0.5);
  EXPECT_EQ(got->enhanced_story, "Once upon a time");
  EXPECT_EQ(got->started_at, 1234);
  WorkflowUpdate fail;
  fail.status = WorkflowStatus::kFailed;
  fail.error_code = "provider_error";
  fail.error_message = "boom";
  fail.finished_at = std::optional<Millis>(99);
  ASSERT_TRUE(store_->UpdateWorkflow(w.id, fail));
  got = store_->GetWorkflow(w.id);
  EXPECT_EQ(got->error_code, "provider_error");
  EXPECT_EQ(got->finished_at, 99);
  WorkflowUpdate clear;
  clear.error_code = "";
  clear.finished_at = std::optional<Millis>();
  ASSERT_TRUE(store_->UpdateWorkflow(w.id, clear));
  got = store_->GetWorkflow(w.id);
  EXPECT_EQ(got->error_code, "");
  EXPECT_FALSE(got->finished_at.has_value());
  EXPECT_EQ(store_->UpdateWorkflow("0190aaaa-0000-7000-8000-000000000000", u).error().code,
            ErrorCode::kNotFound);
}

// A status changes only along the workflow's transitions, checked by the UPDATE itself:
// from any other status nothing is written and the caller hears "conflict".
TEST_P(StoreTest, StatusChangesFollowTheWorkflowTransitions) {
  Workflow w = Create(alice_, "p");
  auto to = [&](WorkflowStatus s) {
    WorkflowUpdate u;
    u.status = s;
    u.title = std::string("became ") + std::string(ToString(s));
    return store_->UpdateWorkflow(w.id, u);
  };
  auto status = [&] { return store_->GetWorkflow(w.id)->status; };
  auto refused = [&](WorkflowStatus s) {
    const WorkflowStatus before = status();
    const std::string title = store_->GetWorkflow(w.id)->title;
    auto r = to(s);
    EXPECT_FALSE(r.has_value()) << ToString(before) << " -> " << ToString(s);
    if (r.has_value()) return;
    EXPECT_EQ(r.error().code, ErrorCode::kFailedPrecondition) << r.error().ToString();
    EXPECT_EQ(r.error().detail, "conflict");
    EXPECT_EQ(status(), before);
    EXPECT_EQ(store_->GetWorkflow(w.id)->title, title);  // nothing of it was written
  };
  refused(WorkflowStatus::kCompleted);  // queued: never ran
  ASSERT_TRUE(to(WorkflowStatus::kRunning));
  ASSERT_TRUE(to(WorkflowStatus::kRunning));  // resumed
  refused(WorkflowStatus::kQueued);           // only a failed or cancelled one is retried
  ASSERT_TRUE(to(WorkflowStatus::kCancelled));
  EXPECT_EQ(store_->GetWorkflow(w.id)->title, "became cancelled");
  refused(WorkflowStatus::kRunning);  // a cancel is never overwritten by a start
  refused(WorkflowStatus::kFailed);
  refused(WorkflowStatus::kCancelled);
  refused(WorkflowStatus::kCompleted);
  ASSERT_TRUE(to(WorkflowStatus::kQueued));  // the retry
  ASSERT_TRUE(to(WorkflowStatus::kRunning));
  ASSERT_TRUE(to(WorkflowStatus::kCompleted));
  refused(WorkflowStatus::kFailed);
  refused(WorkflowStatus::kQueued);
  // Updates without a status are not transitions.
  WorkflowUpdate rename;
  rename.title = std::string("renamed");
  ASSERT_TRUE(store_->UpdateWorkflow(w.id, rename));
  EXPECT_EQ(store_->UpdateWorkflow("0190aaaa-0000-7000-8000-000000000000", rename).error().code,
            ErrorCode::kNotFound);
  WorkflowUpdate start;
  start.status = WorkflowStatus::kRunning;
  EXPECT_EQ(store_->UpdateWorkflow("0190aaaa-0000-7000-8000-000000000000", start).error().code,
            ErrorCode::kNotFound);
}

TEST_P(StoreTest, ListIsKeysetPaginatedNewestFirstAndFiltered) {
  std::vector<std::string> ids;
  for (int i = 0; i < 25; ++i) ids.push_back(Create(alice_, "story " + std::to_string(i)).id);
  Create(bob_, "bob's story");
  std::vector<std::string> seen;
  std::string cursor;
  int pages = 0;
  do {
    auto page = store_->ListWorkflows({.user_id = alice_, .limit = 10, .cursor = cursor});
    ASSERT_TRUE(page) << page.error().ToString();
    for (auto& w : page->items) {
      EXPECT_EQ(w.user_id, alice_);
      seen.push_back(w.id);
    }
    cursor = page->next_cursor;
    ++pages;
  } while (!cursor.empty());
  EXPECT_EQ(pages, 3);
  std::vector<std::string> expected(ids.rbegin(), ids.rend());
  EXPECT_EQ(seen, expected);
  WorkflowUpdate running, done;
  running.status = WorkflowStatus::kRunning;
  done.status = WorkflowStatus::kCompleted;
  ASSERT_TRUE(store_->UpdateWorkflow(ids[3], running));
  ASSERT_TRUE(store_->UpdateWorkflow(ids[3], done));
  auto completed = store_->ListWorkflows({.user_id = alice_, .status = WorkflowStatus::kCompleted});
  ASSERT_TRUE(completed);
  ASSERT_EQ(completed->items.size(), 1u);
  EXPECT_EQ(completed->items[0].id, ids[3]);
  auto all = store_->ListWorkflows({.limit = 200});
  EXPECT_EQ(all->items.size(), 26u);
}

TEST_P(StoreTest, TextSearchMatchesTitleAndPromptSubstrings) {
  Create(alice_, "A dragon who loves tea", "Tea Time");
  Create(alice_, "The lighthouse at the end of the world", "Beacon");
  Create(alice_, "50% off: a sale_day story", "Sale");
  Create(bob_, "Another dragon", "Bob's dragon");
  auto r = store_->ListWorkflows({.user_id = alice_, .q = "DRAGON"});
  ASSERT_TRUE(r) << r.error().ToString();
  ASSERT_EQ(r->items.size(), 1u);
  EXPECT_EQ(r->items[0].title, "Tea Time");
  r = store_->ListWorkflows({.user_id = alice_, .q = "beac"});
  ASSERT_EQ(r->items.size(), 1u);
  // Short queries and LIKE wildcards are matched literally.
  r = store_->ListWorkflows({.user_id = alice_, .q = "%"});
  ASSERT_EQ(r->items.size(), 1u);
  EXPECT_EQ(r->items[0].title, "Sale");
  r = store_->ListWorkflows({.user_id = alice_, .q = "e_d"});
  ASSERT_EQ(r->items.size(), 1u);
  r = store_->ListWorkflows({.user_id = alice_, .q = "\"quoted\" OR x"});
  ASSERT_TRUE(r) << r.error().ToString();
  EXPECT_TRUE(r->items.empty());
  // Renaming keeps the index current.
  WorkflowUpdate rename;
  rename.title = "Renamed Beacon";
  auto beacon = store_->ListWorkflows({.user_id = alice_, .q = "Beacon"});
  ASSERT_TRUE(store_->UpdateWorkflow(beacon->items[0].id, rename));
  EXPECT_EQ(store_->ListWorkflows({.q = "renamed"})->items.size(), 1u);
}

// Search results page like every list: newest first, each match once, only the user's own,
// and a page whose cursor row was deleted meanwhile continues with the older matches.
TEST_P(StoreTest, TextSearchPagesNewestFirstAndSurvivesADeletedCursor) {
  std::vector<std::string> matches;  // oldest first
  for (int i = 0; i < 8; ++i) {
    matches.push_back(Create(alice_, "a voyage numbered " + std::to_string(i), "Voyage").id);
    Create(alice_, "something else " + std::to_string(i), "Other");
    Create(bob_, "bob's voyage " + std::to_string(i), "Voyage");
  }
  std::vector<std::string> want(matches.rbegin(), matches.rend());
  std::vector<std::string> got;
  std::string cursor;
  for (int pages = 0; pages < 10; ++pages) {
    auto page =
        store_->ListWorkflows({.user_id = alice_, .q = "voyage", .limit = 3, .cursor = cursor});
    ASSERT_TRUE(page) << page.error().ToString();
    for (const auto& w : page->items) got.push_back(w.id);
    if (page->next_cursor.empty()) break;
    cursor = page->next_cursor;
  }
  EXPECT_EQ(got, want);

  // The first page ends at want[2]; that workflow is deleted before the next page is read.
  auto first = store_->ListWorkflows({.user_id = alice_, .q = "voyage", .limit = 3});
  ASSERT_TRUE(first);
  ASSERT_EQ(first->next_cursor, want[2]);
  ASSERT_TRUE(store_->Write([&](StoreTx& tx) -> Result<void> {
    SL_RETURN_IF_ERROR(tx.workflows().Delete(want[2]));
    return {};
  }));
  auto next = store_->ListWorkflows(
      {.user_id = alice_, .q = "voyage", .limit = 3, .cursor = first->next_cursor});
  ASSERT_TRUE(next) << next.error().ToString();
  ASSERT_EQ(next->items.size(), 3u);
  EXPECT_EQ(next->items[0].id, want[3]);
  EXPECT_EQ(next->items[2].id, want[5]);
}

TEST_P(StoreTest, PhasesUpsertAndListInPipelineOrder) {
  Workflow w = Create(alice_, "p");
  for (Phase phase : {Phase::kImages, Phase::kStory, Phase::kScenes}) {
    WorkflowPhase p{w.id, phase, PhaseStatus::kRunning, 1, 10, {}, "", ""};
    ASSERT_TRUE(store_->Write([&](StoreTx& tx) { return tx.phases().Upsert(p); }));
  }
  WorkflowPhase done{w.id, Phase::kStory,     PhaseStatus::kCompleted, 1, 10, 20,
                     "",   R"({"words":300})"};
  ASSERT_TRUE(store_->Write([&](StoreTx& tx) { return tx.phases().Upsert(done); }));
  auto phases = store_->ReadOne<std::vector<WorkflowPhase>>(
      [&](StoreTx& tx) { return tx.phases().List(w.id); });
  ASSERT_TRUE(phases);
  ASSERT_EQ(phases->size(), 3u);
  EXPECT_EQ((*phases)[0].phase, Phase::kStory);
  EXPECT_EQ((*phases)[0].status, PhaseStatus::kCompleted);
  EXPECT_EQ((*phases)[0].finished_at, 20);
  EXPECT_EQ(Json((*phases)[0].output_json), Json(R"({"words":300})"));
  EXPECT_EQ((*phases)[1].phase, Phase::kScenes);
  EXPECT_EQ((*phases)[2].phase, Phase::kImages);
  // An unknown phase cannot be expressed in the type; one written by hand is refused by the
  // database itself.
  auto bad = testing::RawDatabase(*store_).Write([&](db::Connection& c) -> Result<void> {
    const db::Value v[] = {w.id};
    SL_RETURN_IF_ERROR(
        c.Exec("INSERT INTO workflow_phases (workflow_id, phase, status, attempts) "
               "VALUES (?, 'nap', 'running', 1)",
               v));
    return {};
  });
  ASSERT_FALSE(bad.has_value());
  EXPECT_EQ(bad.error().code, ErrorCode::kInvalidArgument);
}

TEST_P(StoreTest, ScenesAreUniquePerWorkflowAndLinkFiles) {
  Workflow w = Create(alice_, "p");
  Scene s;
  s.workflow_id = w.id;
  s.scene_number = 1;
  s.title = "Dawn";
  s.description = "The sun rises";
  auto added = store_->WriteOne<Scene>([&](StoreTx& tx) { return tx.scenes().Add(s); });
  ASSERT_TRUE(added);
  auto dup = store_->WriteOne<Scene>([&](StoreTx& tx) { return tx.scenes().Add(s); });
  ASSERT_FALSE(dup);
  EXPECT_EQ(dup.error().code, ErrorCode::kAlreadyExists);
  GeneratedFile img = AddFile(w, w.id + "/images/scene_1.png", FileType::kImage, added->id);
  EXPECT_EQ(img.scene_number, 1);
  Scene linked = *added;
  linked.image_file_id = img.id;
  linked.narration = "It was dawn.";
  ASSERT_TRUE(store_->Write([&](StoreTx& tx) { return tx.scenes().Update(linked); }));
  auto scenes =
      store_->ReadOne<std::vector<Scene>>([&](StoreTx& tx) { return tx.scenes().List(w.id); });
  ASSERT_EQ(scenes->size(), 1u);
  EXPECT_EQ((*scenes)[0].image_file_id, img.id);
  EXPECT_EQ((*scenes)[0].narration, "It was dawn.");
  // Deleting the file unlinks the scene instead of failing.
  ASSERT_TRUE(
      store_->WriteOne<GeneratedFile>([&](StoreTx& tx) { return tx.files().Delete(img.id); }));
  scenes = store_->ReadOne<std::vector<Scene>>([&](StoreTx& tx) { return tx.scenes().List(w.id); });
  EXPECT_EQ((*scenes)[0].image_file_id, "");
  Scene orphan;
  orphan.workflow_id = "0190aaaa-0000-7000-8000-000000000000";
  orphan.scene_number = 1;
  EXPECT_EQ(
      store_->WriteOne<Scene>([&](StoreTx& tx) { return tx.scenes().Add(orphan); }).error().code,
      ErrorCode::kNotFound);
}

TEST_P(StoreTest, GeneratedFilesTrackedListedAndValidated) {
  Workflow w = Create(alice_, "p");
  Workflow other = Create(bob_, "q");
  GeneratedFile a = AddFile(w, w.id + "/images/scene_1.png", FileType::kImage);
  GeneratedFile b = AddFile(w, w.id + "/audio/scene_1.wav", FileType::kAudio);
  AddFile(other, other.id + "/images/scene_1.png", FileType::kImage);
  auto got = store_->ReadOne<GeneratedFile>([&](StoreTx& tx) { return tx.files().Get(a.id); });
  ASSERT_TRUE(got);
  EXPECT_EQ(got->file_path, a.file_path);
  EXPECT_EQ(got->sha256, a.sha256);
  EXPECT_EQ(Json(got->metadata_json), Json(R"({"scene_number":1})"));
  auto by_path = store_->ReadOne<GeneratedFile>(
      [&](StoreTx& tx) { return tx.files().GetByPath(b.file_path); });
  ASSERT_TRUE(by_path);
  EXPECT_EQ(by_path->id, b.id);
  auto images = store_->ReadOne<Page<GeneratedFile>>([&](StoreTx& tx) {
    return tx.files().List({.workflow_id = w.id, .type = FileType::kImage});
  });
  ASSERT_EQ(images->items.size(), 1u);
  auto alices = store_->ReadOne<Page<GeneratedFile>>(
      [&](StoreTx& tx) { return tx.files().List({.user_id = alice_, .limit = 1}); });
  ASSERT_EQ(alices->items.size(), 1u);
  ASSERT_FALSE(alices->next_cursor.empty());
  auto second = store_->ReadOne<Page<GeneratedFile>>([&](StoreTx& tx) {
    return tx.files().List({.user_id = alice_, .limit = 1, .cursor = alices->next_cursor});
  });
  ASSERT_EQ(second->items.size(), 1u);
  EXPECT_TRUE(second->next_cursor.empty());
  EXPECT_NE(second->items[0].id, alices->items[0].id);
  // The same path cannot be tracked twice; bad paths and digests are refused.
  NewFile dup{w.id, "", FileType::kImage, a.file_path, "x.png", "image/png", 1, a.sha256, "{}"};
  EXPECT_EQ(store_->AddGeneratedFile(dup).error().code, ErrorCode::kAlreadyExists);
  NewFile escape{w.id, "", FileType::kImage, "../../etc/passwd", "p", "", 1, a.sha256, "{}"};
  EXPECT_EQ(store_->AddGeneratedFile(escape).error().detail, "file_path");
  NewFile absolute{w.id, "", FileType::kImage, "/etc/passwd", "p", "", 1, a.sha256, "{}"};
  EXPECT_EQ(store_->AddGeneratedFile(absolute).error().detail, "file_path");
  NewFile bad_sha{w.id, "", FileType::kImage, "x/y.png", "y.png", "", 1, "abc", "{}"};
  EXPECT_EQ(store_->AddGeneratedFile(bad_sha).error().detail, "sha256");
  NewFile no_wf{"0190aaaa-0000-7000-8000-000000000000",
                "",
                FileType::kImage,
                "x/z.png",
                "z.png",
                "",
                1,
                a.sha256,
                "{}"};
  EXPECT_EQ(store_->AddGeneratedFile(no_wf).error().code, ErrorCode::kNotFound);
  ASSERT_TRUE(store_->Write([&](StoreTx& tx) { return tx.files().MarkMissing(a.id); }));
}

TEST_P(StoreTest, DeleteWorkflowCascadesAndReturnsFiles) {
  Workflow w = Create(alice_, "p");
  Scene s;
  s.workflow_id = w.id;
  s.scene_number = 1;
  auto scene = store_->WriteOne<Scene>([&](StoreTx& tx) { return tx.scenes().Add(s); });
  GeneratedFile f = AddFile(w, w.id + "/images/scene_1.png", FileType::kImage, scene->id);
  Scene linked = *scene;
  linked.image_file_id = f.id;
  ASSERT_TRUE(store_->Write([&](StoreTx& tx) { return tx.scenes().Update(linked); }));
  ASSERT_TRUE(store_->Write([&](StoreTx& tx) -> Result<void> {
    SL_RETURN_IF_ERROR(tx.events().Append(w.id, "status", R"({"status":"queued"})"));
    WorkflowPhase p{w.id, Phase::kStory, PhaseStatus::kCompleted, 1, 1, 2, "", ""};
    return tx.phases().Upsert(p);
  }));
  ApiUsage u;
  u.workflow_id = w.id;
  u.user_id = alice_;
  u.provider = "offline";
  u.operation = "chat";
  u.cost_nusd = 0;
  ASSERT_TRUE(store_->RecordUsage(u));
  auto deleted = store_->WriteOne<std::vector<GeneratedFile>>(
      [&](StoreTx& tx) { return tx.workflows().Delete(w.id); });
  ASSERT_TRUE(deleted) << deleted.error().ToString();
  ASSERT_EQ(deleted->size(), 1u);
  EXPECT_EQ((*deleted)[0].file_path, f.file_path);
  EXPECT_EQ(store_->GetWorkflow(w.id).error().code, ErrorCode::kNotFound);
  auto counts = db::ReadValue<std::vector<std::int64_t>>(
      testing::RawDatabase(*store_), [&](db::Connection& c) -> Result<std::vector<std::int64_t>> {
        std::vector<std::int64_t> n;
        for (auto table : {"scenes", "generated_files", "workflow_events", "workflow_phases"}) {
          SL_ASSIGN_OR_RETURN(auto row, c.QueryOne(std::string("SELECT count(*) FROM ") + table));
          n.push_back(row.Int(0));
        }
        return n;
      });
  EXPECT_EQ(*counts, (std::vector<std::int64_t>{0, 0, 0, 0}));
  // Usage outlives the workflow: the row stays, unlinked.
  auto usage = store_->ReadOne<Page<ApiUsage>>(
      [&](StoreTx& tx) { return tx.usage().List({.user_id = alice_}); });
  ASSERT_EQ(usage->items.size(), 1u);
  EXPECT_EQ(usage->items[0].workflow_id, "");
  EXPECT_EQ(store_
                ->WriteOne<std::vector<GeneratedFile>>(
                    [&](StoreTx& tx) { return tx.workflows().Delete(w.id); })
                .error()
                .code,
            ErrorCode::kNotFound);
}

TEST_P(StoreTest, UsageRecordsKeepDailyRollupAndWorkflowCost) {
  Workflow w = Create(alice_, "p");
  // 2025-11-24: input 1100 (700 cached), output 1300.
  ApiUsage u = testing::DistinctUsageCall(alice_, w.id, 450000);
  auto a = store_->RecordUsage(u);
  ASSERT_TRUE(a) << a.error().ToString();
  EXPECT_GT(a->id, 0);
  u.status = "error";
  u.http_status = 429;
  u.attempt = 2;
  u.cost_nusd = std::nullopt;
  u.input_tokens = 10;
  u.cached_input_tokens = 0;
  u.output_tokens = 0;
  ASSERT_TRUE(store_->RecordUsage(u));
  auto daily = store_->ReadOne<std::vector<UsageDaily>>(
      [&](StoreTx& tx) { return tx.usage().ListDaily("", "", ""); });
  ASSERT_EQ(daily->size(), 1u);
  const UsageDaily& d = (*daily)[0];
  EXPECT_EQ(d.day, "2025-11-24");
  EXPECT_EQ(d.calls, 2);
  EXPECT_EQ(d.errors, 1);
  EXPECT_EQ(d.input_tokens, 1110);
  EXPECT_EQ(d.cached_input_tokens, 700);
  EXPECT_EQ(d.output_tokens, 1300);
  EXPECT_EQ(d.cost_nusd, 450000);
  EXPECT_EQ(d.unpriced_calls, 1);
  auto cost = store_->ReadOne<std::pair<NanoUsd, bool>>(
      [&](StoreTx& tx) { return tx.usage().WorkflowCost(w.id); });
  EXPECT_EQ(cost->first, 450000);
  EXPECT_TRUE(cost->second);
  auto listed = store_->ReadOne<Page<ApiUsage>>(
      [&](StoreTx& tx) { return tx.usage().List({.workflow_id = w.id}); });
  ASSERT_EQ(listed->items.size(), 2u);
  EXPECT_EQ(listed->items[1].http_status, 429);
  EXPECT_FALSE(listed->items[1].cost_nusd.has_value());
  EXPECT_EQ(listed->items[0].cost_nusd, 450000);
  ApiUsage bad = u;
  bad.operation = "dance";
  EXPECT_EQ(store_->RecordUsage(bad).error().detail, "operation");
  bad = u;
  bad.cached_input_tokens = 50;
  EXPECT_EQ(store_->RecordUsage(bad).error().detail, "cached_input_tokens");
  EXPECT_TRUE(store_
                  ->ReadOne<std::vector<UsageDaily>>(
                      [&](StoreTx& tx) { return tx.usage().ListDaily("2025-11-25", "", ""); })
                  ->empty());
}

// Store::GetWorkflowDetail reads the workflow and its parts in one batch: each part must be exactly
// what its own repository returns, only this workflow's, and a missing or deleted workflow is
// not_found.
TEST_P(StoreTest, DetailReadsEveryPartOfOneWorkflow) {
  Workflow w = Create(alice_, "p", "Detail");
  Workflow other = Create(bob_, "q");
  for (Phase phase : {Phase::kScenes, Phase::kStory}) {
    WorkflowPhase p{w.id, phase, PhaseStatus::kCompleted, 1, 10, 20, "", "{}"};
    ASSERT_TRUE(store_->Write([&](StoreTx& tx) { return tx.phases().Upsert(p); }));
  }
  for (int n : {2, 1}) {
    Scene s;
    s.workflow_id = w.id;
    s.scene_number = n;
    s.title = "Scene " + std::to_string(n);
    ASSERT_TRUE(store_->WriteOne<Scene>([&](StoreTx& tx) { return tx.scenes().Add(s); }));
  }
  std::vector<std::string> file_ids;
  for (int i = 0; i < 5; ++i) {
    file_ids.push_back(
        AddFile(w, w.id + "/images/f" + std::to_string(i) + ".png", FileType::kImage).id);
  }
  AddFile(other, other.id + "/images/x.png", FileType::kImage);
  ApiUsage u = testing::DistinctUsageCall(alice_, w.id, 1234);
  ASSERT_TRUE(store_->RecordUsage(u));
  ApiUsage theirs = testing::DistinctUsageCall(bob_, other.id, 99);
  ASSERT_TRUE(store_->RecordUsage(theirs));

  auto d = store_->GetWorkflowDetail(w.id, 3);
  ASSERT_TRUE(d) << d.error().ToString();
  EXPECT_EQ(d->workflow.id, w.id);
  EXPECT_EQ(d->workflow.title, "Detail");
  ASSERT_EQ(d->phases.size(), 2u);
  EXPECT_EQ(d->phases[0].phase, Phase::kStory);
  EXPECT_EQ(d->phases[1].phase, Phase::kScenes);
  ASSERT_EQ(d->scenes.size(), 2u);
  EXPECT_EQ(d->scenes[0].scene_number, 1);
  EXPECT_EQ(d->scenes[1].scene_number, 2);
  std::sort(file_ids.begin(), file_ids.end());
  ASSERT_EQ(d->files.items.size(), 3u);
  for (int i = 0; i < 3; ++i) EXPECT_EQ(d->files.items[i].id, file_ids[i]);
  EXPECT_EQ(d->files.next_cursor, file_ids[2]);
  EXPECT_EQ(d->cost, 1234);
  EXPECT_FALSE(d->cost_unpriced);

  // The same, as a read of its own (one pipeline on PostgreSQL).
  auto alone = store_->GetWorkflowDetail(w.id, 3);
  ASSERT_TRUE(alone) << alone.error().ToString();
  EXPECT_EQ(alone->workflow.id, w.id);
  EXPECT_EQ(alone->phases.size(), 2u);
  EXPECT_EQ(alone->scenes.size(), 2u);
  ASSERT_EQ(alone->files.items.size(), 3u);
  EXPECT_EQ(alone->files.items[2].id, file_ids[2]);
  EXPECT_EQ(alone->files.next_cursor, d->files.next_cursor);
  EXPECT_EQ(alone->cost, 1234);
  EXPECT_EQ(store_->GetWorkflowDetail("0190aaaa-0000-7000-8000-000000000000", 3).error().code,
            ErrorCode::kNotFound);

  // The same parts, one repository at a time.
  auto files = store_->ReadOne<Page<GeneratedFile>>(
      [&](StoreTx& tx) { return tx.files().List({.workflow_id = w.id, .limit = 3}); });
  ASSERT_TRUE(files);
  EXPECT_EQ(files->next_cursor, d->files.next_cursor);

  // A workflow with nothing yet.
  auto bare = store_->GetWorkflowDetail(other.id, 200);
  ASSERT_TRUE(bare);
  EXPECT_TRUE(bare->phases.empty());
  EXPECT_EQ(bare->files.items.size(), 1u);
  EXPECT_TRUE(bare->files.next_cursor.empty());
  EXPECT_EQ(bare->cost, 99);

  auto missing = store_->GetWorkflowDetail("0190aaaa-0000-7000-8000-000000000000", 200);
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().code, ErrorCode::kNotFound);
  ASSERT_TRUE(store_->WriteOne<WorkflowDeletion>(
      [&](StoreTx& tx) { return tx.workflows().RequestDelete(w.id); }));
  auto deleted = store_->GetWorkflowDetail(w.id, 200);
  ASSERT_FALSE(deleted);
  EXPECT_EQ(deleted.error().code, ErrorCode::kNotFound);
}

TEST_P(StoreTest, UsersAndTokens) {
  auto alice = store_->ReadOne<User>([&](StoreTx& tx) { return tx.users().FindByName("alice"); });
  ASSERT_TRUE(alice);
  EXPECT_EQ(alice->id, alice_);
  User dup;
  dup.username = "alice";
  EXPECT_EQ(
      store_->WriteOne<User>([&](StoreTx& tx) { return tx.users().Create(dup); }).error().code,
      ErrorCode::kAlreadyExists);
  User bad;
  bad.username = "no spaces; DROP TABLE users";
  EXPECT_EQ(
      store_->WriteOne<User>([&](StoreTx& tx) { return tx.users().Create(bad); }).error().code,
      ErrorCode::kInvalidArgument);
  User changed = *alice;
  changed.disabled = true;
  changed.monthly_budget_nusd = 5'000'000'000;
  ASSERT_TRUE(store_->Write([&](StoreTx& tx) { return tx.users().Update(changed); }));
  auto again = store_->ReadOne<User>([&](StoreTx& tx) { return tx.users().Get(alice_); });
  EXPECT_TRUE(again->disabled);
  EXPECT_EQ(again->monthly_budget_nusd, 5'000'000'000);
  EXPECT_EQ(
      store_->ReadOne<std::vector<User>>([&](StoreTx& tx) { return tx.users().List(); })->size(),
      2u);

  ApiToken t;
  t.user_id = bob_;
  t.name = "laptop";
  t.token_hash = core::Sha256Hex("secret");
  t.expires_at = 5000;
  auto tok = store_->WriteOne<ApiToken>([&](StoreTx& tx) { return tx.tokens().Create(t); });
  ASSERT_TRUE(tok);
  auto found = store_->ReadOne<ApiToken>(
      [&](StoreTx& tx) { return tx.tokens().FindByHash(core::Sha256Hex("secret")); });
  ASSERT_TRUE(found);
  EXPECT_EQ(found->user_id, bob_);
  EXPECT_EQ(found->expires_at, 5000);
  ASSERT_TRUE(store_->Write([&](StoreTx& tx) { return tx.tokens().Touch(tok->id, 77); }));
  ASSERT_TRUE(store_->Write([&](StoreTx& tx) { return tx.tokens().Revoke(tok->id, 88); }));
  found = store_->ReadOne<ApiToken>([&](StoreTx& tx) { return tx.tokens().Get(tok->id); });
  EXPECT_EQ(found->last_used_at, 77);
  EXPECT_EQ(found->revoked_at, 88);
  EXPECT_EQ(
      store_->ReadOne<std::vector<ApiToken>>([&](StoreTx& tx) { return tx.tokens().List(bob_); })
          ->size(),
      1u);
  EXPECT_EQ(store_->ReadOne<ApiToken>([&](StoreTx& tx) { return tx.tokens().FindByHash("nope"); })
                .error()
                .code,
            ErrorCode::kNotFound);
}

TEST_P(StoreTest, EventsAreOrderedAndResumable) {
  Workflow w = Create(alice_, "p");
  std::vector<std::int64_t> ids;
  for (int i = 0; i < 5; ++i) {
    auto e = store_->WriteOne<WorkflowEvent>([&](StoreTx& tx) {
      return tx.events().Append(w.id, "progress", "{\"i\":" + std::to_string(i) + "}");
    });
    ASSERT_TRUE(e);
    ids.push_back(e->id);
  }
  for (std::size_t i = 1; i < ids.size(); ++i) EXPECT_GT(ids[i], ids[i - 1]);
  auto after = store_->ReadOne<std::vector<WorkflowEvent>>(
      [&](StoreTx& tx) { return tx.events().List(w.id, ids[1], 100); });
  ASSERT_EQ(after->size(), 3u);
  EXPECT_EQ((*after)[0].id, ids[2]);
  EXPECT_EQ(Json((*after)[0].data_json), Json("{\"i\":2}"));
}

TEST_P(StoreTest, AuditLogNewestFirst) {
  for (int i = 0; i < 3; ++i) {
    AuditEntry e;
    e.user_id = alice_;
    e.action = "login.success";
    e.target = std::to_string(i);
    ASSERT_TRUE(store_->Write([&](StoreTx& tx) { return tx.audit().Append(e); }));
  }
  auto page =
      store_->ReadOne<Page<AuditEntry>>([&](StoreTx& tx) { return tx.audit().List(2, ""); });
  ASSERT_EQ(page->items.size(), 2u);
  EXPECT_EQ(page->items[0].target, "2");
  auto rest = store_->ReadOne<Page<AuditEntry>>(
      [&](StoreTx& tx) { return tx.audit().List(2, page->next_cursor); });
  ASSERT_EQ(rest->items.size(), 1u);
  EXPECT_EQ(rest->items[0].target, "0");
}

TEST_P(StoreTest, ClaimLeasesAreExclusiveUntilExpiry) {
  Workflow a = Create(alice_, "a");
  Workflow b = Create(alice_, "b");
  auto first = store_->WriteOne<std::vector<Workflow>>(
      [&](StoreTx& tx) { return tx.workflows().Claim("node-1", 60000, 10); });
  ASSERT_EQ(first->size(), 2u);
  EXPECT_EQ((*first)[0].id, a.id);
  auto second = store_->WriteOne<std::vector<Workflow>>(
      [&](StoreTx& tx) { return tx.workflows().Claim("node-2", 60000, 10); });
  EXPECT_TRUE(second->empty());
  auto held = store_->WriteOne<std::vector<std::string>>([&](StoreTx& tx) {
    return tx.workflows().RenewLeases("node-2", {a.id, b.id}, 60000);
  });
  EXPECT_TRUE(held->empty());
  held = store_->WriteOne<std::vector<std::string>>(
      [&](StoreTx& tx) { return tx.workflows().RenewLeases("node-1", {a.id}, -1); });  // expire now
  EXPECT_EQ(held->size(), 1u);
  auto taken = store_->WriteOne<std::vector<Workflow>>(
      [&](StoreTx& tx) { return tx.workflows().Claim("node-2", 60000, 10); });
  ASSERT_EQ(taken->size(), 1u);
  EXPECT_EQ((*taken)[0].id, a.id);
  EXPECT_EQ((*taken)[0].lease_owner, "node-2");
}

TEST_P(StoreTest, ClaimHonoursThePerUserCapAcrossOwners) {
  std::vector<Workflow> alice_wfs;
  for (int i = 0; i < 5; ++i) alice_wfs.push_back(Create(alice_, "a" + std::to_string(i)));
  Workflow bob_wf = Create(bob_, "b");
  // Alice's five are older than Bob's one, yet the cap leaves room for Bob.
  auto first = store_->WriteOne<std::vector<Workflow>>(
      [&](StoreTx& tx) { return tx.workflows().Claim("node-1", 60000, 10, 2); });
  ASSERT_TRUE(first.has_value()) << first.error().ToString();
  ASSERT_EQ(first->size(), 3u);
  EXPECT_EQ((*first)[0].id, alice_wfs[0].id);
  EXPECT_EQ((*first)[1].id, alice_wfs[1].id);
  EXPECT_EQ((*first)[2].id, bob_wf.id);
  EXPECT_EQ(*store_->ReadOne<std::int64_t>(
                [&](StoreTx& tx) { return tx.workflows().CountLeased(alice_); }),
            2);
  // Another instance cannot take Alice's third while two of hers hold live leases.
  auto second = store_->WriteOne<std::vector<Workflow>>(
      [&](StoreTx& tx) { return tx.workflows().Claim("node-2", 60000, 10, 2); });
  ASSERT_TRUE(second.has_value());
  EXPECT_TRUE(second->empty());
  // One of hers finishes: exactly one more may start.
  WorkflowUpdate running, done;
  running.status = WorkflowStatus::kRunning;
  done.status = WorkflowStatus::kCompleted;
  ASSERT_TRUE(store_->UpdateWorkflow(alice_wfs[0].id, running));
  ASSERT_TRUE(store_->UpdateWorkflow(alice_wfs[0].id, done));
  ASSERT_TRUE(store_->Write(
      [&](StoreTx& tx) { return tx.workflows().ReleaseLease(alice_wfs[0].id, "node-1"); }));
  auto third = store_->WriteOne<std::vector<Workflow>>(
      [&](StoreTx& tx) { return tx.workflows().Claim("node-2", 60000, 10, 2); });
  ASSERT_EQ(third->size(), 1u);
  EXPECT_EQ((*third)[0].id, alice_wfs[2].id);
  // Without a cap, the rest are claimed.
  auto rest = store_->WriteOne<std::vector<Workflow>>(
      [&](StoreTx& tx) { return tx.workflows().Claim("node-3", 60000, 10); });
  EXPECT_EQ(rest->size(), 2u);
}

TEST_P(StoreTest, RevokeUserTokensRevokesOnlyThatKindOfThatUser) {
  auto make = [&](const std::string& user, const std::string& kind, const std::string& hash) {
    ApiToken t;
    t.user_id = user;
    t.kind = kind;
    t.name = kind;
    t.token_hash = hash;
    auto r = store_->WriteOne<ApiToken>([&](StoreTx& tx) { return tx.tokens().Create(t); });
    EXPECT_TRUE(r.has_value());
    return r->id;
  };
  const std::string s1 = make(alice_, "session", "h1"), s2 = make(alice_, "session", "h2");
  const std::string api = make(alice_, "api", "h3"), bob_s = make(bob_, "session", "h4");
  auto n = store_->WriteOne<std::int64_t>(
      [&](StoreTx& tx) { return tx.tokens().RevokeAllOfUser(alice_, "session", 1234); });
  ASSERT_TRUE(n.has_value()) << n.error().ToString();
  EXPECT_EQ(*n, 2);
  auto get = [&](const std::string& id) {
    return *store_->ReadOne<ApiToken>([&](StoreTx& tx) { return tx.tokens().Get(id); });
  };
  EXPECT_EQ(get(s1).revoked_at, 1234);
  EXPECT_EQ(get(s2).revoked_at, 1234);
  EXPECT_FALSE(get(api).revoked_at.has_value());
  EXPECT_FALSE(get(bob_s).revoked_at.has_value());
}

TEST_P(StoreTest, FailedWriteInABatchRollsBackOnlyItself) {
  Workflow w = Create(alice_, "p");
  auto r = store_->Write([&](StoreTx& tx) -> Result<void> {
    SL_RETURN_IF_ERROR(tx.events().Append(w.id, "log", "{}"));
    return Fail(Error::Aborted("changed my mind"));
  });
  ASSERT_FALSE(r);
  auto events = store_->ReadOne<std::vector<WorkflowEvent>>(
      [&](StoreTx& tx) { return tx.events().List(w.id, 0, 10); });
  EXPECT_TRUE(events->empty());
}

INSTANTIATE_TEST_SUITE_P(Backends, StoreTest, ::testing::ValuesIn(testing::Backends()),
                         [](const auto& info) { return info.param; });

}  // namespace
}  // namespace storyloom
