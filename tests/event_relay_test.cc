// EventRelay against real databases: on PostgreSQL an event committed through another
// store (another instance) names its workflow to subscribers at once, with the poll an hour
// away; on both backends the poll tick wakes every subscriber; Stop joins the threads and
// returns though the poll is an hour away and the listener is waiting; a dropped
// subscription is no longer called.
#include "engine/event_relay.h"

#include <gtest/gtest.h>

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <set>
#include <string>

#include "support/test_db.h"

namespace storyloom {
namespace {

using testing::MakeUser;
using testing::TestDatabase;

// What a subscriber heard: the workflow ids named, and how many "any workflow" ticks.
struct Heard {
  std::mutex mu;
  std::condition_variable cv;
  std::set<std::string> ids;  // guarded by mu
  int ticks = 0;              // guarded by mu

  engine::EventRelay::Callback Callback() {
    return [this](const std::set<std::string>* workflow_ids) {
      std::lock_guard lock(mu);
      if (workflow_ids) {
        ids.insert(workflow_ids->begin(), workflow_ids->end());
      } else {
        ++ticks;
      }
      cv.notify_all();
    };
  }
  // Waits up to 30 s for `pred` (a generous bound for a loaded machine, not a timing check).
  template <class Pred>
  bool WaitFor(Pred pred) {
    std::unique_lock lock(mu);
    return cv.wait_for(lock, std::chrono::seconds(30), pred);
  }
};

std::string CreateWorkflow(Store& store, const std::string& user) {
  auto created = store.CreateWorkflow({.user_id = user, .prompt = "relayed"});
  EXPECT_TRUE(created.has_value()) << created.error().ToString();
  return created ? created->workflow.id : std::string();
}

TEST(EventRelayTest, AnEventCommittedByAnotherInstanceNamesItsWorkflowAtOnce) {
  TestDatabase pg("postgres");
  auto here = pg.OpenMigrated();
  auto there = pg.Open();  // the other instance: its own connections to the same database
  const std::string user = MakeUser(*there, "relay");
  const std::string id = CreateWorkflow(*there, user);

  engine::EventRelay relay(*here, std::chrono::hours(1));
  Heard heard;
  auto sub = relay.Subscribe(heard.Callback());
  relay.Start();
  // The listener's first "catch up with everything" wake-up comes once its LISTEN is up (the
  // poll is an hour away); an event appended before that might not be named.
  ASSERT_TRUE(heard.WaitFor([&] { return heard.ticks >= 1; }));
  EXPECT_TRUE(relay.listening());
  ASSERT_TRUE(there->Write([&](StoreTx& tx) -> Result<void> {
    SL_RETURN_IF_ERROR(tx.events().Append(id, "phase", R"({"phase":"story"})"));
    return {};
  }));
  EXPECT_TRUE(heard.WaitFor([&] { return heard.ids.contains(id); }));
  relay.Stop();  // joins the listener (waiting on PostgreSQL) and the hour-long poll
  EXPECT_FALSE(relay.listening());
}

class EventRelayBackendTest : public ::testing::TestWithParam<std::string> {};

TEST_P(EventRelayBackendTest, PollTicksWakeEverySubscriberUntilItUnsubscribes) {
  TestDatabase db(GetParam());
  auto store = db.OpenMigrated();
  engine::EventRelay relay(*store, std::chrono::milliseconds(10));
  Heard first, second;
  auto sub1 = relay.Subscribe(first.Callback());
  auto sub2 = relay.Subscribe(second.Callback());
  EXPECT_EQ(relay.subscribers(), 2u);
  relay.Start();
  EXPECT_TRUE(first.WaitFor([&] { return first.ticks >= 2; }));
  EXPECT_TRUE(second.WaitFor([&] { return second.ticks >= 2; }));
  sub1.reset();
  EXPECT_EQ(relay.subscribers(), 1u);
  relay.Stop();
  relay.Stop();  // idempotent
  // Stopped: no callback runs any more, so the counts stay what they are now.
  int ticks = 0;
  {
    std::lock_guard lock(second.mu);
    ticks = second.ticks;
  }
  relay.Start();  // a stopped relay does not start again
  sub2.reset();
  EXPECT_EQ(relay.subscribers(), 0u);
  std::lock_guard lock(second.mu);
  EXPECT_EQ(second.ticks, ticks);
}

INSTANTIATE_TEST_SUITE_P(Backends, EventRelayBackendTest, ::testing::ValuesIn(testing::Backends()),
                         [](const auto& info) { return info.param; });

}  // namespace
}  // namespace storyloom
