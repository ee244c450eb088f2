#include "db/postgres/postgres_database.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <chrono>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <random>
#include <shared_mutex>
#include <thread>

#include "db/postgres/postgres_connection.h"
#include "db/postgres/postgres_maintenance.h"
#include "db/url.h"

namespace storyloom::db {
namespace {

// Serialization failures and deadlocks are retried this many times before giving up.
constexpr int kMaxConflictRetries = 3;
// A connection found dead mid-transaction is reconnected and the callback rerun once.
constexpr int kMaxReconnectRetries = 1;
// Reads see one snapshot and write nothing.
constexpr const char* kReadBegin = "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY";
// Threads that run WriteAsync's queue, each many writes to a transaction: while one waits
// for its COMMIT to reach the disk, the other fills its next transaction.
constexpr int kAsyncWriters = 2;
// The most asynchronous writes that share one transaction (this also bounds the work
// redone when one of them fails).
constexpr std::size_t kMaxAsyncBatch = 64;

using Callback = std::function<Result<void>(Connection&)>;

// How a transaction attempt ended, beyond its result.
enum class Retry { kNo, kConflict, kReconnect };

// LISTEN on a connection of its own; reconnects (and listens again) on the next Wait after
// the connection is lost.
class PostgresListener final : public Listener {
 public:
  PostgresListener(std::string conninfo, PoolMode pool_mode, std::string channel)
      : conninfo_(std::move(conninfo)), pool_mode_(pool_mode), channel_(std::move(channel)) {}

  Result<void> Connect() {
    conn_.reset();
    SL_ASSIGN_OR_RETURN(auto conn, PostgresConnection::Connect(conninfo_, pool_mode_));
    // Channel names are identifiers: quoted, with any quote doubled.
    std::string quoted = "\"";
    for (char ch : channel_) quoted += ch == '"' ? std::string("\"\"") : std::string(1, ch);
    quoted += '"';
    SL_RETURN_IF_ERROR(conn->Run(("LISTEN " + quoted).c_str()));
    conn_ = std::move(conn);
    return {};
  }

  Result<std::vector<std::string>> Wait(std::chrono::milliseconds timeout) override {
    if (!conn_ || conn_->broken()) {
      if (auto r = Connect(); !r) {
        std::this_thread::sleep_for(timeout);  // do not spin while the server is away
        return Fail(r.error());
      }
    }
    auto r = conn_->WaitForNotifications(timeout);
    if (!r) conn_.reset();
    return r;
  }

 private:
  const std::string conninfo_;
  const PoolMode pool_mode_;
  const std::string channel_;
  std::unique_ptr<PostgresConnection> conn_;
};

class PostgresDatabase final : public Database {
 public:
  PostgresDatabase(const DatabaseUrl& url, Options options)
      : conninfo_(url.postgres_conninfo),
        display_(url.display),
        pool_mode_(url.pool_mode),
        transaction_pooling_(url.pool_mode == PoolMode::kTransaction),
        options_(std::move(options)) {}

  ~PostgresDatabase() override {
    {
      std::lock_guard lock(async_mu_);
      stopping_ = true;
    }
    async_cv_.notify_all();
    // Each finishes what is queued first. No WriteAsync starts a writer after stopping_.
    for (auto& t : async_writers_) t.join();
  }

  // Opens one connection, so a wrong URL or an unreachable server fails here. The rest of
  // the pool (the readers, and one for each asynchronous writer) is opened when first
  // needed, and the writers' threads start with the first WriteAsync: a CLI command that
  // runs one query opens one connection.
  Result<void> Init() {
    SL_ASSIGN_OR_RETURN(auto conn, PostgresConnection::Connect(conninfo_, pool_mode_));
    free_.push_back(conn.get());
    pool_.push_back(std::move(conn));
    return {};
  }

  Dialect dialect() const override { return Dialect::kPostgres; }
  std::string display_url() const override { return display_; }

