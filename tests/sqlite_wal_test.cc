// The SQLite WAL under sustained writes (issue 14): checkpoints run on a connection of their
// own beside the writes, not inside the writer's commits, and the WAL stays bounded even when
// that checkpointer never runs. Real database files; what is checked is the -wal file's size
// (its high-water mark: SQLite reuses the file from its start and never shrinks it here) and
// the checkpoints counted.
#include <gtest/gtest.h>

#include <chrono>
#include <climits>
#include <filesystem>
#include <thread>

#include "db/database.h"
#include "support/temp_dir.h"

namespace storyloom {
namespace {

constexpr std::int64_t kPageBytes = 4096;
constexpr std::int64_t kFrameBytes = kPageBytes + 24;  // a WAL frame: its header and a page
constexpr int kBlobBytes = 40000;                      // about ten overflow pages a row

class SqliteWalTest : public ::testing::Test {
 protected:
  std::unique_ptr<db::Database> Open(const db::Options& options) {
    auto d = db::Open("sqlite://" + (dir_ / "wal.db").string(), options);
    EXPECT_TRUE(d.has_value()) << (d ? "" : d.error().message);
    if (!d) return nullptr;
    auto made = (*d)->Write([](db::Connection& c) -> Result<void> {
      SL_RETURN_IF_ERROR(
          c.Exec("CREATE TABLE IF NOT EXISTS t (id INTEGER PRIMARY KEY, b BLOB)", {}));
      return {};
    });
    EXPECT_TRUE(made.has_value()) << (made ? "" : made.error().message);
    return std::move(*d);
  }
  // `n` writes, one commit each; returns the largest the -wal file grew meanwhile.
  std::int64_t WriteRows(db::Database& d, int n) {
    std::int64_t largest = 0;
    for (int i = 0; i < n; ++i) {
      auto r = d.Write([](db::Connection& c) -> Result<void> {
        const db::Value size = std::int64_t{kBlobBytes};
        SL_RETURN_IF_ERROR(c.Exec("INSERT INTO t (b) VALUES (randomblob(?))", {&size, 1}));
        return {};
      });
      EXPECT_TRUE(r.has_value()) << (r ? "" : r.error().message);
      largest = std::max(largest, WalBytes());
    }
    return largest;
  }
  std::int64_t WalBytes() const {
    std::error_code ec;
    const auto size = std::filesystem::file_size(dir_ / "wal.db-wal", ec);
    return ec ? 0 : static_cast<std::int64_t>(size);
  }
  std::int64_t Rows(db::Database& d) {
    std::int64_t n = -1;
    auto r = d.Read([&](db::Connection& c) -> Result<void> {
      SL_ASSIGN_OR_RETURN(auto row, c.QueryOne("SELECT count(*) FROM t"));
      n = row.Int(0);
      return {};
    });
    EXPECT_TRUE(r.has_value());
    return n;
  }

  testing::TempDir dir_;
};

// With the background checkpointer signalled early and the writer's own bound far away, the
// checkpoints are the background thread's: they happen, and the rows are all there.
TEST_F(SqliteWalTest, ABackgroundThreadCheckpointsBesideTheWrites) {
  db::Options o;
  o.synchronous = "NORMAL";
  o.wal_checkpoint_pages = 100;
  o.wal_max_pages = INT_MAX;
  auto d = Open(o);
  ASSERT_NE(d, nullptr);
  WriteRows(*d, 300);  // about 3,300 pages
  // The checkpointer runs on its own thread: wait (bounded) until it has counted one.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (d->stats().checkpoints == 0 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  EXPECT_GT(d->stats().checkpoints, 0);
  EXPECT_EQ(Rows(*d), 300);
}

// No background checkpoint ever asked for: the writer's bound alone keeps the WAL to about
// `wal_max_pages` pages (plus one commit), where without it the WAL would hold every row.
TEST_F(SqliteWalTest, TheWriterBoundsTheWalWhenTheCheckpointerDoesNotRun) {
  db::Options o;
  o.synchronous = "NORMAL";
  o.wal_checkpoint_pages = INT_MAX;
  o.wal_max_pages = 400;
  auto d = Open(o);
  ASSERT_NE(d, nullptr);
  const std::int64_t largest = WriteRows(*d, 300);  // about 3,300 pages in all
  const std::int64_t one_commit = 2 * (kBlobBytes / kPageBytes + 4);
  EXPECT_LE(largest, (400 + one_commit) * kFrameBytes + 32) << largest << " bytes of WAL";
  EXPECT_GT(d->stats().checkpoints, 0);
  EXPECT_EQ(Rows(*d), 300);
}

// The defaults, under sustained synchronous writes: the WAL never holds more than the
// writer's bound allows, and a reopened database has every row.
TEST_F(SqliteWalTest, TheDefaultsKeepTheWalBoundedAndLoseNothing) {
  const db::Options o;
  {
    auto d = Open(o);
    ASSERT_NE(d, nullptr);
    const std::int64_t largest = WriteRows(*d, 1200);  // about 13,000 pages
    const std::int64_t one_commit = 2 * (kBlobBytes / kPageBytes + 4);
    EXPECT_LE(largest, (o.wal_max_pages + one_commit) * kFrameBytes + 32)
        << largest << " bytes of WAL";
    EXPECT_GT(d->stats().checkpoints, 0);
  }
  auto again = Open(o);
  ASSERT_NE(again, nullptr);
  EXPECT_EQ(Rows(*again), 1200);
}

}  // namespace
}  // namespace storyloom
