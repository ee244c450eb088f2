// Prices and cost: pattern matching and specificity, nano-dollar arithmetic with cached
// tokens, the seeded price table, versioning (a new price never changes recorded costs),
// unpriced calls stored as NULL and visible in the rollup, offline calls at exactly 0.
// Store-backed tests run on SQLite and PostgreSQL.
#include "engine/pricing.h"

#include <gtest/gtest.h>

#include "core/clock.h"
#include "engine/usage_recorder.h"
#include "support/test_db.h"

namespace storyloom {
namespace {

using engine::CostOf;
using engine::ModelMatches;
using engine::ParseUsdNano;
using engine::SelectPrice;

ModelPrice Chat(std::string pattern, NanoUsd in, std::optional<NanoUsd> cached, NanoUsd out) {
  ModelPrice p;
  p.provider = "openai";
  p.model_pattern = std::move(pattern);
  p.operation = "chat";
  p.input_per_mtok_nusd = in;
  p.cached_input_per_mtok_nusd = cached;
  p.output_per_mtok_nusd = out;
  return p;
}

TEST(PricingTest, GlobsAndSpecificity) {
  EXPECT_TRUE(ModelMatches("gpt-4o-mini*", "gpt-4o-mini-2024-07-18"));
  EXPECT_TRUE(ModelMatches("gpt-4o", "gpt-4o"));
  EXPECT_FALSE(ModelMatches("gpt-4o", "gpt-4o-mini"));
  EXPECT_TRUE(ModelMatches("*", "anything"));
  EXPECT_TRUE(ModelMatches("gpt-?o", "gpt-4o"));
  EXPECT_FALSE(ModelMatches("gpt-4o*", "gpt-4"));
  std::vector<ModelPrice> rows = {Chat("*", 1, {}, 1), Chat("gpt-4o*", 2, {}, 2),
                                  Chat("gpt-4o-mini*", 3, {}, 3), Chat("gpt-4o-mini", 4, {}, 4)};
  for (std::size_t i = 0; i < rows.size(); ++i) rows[i].id = static_cast<std::int64_t>(i + 1);
  EXPECT_EQ(SelectPrice(rows, "gpt-4o-mini", "", "")->id, 4);       // exact wins
  EXPECT_EQ(SelectPrice(rows, "gpt-4o-mini-2024", "", "")->id, 3);  // longer glob wins
  EXPECT_EQ(SelectPrice(rows, "gpt-4o-2024", "", "")->id, 2);
  EXPECT_EQ(SelectPrice(rows, "llama3", "", "")->id, 1);
  EXPECT_FALSE(SelectPrice({Chat("gpt-4o", 1, {}, 1)}, "llama3", "", ""));
  ModelPrice any_size;
  any_size.model_pattern = "img";
  any_size.operation = "image";
  any_size.per_image_nusd = 10;
  any_size.id = 7;
  ModelPrice big = any_size;
  big.image_size = "1024x1024";
  big.image_quality = "hd";
  big.per_image_nusd = 20;
  big.id = 8;
  EXPECT_EQ(SelectPrice({any_size, big}, "img", "1024x1024", "hd")->id, 8);
  EXPECT_EQ(SelectPrice({any_size, big}, "img", "1024x1024", "standard")->id, 7);
}

TEST(PricingTest, CachedTokensAreNotCountedTwice) {
  // gpt-4o-mini: $0.15 / $0.075 cached / $0.60 per million tokens.
  const ModelPrice p = Chat("gpt-4o-mini", 150000000, 75000000, 600000000);
  ApiUsage u;
  u.input_tokens = 1234567;
  u.cached_input_tokens = 234567;
  u.output_tokens = 89012;
  u.reasoning_tokens = 1000;  // part of output_tokens: not added again
  // (1000000 uncached * 150e6 + 234567 cached * 75e6 + 89012 * 600e6) / 1e6 nano-USD.
  EXPECT_EQ(CostOf(p, u), 150000000 + 17592525 + 53407200);
  // Without a cached rate, cached tokens cost the input rate.
  EXPECT_EQ(CostOf(Chat("m", 150000000, {}, 600000000), u), 185185050 + 53407200);
  // Rounding: one token at $0.15/M is 150 nano-USD; at $0.0000005/M it rounds half up.
  ApiUsage one;
  one.input_tokens = 1;
  EXPECT_EQ(CostOf(p, one), 150);
  EXPECT_EQ(CostOf(Chat("m", 500000, {}, 0), one), 1);
  EXPECT_EQ(CostOf(Chat("m", 499999, {}, 0), one), 0);
}

TEST(PricingTest, ImagesAndSpeech) {
  ModelPrice img;
  img.operation = "image";
  img.per_image_nusd = 63000000;
  ApiUsage u;
  u.images = 3;
  EXPECT_EQ(CostOf(img, u), 189000000);
  ModelPrice tts;
  tts.operation = "speech";
  tts.per_mchar_nusd = 15000000000;  // $15 per million characters
  tts.per_minute_nusd = 15000000;    // $0.015 per minute
  ApiUsage s;
  s.characters = 1001;
  s.audio_ms = 500;
  EXPECT_EQ(CostOf(tts, s), 15015000 + 125000);
}

TEST(PricingTest, ParseUsdIsExact) {
  EXPECT_EQ(*ParseUsdNano("0.15"), 150000000);
  EXPECT_EQ(*ParseUsdNano("$2"), 2000000000);
  EXPECT_EQ(*ParseUsdNano("12.000000001"), 12000000001);
  EXPECT_EQ(*ParseUsdNano(".5"), 500000000);
  EXPECT_EQ(*ParseUsdNano("0.0750"), 75000000);
  EXPECT_FALSE(ParseUsdNano("-1"));
  EXPECT_FALSE(ParseUsdNano("1e-3"));
  EXPECT_FALSE(ParseUsdNano("0.0000000001"));
  EXPECT_FALSE(ParseUsdNano(""));
  EXPECT_EQ(engine::FormatNanoUsd(150), "0.00000015");
  EXPECT_EQ(engine::FormatNanoUsd(2000000000), "2.00");
}

class PricingStoreTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    tdb_ = std::make_unique<testing::TestDatabase>(GetParam());
    store_ = tdb_->OpenMigrated();
    user_ = testing::MakeUser(*store_, "alice");
    recorder_ = std::make_unique<engine::UsageRecorder>(*store_);
  }
  ApiUsage Chat(const std::string& model, std::int64_t in, std::int64_t cached, std::int64_t out) {
    ApiUsage u;
    u.user_id = user_;
    u.provider = "openai";
    u.model = model;
    u.operation = "chat";
    u.input_tokens = in;
    u.cached_input_tokens = cached;
    u.output_tokens = out;
    return u;
  }
  std::unique_ptr<testing::TestDatabase> tdb_;
  std::unique_ptr<Store> store_;
  std::string user_;
  std::unique_ptr<engine::UsageRecorder> recorder_;
};