  Result<void> WriteAsync(Callback fn, WriteDone done) override {
    {
      std::lock_guard lock(async_mu_);
      if (stopping_) return Fail(Error::DatabaseUnavailable("database is closing"));
      if (async_pending_ >= static_cast<std::size_t>(std::max(1, options_.max_queued_writes))) {
        return Fail(Error::Overloaded("too many writes are waiting for the database"));
      }
      ++async_pending_;
      async_queue_.push_back({std::move(fn), std::move(done)});
      if (async_writers_.empty()) {
        for (int i = 0; i < kAsyncWriters; ++i) {
          async_writers_.emplace_back([this] { AsyncWriterLoop(); });
        }
      }
    }
    async_cv_.notify_one();
    return {};
  }

  Result<void> Write(const Callback& fn) override {
    std::shared_lock exclusive(exclusive_mu_);
    int conflicts = 0;
    int reconnects = 0;
    for (;;) {
      Retry retry = Retry::kNo;
      Result<void> r = WithConnection([&](PostgresConnection& c) {
        return Transaction(c, "BEGIN", fn, /*read_only=*/false, &retry);
      });
      if (r) {
        std::lock_guard lock(stats_mu_);
        ++stats_.write_transactions;
        ++stats_.write_batches;
        return r;
      }
      if (retry == Retry::kConflict && conflicts < kMaxConflictRetries) {
        ++conflicts;
        Backoff(conflicts);
        continue;
      }
      if (retry == Retry::kReconnect && reconnects < kMaxReconnectRetries) {
        ++reconnects;
        continue;
      }
      return r;
    }
  }

  Result<void> Read(const Callback& fn) override {
    return ReadOnce([&](PostgresConnection& c, Retry* retry) {
      return Transaction(c, kReadBegin, fn, /*read_only=*/true, retry);
    });
  }

  Result<std::vector<std::vector<Row>>> ReadBatch(std::span<const Statement> statements) override {
    std::vector<std::vector<Row>> out;
    SL_RETURN_IF_ERROR(ReadOnce([&](PostgresConnection& c, Retry* retry) -> Result<void> {
      c.ClearLastError();
      auto rows = c.QueryBatchInTransaction(kReadBegin, statements);
      if (!rows) {
        if (c.broken()) *retry = Retry::kReconnect;
        return Fail(rows.error());
      }
      out = std::move(*rows);
      return {};
    }));
    return out;
  }

  Result<void> Exclusive(const Callback& fn) override {
    std::unique_lock exclusive(exclusive_mu_);
    return WithConnection([&](PostgresConnection& c) -> Result<void> {
      Result<void> r = fn(c);
      // Leave nothing open for the next user of the connection.
      if (!c.broken() && c.in_transaction()) (void)c.Run("ROLLBACK");
      return r;
    });
  }

  Result<void> SnapshotTo(const std::string&) override {
    return Fail(Error::FailedPrecondition(
        "snapshots of PostgreSQL databases are made with pg_dump or db copy"));
  }

  Result<std::unique_ptr<Listener>> Listen(const std::string& channel) override {
    if (transaction_pooling_) {
      // A LISTEN would stay on whichever server session ran it, and its notifications go
      // to whichever client holds that session next, or nowhere.
      return Fail(Error::FailedPrecondition(
          "LISTEN does not work through a transaction pooler (pool_mode=transaction)"));
    }
    // Connects now if it can; otherwise its first Wait does (and reports why not).
    auto listener = std::make_unique<PostgresListener>(conninfo_, pool_mode_, channel);
    if (auto r = listener->Connect(); !r) spdlog::warn("LISTEN {}: {}", channel, r.error().message);
    return std::unique_ptr<Listener>(std::move(listener));
  }

  // Behind a transaction pooler there is no LISTEN: the engine polls instead.
  BackendCapabilities capabilities() const override {
    return {.notifications = !transaction_pooling_};
  }
  Result<DatabaseSize> Size() override { return PostgresSize(*this); }
  Result<std::int64_t> Compact() override { return PostgresCompact(*this); }
  Result<std::vector<std::string>> CheckIntegrity() override {
    return PostgresCheckIntegrity(*this);
  }

  Stats stats() const override {
    std::lock_guard lock(stats_mu_);
    return stats_;
  }

