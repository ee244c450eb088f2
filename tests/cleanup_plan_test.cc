// Cleanup as plan and apply (issue 15 part 5): the plan writes nothing and is what a dry run
// reports; applying it deletes what is still expired, in batches, rows and then files, and
// leaves alone a workflow retried since it was planned. Runs against each backend.
#include <gtest/gtest.h>

#include <set>

#include "core/clock.h"
#include "files/file_store.h"
#include "ops/cleanup.h"
#include "support/test_db.h"

namespace storyloom {
namespace {

using testing::MakeUser;
using testing::TempDir;
using testing::TestDatabase;

constexpr Millis kDay = 24LL * 3600 * 1000;

class CleanupPlanTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    tdb_ = std::make_unique<TestDatabase>(GetParam());
    store_ = tdb_->OpenMigrated();
    files_ = std::make_unique<files::FileStore>((dir_ / "outputs").string());
    alice_ = MakeUser(*store_, "alice");
  }

  // A workflow with one file on disk, completed `age_days` ago.
  Workflow Completed(int age_days) { return Ended(age_days, WorkflowStatus::kCompleted); }

  // A workflow with one file on disk that ran and ended as `end` `age_days` ago.
  Workflow Ended(int age_days, WorkflowStatus end) {
    auto created =
        store_->CreateWorkflow({alice_, "a prompt " + std::to_string(n_++), "", "{}", ""});
    EXPECT_TRUE(created.has_value());
    const Workflow& w = created->workflow;
    const std::string rel = w.id + "/scene_01.png";
    auto stored = files_->Write(rel, "png bytes of " + rel);
    EXPECT_TRUE(stored.has_value());
    NewFile f;
    f.workflow_id = w.id;
    f.file_type = FileType::kImage;
    f.file_path = rel;
    f.file_name = "scene_01.png";
    f.mime_type = "image/png";
    f.file_size = stored->size;
    f.sha256 = stored->sha256;
    EXPECT_TRUE(store_->AddGeneratedFile(f).has_value());
    for (WorkflowStatus s : {WorkflowStatus::kRunning, end}) {
      WorkflowUpdate up;
      up.status = s;
      if (s == end) {
        up.finished_at = std::optional<Millis>(core::WallMillis() - age_days * kDay);
      }
      EXPECT_TRUE(store_->UpdateWorkflow(w.id, up).has_value());
    }
    return w;
  }

  std::set<std::string> WorkflowIds() {
    WorkflowFilter filter;
    filter.limit = 100;
    std::set<std::string> out;
    auto page = store_->ListWorkflows(filter);
    EXPECT_TRUE(page.has_value());
    for (const auto& w : page->items) out.insert(w.id);
    return out;
  }

  ops::CleanupOptions Options() const {
    ops::CleanupOptions o;
    o.completed_days = 90;
    o.failed_days = 90;
    o.batch = 2;  // two batches for three workflows
    return o;
  }

  TempDir dir_;
  std::unique_ptr<TestDatabase> tdb_;
  std::unique_ptr<Store> store_;
  std::unique_ptr<files::FileStore> files_;
  std::string alice_;
  int n_ = 0;
};

TEST_P(CleanupPlanTest, ThePlanWritesNothingAndIsTheDryRun) {
  const Workflow a = Completed(100), b = Completed(120), c = Completed(200);
  const Workflow recent = Completed(10);
  auto plan = ops::PlanCleanup(*store_, Options());
  ASSERT_TRUE(plan.has_value()) << plan.error().ToString();
  std::set<std::string> planned;
  for (const auto& e : plan->workflows) planned.insert(e.item.workflow_id);
  EXPECT_EQ(planned, (std::set<std::string>{a.id, b.id, c.id}));
  EXPECT_EQ(plan->files, 3);
  EXPECT_EQ(WorkflowIds().size(), 4u);
  EXPECT_EQ(files_->ListAll()->size(), 4u);
  EXPECT_FALSE(ops::LastCleanup(*store_)->has_value());  // no audit entry

  ops::CleanupOptions dry = Options();
  dry.dry_run = true;
  auto report = ops::RunCleanup(*store_, *files_, dry);
  ASSERT_TRUE(report.has_value()) << report.error().ToString();
  const ops::CleanupReport of_plan = ops::ReportOf(*plan);
  EXPECT_TRUE(report->dry_run);
  ASSERT_EQ(report->workflows.size(), of_plan.workflows.size());
  for (std::size_t i = 0; i < of_plan.workflows.size(); ++i) {
    EXPECT_EQ(report->workflows[i].workflow_id, of_plan.workflows[i].workflow_id);
  }
  EXPECT_EQ(report->files, of_plan.files);
  EXPECT_EQ(report->bytes, of_plan.bytes);
  EXPECT_EQ(report->sessions, of_plan.sessions);
  EXPECT_EQ(report->finished_at, 0);
  EXPECT_EQ(WorkflowIds().size(), 4u);
}

TEST_P(CleanupPlanTest, ApplyLeavesAWorkflowRetriedSincePlanned) {
  const Workflow a = Completed(100), b = Ended(120, WorkflowStatus::kFailed), c = Completed(200);
  auto plan = ops::PlanCleanup(*store_, Options());
  ASSERT_TRUE(plan.has_value()) << plan.error().ToString();
  ASSERT_EQ(plan->workflows.size(), 3u);
  // Retried after the plan was made: queued again, so no longer expired.
  WorkflowUpdate retry;
  retry.status = WorkflowStatus::kQueued;
  ASSERT_TRUE(store_->UpdateWorkflow(b.id, retry).has_value());

  std::vector<std::int64_t> progress;
  ops::CleanupOptions o = Options();
  o.on_progress = [&](std::string_view, std::int64_t done, std::int64_t) {
    progress.push_back(done);
  };
  auto report = ops::ApplyCleanup(*store_, *files_, *plan, o);
  ASSERT_TRUE(report.has_value()) << report.error().ToString();
  EXPECT_FALSE(report->dry_run);
  std::set<std::string> deleted;
  for (const auto& w : report->workflows) deleted.insert(w.workflow_id);
  EXPECT_EQ(deleted, (std::set<std::string>{a.id, c.id}));
  EXPECT_EQ(report->files, 2);
  EXPECT_EQ(report->file_errors, 0);
  EXPECT_EQ(progress.size(), 2u);  // one call per batch
  EXPECT_EQ(WorkflowIds(), (std::set<std::string>{b.id}));
  EXPECT_EQ(*files_->ListAll(), (std::vector<std::string>{b.id + "/scene_01.png"}));
  EXPECT_TRUE(ops::LastCleanup(*store_)->has_value());
}

INSTANTIATE_TEST_SUITE_P(Backends, CleanupPlanTest, ::testing::ValuesIn(testing::Backends()));

}  // namespace
}  // namespace storyloom
