// UsageTotals: every one of the eleven counters is read back from usage_daily (ListDaily)
// and from api_usage (ByWorkflow) and written by the report JSON under its documented name;
// Add saturates instead of wrapping. Store tests run on SQLite and PostgreSQL.
#include <gtest/gtest.h>

#include <climits>

#include "api/json_views.h"
#include "support/test_db.h"
#include "support/usage_rows.h"

namespace storyloom {
namespace {

// Two DistinctUsageCall()s, the second failed and unpriced.
void ExpectTwoCalls(const UsageTotals& t) {
  EXPECT_EQ(t.calls, 2);
  EXPECT_EQ(t.errors, 1);
  EXPECT_EQ(t.input_tokens, 2200);
  EXPECT_EQ(t.cached_input_tokens, 1400);
  EXPECT_EQ(t.output_tokens, 2600);
  EXPECT_EQ(t.reasoning_tokens, 3400);
  EXPECT_EQ(t.images, 38);
  EXPECT_EQ(t.characters, 4600);
  EXPECT_EQ(t.audio_ms, 5800);
  EXPECT_EQ(t.cost_nusd, 3100);
  EXPECT_EQ(t.unpriced_calls, 1);
}

class UsageTotalsStoreTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    db_ = std::make_unique<testing::TestDatabase>(GetParam());
    store_ = db_->OpenMigrated();
    user_ = testing::MakeUser(*store_, "alice");
    auto w = store_->CreateWorkflow({user_, "prompt", "", "{}", ""});
    ASSERT_TRUE(w) << w.error().ToString();
    workflow_ = w->workflow.id;
    ApiUsage u = testing::DistinctUsageCall(user_, workflow_, 3100);
    ASSERT_TRUE(store_->RecordUsage(u));
    u.status = "error";
    u.cost_nusd = std::nullopt;
    ASSERT_TRUE(store_->RecordUsage(u));
  }
  std::unique_ptr<testing::TestDatabase> db_;
  std::unique_ptr<Store> store_;
  std::string user_, workflow_;
};

TEST_P(UsageTotalsStoreTest, DailyRowsCarryEveryCounter) {
  auto daily = store_->ReadOne<std::vector<UsageDaily>>(
      [&](StoreTx& tx) { return tx.usage().ListDaily("", "", ""); });
  ASSERT_TRUE(daily) << daily.error().ToString();
  ASSERT_EQ(daily->size(), 1u);
  const UsageDaily& d = (*daily)[0];
  EXPECT_EQ(d.day, "2025-11-24");
  EXPECT_EQ(d.user_id, user_);
  EXPECT_EQ(d.provider, "openai");
  EXPECT_EQ(d.model, "gpt-4o-mini");
  EXPECT_EQ(d.operation, "chat");
  ExpectTwoCalls(d);
}

TEST_P(UsageTotalsStoreTest, WorkflowRowsCarryEveryCounter) {
  auto rows = store_->ReadOne<std::vector<WorkflowUsage>>(
      [&](StoreTx& tx) { return tx.usage().ByWorkflow(0, 0, ""); });
  ASSERT_TRUE(rows) << rows.error().ToString();
  ASSERT_EQ(rows->size(), 1u);
  EXPECT_EQ((*rows)[0].workflow_id, workflow_);
  ExpectTwoCalls((*rows)[0]);
}

INSTANTIATE_TEST_SUITE_P(Backends, UsageTotalsStoreTest, ::testing::ValuesIn(testing::Backends()),
                         [](const auto& info) { return info.param; });

TEST(UsageTotalsTest, AddSumsEachCounterAndSaturates) {
  UsageTotals a{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11};
  a.Add({10, 20, 30, 40, 50, 60, 70, 80, 90, 100, 110});
  EXPECT_EQ(a.calls, 11);
  EXPECT_EQ(a.errors, 22);
  EXPECT_EQ(a.input_tokens, 33);
  EXPECT_EQ(a.cached_input_tokens, 44);
  EXPECT_EQ(a.output_tokens, 55);
  EXPECT_EQ(a.reasoning_tokens, 66);
  EXPECT_EQ(a.images, 77);
  EXPECT_EQ(a.characters, 88);
  EXPECT_EQ(a.audio_ms, 99);
  EXPECT_EQ(a.cost_nusd, 110);
  EXPECT_EQ(a.unpriced_calls, 121);
  UsageTotals big;
  big.cost_nusd = INT64_MAX - 1;
  big.input_tokens = INT64_MAX;
  big.Add(a);
  EXPECT_EQ(big.cost_nusd, INT64_MAX);
  EXPECT_EQ(big.input_tokens, INT64_MAX);
  EXPECT_EQ(big.calls, 11);
}

TEST(UsageTotalsTest, JsonNamesEveryCounterAsDocumented) {
  const UsageTotals t{1, 2, 3, 4, 5, 6, 7, 8, 9, 1500000000, 11};
  const nlohmann::json j = api::UsageTotalsJson(t);
  const nlohmann::json want = {{"calls", 1},
                               {"errors", 2},
                               {"input_tokens", 3},
                               {"cached_input_tokens", 4},
                               {"output_tokens", 5},
                               {"reasoning_tokens", 6},
                               {"images", 7},
                               {"characters", 8},
                               {"audio_ms", 9},
                               {"cost_usd", api::FormatUsd(1500000000)},
                               {"cost_nusd", 1500000000},
                               {"unpriced_calls", 11}};
  EXPECT_EQ(j, want);
  EXPECT_EQ(j["cost_usd"], "1.50");
}

}  // namespace
}  // namespace storyloom