 private:
  // A read attempt on a pooled connection, run once more on a fresh connection when it
  // sets `retry` to kReconnect (the connection died under it); counted as one read.
  template <typename Attempt>
  Result<void> ReadOnce(Attempt&& attempt) {
    int reconnects = 0;
    for (;;) {
      Retry retry = Retry::kNo;
      Result<void> r = WithConnection([&](PostgresConnection& c) { return attempt(c, &retry); });
      if (!r && retry == Retry::kReconnect && reconnects < kMaxReconnectRetries) {
        ++reconnects;
        continue;
      }
      std::lock_guard lock(stats_mu_);
      ++stats_.reads;
      return r;
    }
  }

  // Runs `fn` with a healthy connection taken from the pool, then returns it.
  template <typename Fn>
  Result<void> WithConnection(Fn&& fn) {
    PostgresConnection* c = nullptr;
    {
      std::unique_lock lock(pool_mu_);
      pool_cv_.wait(lock, [&] { return !free_.empty() || opening_ + pool_.size() < Capacity(); });
      if (!free_.empty()) {
        c = free_.back();
        free_.pop_back();
      } else {
        ++opening_;
      }
    }
    if (c == nullptr) {
      // The pool grows by one, outside the lock (connecting takes a round trip or more).
      auto conn = PostgresConnection::Connect(conninfo_, pool_mode_);
      std::lock_guard lock(pool_mu_);
      --opening_;
      if (!conn) {
        pool_cv_.notify_one();  // another waiter may try again
        return Fail(Error::DatabaseUnavailable(conn.error().message));
      }
      c = conn->get();
      pool_.push_back(std::move(*conn));
    }
    Result<void> r = c->EnsureHealthy();
    if (r) r = fn(*c);
    {
      std::lock_guard lock(pool_mu_);
      free_.push_back(c);
    }
    pool_cv_.notify_one();
    return r;
  }

  // BEGIN (as `begin`), fn, COMMIT; ROLLBACK if anything fails. BEGIN travels with fn's
  // first statement (DeferBegin); a read's COMMIT is sent without waiting for its answer
  // (`read_only`: the rows are already read, and the next user of the connection reads
  // it). Sets `retry` when running fn again can succeed: after a serialization failure or
  // deadlock, or when the connection died before COMMIT was sent (the server then rolled
  // back).
  static Result<void> Transaction(PostgresConnection& c, const char* begin, const Callback& fn,
                                  bool read_only, Retry* retry, bool* in_doubt = nullptr) {
    c.ClearLastError();
    auto classify = [&] {
      if (c.broken()) {
        *retry = Retry::kReconnect;
      } else if (c.last_sqlstate() == "40001" || c.last_sqlstate() == "40P01") {
        *retry = Retry::kConflict;
      }
    };
    c.DeferBegin(begin);
    Result<void> result = fn(c);
    if (!c.TakeBegun()) return result;  // no statement ran: nothing to commit or roll back
    if (result && c.transaction_failed()) {
      // fn ignored a failed statement; COMMIT would silently roll everything back.
      const Error cause = c.last_error().value_or(Error::Internal("unknown error"));
      Error e = cause;  // keeps the code, detail and reason of what failed
      e.message =
          "a statement failed inside the transaction and its error was ignored: " + cause.message;
      result = Fail(std::move(e));
    }
    if (!result) {
      classify();
      if (!c.broken()) (void)c.Run("ROLLBACK");
      return result;
    }
    if (read_only) {
      c.SendWithoutWaiting("COMMIT");
      return {};
    }
    if (auto r = c.Run("COMMIT"); !r) {
      if (c.broken()) {
        if (in_doubt != nullptr) *in_doubt = true;
        return Fail(Error::DatabaseUnavailable(
            "the connection to PostgreSQL was lost during COMMIT; the transaction may or may "
            "not have been applied"));
      }
      classify();
      return r;
    }
    return {};
  }

  struct AsyncWrite {
    Callback fn;
    WriteDone done;
  };