TEST_P(PricingStoreTest, SeededPricesCostCallsAtRecordTime) {
  ApiUsage u = Chat("gpt-4o-mini", 1200, 400, 300);
  ASSERT_TRUE(recorder_->Record(u));
  // 800 * 150 + 400 * 75 + 300 * 600 nano-USD.
  EXPECT_EQ(u.cost_nusd, 330000);
  EXPECT_EQ(u.cost_source, "price_table");
  ASSERT_TRUE(u.price_id.has_value());
  ApiUsage dated = Chat("gpt-4o-mini-2024-07-18", 1000000, 0, 0);
  ASSERT_TRUE(recorder_->Record(dated));
  EXPECT_EQ(dated.cost_nusd, 150000000);
  ApiUsage img;
  img.user_id = user_;
  img.provider = "openai";
  img.model = "gpt-image-1";
  img.operation = "image";
  img.images = 1;
  img.image_size = "1024x1024";
  img.image_quality = "high";
  ASSERT_TRUE(recorder_->Record(img));
  EXPECT_EQ(img.cost_nusd, 167000000);
  ApiUsage tts;
  tts.user_id = user_;
  tts.provider = "openai";
  tts.model = "tts-1";
  tts.operation = "speech";
  tts.characters = 1000;
  ASSERT_TRUE(recorder_->Record(tts));
  EXPECT_EQ(tts.cost_nusd, 15000000);
}

TEST_P(PricingStoreTest, UnpricedIsNullAndOfflineIsZero) {
  ApiUsage u = Chat("llama3:8b", 500, 0, 100);
  ASSERT_TRUE(recorder_->Record(u));
  EXPECT_FALSE(u.cost_nusd.has_value());
  EXPECT_FALSE(u.price_id.has_value());
  ApiUsage off;
  off.user_id = user_;
  off.provider = "offline";
  off.model = "template-v1";
  off.operation = "chat";
  ASSERT_TRUE(recorder_->Record(off));
  EXPECT_EQ(off.cost_nusd, 0);
  EXPECT_EQ(off.cost_source, "offline");
  auto page = store_->ReadOne<Page<ApiUsage>>(
      [&](StoreTx& tx) { return tx.usage().List({.user_id = user_}); });
  ASSERT_TRUE(page);
  ASSERT_EQ(page->items.size(), 2u);
  EXPECT_FALSE(page->items[0].cost_nusd.has_value());
  EXPECT_EQ(page->items[1].cost_nusd, 0);
  auto daily = store_->ReadOne<std::vector<UsageDaily>>(
      [&](StoreTx& tx) { return tx.usage().ListDaily("", "", user_); });
  ASSERT_TRUE(daily);
  std::int64_t unpriced = 0;
  for (const auto& d : *daily) unpriced += d.unpriced_calls;
  EXPECT_EQ(unpriced, 1);
}

