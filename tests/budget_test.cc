// Budgets: hard limits refuse before a paid call (per user and global), concurrent
// reservations never overshoot, reservations are settled with the real cost, expired ones
// stop counting, and a soft limit warns once per month. SQLite and PostgreSQL.
#include <gtest/gtest.h>

#include <atomic>
#include <thread>

#include "core/clock.h"
#include "engine/usage_recorder.h"
#include "support/test_db.h"

namespace storyloom {
namespace {

class BudgetTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    tdb_ = std::make_unique<testing::TestDatabase>(GetParam());
    store_ = tdb_->OpenMigrated();
    user_ = testing::MakeUser(*store_, "alice");
    other_ = testing::MakeUser(*store_, "bob");
  }
  // One gpt-image-1 1024x1024 low image: exactly $0.011.
  ApiUsage Image(const std::string& user) {
    ApiUsage u;
    u.user_id = user;
    u.provider = "openai";
    u.model = "gpt-image-1";
    u.operation = "image";
    u.images = 1;
    u.image_size = "1024x1024";
    u.image_quality = "low";
    return u;
  }
  void SetBudget(const std::string& user, std::optional<NanoUsd> hard,
                 std::optional<NanoUsd> soft = {}) {
    ASSERT_TRUE(store_->Write([&](StoreTx& tx) {
      return tx.budgets().SetLimits(user, {hard, soft});
    }));
  }
  std::unique_ptr<testing::TestDatabase> tdb_;
  std::unique_ptr<Store> store_;
  std::string user_, other_;
};

constexpr NanoUsd kImage = 11000000;

TEST_P(BudgetTest, NoLimitNeedsNoReservation) {
  engine::UsageRecorder rec(*store_);
  auto id = rec.Reserve(Image(user_));
  ASSERT_TRUE(id) << id.error().ToString();
  EXPECT_EQ(*id, "");
}

TEST_P(BudgetTest, HardLimitRefusesAndRaisingItAllowsAgain) {
  engine::UsageRecorder rec(*store_);
  SetBudget(user_, 2 * kImage + kImage / 2);
  for (int i = 0; i < 2; ++i) {
    auto id = rec.Reserve(Image(user_));
    ASSERT_TRUE(id) << id.error().ToString();
    EXPECT_FALSE(id->empty());
    ApiUsage u = Image(user_);
    ASSERT_TRUE(rec.Record(u, *id));
    EXPECT_EQ(u.cost_nusd, kImage);
  }
  auto refused = rec.Reserve(Image(user_));
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().code, ErrorCode::kResourceExhausted);
  EXPECT_EQ(refused.error().detail, "budget_exceeded");
  // Another user is not affected.
  EXPECT_TRUE(rec.Reserve(Image(other_)));
  SetBudget(user_, 3 * kImage);
  EXPECT_TRUE(rec.Reserve(Image(user_)));
  auto st = rec.Status(user_);
  ASSERT_TRUE(st);
  EXPECT_EQ(st->spent_nusd, 2 * kImage);
  EXPECT_EQ(st->reserved_nusd, kImage);
  EXPECT_EQ(st->limits.hard_nusd, 3 * kImage);
}

TEST_P(BudgetTest, GlobalLimitCountsEveryUser) {
  engine::UsageRecorder rec(*store_, {.global_hard_nusd = 2 * kImage});
  ASSERT_TRUE(rec.Reserve(Image(user_)));
  ASSERT_TRUE(rec.Reserve(Image(other_)));
  auto refused = rec.Reserve(Image(user_));
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().detail, "budget_exceeded");
}

TEST_P(BudgetTest, ReleasedAndExpiredReservationsStopCounting) {
  // The reservation's lifetime passes on the shifted test clock, not in real time, so a
  // slow machine cannot make it expire early.
  engine::UsageRecorder rec(*store_, {.reservation_ttl_ms = 3'600'000});
  SetBudget(user_, kImage);
  auto id = rec.Reserve(Image(user_));
  ASSERT_TRUE(id);
  EXPECT_FALSE(rec.Reserve(Image(user_)));
  rec.Release(*id);
  ASSERT_TRUE(rec.Reserve(Image(user_)));  // this one is never settled (a crash)
  EXPECT_FALSE(rec.Reserve(Image(user_)));
  struct ResetClock {
    ~ResetClock() { core::SetClockOffsetForTesting(0); }
  } reset_clock;
  core::SetClockOffsetForTesting(1'800'000);  // half an hour on: still held
  EXPECT_FALSE(rec.Reserve(Image(user_)));
  core::SetClockOffsetForTesting(3'660'000);  // past the hour: expired
  EXPECT_TRUE(rec.Reserve(Image(user_)));
}

TEST_P(BudgetTest, ConcurrentReservationsNeverOvershoot) {
  engine::UsageRecorder rec(*store_);
  const NanoUsd limit = 10 * kImage + kImage / 3;  // room for exactly 10 images
  SetBudget(user_, limit);
  std::atomic<int> made{0}, refused{0}, violations{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 4; ++i) {
        auto id = rec.Reserve(Image(user_));
        if (!id) {
          if (id.error().detail == "budget_exceeded") ++refused;
          continue;
        }
        // While held, spent + reserved stays within the limit.
        auto st = rec.Status(user_);
        if (!st || st->spent_nusd + st->reserved_nusd > limit) ++violations;
        ApiUsage u = Image(user_);
        if (rec.Record(u, *id)) ++made;
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(violations.load(), 0);
  EXPECT_EQ(made.load(), 10);
  EXPECT_EQ(refused.load(), 32 - 10);
  auto st = rec.Status(user_);
  ASSERT_TRUE(st);
  EXPECT_EQ(st->spent_nusd, 10 * kImage);
  EXPECT_EQ(st->reserved_nusd, 0);
  EXPECT_LE(st->spent_nusd, limit);
}

TEST_P(BudgetTest, SoftLimitWarnsOncePerMonth) {
  engine::UsageRecorder rec(*store_);
  SetBudget(user_, std::nullopt, kImage + 1);
  auto w = store_->CreateWorkflow({user_, "prompt", "", "{}", ""});
  ASSERT_TRUE(w);
  auto warnings = [&] {
    auto events = store_->ReadOne<std::vector<WorkflowEvent>>(
        [&](StoreTx& tx) { return tx.events().List(w->workflow.id, 0, 100); });
    int n = 0;
    for (const auto& e : *events) n += e.type == "warning";
    return n;
  };
  for (int i = 0; i < 4; ++i) {
    ApiUsage u = Image(user_);
    u.workflow_id = w->workflow.id;
    ASSERT_TRUE(rec.Record(u));
    EXPECT_EQ(warnings(), i == 0 ? 0 : 1) << i;
  }
}

INSTANTIATE_TEST_SUITE_P(Backends, BudgetTest, ::testing::ValuesIn(testing::Backends()),
                         [](const auto& info) { return info.param; });

}  // namespace
}  // namespace storyloom
