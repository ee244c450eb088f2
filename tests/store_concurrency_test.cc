// Eight threads write and read for a few seconds: no error (no "database is locked"), and
// every acknowledged write is there afterwards, also after reopening the file.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <set>
#include <thread>

#include "core/hash.h"
#include "support/test_db.h"

namespace storyloom {
namespace {

class StoreConcurrencyTest : public ::testing::TestWithParam<std::string> {};

TEST_P(StoreConcurrencyTest, EightThreadsWriteAndReadWithoutErrorsOrLoss) {
  testing::TestDatabase tdb(GetParam());
  std::vector<std::string> acked[8];
  std::atomic<int> errors{0};
  std::atomic<int> reads{0};
  std::string user;
  {
    auto store = tdb.OpenMigrated();
    user = testing::MakeUser(*store, "writer");
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(3);
    std::vector<std::thread> threads;
    for (int t = 0; t < 8; ++t) {
      threads.emplace_back([&, t] {
        int i = 0;
        while (std::chrono::steady_clock::now() < deadline) {
          auto w = store->CreateWorkflow(
              {user, "prompt " + std::to_string(t) + "-" + std::to_string(i), "", "{}", ""});
          if (!w) {
            ++errors;
            ADD_FAILURE() << w.error().ToString();
            continue;
          }
          acked[t].push_back(w->workflow.id);
          NewFile f{w->workflow.id,
                    "",
                    FileType::kImage,
                    w->workflow.id + "/images/a.png",
                    "a.png",
                    "image/png",
                    10,
                    core::Sha256Hex(w->workflow.id),
                    "{}"};
          if (auto r = store->AddGeneratedFile(f); !r) {
            ++errors;
            ADD_FAILURE() << r.error().ToString();
          }
          if (i % 3 == 0) {
            auto got = store->GetWorkflow(acked[t][acked[t].size() / 2]);
            if (!got) {
              ++errors;
              ADD_FAILURE() << got.error().ToString();
            }
            auto page = store->ListWorkflows({.user_id = user, .limit = 20});
            if (!page) ++errors;
            ++reads;
          }
          ++i;
        }
      });
    }
    for (auto& th : threads) th.join();
  }
  EXPECT_EQ(errors.load(), 0);
  EXPECT_GT(reads.load(), 0);
  // Reopen: every acknowledged create and its file row are durable.
  auto store = tdb.OpenMigrated();
  std::size_t total = 0;
  for (auto& ids : acked) {
    total += ids.size();
    for (const auto& id : ids) {
      ASSERT_TRUE(store->GetWorkflow(id)) << id;
    }
  }
  auto count = store->ReadOne<std::int64_t>(
      [&](StoreTx& tx) { return tx.workflows().Count(std::nullopt, user); });
  ASSERT_TRUE(count);
  EXPECT_EQ(static_cast<std::size_t>(*count), total);
  auto files = store->ReadOne<Page<GeneratedFile>>(
      [&](StoreTx& tx) { return tx.files().List({.user_id = user, .limit = 1}); });
  EXPECT_FALSE(files->items.empty());
  EXPECT_GT(total, 100u) << "the writers made too little progress to mean anything";
}

INSTANTIATE_TEST_SUITE_P(Backends, StoreConcurrencyTest, ::testing::ValuesIn(testing::Backends()));

}  // namespace
}  // namespace storyloom