TEST_P(PricingStoreTest, NewPriceClosesTheOldOneAndRecordedCostsStay) {
  ApiUsage before = Chat("gpt-4o", 1000000, 0, 0);
  ASSERT_TRUE(recorder_->Record(before));
  EXPECT_EQ(before.cost_nusd, 2500000000);
  const Millis now = core::WallMillis();
  ModelPrice p;
  p.provider = "openai";
  p.model_pattern = "gpt-4o";
  p.operation = "chat";
  p.input_per_mtok_nusd = 1000000000;
  p.output_per_mtok_nusd = 4000000000;
  p.effective_from = now - 1;
  auto added = store_->WriteOne<ModelPrice>([&](StoreTx& tx) { return tx.prices().Add(p); });
  ASSERT_TRUE(added) << added.error().ToString();
  auto all = store_->ReadOne<std::vector<ModelPrice>>(
      [&](StoreTx& tx) { return tx.prices().List(false, now); });
  ASSERT_TRUE(all);
  int open_rows = 0;
  for (const auto& row : *all) {
    if (row.model_pattern == "gpt-4o" && row.operation == "chat" && !row.effective_to) ++open_rows;
    if (row.model_pattern == "gpt-4o" && row.id != added->id) {
      EXPECT_EQ(row.effective_to, now - 1);
    }
  }
  EXPECT_EQ(open_rows, 1);
  ApiUsage after = Chat("gpt-4o", 1000000, 0, 0);
  ASSERT_TRUE(recorder_->Record(after));
  EXPECT_EQ(after.cost_nusd, 1000000000);
  EXPECT_EQ(after.price_id, added->id);
  auto page = store_->ReadOne<Page<ApiUsage>>(
      [&](StoreTx& tx) { return tx.usage().List({.user_id = user_}); });
  ASSERT_TRUE(page);
  EXPECT_EQ(page->items[0].cost_nusd, 2500000000);  // unchanged
  auto current = store_->ReadOne<std::vector<ModelPrice>>(
      [&](StoreTx& tx) { return tx.prices().List(true, now); });
  ASSERT_TRUE(current);
  for (const auto& row : *current) EXPECT_FALSE(row.effective_to && *row.effective_to <= now);
}

TEST_P(PricingStoreTest, UsageByWorkflowSumsApiUsage) {
  auto w = store_->CreateWorkflow({user_, "prompt", "", "{}", ""});
  ASSERT_TRUE(w);
  for (int i = 0; i < 3; ++i) {
    ApiUsage u = Chat("gpt-4o-mini", 1200, 400, 300);
    u.workflow_id = w->workflow.id;
    ASSERT_TRUE(recorder_->Record(u));
  }
  ApiUsage loose = Chat("llama3", 1, 0, 1);
  ASSERT_TRUE(recorder_->Record(loose));
  auto rows = store_->ReadOne<std::vector<WorkflowUsage>>(
      [&](StoreTx& tx) { return tx.usage().ByWorkflow(0, 0, ""); });
  ASSERT_TRUE(rows) << rows.error().ToString();
  ASSERT_EQ(rows->size(), 2u);
  EXPECT_EQ((*rows)[0].workflow_id, w->workflow.id);
  EXPECT_EQ((*rows)[0].calls, 3);
  EXPECT_EQ((*rows)[0].cost_nusd, 990000);
  EXPECT_EQ((*rows)[1].unpriced_calls, 1);
  auto cost = store_->ReadOne<std::pair<NanoUsd, bool>>(
      [&](StoreTx& tx) { return tx.usage().WorkflowCost(w->workflow.id); });
  ASSERT_TRUE(cost);
  EXPECT_EQ(cost->first, 990000);
}

INSTANTIATE_TEST_SUITE_P(Backends, PricingStoreTest, ::testing::ValuesIn(testing::Backends()),
                         [](const auto& info) { return info.param; });

}  // namespace
}  // namespace storyloom
