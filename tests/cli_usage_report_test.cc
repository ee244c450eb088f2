// `storyloom usage report`: the table and the JSON it prints for known usage rows, column
// by column, and what --by workflow adds up. Runs the real binary on a SQLite database.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "support/checks.h"
#include "support/temp_dir.h"
#include "support/test_db.h"
#include "support/usage_rows.h"

namespace storyloom {
namespace {

class CliUsageReportTest : public ::testing::Test {
 protected:
  void SetUp() override {
    store_ = db_.OpenMigrated();
    user_ = testing::MakeUser(*store_, "alice");
    auto w = store_->CreateWorkflow({user_, "prompt", "", "{}", ""});
    ASSERT_TRUE(w) << w.error().ToString();
    workflow_ = w->workflow.id;
    ApiUsage u = testing::DistinctUsageCall(user_, workflow_, 1234500000);  // $1.2345
    ASSERT_TRUE(store_->RecordUsage(u));
    u.status = "error";
    u.cost_nusd = std::nullopt;
    ASSERT_TRUE(store_->RecordUsage(u));
    store_.reset();
    flags_ = "--log-level off --data-dir '" + dir_.str() + "' --database '" + db_.url() + "'";
  }
  testing::TestDatabase db_{"sqlite"};
  testing::TempDir dir_;
  std::unique_ptr<Store> store_;
  std::string user_, workflow_, flags_;
};

TEST_F(CliUsageReportTest, TablePrintsEveryColumnAndTheTotal) {
  testing::CliResult r = testing::RunCli(flags_ + " usage report --by model");
  ASSERT_EQ(r.exit_code, 0) << r.out;
  EXPECT_EQ(r.out,
            "PROVIDER/MODEL                 CALLS ERRORS   INPUT_TOK     CACHED OUTPUT_TOK IMAGES"
            "     CHARS       COST_USD UNPRICED\n"
            "openai/gpt-4o-mini                 2      1        2200       1400       2600     38"
            "      4600         1.2345        1\n"
            "TOTAL                              2      1        2200       1400       2600     38"
            "      4600         1.2345        1\n"
            "1 call(s) had no price and are not in COST_USD; see `storyloom prices list`\n");
}

TEST_F(CliUsageReportTest, JsonNamesEveryCounterPerWorkflow) {
  testing::CliResult r = testing::RunCli(flags_ + " usage report --by workflow --format json");
  ASSERT_EQ(r.exit_code, 0) << r.out;
  const auto j = nlohmann::json::parse(r.out, nullptr, /*allow_exceptions=*/false);
  ASSERT_FALSE(j.is_discarded()) << r.out;
  const nlohmann::json row = {{"calls", 2},
                              {"errors", 1},
                              {"input_tokens", 2200},
                              {"cached_input_tokens", 1400},
                              {"output_tokens", 2600},
                              {"images", 38},
                              {"characters", 4600},
                              {"cost_nusd", 1234500000},
                              {"cost_usd", "1.2345"},
                              {"unpriced_calls", 1}};
  nlohmann::json item = row;
  item["workflow"] = workflow_;
  EXPECT_EQ(j, (nlohmann::json{{"by", "workflow"}, {"items", {item}}, {"total", row}}));
}

}  // namespace
}  // namespace storyloom
