// The /metrics collectors one by one (ops/metric_collectors.h): the exact sample lines each
// writes from a known database, and a failed read counted under its query name. Runs on
// SQLite and PostgreSQL.
#include "ops/metric_collectors.h"

#include <gtest/gtest.h>

#include "support/test_db.h"

namespace storyloom {
namespace {

// EXPECTs that `line` stands in `out`, printing `out` when it does not.
void ExpectLine(const std::string& out, const std::string& line) {
  EXPECT_NE(out.find(line), std::string::npos) << "missing: " << line << "in:\n" << out;
}

class MetricCollectorsTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    db_ = std::make_unique<testing::TestDatabase>(GetParam());
    store_ = db_->OpenMigrated();
    user_ = testing::MakeUser(*store_, "alice");
  }
  void RecordCall(const std::string& status, std::optional<NanoUsd> cost) {
    ApiUsage u;
    u.user_id = user_;
    u.provider = "openai";
    u.model = "gpt-4o-mini";
    u.operation = "chat";
    u.status = status;
    u.input_tokens = 1100;
    u.output_tokens = 1300;
    u.cost_nusd = cost;
    u.created_at = 1764000000000;
    ASSERT_TRUE(store_->RecordUsage(u));
  }
  std::unique_ptr<testing::TestDatabase> db_;
  std::unique_ptr<Store> store_;
  std::string user_;
  ops::Family<ops::Histogram> seconds_{"seconds", "h", {"query"}, {1.0}};
  ops::Family<ops::Counter> errors_{"errors", "h", {"query"}};
};

TEST_P(MetricCollectorsTest, ProviderUsageWritesEachCounterOfTheRollup) {
  RecordCall("ok", 2500000000);  // $2.50
  RecordCall("error", std::nullopt);
  ops::ScrapeReads reads(*store_, seconds_, errors_);
  ops::MetricsWriter w;
  ops::CollectProviderUsage(reads, w);
  const std::string out = w.str();
  const std::string pm = "{provider=\"openai\",model=\"gpt-4o-mini\"";
  ExpectLine(out, "storyloom_provider_calls_total" + pm + "} 2\n");
  ExpectLine(out, "storyloom_provider_errors_total" + pm + "} 1\n");
  ExpectLine(out, "storyloom_provider_tokens_total" + pm + ",direction=\"input\"} 2200\n");
  ExpectLine(out, "storyloom_provider_tokens_total" + pm + ",direction=\"output\"} 2600\n");
  ExpectLine(out, "storyloom_provider_cost_usd_total" + pm + "} 2.5\n");
  ExpectLine(out, "# TYPE storyloom_provider_cost_usd_total counter\n");
  EXPECT_EQ(errors_.With({"usage_rollup"}).value(), 0);
}

TEST_P(MetricCollectorsTest, WorkflowsByStatusQueueDepthAndRunningHere) {
  ASSERT_TRUE(store_->CreateWorkflow({user_, "prompt", "", "{}", ""}));
  ASSERT_TRUE(store_->CreateWorkflow({user_, "prompt", "", "{}", ""}));
  ops::ScrapeReads reads(*store_, seconds_, errors_);
  ops::MetricsWriter w;
  EXPECT_TRUE(ops::CollectWorkflows(
      reads, [] { return 3; }, w));
  const std::string out = w.str();
  ExpectLine(out, "storyloom_database_up 1\n");
  ExpectLine(out, "storyloom_workflows{status=\"queued\"} 2\n");
  ExpectLine(out, "storyloom_workflows{status=\"completed\"} 0\n");
  ExpectLine(out, "storyloom_queue_depth 2\n");
  ExpectLine(out, "storyloom_workflows_running_here 3\n");
  ops::MetricsWriter without;
  EXPECT_TRUE(ops::CollectWorkflows(reads, {}, without));
  EXPECT_EQ(without.str().find("running_here"), std::string::npos);
}

TEST_P(MetricCollectorsTest, AFailedReadIsCountedUnderItsQueryName) {
  ops::ScrapeReads reads(*store_, seconds_, errors_);
  EXPECT_FALSE(reads.Read(
      "broken", [](StoreTx&) -> Result<void> { return Fail(Error::Internal("no such table")); }));
  EXPECT_TRUE(reads.Read("fine", [](StoreTx&) -> Result<void> { return {}; }));
  EXPECT_EQ(errors_.With({"broken"}).value(), 1);
  EXPECT_EQ(errors_.With({"fine"}).value(), 0);
  ops::MetricsWriter w;
  seconds_.Write(w);
  ExpectLine(w.str(), "seconds_count{query=\"broken\"} 1\n");
  ExpectLine(w.str(), "seconds_count{query=\"fine\"} 1\n");
}

INSTANTIATE_TEST_SUITE_P(Backends, MetricCollectorsTest, ::testing::ValuesIn(testing::Backends()),
                         [](const auto& info) { return info.param; });

}  // namespace
}  // namespace storyloom
