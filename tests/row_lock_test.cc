// A status decision never loses a concurrent one (PostgreSQL, where writes run at once):
// a worker starting a workflow while a cancel of it commits must see the cancel, not write
// "running" over it. Real PostgreSQL; the interleaving is made with latches and observed in
// pg_stat_activity, not with sleeps.
#include <gtest/gtest.h>

#include <latch>
#include <optional>
#include <thread>

#include "db/database.h"
#include "support/store_access.h"
#include "support/test_db.h"

namespace storyloom {
namespace {

TEST(WorkflowRowLockTest, AStartDecidedDuringACancelSeesTheCancel) {
  testing::TestDatabase db("postgres");
  auto store = db.OpenMigrated();
  const std::string user = testing::MakeUser(*store, "locker");
  auto created = store->CreateWorkflow({user, "Cancel me while I start", "", "{}", ""});
  ASSERT_TRUE(created.has_value()) << created.error().ToString();
  const std::string id = created->workflow.id;

  // The cancel: status cancelled, held uncommitted until released.
  std::latch updated(1), release(1);
  std::thread cancel([&] {
    auto r = store->Write([&](StoreTx& tx) -> Result<void> {
      SL_ASSIGN_OR_RETURN(Workflow w, tx.workflows().GetForUpdate(id));
      EXPECT_EQ(w.status, WorkflowStatus::kQueued);
      WorkflowUpdate u;
      u.status = WorkflowStatus::kCancelled;
      SL_RETURN_IF_ERROR(tx.workflows().Update(id, u));
      updated.count_down();
      release.wait();
      return {};
    });
    EXPECT_TRUE(r.has_value()) << r.error().ToString();
  });
  updated.wait();

  // The start, on another connection, decides from what it reads (as Pipeline does).
  std::optional<WorkflowStatus> seen;
  std::thread start([&] {
    auto other = db.Open();
    auto r = other->Write([&](StoreTx& tx) -> Result<void> {
      SL_ASSIGN_OR_RETURN(Workflow w, tx.workflows().GetForUpdate(id));
      seen = w.status;
      if (w.status == WorkflowStatus::kCancelled) return {};
      WorkflowUpdate u;
      u.status = WorkflowStatus::kRunning;
      return tx.workflows().Update(id, u);
    });
    EXPECT_TRUE(r.has_value()) << r.error().ToString();
  });

  // Release the cancel only once the start is waiting for the row.
  auto watcher = db.Open();
  bool waiting = false;
  for (int i = 0; i < 3000 && !waiting; ++i) {
    auto n = db::ReadValue<std::int64_t>(
        testing::RawDatabase(*watcher), [](db::Connection& c) -> Result<std::int64_t> {
          SL_ASSIGN_OR_RETURN(auto row, c.QueryOne("SELECT count(*) FROM pg_stat_activity WHERE "
                                                   "datname = current_database() AND "
                                                   "wait_event_type = 'Lock'"));
          return row.Int(0);
        });
    ASSERT_TRUE(n.has_value()) << n.error().ToString();
    waiting = *n > 0;
    if (!waiting) std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  EXPECT_TRUE(waiting) << "the start never waited for the cancel's row lock";
  release.count_down();
  cancel.join();
  start.join();

  ASSERT_TRUE(seen.has_value());
  EXPECT_EQ(*seen, WorkflowStatus::kCancelled) << "the start read the row from before the cancel";
  auto after = store->GetWorkflow(id);
  ASSERT_TRUE(after.has_value());
  EXPECT_EQ(after->status, WorkflowStatus::kCancelled) << "the cancel was overwritten";
}

}  // namespace
}  // namespace storyloom