  // Takes up to kMaxAsyncBatch queued writes at a time and runs them in one transaction.
  void AsyncWriterLoop() {
    for (;;) {
      std::vector<AsyncWrite> batch;
      {
        std::unique_lock lock(async_mu_);
        async_cv_.wait(lock, [&] { return stopping_ || !async_queue_.empty(); });
        if (async_queue_.empty()) return;  // stopping, and nothing left
        while (!async_queue_.empty() && batch.size() < kMaxAsyncBatch) {
          batch.push_back(std::move(async_queue_.front()));
          async_queue_.pop_front();
        }
      }
      RunAsyncBatch(batch);
      std::lock_guard lock(async_mu_);
      async_pending_ -= batch.size();
    }
  }

  // One transaction for the whole batch, one COMMIT. If any write fails (or the
  // transaction conflicts, or the connection is lost before COMMIT), the batch is rolled
  // back and each write runs again on its own as Write runs it, so a failure is only its
  // own. A connection lost during COMMIT leaves the batch in doubt: every write gets that
  // error, as Write would give it, and none is run again.
  void RunAsyncBatch(std::vector<AsyncWrite>& batch) {
    if (batch.size() > 1) {
      std::shared_lock exclusive(exclusive_mu_);
      Retry retry = Retry::kNo;
      bool in_doubt = false;
      const Callback all = [&](Connection& c) -> Result<void> {
        for (auto& w : batch) SL_RETURN_IF_ERROR(w.fn(c));
        return {};
      };
      Result<void> r = WithConnection([&](PostgresConnection& c) {
        return Transaction(c, "BEGIN", all, /*read_only=*/false, &retry, &in_doubt);
      });
      if (r || in_doubt) {
        {
          std::lock_guard lock(stats_mu_);
          stats_.write_transactions += static_cast<std::int64_t>(batch.size());
          ++stats_.write_batches;
        }
        for (auto& w : batch) w.done(r);
        return;
      }
      exclusive.unlock();
    }
    for (auto& w : batch) w.done(Write(w.fn));
  }

  // Sleeps a little, more after each conflict, with jitter so retries do not collide.
  static void Backoff(int attempt) {
    thread_local std::minstd_rand rng(std::random_device{}());
    const int base_ms = 2 << attempt;
    std::this_thread::sleep_for(
        std::chrono::milliseconds(base_ms + static_cast<int>(rng() % (base_ms + 1))));
  }

  const std::string conninfo_;
  const std::string display_;
  const PoolMode pool_mode_;        // the URL's pool_mode (url.h)
  const bool transaction_pooling_;  // pool_mode=transaction: no session state
  const Options options_;

  // Writes hold it shared, Exclusive holds it alone (migrations block this process's
  // writes; other processes are kept out by the migrations' advisory lock).
  std::shared_mutex exclusive_mu_;

  std::mutex pool_mu_;
  std::condition_variable pool_cv_;
  std::vector<std::unique_ptr<PostgresConnection>> pool_;
  std::vector<PostgresConnection*> free_;  // guarded by pool_mu_
  std::size_t opening_ = 0;                // connections being opened; guarded by pool_mu_
  // The pool's size once grown: the readers, and one connection for each asynchronous
  // writer, so writers never take the readers' connections.
  std::size_t Capacity() const {
    return static_cast<std::size_t>(std::max(2, options_.readers) + kAsyncWriters);
  }

  mutable std::mutex stats_mu_;
  Stats stats_;  // guarded by stats_mu_

  std::mutex async_mu_;
  std::condition_variable async_cv_;
  std::deque<AsyncWrite> async_queue_;      // guarded by async_mu_
  std::size_t async_pending_ = 0;           // queued or running; guarded by async_mu_
  bool stopping_ = false;                   // guarded by async_mu_
  std::vector<std::thread> async_writers_;  // started by the first WriteAsync; async_mu_
};

}  // namespace

Result<std::unique_ptr<Database>> OpenPostgres(const DatabaseUrl& url, const Options& options) {
  auto db = std::make_unique<PostgresDatabase>(url, options);
  if (auto r = db->Init(); !r) {
    return Fail(Error::DatabaseUnavailable(fmt::format("{} ({})", r.error().message, url.display)));
  }
  return std::unique_ptr<Database>(std::move(db));
}

}  // namespace storyloom::db
