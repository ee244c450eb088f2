// SseHub against real databases: events committed by another instance (another store on the
// same database, never published on this instance's bus) reach every stream of the workflow
// through the relay, each event once and in order, whatever each stream had already sent:
// the streams of one workflow share their catch-up reads (issue 14, make bench-scale).
#include "api/sse_hub.h"

#include <gtest/gtest.h>

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <string>
#include <vector>

#include "engine/event_bus.h"
#include "engine/event_relay.h"
#include "support/test_db.h"

namespace storyloom {
namespace {

using testing::MakeUser;
using testing::TestDatabase;

// Records the ids of the events sent to it.
class RecordingSink : public http::SseSink {
 public:
  bool Send(std::string chunk) override {
    std::lock_guard lock(mu_);
    // "id: N\n..." as FormatSse writes it.
    ids_.push_back(std::stoll(chunk.substr(4, chunk.find('\n') - 4)));
    cv_.notify_all();
    return true;
  }
  void Close() override {
    std::lock_guard lock(mu_);
    closed_ = true;
  }
  bool closed() const override {
    std::lock_guard lock(mu_);
    return closed_;
  }
  // Waits up to 30 s (a bound for a loaded machine, not a timing check) for `n` events.
  std::vector<std::int64_t> WaitFor(std::size_t n) {
    std::unique_lock lock(mu_);
    cv_.wait_for(lock, std::chrono::seconds(30), [&] { return ids_.size() >= n; });
    return ids_;
  }

 private:
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::vector<std::int64_t> ids_;  // guarded by mu_
  bool closed_ = false;            // guarded by mu_
};

class SseHubTest : public ::testing::TestWithParam<std::string> {};

TEST_P(SseHubTest, StreamsOfOneWorkflowEachGetEveryLaterEventOnceAndInOrder) {
  TestDatabase tdb(GetParam());
  auto here = tdb.OpenMigrated();
  auto there = tdb.Open();  // the other instance
  const std::string user = MakeUser(*there, "watcher");
  auto created = there->CreateWorkflow({.user_id = user, .prompt = "watched"});
  ASSERT_TRUE(created.has_value()) << created.error().ToString();
  const std::string wid = created->workflow.id;
  auto append = [&](int n) {
    std::vector<std::int64_t> ids;
    for (int i = 0; i < n; ++i) {
      auto r = there->WriteOne<WorkflowEvent>(
          [&](StoreTx& tx) { return tx.events().Append(wid, "phase", R"({"phase":"story"})"); });
      EXPECT_TRUE(r.has_value());
      if (r) ids.push_back(r->id);
    }
    return ids;
  };
  // The events so far (a new workflow may have none), and two more.
  std::vector<std::int64_t> all;
  ASSERT_TRUE(there->Read([&](StoreTx& tx) -> Result<void> {
    SL_ASSIGN_OR_RETURN(auto events, tx.events().List(wid, 0, 100));
    for (const auto& e : events) all.push_back(e.id);
    return {};
  }));
  for (auto id : append(2)) all.push_back(id);
  ASSERT_GE(all.size(), 2u);

  engine::EventBus bus;
  engine::EventRelay relay(*here, std::chrono::milliseconds(50));
  auto hub = api::SseHub::Make(*here, bus, relay);
  relay.Start();
  // Three streams resuming from different places: the start, the middle, the newest.
  const std::vector<std::int64_t> resume = {0, all[all.size() - 2], all.back()};
  std::vector<std::shared_ptr<RecordingSink>> sinks;
  for (auto last : resume) {
    auto sink = std::make_shared<RecordingSink>();
    hub->Open(wid, last)->Start(sink);
    sinks.push_back(sink);
  }
  // Events committed by the other instance only: they come through the relay.
  for (auto id : append(3)) all.push_back(id);
  for (std::size_t i = 0; i < sinks.size(); ++i) {
    std::vector<std::int64_t> want;
    for (auto id : all) {
      if (id > resume[i]) want.push_back(id);
    }
    EXPECT_EQ(sinks[i]->WaitFor(want.size()), want) << "stream resumed after " << resume[i];
  }
  hub->Shutdown();
  relay.Stop();
}

INSTANTIATE_TEST_SUITE_P(Backends, SseHubTest, ::testing::ValuesIn(testing::Backends()));

}  // namespace
}  // namespace storyloom
