// Store::WriteAsync (issue 14, parts 1 and 3): a write that does not hold its caller's
// thread. Every waiting write joins a group commit: the SQLite writer's next one, or on
// PostgreSQL the next transaction of one of two asynchronous writers. Real databases, no timing
// assertions: what is checked is who waited, what committed, and that every completion runs exactly
// once.
#include <gtest/gtest.h>

#include <atomic>
#include <condition_variable>
#include <latch>
#include <mutex>
#include <string>
#include <vector>

#include "support/test_db.h"

namespace storyloom {
namespace {

// Counts completions; Wait blocks until `n` have run.
class Completions {
 public:
  std::function<void(Result<void>)> Callback(int index) {
    return [this, index](Result<void> r) {
      std::lock_guard lock(mu_);
      results_.emplace_back(index, r ? std::string() : r.error().message);
      cv_.notify_all();
    };
  }
  std::vector<std::pair<int, std::string>> Wait(std::size_t n) {
    std::unique_lock lock(mu_);
    cv_.wait(lock, [&] { return results_.size() >= n; });
    return results_;
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<std::pair<int, std::string>> results_;
};

class WriteAsyncTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    db_ = std::make_unique<testing::TestDatabase>(GetParam());
    store_ = db_->OpenMigrated();
    user_ = testing::MakeUser(*store_, "writer");
  }
  // A write that creates workflow number `i` (its prompt says which).
  std::function<Result<void>(StoreTx&)> Create(int i) {
    return [this, i](StoreTx& tx) -> Result<void> {
      SL_RETURN_IF_ERROR(
          tx.workflows().Create({user_, "prompt " + std::to_string(i), "", "{}", ""}));
      return {};
    };
  }
  std::int64_t Workflows() {
    return *store_->ReadOne<std::int64_t>([this](StoreTx& tx) -> Result<std::int64_t> {
      WorkflowFilter f;
      f.user_id = user_;
      f.limit = 200;
      std::int64_t n = 0;
      for (std::string cursor;;) {
        f.cursor = cursor;
        SL_ASSIGN_OR_RETURN(auto page, tx.workflows().List(f));
        n += static_cast<std::int64_t>(page.items.size());
        if (page.next_cursor.empty()) return n;
        cursor = page.next_cursor;
      }
    });
  }

  std::unique_ptr<testing::TestDatabase> db_;
  std::unique_ptr<Store> store_;
  std::string user_;
};

TEST_P(WriteAsyncTest, EveryWriteCommitsAndCompletesOnce) {
  Completions done;
  constexpr int kWrites = 300;
  for (int i = 0; i < kWrites; ++i) {
    // Every 50th fails: its own changes roll back, the others still commit.
    auto fn = i % 50 == 7 ? std::function<Result<void>(StoreTx&)>([](StoreTx&) -> Result<void> {
      return Fail(Error::InvalidArgument("refused on purpose"));
    })
                          : Create(i);
    ASSERT_TRUE(store_->WriteAsync(fn, done.Callback(i)).has_value());
  }
  auto results = done.Wait(kWrites);
  ASSERT_EQ(results.size(), static_cast<std::size_t>(kWrites));
  std::vector<int> seen(kWrites, 0);
  int failed = 0;
  for (const auto& [i, error] : results) {
    ++seen[i];
    if (!error.empty()) {
      EXPECT_EQ(i % 50, 7) << error;
      EXPECT_EQ(error, "refused on purpose");
      ++failed;
    }
  }
  for (int i = 0; i < kWrites; ++i) EXPECT_EQ(seen[i], 1) << "write " << i;
  EXPECT_EQ(failed, kWrites / 50);
  EXPECT_EQ(Workflows(), kWrites - kWrites / 50);
}

TEST_P(WriteAsyncTest, OneThreadsWritesShareCommits) {
  const DatabaseStats before = store_->stats();
  Completions done;
  constexpr int kWrites = 400;
  for (int i = 0; i < kWrites; ++i) {
    ASSERT_TRUE(store_->WriteAsync(Create(i), done.Callback(i)).has_value());
  }
  done.Wait(kWrites);
  const DatabaseStats after = store_->stats();
  EXPECT_EQ(after.write_transactions - before.write_transactions, kWrites);
  // One thread issued them all. With Write it would have waited for each commit (400
  // commits); queued without waiting, they share commits.
  EXPECT_LT(after.write_batches - before.write_batches, kWrites / 2)
      << (after.write_batches - before.write_batches) << " commits for " << kWrites << " writes";
}

TEST_P(WriteAsyncTest, PastTheQueueLimitWritesAreRefusedAsOverloaded) {
  StoreOptions o;
  o.max_queued_writes = 4;
  auto store = db_->Open(o);
  // Writes that hold every writer thread until released (SQLite has one writer,
  // PostgreSQL two), each started before the next is queued; the rest of the four fit
  // behind them, and the fifth is refused.
  const int holders = GetParam() == "sqlite" ? 1 : 2;
  std::latch release(1);
  Completions done;
  for (int h = 0; h < holders; ++h) {
    std::latch running(1);
    ASSERT_TRUE(store
                    ->WriteAsync(
                        [&](StoreTx&) -> Result<void> {
                          running.count_down();
                          release.wait();
                          return {};
                        },
                        done.Callback(h))
                    .has_value());
    running.wait();
  }
  for (int i = holders; i < 4; ++i) {
    ASSERT_TRUE(store->WriteAsync(Create(i), done.Callback(i)).has_value()) << i;
  }
  auto refused = store->WriteAsync(Create(4), done.Callback(4));
  ASSERT_FALSE(refused.has_value());
  EXPECT_TRUE(refused.error().IsOverloaded()) << refused.error().ToString();
  EXPECT_EQ(refused.error().code, ErrorCode::kUnavailable);
  release.count_down();
  auto results = done.Wait(4);
  for (const auto& [i, error] : results) EXPECT_TRUE(error.empty()) << i << ": " << error;
  // Once they are through, there is room again.
  ASSERT_TRUE(store->WriteAsync(Create(5), done.Callback(5)).has_value());
  EXPECT_EQ(done.Wait(5).size(), 5u);
}

TEST_P(WriteAsyncTest, ClosingTheStoreCompletesWhatWasQueued) {
  Completions done;
  constexpr int kWrites = 100;
  {
    auto store = db_->Open();
    for (int i = 0; i < kWrites; ++i) {
      ASSERT_TRUE(store->WriteAsync(Create(i), done.Callback(i)).has_value());
    }
  }  // closed with writes possibly still queued
  auto results = done.Wait(kWrites);
  EXPECT_EQ(results.size(), static_cast<std::size_t>(kWrites));
  for (const auto& [i, error] : results) EXPECT_TRUE(error.empty()) << i << ": " << error;
  EXPECT_EQ(Workflows(), kWrites);
}

INSTANTIATE_TEST_SUITE_P(Backends, WriteAsyncTest, ::testing::ValuesIn(testing::Backends()));

}  // namespace
}  // namespace storyloom
