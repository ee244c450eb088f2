// Typed error reasons (issue 15 part 4): the drivers say why a statement failed with an
// ErrorReason, callers branch on the predicates, and the API's JSON error body is the same
// as when the reasons were `detail` strings.
#include <gtest/gtest.h>
#include <sqlite3.h>

#include <nlohmann/json.hpp>

#include "db/database.h"
#include "db/sqlite/sqlite_connection.h"
#include "http/status_map.h"
#include "support/temp_dir.h"
#include "support/test_db.h"

namespace storyloom {
namespace db {
// postgres/postgres_connection.h, which includes libpq-fe.h (private to the db layer).
Error PostgresError(std::string_view sqlstate, std::string message);
}  // namespace db
namespace {

TEST(ErrorReasonTest, SqliteCodesGiveTheirReason) {
  const Error fk = db::SqliteError(SQLITE_CONSTRAINT_FOREIGNKEY, "FOREIGN KEY constraint failed");
  EXPECT_EQ(fk.code, ErrorCode::kFailedPrecondition);
  EXPECT_TRUE(fk.IsForeignKey());
  EXPECT_TRUE(fk.detail.empty());
  for (int code : {SQLITE_BUSY, SQLITE_LOCKED, SQLITE_CANTOPEN, SQLITE_READONLY}) {
    const Error e = db::SqliteError(code, "database is locked");
    EXPECT_EQ(e.code, ErrorCode::kUnavailable) << code;
    EXPECT_TRUE(e.IsDatabaseUnavailable()) << code;
    EXPECT_FALSE(e.IsStorageFault()) << code;
  }
  const Error full = db::SqliteError(SQLITE_FULL, "database or disk is full");
  EXPECT_TRUE(full.IsInsufficientStorage());
  EXPECT_TRUE(full.IsStorageFault());
  EXPECT_EQ(full.detail, "insufficient_storage");  // the API's code
  const Error io = db::SqliteError(SQLITE_IOERR_WRITE, "disk I/O error");
  EXPECT_TRUE(io.IsStorageIo());
  EXPECT_FALSE(io.IsDatabaseUnavailable());
  const Error unique = db::SqliteError(SQLITE_CONSTRAINT_UNIQUE, "UNIQUE constraint failed");
  EXPECT_EQ(unique.reason, ErrorReason::kNone);
}

TEST(ErrorReasonTest, PostgresSqlstatesGiveTheirReason) {
  const Error fk = db::PostgresError("23503", "insert violates foreign key constraint");
  EXPECT_EQ(fk.code, ErrorCode::kFailedPrecondition);
  EXPECT_TRUE(fk.IsForeignKey());
  EXPECT_TRUE(fk.detail.empty());
  for (const char* state : {"08006", "57P01", "57P03", "53300"}) {
    const Error e = db::PostgresError(state, "the database system is shutting down");
    EXPECT_EQ(e.code, ErrorCode::kUnavailable) << state;
    EXPECT_TRUE(e.IsDatabaseUnavailable()) << state;
  }
  EXPECT_TRUE(db::PostgresError("53100", "could not extend file").IsInsufficientStorage());
  EXPECT_TRUE(db::PostgresError("58030", "could not write").IsStorageIo());
  EXPECT_EQ(db::PostgresError("40001", "serialization failure").reason, ErrorReason::kNone);
}

// A database held by another writer past the busy timeout is unavailable (the pipeline pauses
// the workflow on it), not a failure of the request.
TEST(ErrorReasonTest, ALockedSqliteDatabaseIsUnavailable) {
  testing::TempDir dir;
  const std::string url = "sqlite:" + (dir.path() / "locked.db").string();
  auto held = db::Open(url, {.busy_timeout_ms = 50});
  ASSERT_TRUE(held.has_value()) << held.error().ToString();
  ASSERT_TRUE(
      (*held)->Write([](db::Connection& c) { return c.ExecScript("CREATE TABLE t (x INTEGER)"); }));
  auto holder = db::SqliteConnection::Open((dir.path() / "locked.db").string(), false,
                                           {.busy_timeout_ms = 50});
  ASSERT_TRUE(holder.has_value()) << holder.error().ToString();
  ASSERT_TRUE((*holder)->ExecScript("BEGIN EXCLUSIVE"));
  auto r = (*held)->Write(
      [](db::Connection& c) { return c.ExecScript("INSERT INTO t (x) VALUES (1)"); });
  ASSERT_FALSE(r.has_value());
  EXPECT_TRUE(r.error().IsDatabaseUnavailable()) << r.error().ToString();
  EXPECT_EQ(http::HttpStatus(r.error()), 503);
  ASSERT_TRUE((*holder)->ExecScript("ROLLBACK"));
}

TEST(ErrorReasonTest, AnUnreachablePostgresServerIsUnavailable) {
  auto r = db::Open("postgresql://storyloom@127.0.0.1:1/none?connect_timeout=2", {});
  ASSERT_FALSE(r.has_value());
  EXPECT_TRUE(r.error().IsDatabaseUnavailable()) << r.error().ToString();
}

// The JSON error bodies, byte for byte: the reasons live outside `detail`, and no reason
// leaks into "code" or "field".
TEST(ErrorReasonTest, ErrorBodiesAreUnchanged) {
  auto body = [](const Error& e) { return http::ErrorResponse(e).body; };
  EXPECT_EQ(http::HttpStatus(http::Malformed("not JSON")), 400);
  EXPECT_EQ(body(http::Malformed("not JSON")),
            R"({"error":{"code":"malformed_request","message":"not JSON"}})");
  EXPECT_EQ(
      body(Error::InvalidArgument("bad scenes", "options.scenes")),
      R"({"error":{"code":"invalid_argument","field":"options.scenes","message":"bad scenes"}})");
  const Error fk = Error::ForeignKey("FOREIGN KEY constraint failed");
  EXPECT_EQ(http::HttpStatus(fk), 409);
  EXPECT_EQ(
      body(fk),
      R"({"error":{"code":"failed_precondition","message":"FOREIGN KEY constraint failed"}})");
  EXPECT_EQ(body(Error::FailedPrecondition("busy", "conflict")),
            R"({"error":{"code":"conflict","message":"busy"}})");
  EXPECT_EQ(http::HttpStatus(Error::InsufficientStorage("/x: No space left")), 507);
  EXPECT_EQ(body(Error::InsufficientStorage("/x: No space left")),
            R"({"error":{"code":"insufficient_storage","message":"the server is out of disk )"
            R"(space; try again once space is freed"}})");
  EXPECT_EQ(http::HttpStatus(Error::StorageIo("/x: EIO")), 503);
  EXPECT_EQ(body(Error::StorageIo("/x: EIO")),
            R"({"error":{"code":"unavailable","message":"the server could not read or write )"
            R"(its storage; try again later"}})");
  EXPECT_EQ(body(Error::DatabaseUnavailable("database is locked")),
            R"({"error":{"code":"unavailable","message":"database is locked"}})");
  EXPECT_EQ(body(Error::Interrupted("interrupted")),
            R"({"error":{"code":"aborted","message":"interrupted"}})");
  EXPECT_EQ(body(Error::ResourceExhausted("over", "budget_exceeded")),
            R"({"error":{"code":"budget_exceeded","message":"over"}})");
}

// A write naming a row that does not exist answers not_found through every repository that
// turns a foreign-key violation into one.
class ForeignKeyTest : public ::testing::TestWithParam<std::string> {};

TEST_P(ForeignKeyTest, AMissingParentIsNotFound) {
  testing::TestDatabase db(GetParam());
  auto store = db.OpenMigrated();
  auto event = store->Write([](StoreTx& tx) -> Result<void> {
    SL_RETURN_IF_ERROR(tx.events().Append("no-such-workflow", "status", "{}"));
    return {};
  });
  ASSERT_FALSE(event.has_value());
  EXPECT_EQ(event.error().code, ErrorCode::kNotFound) << event.error().ToString();
  EXPECT_EQ(http::HttpStatus(event.error()), 404);
}

INSTANTIATE_TEST_SUITE_P(Backends, ForeignKeyTest, ::testing::ValuesIn(testing::Backends()));

}  // namespace
}  // namespace storyloom
