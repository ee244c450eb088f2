// PostgreSQL driver: placeholder rewriting, value and error mapping, migrations (alone and
// racing), reconnecting after the server drops connections, retried deadlocks, and
// ClaimWorkflows handing each workflow to one instance only (FOR UPDATE SKIP LOCKED); and
// BulkInsert (COPY) on both backends.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <latch>
#include <set>
#include <thread>
#include <vector>

#include "db/database.h"
#include "db/migrations.h"
#include "db/postgres/placeholders.h"
#include "storyloom/store.h"
#include "support/pg_server.h"
#include "support/test_db.h"

namespace storyloom {
namespace {

using db::Value;
using testing::MakeUser;
using testing::TestDatabase;

std::unique_ptr<db::Database> OpenDb(const TestDatabase& tdb, int pool = 4) {
  auto db = db::Open(tdb.url(), {.readers = pool});
  if (!db) throw std::runtime_error(db.error().ToString());
  return std::move(*db);
}

std::int64_t Count(db::Database& db, const std::string& sql) {
  std::int64_t n = -1;
  auto r = db.Read([&](db::Connection& c) -> Result<void> {
    SL_ASSIGN_OR_RETURN(auto row, c.QueryOne(sql));
    n = row.Int(0);
    return {};
  });
  EXPECT_TRUE(r) << r.error().ToString();
  return n;
}

TEST(PostgresPlaceholdersTest, RewritesOnlyPlaceholdersOutsideQuotesAndComments) {
  auto r = db::RewritePlaceholders("SELECT a FROM t WHERE b = ? AND c IN (?, ?)");
  EXPECT_EQ(r.sql, "SELECT a FROM t WHERE b = $1 AND c IN ($2, $3)");
  EXPECT_EQ(r.parameter_count, 3);
  r = db::RewritePlaceholders(
      "SELECT '?', 'it''s ?', E'\\'?', \"col?\", $$?$$, $tag$ ? $ ? $tag$, ? -- ?\n"
      "/* ? /* ? */ ? */ , ?");
  EXPECT_EQ(r.sql,
            "SELECT '?', 'it''s ?', E'\\'?', \"col?\", $$?$$, $tag$ ? $ ? $tag$, $1 -- ?\n"
            "/* ? /* ? */ ? */ , $2");
  EXPECT_EQ(r.parameter_count, 2);
  // `$1` and identifiers with `$` are not dollar quotes.
  r = db::RewritePlaceholders("SELECT a$b, ? FROM t");
  EXPECT_EQ(r.sql, "SELECT a$b, $1 FROM t");
  // An unterminated literal is passed through for the server to reject.
  r = db::RewritePlaceholders("SELECT 'abc ?");
  EXPECT_EQ(r.parameter_count, 0);
}

class PostgresTest : public ::testing::Test {
 protected:
  void SetUp() override { tdb_ = std::make_unique<TestDatabase>("postgres"); }
  std::unique_ptr<TestDatabase> tdb_;
};

// The pool opens connections when they are needed, never more than its size (the readers
// and one for each asynchronous writer): a CLI command that runs one query opens one.
// Counted by the server (pg_stat_activity), from another connection.
TEST_F(PostgresTest, ThePoolOpensConnectionsOnlyWhenNeeded) {
  auto db = OpenDb(*tdb_, 3);  // a pool of 3 + 2
  auto observer = OpenDb(*tdb_, 2);
  auto others = [&] {
    return Count(*observer,
                 "SELECT count(*) FROM pg_stat_activity "
                 "WHERE datname = current_database() AND pid <> pg_backend_pid()");
  };
  EXPECT_EQ(others(), 1) << "opening the database";

  // Five reads at once, held inside their transactions until counted: five connections.
  std::latch inside(6);
  std::latch counted(1);
  std::vector<std::thread> readers;
  for (int i = 0; i < 5; ++i) {
    readers.emplace_back([&] {
      EXPECT_TRUE(db->Read([&](db::Connection& c) -> Result<void> {
        SL_RETURN_IF_ERROR(c.Query("SELECT 1"));
        inside.arrive_and_wait();
        counted.wait();
        return {};
      }));
    });
  }
  inside.arrive_and_wait();
  EXPECT_EQ(others(), 5);
  counted.count_down();
  for (auto& t : readers) t.join();

  // Eight threads that overlap: still five, the pool's size.
  std::vector<std::thread> busy;
  for (int i = 0; i < 8; ++i) {
    busy.emplace_back([&] {
      for (int j = 0; j < 10; ++j) {
        EXPECT_TRUE(db->Read([](db::Connection& c) -> Result<void> {
          SL_RETURN_IF_ERROR(c.Query("SELECT pg_sleep(0.002)"));
          return {};
        }));
      }
    });
  }
  for (auto& t : busy) t.join();
  EXPECT_EQ(others(), 5);
}

TEST_F(PostgresTest, QuestionMarksInLiteralsReachTheServerUntouched) {
  auto db = OpenDb(*tdb_);
  ASSERT_TRUE(db->Read([&](db::Connection& c) -> Result<void> {
    const Value p[] = {std::string("param")};
    SL_ASSIGN_OR_RETURN(auto row, c.QueryOne("SELECT '?' AS \"what?\", ?, 'a''?' /* ? */", p));
    EXPECT_EQ(row.Text(0), "?");
    EXPECT_EQ(row.Text(1), "param");
    EXPECT_EQ(row.Text(2), "a'?");
    return {};
  }));
}

TEST_F(PostgresTest, ValuesMapToIntegersRealsTextAndNull) {
  auto db = OpenDb(*tdb_);
  ASSERT_TRUE(db->Read([&](db::Connection& c) -> Result<void> {
    const Value p[] = {std::int64_t{9'000'000'000'000}, 0.25, std::string("txt"), Value{}};
    SL_ASSIGN_OR_RETURN(auto row,
                        c.QueryOne("SELECT 1::int2, 2::int4, ?::int8, ?::float8, 2.5::numeric, "
                                   "sum(x), true, false, ?::text, ?::text, '{\"a\": 1}'::jsonb "
                                   "FROM (VALUES (5000000000::bigint), (1::bigint)) AS v(x)",
                                   p));
    EXPECT_EQ(std::get<std::int64_t>(row.at(0)), 1);
    EXPECT_EQ(std::get<std::int64_t>(row.at(1)), 2);
    EXPECT_EQ(std::get<std::int64_t>(row.at(2)), 9'000'000'000'000);
    EXPECT_DOUBLE_EQ(std::get<double>(row.at(3)), 0.25);
    EXPECT_DOUBLE_EQ(std::get<double>(row.at(4)), 2.5);
    EXPECT_EQ(std::get<std::int64_t>(row.at(5)), 5'000'000'001);  // numeric sum, exact
    EXPECT_EQ(std::get<std::int64_t>(row.at(6)), 1);
    EXPECT_EQ(std::get<std::int64_t>(row.at(7)), 0);
    EXPECT_EQ(std::get<std::string>(row.at(8)), "txt");
    EXPECT_TRUE(row.IsNull(9));
    EXPECT_EQ(std::get<std::string>(row.at(10)), "{\"a\": 1}");
    return {};
  }));
}

// postgresql://user@/db?host=/socket/dir: the same server through its Unix socket.
TEST_F(PostgresTest, ConnectsThroughAUnixSocketDirectory) {
  std::string dir, port;
  {
    auto db = OpenDb(*tdb_);
    ASSERT_TRUE(db->Read([&](db::Connection& c) -> Result<void> {
      SL_ASSIGN_OR_RETURN(auto row, c.QueryOne("SELECT current_setting('unix_socket_directories'), "
                                               "current_setting('port')"));
      dir = row.Text(0).substr(0, row.Text(0).find(','));
      port = row.Text(1);
      return {};
    }));
  }
  ASSERT_FALSE(dir.empty()) << "the test server listens on a socket directory";
  const std::string& tcp = tdb_->url();  // postgresql://user@127.0.0.1:port/dbname
  const std::string user = tcp.substr(13, tcp.find('@') - 13);
  const std::string dbname = tcp.substr(tcp.rfind('/') + 1);
  const std::string url = "postgresql://" + user + "@/" + dbname + "?host=" + dir + "&port=" + port;
  auto db = db::Open(url);
  ASSERT_TRUE(db.has_value()) << url << ": " << db.error().ToString();
  ASSERT_TRUE((*db)->Read([&](db::Connection& c) -> Result<void> {
    // No server address: the connection came through the socket, not TCP.
    SL_ASSIGN_OR_RETURN(auto row,
                        c.QueryOne("SELECT inet_server_addr() IS NULL, current_database()"));
    EXPECT_EQ(row.Int(0), 1);
    EXPECT_EQ(row.Text(1), dbname);
    return {};
  }));
  EXPECT_TRUE(db::Migrate(**db).has_value());
}

TEST_F(PostgresTest, MigratesFromEmptyAndRerunsAsNoOp) {
  auto db = OpenDb(*tdb_);
  const auto all = db::MigrationsFor(db::Dialect::kPostgres);
  ASSERT_EQ(all.size(), db::MigrationsFor(db::Dialect::kSqlite).size());
  for (std::size_t i = 0; i < all.size(); ++i) {
    EXPECT_EQ(all[i].version, static_cast<int>(i) + 1);
    EXPECT_EQ(all[i].name, db::MigrationsFor(db::Dialect::kSqlite)[i].name);
  }
  auto first = db::Migrate(*db);
  ASSERT_TRUE(first) << first.error().ToString();
  EXPECT_EQ(first->applied.size(), all.size());
  EXPECT_EQ(first->status.current_version, all.back().version);
  EXPECT_TRUE(first->status.pending.empty());
  EXPECT_TRUE(first->backup_path.empty());
  auto again = db::Migrate(*db);
  ASSERT_TRUE(again) << again.error().ToString();
  EXPECT_TRUE(again->applied.empty());
  EXPECT_EQ(Count(*db, "SELECT count(*) FROM schema_migrations"),
            static_cast<std::int64_t>(all.size()));
  // The search indexes and the lease index exist, and every table of the model is there.
  EXPECT_EQ(Count(*db,
                  "SELECT count(*) FROM pg_indexes WHERE indexname IN "
                  "('workflows_title_trgm', 'workflows_prompt_trgm', 'workflows_leased')"),
            3);
  EXPECT_EQ(Count(*db,
                  "SELECT count(*) FROM information_schema.tables WHERE table_schema = "
                  "'public' AND table_name IN ('users', 'api_tokens', 'workflows', "
                  "'workflow_phases', 'scenes', 'generated_files', 'model_prices', "
                  "'api_usage', 'usage_daily', 'budget_reservations', 'workflow_events', "
                  "'audit_log', 'backups')"),
            13);
  // Every foreign key column leads an index (no scans on cascades or joins).
  EXPECT_EQ(Count(*db,
                  "SELECT count(*) FROM pg_constraint c WHERE c.contype = 'f' AND NOT EXISTS "
                  "(SELECT 1 FROM pg_index i WHERE i.indrelid = c.conrelid AND "
                  "i.indkey[0] = c.conkey[1])"),
            0);
}

TEST_F(PostgresTest, ConcurrentMigratorsApplyEachMigrationOnce) {
  auto a = OpenDb(*tdb_);
  auto b = OpenDb(*tdb_);
  std::atomic<int> ready{0};
  Result<db::MigrateReport> ra, rb;
  auto run = [&](db::Database& db, Result<db::MigrateReport>& out) {
    ready.fetch_add(1);
    while (ready.load() < 2) std::this_thread::yield();
    out = db::Migrate(db);
  };
  std::thread ta(run, std::ref(*a), std::ref(ra));
  std::thread tb(run, std::ref(*b), std::ref(rb));
  ta.join();
  tb.join();
  ASSERT_TRUE(ra) << ra.error().ToString();
  ASSERT_TRUE(rb) << rb.error().ToString();
  const auto all = db::MigrationsFor(db::Dialect::kPostgres);
  EXPECT_EQ(ra->applied.size() + rb->applied.size(), all.size());
  EXPECT_EQ(Count(*a, "SELECT count(DISTINCT version) FROM schema_migrations"),
            static_cast<std::int64_t>(all.size()));
  EXPECT_EQ(ra->status.current_version, all.back().version);
  EXPECT_EQ(rb->status.current_version, all.back().version);
}

TEST_F(PostgresTest, ReconnectsAfterTheServerTerminatesItsConnections) {
  auto db = OpenDb(*tdb_, 2);
  const std::string dbname = tdb_->url().substr(tdb_->url().rfind('/') + 1);
  const std::string kill =
      "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '" + dbname +
      "' AND pid <> pg_backend_pid()";
  // Holds both pool connections at once (a read inside a read) so both must come back.
  auto both = [&]() -> Result<void> {
    return db->Read([&](db::Connection& c1) -> Result<void> {
      SL_RETURN_IF_ERROR(c1.Query("SELECT 1"));
      return db->Read([&](db::Connection& c2) -> Result<void> {
        SL_RETURN_IF_ERROR(c2.Query("SELECT 2"));
        return {};
      });
    });
  };
  ASSERT_TRUE(both());
  for (int round = 0; round < 3; ++round) {
    testing::PgAdminExec(kill);
    // Immediately, and again once the backends are surely gone, whether the loss is seen
    // before use or by the first statement.
    auto r = both();
    EXPECT_TRUE(r) << "round " << round << ": " << r.error().ToString();
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    r = both();
    EXPECT_TRUE(r) << "round " << round << ": " << r.error().ToString();
    auto w = db->Write([](db::Connection& c) -> Result<void> {
      SL_RETURN_IF_ERROR(c.Exec("CREATE TABLE IF NOT EXISTS t (x INTEGER)"));
      SL_RETURN_IF_ERROR(c.Exec("INSERT INTO t VALUES (1)"));
      return {};
    });
    EXPECT_TRUE(w) << w.error().ToString();
  }
  EXPECT_EQ(Count(*db, "SELECT count(*) FROM t"), 3);

  // A connection lost inside a transaction, before COMMIT: the server rolled it back, so
  // the callback runs again on a fresh connection.
  int calls = 0;
  auto w = db->Write([&](db::Connection& c) -> Result<void> {
    ++calls;
    SL_RETURN_IF_ERROR(c.Exec("INSERT INTO t VALUES (2)"));
    if (calls == 1) {
      SL_ASSIGN_OR_RETURN(auto pid, c.QueryOne("SELECT pg_backend_pid()"));
      testing::PgAdminExec("SELECT pg_terminate_backend(" + std::to_string(pid.Int(0)) + ")");
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    SL_RETURN_IF_ERROR(c.Exec("INSERT INTO t VALUES (3)"));
    return {};
  });
  ASSERT_TRUE(w) << w.error().ToString();
  EXPECT_EQ(calls, 2);
  EXPECT_EQ(Count(*db, "SELECT count(*) FROM t WHERE x > 1"), 2);
}

TEST_F(PostgresTest, ErrorsMapToCanonicalCodes) {
  auto db = OpenDb(*tdb_);
  ASSERT_TRUE(db->Exclusive([](db::Connection& c) {
    return c.ExecScript(
        "CREATE TABLE p (id TEXT PRIMARY KEY);"
        "CREATE TABLE ch (id TEXT PRIMARY KEY, p TEXT REFERENCES p (id), "
        "n INTEGER NOT NULL CHECK (n > 0), doc JSONB);");
  }));
  auto exec = [&](const std::string& sql) {
    return db->Write([&](db::Connection& c) -> Result<void> {
      SL_RETURN_IF_ERROR(c.Exec(sql));
      return {};
    });
  };
  ASSERT_TRUE(exec("INSERT INTO p VALUES ('a')"));
  EXPECT_EQ(exec("INSERT INTO p VALUES ('a')").error().code, ErrorCode::kAlreadyExists);
  auto fk = exec("INSERT INTO ch VALUES ('x', 'nope', 1)");
  EXPECT_EQ(fk.error().code, ErrorCode::kFailedPrecondition);
  EXPECT_TRUE(fk.error().IsForeignKey()) << fk.error().ToString();
  EXPECT_EQ(exec("INSERT INTO ch VALUES ('x', 'a', 0)").error().code, ErrorCode::kInvalidArgument);
  EXPECT_EQ(exec("INSERT INTO ch VALUES ('x', 'a', NULL)").error().code,
            ErrorCode::kInvalidArgument);
  // JSON arrives as text; malformed JSON is the caller's fault, not a server error.
  auto bad_json = db->Write([](db::Connection& c) -> Result<void> {
    const Value v[] = {std::string("{not json")};
    SL_RETURN_IF_ERROR(c.Exec("INSERT INTO ch VALUES ('y', 'a', 1, ?)", v));
    return {};
  });
  EXPECT_EQ(bad_json.error().code, ErrorCode::kInvalidArgument);
  EXPECT_EQ(exec("SELEC 1").error().code, ErrorCode::kInternal);
  EXPECT_EQ(db->SnapshotTo("/tmp/x.db").error().code, ErrorCode::kFailedPrecondition);
  // A write that swallows a failed statement must not report success: PostgreSQL has
  // aborted its transaction and COMMIT would silently roll it back.
  auto swallowed = db->Write([](db::Connection& c) -> Result<void> {
    (void)c.Exec("INSERT INTO p VALUES ('a')");
    return {};
  });
  ASSERT_FALSE(swallowed);
  EXPECT_EQ(swallowed.error().code, ErrorCode::kAlreadyExists);
  // The pool is still healthy afterwards.
  EXPECT_EQ(Count(*db, "SELECT count(*) FROM p"), 1);
}

// BEGIN travels with a transaction's first statement and a read's COMMIT is not waited
// for (issue 14): the first statement must still be inside the transaction, a read's
// snapshot must still hold from its first statement on, and the unread COMMIT must not
// trouble the next user of the connection.
TEST_F(PostgresTest, TransactionsBeginWithTheirFirstStatement) {
  auto db = OpenDb(*tdb_, 2);
  ASSERT_TRUE(db->Exclusive(
      [](db::Connection& c) { return c.ExecScript("CREATE TABLE t (x INTEGER PRIMARY KEY)"); }));
  // The first statement (prepared in the same pipeline) is rolled back with the second.
  auto failed = db->Write([](db::Connection& c) -> Result<void> {
    SL_RETURN_IF_ERROR(c.Exec("INSERT INTO t VALUES (1)"));
    SL_RETURN_IF_ERROR(c.Exec("INSERT INTO t VALUES (1)"));
    return {};
  });
  ASSERT_FALSE(failed);
  EXPECT_EQ(failed.error().code, ErrorCode::kAlreadyExists);
  EXPECT_EQ(Count(*db, "SELECT count(*) FROM t"), 0);
  // Again with the statement already prepared on that connection.
  for (int i = 0; i < 3; ++i) {
    EXPECT_FALSE(db->Write([](db::Connection& c) -> Result<void> {
      SL_RETURN_IF_ERROR(c.Exec("INSERT INTO t VALUES (1)"));
      return Fail(Error::Internal("changed my mind"));
    }));
  }
  EXPECT_EQ(Count(*db, "SELECT count(*) FROM t"), 0);

  // A read sees one snapshot, taken at its first statement, even when a write commits
  // between its statements.
  auto read = db->Read([&](db::Connection& c) -> Result<void> {
    SL_ASSIGN_OR_RETURN(auto before, c.QueryOne("SELECT count(*) FROM t"));
    // The pool has two connections: the write takes the other one.
    SL_RETURN_IF_ERROR(db->Write([](db::Connection& w) -> Result<void> {
      SL_RETURN_IF_ERROR(w.Exec("INSERT INTO t VALUES (2)"));
      return {};
    }));
    SL_ASSIGN_OR_RETURN(auto after, c.QueryOne("SELECT count(*) FROM t"));
    EXPECT_EQ(before.Int(0), after.Int(0));
    return {};
  });
  ASSERT_TRUE(read) << read.error().ToString();
  EXPECT_EQ(Count(*db, "SELECT count(*) FROM t"), 1);

  // Reads (whose COMMIT answers are read later), writes, empty transactions and failed
  // reads, interleaved on the same two connections.
  for (int i = 0; i < 40; ++i) {
    ASSERT_EQ(Count(*db, "SELECT count(*) FROM t"), 1 + i);
    ASSERT_TRUE(db->Read([](db::Connection&) -> Result<void> { return {}; }));
    EXPECT_FALSE(db->Read([](db::Connection& c) -> Result<void> {
      SL_RETURN_IF_ERROR(c.Query("SELECT no_such_column FROM t"));
      return {};
    }));
    auto w = db->Write([&](db::Connection& c) -> Result<void> {
      const Value v[] = {std::int64_t{100 + i}};
      SL_RETURN_IF_ERROR(c.Exec("INSERT INTO t VALUES (?)", v));
      return {};
    });
    ASSERT_TRUE(w) << i << ": " << w.error().ToString();
  }
}

TEST_F(PostgresTest, UnreachableServerIsUnavailable) {
  auto db = db::Open("postgresql://storyloom@127.0.0.1:1/nothing");
  ASSERT_FALSE(db);
  EXPECT_EQ(db.error().code, ErrorCode::kUnavailable);
}

TEST_F(PostgresTest, DeadlockedWriteIsRetried) {
  auto db = OpenDb(*tdb_);
  ASSERT_TRUE(db->Exclusive([](db::Connection& c) {
    return c.ExecScript(
        "CREATE TABLE acct (id INTEGER PRIMARY KEY, n INTEGER NOT NULL);"
        "INSERT INTO acct VALUES (1, 0), (2, 0);");
  }));
  std::atomic<int> calls{0};
  std::atomic<int> at_barrier{0};
  // Each writer locks one row, waits for the other to lock the other row, then wants it:
  // a deadlock the server breaks by aborting one, which Write then runs again.
  auto writer = [&](int first, int second) {
    bool first_attempt = true;
    return db->Write([&, first, second](db::Connection& c) -> Result<void> {
      calls.fetch_add(1);
      const Value a[] = {std::int64_t{first}};
      const Value b[] = {std::int64_t{second}};
      SL_RETURN_IF_ERROR(c.Exec("UPDATE acct SET n = n + 1 WHERE id = ?", a));
      if (first_attempt) {
        first_attempt = false;
        at_barrier.fetch_add(1);
        const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
        while (at_barrier.load() < 2 && std::chrono::steady_clock::now() < deadline) {
          std::this_thread::sleep_for(std::chrono::milliseconds(1));
        }
      }
      SL_RETURN_IF_ERROR(c.Exec("UPDATE acct SET n = n + 1 WHERE id = ?", b));
      return {};
    });
  };
  Result<void> r1, r2;
  std::thread t1([&] { r1 = writer(1, 2); });
  std::thread t2([&] { r2 = writer(2, 1); });
  t1.join();
  t2.join();
  EXPECT_TRUE(r1) << r1.error().ToString();
  EXPECT_TRUE(r2) << r2.error().ToString();
  EXPECT_EQ(calls.load(), 3);
  EXPECT_EQ(Count(*db, "SELECT sum(n) FROM acct"), 4);
}

TEST_F(PostgresTest, ConcurrentClaimsNeverHandOutTheSameWorkflowTwice) {
  auto node1 = tdb_->OpenMigrated();
  auto node2 = tdb_->Open();
  const std::string user = MakeUser(*node1, "alice");
  constexpr int kWorkflows = 60;
  for (int i = 0; i < kWorkflows; ++i) {
    ASSERT_TRUE(node1->CreateWorkflow({user, "prompt " + std::to_string(i), "", "{}", ""}));
  }
  auto claim_all = [](Store& store, const std::string& owner, std::vector<std::string>& got) {
    for (;;) {
      auto batch = store.WriteOne<std::vector<Workflow>>(
          [&](StoreTx& tx) { return tx.workflows().Claim(owner, 600000, 3); });
      ASSERT_TRUE(batch) << batch.error().ToString();
      if (batch->empty()) return;
      for (const Workflow& w : *batch) got.push_back(w.id);
    }
  };
  std::vector<std::string> got1, got2;
  std::thread t1([&] { claim_all(*node1, "node-1", got1); });
  std::thread t2([&] { claim_all(*node2, "node-2", got2); });
  t1.join();
  t2.join();
  std::set<std::string> all(got1.begin(), got1.end());
  for (const std::string& id : got2) {
    EXPECT_TRUE(all.insert(id).second) << id << " was claimed by both nodes";
  }
  EXPECT_EQ(all.size(), static_cast<std::size_t>(kWorkflows));
  EXPECT_EQ(got1.size() + got2.size(), static_cast<std::size_t>(kWorkflows));
}

// LISTEN/NOTIFY behind cross-instance SSE: a committed workflow event (migration 0005's
// trigger) reaches a listener with its workflow id, a rolled-back one does not, and a
// listener whose connection the server kills reports it once and then hears events again.
TEST_F(PostgresTest, ListenerHearsCommittedWorkflowEventsAndSurvivesALostConnection) {
  auto store = tdb_->OpenMigrated();
  const std::string user = MakeUser(*store, "listener");
  auto created = store->CreateWorkflow({.user_id = user, .prompt = "heard elsewhere"});
  ASSERT_TRUE(created.has_value()) << created.error().ToString();
  const std::string id = created->workflow.id;
  auto listener = store->Listen("storyloom_events");
  ASSERT_TRUE(listener.has_value()) << listener.error().ToString();
  auto drain = [&] {  // the creation's own "queued" event, if it came after LISTEN
    while (true) {
      auto r = (*listener)->Wait(std::chrono::milliseconds(200));
      if (!r || r->empty()) return;
    }
  };
  drain();
  auto append = [&](bool commit) {
    return store->Write([&](StoreTx& tx) -> Result<void> {
      SL_RETURN_IF_ERROR(tx.events().Append(id, "phase", "{}"));
      if (!commit) return Fail(Error::Aborted("rolled back on purpose"));
      return {};
    });
  };
  auto heard = [&](int timeout_ms) {
    std::vector<std::string> all;
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
    while (std::chrono::steady_clock::now() < deadline) {
      auto r = (*listener)->Wait(std::chrono::milliseconds(100));
      if (r) all.insert(all.end(), r->begin(), r->end());
      if (!all.empty()) break;
    }
    return all;
  };

  EXPECT_FALSE(append(false).has_value());
  EXPECT_TRUE(heard(500).empty()) << "a rolled-back event must not notify";
  ASSERT_TRUE(append(true).has_value());
  EXPECT_EQ(heard(5000), std::vector<std::string>{id});

  const std::string dbname = tdb_->url().substr(tdb_->url().rfind('/') + 1);
  testing::PgAdminExec("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '" +
                       dbname + "' AND query LIKE 'LISTEN%'");
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  bool reported = false;
  for (int i = 0; i < 3; ++i) {
    auto r = (*listener)->Wait(std::chrono::milliseconds(100));
    if (!r) {
      EXPECT_EQ(r.error().code, ErrorCode::kUnavailable) << r.error().ToString();
      reported = true;
    }
  }
  EXPECT_TRUE(reported) << "the lost connection is reported";
  (void)(*listener)->Wait(std::chrono::milliseconds(100));  // reconnects and LISTENs again
  ASSERT_TRUE(append(true).has_value());
  EXPECT_EQ(heard(5000), std::vector<std::string>{id});
}

TEST(ListenerTest, SqliteHasNoNotifications) {
  TestDatabase sqlite("sqlite");
  auto store = sqlite.OpenMigrated();
  auto listener = store->Listen("storyloom_events");
  ASSERT_FALSE(listener.has_value());
  EXPECT_EQ(listener.error().code, ErrorCode::kFailedPrecondition);
}

// BulkInsert (COPY on PostgreSQL, multi-row INSERTs elsewhere) on both backends: text with
// COPY's special characters, NULL beside the literal text \N, numbers, JSON and enough rows
// to span several COPY chunks and INSERT statements; a short row fails without a partial
// insert surviving the transaction.
class BulkInsertTest : public ::testing::TestWithParam<std::string> {};

TEST_P(BulkInsertTest, RoundTripsEveryKindOfValue) {
  TestDatabase tdb(GetParam());
  auto db = OpenDb(tdb);
  const bool pg = db->dialect() == db::Dialect::kPostgres;
  ASSERT_TRUE(db->Write([&](db::Connection& c) {
    return c.ExecScript(pg ? "CREATE TABLE bulk (id BIGINT PRIMARY KEY, t TEXT, r DOUBLE "
                             "PRECISION, j JSONB, b BOOLEAN)"
                           : "CREATE TABLE bulk (id INTEGER PRIMARY KEY, t TEXT, r REAL, j TEXT, "
                             "b INTEGER)");
  }));
  const std::vector<std::string> cols = {"id", "t", "r", "j", "b"};
  const std::vector<std::string> texts = {
      "tab\there", "line\nbreak\r\n",          "back\\slash", "\\N",
      "",          "caf\xc3\xa9 \xe2\x9c\x93", "quote ' \" ;"};
  std::vector<std::vector<Value>> rows;
  for (std::int64_t i = 0; i < 20000; ++i) {
    const std::size_t k = static_cast<std::size_t>(i) % (texts.size() + 1);
    rows.push_back({i, k == texts.size() ? Value{} : Value{texts[k] + std::string(i % 50, 'x')},
                    i % 3 == 0 ? Value{} : Value{static_cast<double>(i) / 7.0},
                    Value{std::string("{\"n\": ") + std::to_string(i) + "}"},
                    Value{std::int64_t{i % 2}}});
  }
  ASSERT_TRUE(db->Write([&](db::Connection& c) { return c.BulkInsert("bulk", cols, rows); }));
  ASSERT_TRUE(db->Read([&](db::Connection& c) -> Result<void> {
    SL_ASSIGN_OR_RETURN(auto got, c.Query(pg ? "SELECT id, t, r, j::text, b::int FROM bulk "
                                               "ORDER BY id"
                                             : "SELECT id, t, r, j, b FROM bulk ORDER BY id"));
    EXPECT_EQ(got.size(), rows.size());
    for (std::size_t i = 0; i < got.size() && i < rows.size(); ++i) {
      EXPECT_EQ(got[i].Int(0), std::get<std::int64_t>(rows[i][0]));
      EXPECT_EQ(got[i].IsNull(1), std::holds_alternative<std::monostate>(rows[i][1])) << i;
      if (!got[i].IsNull(1)) {
        EXPECT_EQ(got[i].Text(1), std::get<std::string>(rows[i][1])) << i;
      }
      if (rows[i][2].index() == 0) {
        EXPECT_TRUE(got[i].IsNull(2)) << i;
      } else {
        EXPECT_EQ(got[i].Real(2), std::get<double>(rows[i][2])) << i;  // exact
      }
      EXPECT_EQ(got[i].Text(3), "{\"n\": " + std::to_string(i) + "}");
      EXPECT_EQ(got[i].Int(4), static_cast<std::int64_t>(i % 2));
    }
    return {};
  }));
  // A short row: an error, and the transaction's earlier rows are rolled back with it.
  std::vector<std::vector<Value>> bad = {{std::int64_t{30000}, Value{}, Value{}, Value{}, Value{}},
                                         {std::int64_t{30001}, Value{}}};
  auto r = db->Write([&](db::Connection& c) { return c.BulkInsert("bulk", cols, bad); });
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code, ErrorCode::kInvalidArgument);
  EXPECT_EQ(Count(*db, "SELECT count(*) FROM bulk"), 20000);
  // A duplicate key: the server's error, nothing inserted.
  std::vector<std::vector<Value>> dup = {{std::int64_t{40000}, Value{}, Value{}, Value{}, Value{}},
                                         {std::int64_t{5}, Value{}, Value{}, Value{}, Value{}}};
  r = db->Write([&](db::Connection& c) { return c.BulkInsert("bulk", cols, dup); });
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code, ErrorCode::kAlreadyExists) << r.error().ToString();
  EXPECT_EQ(Count(*db, "SELECT count(*) FROM bulk"), 20000);
}

INSTANTIATE_TEST_SUITE_P(Backends, BulkInsertTest, ::testing::ValuesIn(testing::Backends()));

// QueryBatch: independent queries in one call (one pipeline on PostgreSQL), on both
// backends, as a transaction's first statement and after others.
class QueryBatchTest : public ::testing::TestWithParam<std::string> {};

TEST_P(QueryBatchTest, AnswersEachQueryInOrderInsideTheTransaction) {
  TestDatabase tdb(GetParam());
  auto db = OpenDb(tdb, 2);
  ASSERT_TRUE(db->Exclusive([](db::Connection& c) {
    return c.ExecScript("CREATE TABLE b (k INTEGER PRIMARY KEY, v TEXT)");
  }));
  // A batch as the first thing a write does, then the write's own statements: the batch
  // is inside the transaction, so a later failure takes nothing of it along wrongly.
  auto w = db->Write([](db::Connection& c) -> Result<void> {
    const db::Statement batch[] = {{"SELECT count(*) FROM b", {}},
                                   {"SELECT ? || ?", {std::string("a"), std::string("b")}},
                                   {"SELECT count(*) FROM b", {}}};
    SL_ASSIGN_OR_RETURN(auto rows, c.QueryBatch(batch));
    EXPECT_EQ(rows.size(), 3u);
    EXPECT_EQ(rows[0].front().Int(0), 0);
    EXPECT_EQ(rows[1].front().Text(0), "ab");
    for (int k = 1; k <= 3; ++k) {
      const Value v[] = {std::int64_t{k}, std::string("v") + std::to_string(k)};
      SL_RETURN_IF_ERROR(c.Exec("INSERT INTO b VALUES (?, ?)", v));
    }
    return {};
  });
  ASSERT_TRUE(w) << w.error().ToString();
  auto r = db->Read([](db::Connection& c) -> Result<void> {
    const db::Statement batch[] = {
        {"SELECT v FROM b WHERE k = ?", {std::int64_t{2}}},
        {"SELECT k FROM b WHERE k > ? ORDER BY k", {std::int64_t{1}}},
        {"SELECT v FROM b WHERE k = ?", {std::int64_t{9}}},  // no rows
        {"SELECT v FROM b WHERE k = ?", {std::int64_t{3}}},  // the same statement again
    };
    SL_ASSIGN_OR_RETURN(auto rows, c.QueryBatch(batch));
    EXPECT_EQ(rows.size(), 4u);
    EXPECT_EQ(rows[0].front().Text(0), "v2");
    EXPECT_EQ(rows[1].size(), 2u);
    EXPECT_TRUE(rows[2].empty());
    EXPECT_EQ(rows[3].front().Text(0), "v3");
    SL_ASSIGN_OR_RETURN(auto none, c.QueryBatch({}));
    EXPECT_TRUE(none.empty());
    return {};
  });
  ASSERT_TRUE(r) << r.error().ToString();

  // One failing query fails the batch with its own error, and the write rolls back
  // whatever it did before.
  auto failed = db->Write([](db::Connection& c) -> Result<void> {
    SL_RETURN_IF_ERROR(c.Exec("DELETE FROM b WHERE k = 1"));
    const db::Statement batch[] = {
        {"SELECT count(*) FROM b", {}}, {"SELECT no_such_column FROM b", {}}, {"SELECT 1", {}}};
    SL_RETURN_IF_ERROR(c.QueryBatch(batch));
    return {};
  });
  ASSERT_FALSE(failed);
  EXPECT_NE(failed.error().message.find("no_such_column"), std::string::npos)
      << failed.error().ToString();
  EXPECT_EQ(Count(*db, "SELECT count(*) FROM b"), 3);
  // The connections are fine afterwards.
  for (int i = 0; i < 4; ++i) EXPECT_EQ(Count(*db, "SELECT count(*) FROM b WHERE k > 0"), 3);

  // ReadBatch: a read transaction of just these queries (BEGIN, them and COMMIT in one
  // pipeline on PostgreSQL).
  for (int i = 0; i < 4; ++i) {
    const db::Statement batch[] = {{"SELECT count(*) FROM b", {}},
                                   {"SELECT v FROM b WHERE k = ?", {std::int64_t{3}}}};
    auto rows = db->ReadBatch(batch);
    ASSERT_TRUE(rows) << rows.error().ToString();
    ASSERT_EQ(rows->size(), 2u);
    EXPECT_EQ((*rows)[0].front().Int(0), 3);
    EXPECT_EQ((*rows)[1].front().Text(0), "v3");
    const db::Statement bad[] = {{"SELECT count(*) FROM b", {}},
                                 {"SELECT no_such_column FROM b", {}}};
    auto refused = db->ReadBatch(bad);
    ASSERT_FALSE(refused);
    EXPECT_NE(refused.error().message.find("no_such_column"), std::string::npos);
    // Writes still work on the connection the failed read used.
    auto w2 = db->Write([&](db::Connection& c) -> Result<void> {
      const Value v[] = {std::int64_t{50 + i}, std::string("x")};
      SL_RETURN_IF_ERROR(c.Exec("INSERT INTO b VALUES (?, ?)", v));
      return {};
    });
    ASSERT_TRUE(w2) << w2.error().ToString();
    ASSERT_TRUE(db->Write([&](db::Connection& c) -> Result<void> {
      const Value v[] = {std::int64_t{50 + i}};
      SL_RETURN_IF_ERROR(c.Exec("DELETE FROM b WHERE k = ?", v));
      return {};
    }));
  }
}

INSTANTIATE_TEST_SUITE_P(Backends, QueryBatchTest, ::testing::ValuesIn(testing::Backends()));

}  // namespace
}  // namespace storyloom
