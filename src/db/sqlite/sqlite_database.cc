#include "db/sqlite/sqlite_database.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <sys/stat.h>
#include <unistd.h>

#include <condition_variable>
#include <deque>
#include <filesystem>
#include <fstream>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "core/durable_dirs.h"
#include "core/failpoint.h"
#include "core/storage_error.h"
#include "db/sqlite/sqlite_connection.h"
#include "db/sqlite/sqlite_maintenance.h"

namespace storyloom::db {
namespace {

// The most writes that share one commit; bounds the latency a batch adds.
constexpr std::size_t kMaxBatch = 512;

struct WriteRequest {
  const std::function<Result<void>(Connection&)>* fn;
  Result<void> result;
  bool done = false;
  // WriteAsync: the request owns its function and is deleted once `on_done` has run.
  std::function<Result<void>(Connection&)> owned_fn;
  WriteDone on_done;
};

class SqliteDatabase final : public Database {
 public:
  SqliteDatabase(std::string path, Options options)
      : path_(std::move(path)), options_(std::move(options)) {}

  ~SqliteDatabase() override {
    {
      std::lock_guard lock(queue_mu_);
      stopping_ = true;
    }
    queue_cv_.notify_all();
    if (writer_thread_.joinable()) writer_thread_.join();
    {
      std::lock_guard lock(checkpoint_mu_);
      checkpoint_stop_ = true;
    }
    checkpoint_cv_.notify_all();
    if (checkpoint_thread_.joinable()) checkpoint_thread_.join();
    // Checkpoint so the WAL is folded into the main file on a clean shutdown.
    if (writer_) (void)writer_->ExecScript("PRAGMA wal_checkpoint(TRUNCATE);");
  }

  Result<void> Init() {
    SL_ASSIGN_OR_RETURN(writer_, SqliteConnection::Open(path_, false, options_));
    // Replaces SQLite's automatic checkpoint (which is itself a WAL hook).
    sqlite3_wal_hook(writer_->handle(), &SqliteDatabase::OnWalCommit, this);
    SL_ASSIGN_OR_RETURN(checkpointer_, SqliteConnection::Open(path_, false, options_));
    checkpoint_thread_ = std::thread([this] { CheckpointLoop(); });
    const int n = std::max(1, options_.readers);
    for (int i = 0; i < n; ++i) {
      SL_ASSIGN_OR_RETURN(auto reader, SqliteConnection::Open(path_, true, options_));
      free_readers_.push_back(reader.get());
      readers_.push_back(std::move(reader));
    }
    writer_thread_ = std::thread([this] { WriterLoop(); });
    return {};
  }

  Dialect dialect() const override { return Dialect::kSqlite; }
  std::string display_url() const override {
    return (path_.starts_with("/") ? "sqlite://" : "sqlite:") + path_;
  }

  Result<void> Write(const std::function<Result<void>(Connection&)>& fn) override {
    WriteRequest req{&fn, {}, false};
    std::unique_lock lock(queue_mu_);
    if (stopping_) return Fail(Error::DatabaseUnavailable("database is closing"));
    queue_.push_back(&req);
    queue_cv_.notify_all();
    done_cv_.wait(lock, [&] { return req.done; });
    return std::move(req.result);
  }

  Result<void> WriteAsync(std::function<Result<void>(Connection&)> fn, WriteDone done) override {
    auto req = std::make_unique<WriteRequest>();
    req->owned_fn = std::move(fn);
    req->fn = &req->owned_fn;
    req->on_done = std::move(done);
    {
      std::lock_guard lock(queue_mu_);
      if (stopping_) return Fail(Error::DatabaseUnavailable("database is closing"));
      if (queued_async_ >= static_cast<std::size_t>(std::max(1, options_.max_queued_writes))) {
        return Fail(Error::Overloaded("too many writes are waiting for the database"));
      }
      ++queued_async_;
      queue_.push_back(req.release());
    }
    queue_cv_.notify_all();
    return {};
  }

  Result<void> Read(const std::function<Result<void>(Connection&)>& fn) override {
    SqliteConnection* conn;
    {
      std::unique_lock lock(readers_mu_);
      readers_cv_.wait(lock, [&] { return !free_readers_.empty(); });
      conn = free_readers_.back();
      free_readers_.pop_back();
    }
    Result<void> result = RunRead(*conn, fn);
    {
      std::lock_guard lock(readers_mu_);
      free_readers_.push_back(conn);
      ++stats_.reads;
    }
    readers_cv_.notify_one();
    return result;
  }

  Result<void> Exclusive(const std::function<Result<void>(Connection&)>& fn) override {
    std::lock_guard lock(writer_mu_);
    // No background checkpoint meanwhile: an explicit wal_checkpoint(TRUNCATE) would meet
    // its lock and give up (SQLITE_BUSY) instead of waiting.
    std::lock_guard checkpoint(checkpoint_run_mu_);
    return fn(*writer_);
  }

  Result<void> SnapshotTo(const std::string& path) override {
    // A private read connection, so the copy neither blocks nor is blocked by writers.
    SL_ASSIGN_OR_RETURN(auto src, SqliteConnection::Open(path_, true, options_));
    sqlite3* dest = nullptr;
    int rc =
        sqlite3_open_v2(path.c_str(), &dest, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, nullptr);
    if (rc != SQLITE_OK) {
      sqlite3_close_v2(dest);
      return Fail(
          Error::Unavailable(fmt::format("cannot create {}: {}", path, sqlite3_errstr(rc))));
    }
    sqlite3_backup* backup = sqlite3_backup_init(dest, "main", src->handle(), "main");
    if (backup == nullptr) {
      Error e = Error::Unavailable(fmt::format("backup failed: {}", sqlite3_errmsg(dest)));
      sqlite3_close_v2(dest);
      return Fail(std::move(e));
    }
    // Copy everything in one step: it runs inside one read transaction, so the snapshot is
    // consistent even while the server keeps writing.
    rc = sqlite3_backup_step(backup, -1);
    sqlite3_backup_finish(backup);
    if (rc != SQLITE_DONE) {
      sqlite3_close_v2(dest);
      return Fail(
          SqliteError(rc, fmt::format("backup to {} failed: {}", path, sqlite3_errstr(rc))));
    }
    rc = sqlite3_exec(dest, "PRAGMA journal_mode=DELETE;", nullptr, nullptr, nullptr);
    sqlite3_close_v2(dest);
    if (rc != SQLITE_OK) return Fail(SqliteError(rc, "cannot finish backup at " + path));
    return {};
  }

  BackendCapabilities capabilities() const override { return {.embedded = true}; }
  Result<DatabaseSize> Size() override { return SqliteSize(*this); }
  Result<std::int64_t> Compact() override { return SqliteCompact(*this); }
  Result<std::vector<std::string>> CheckIntegrity() override { return SqliteCheckIntegrity(*this); }

  Stats stats() const override {
    std::lock_guard lock(readers_mu_);
    return stats_;
  }

 private:
  static Result<void> RunRead(SqliteConnection& conn,
                              const std::function<Result<void>(Connection&)>& fn) {
    SL_RETURN_IF_ERROR(conn.Exec("BEGIN", {}));
    Result<void> result = fn(conn);
    (void)conn.Exec("COMMIT", {});
    return result;
  }

  void WriterLoop() {
    std::vector<WriteRequest*> batch;
    for (;;) {
      {
        std::unique_lock lock(queue_mu_);
        queue_cv_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
        if (queue_.empty() && stopping_) return;
        while (!queue_.empty() && batch.size() < kMaxBatch) {
          batch.push_back(queue_.front());
          queue_.pop_front();
        }
      }
      {
        std::lock_guard lock(writer_mu_);
        RunBatch(batch);
      }
      std::vector<std::unique_ptr<WriteRequest>> finished;  // asynchronous ones
      {
        std::lock_guard lock(queue_mu_);
        for (WriteRequest* r : batch) {
          if (r->on_done) {
            finished.emplace_back(r);
          } else {
            r->done = true;
          }
        }
        queued_async_ -= finished.size();
      }
      done_cv_.notify_all();
      batch.clear();
      // Outside every lock: a completion may queue the next write.
      for (auto& r : finished) Complete(*r);
    }
  }

  // WAL checkpoints. SQLite's automatic checkpoint (every 1,000 WAL pages) runs inside the
  // commit that crosses the mark, on the writer thread, so every write queued behind that
  // commit waits for it. Instead this hook, which SQLite calls on the writer thread after
  // each commit with the pages now in the WAL, only signals the checkpointer thread: it runs
  // passive checkpoints on a connection of its own, beside the writes. If it falls far
  // behind (Options::wal_max_pages, about 40 MB of WAL by default), the writer checkpoints
  // itself, so the WAL stays bounded whatever happens to the checkpointer.
  static int OnWalCommit(void* self, sqlite3* db, const char* name, int frames) {
    auto* d = static_cast<SqliteDatabase*>(self);
    if (frames >= d->options_.wal_max_pages) {
      d->RunCheckpoint(db, name);
    } else if (frames >= d->options_.wal_checkpoint_pages) {
      {
        std::lock_guard lock(d->checkpoint_mu_);
        d->checkpoint_wanted_ = true;
      }
      d->checkpoint_cv_.notify_one();
    }
    return SQLITE_OK;
  }

  // A passive checkpoint: copies what no reader still needs and never waits for a lock.
  void RunCheckpoint(sqlite3* db, const char* name) {
    int log = 0;
    int done = 0;
    const int rc = sqlite3_wal_checkpoint_v2(db, name, SQLITE_CHECKPOINT_PASSIVE, &log, &done);
    if (rc == SQLITE_OK) {
      std::lock_guard lock(readers_mu_);
      ++stats_.checkpoints;
    } else if (rc != SQLITE_BUSY) {
      spdlog::warn("SQLite WAL checkpoint failed: {}", sqlite3_errstr(rc));
    }
  }

  void CheckpointLoop() {
    for (;;) {
      {
        std::unique_lock lock(checkpoint_mu_);
        checkpoint_cv_.wait(lock, [&] { return checkpoint_stop_ || checkpoint_wanted_; });
        if (checkpoint_stop_) return;
        checkpoint_wanted_ = false;
      }
      std::lock_guard run(checkpoint_run_mu_);
      RunCheckpoint(checkpointer_->handle(), "main");
    }
  }

  static void Complete(WriteRequest& r) {
    try {
      r.on_done(std::move(r.result));
    } catch (const std::exception& e) {
      spdlog::error("a write's completion threw: {}", e.what());
    } catch (...) {
      spdlog::error("a write's completion threw");
    }
  }

  // Test builds: failpoint `sqlite.commit_hold=DIR` holds each commit while DIR/hold exists,
  // after creating DIR/held, so a test can see what waits on a commit (and what does not).
  static void HoldCommitForTests() {
    const auto dir = FailpointArg("sqlite.commit_hold");
    if (!dir || dir->empty()) return;
    const std::filesystem::path hold = std::filesystem::path(*dir) / "hold";
    std::error_code ec;
    if (!std::filesystem::exists(hold, ec)) return;
    std::ofstream(std::filesystem::path(*dir) / "held") << "1\n";
    while (std::filesystem::exists(hold, ec))
      std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }

  // COMMIT, or the error a test build injects there (failpoint sqlite.commit=EIO|ENOSPC).
  static Result<void> Commit(SqliteConnection& c) {
    HoldCommitForTests();
    if (const int err = FailpointErrno("sqlite.commit"); err != 0) {
      return Fail(core::SysError("failpoint at the commit of", "the SQLite database", err));
    }
    SL_RETURN_IF_ERROR(c.Exec("COMMIT", {}));
    return {};
  }

  // Runs every request of the batch in its own savepoint inside one transaction, then
  // commits once. A request that fails rolls back to its savepoint only.
  void RunBatch(std::vector<WriteRequest*>& batch) {
    SqliteConnection& c = *writer_;
    if (auto r = c.Exec("BEGIN IMMEDIATE", {}); !r) {
      for (WriteRequest* w : batch) w->result = Fail(r.error());
      return;
    }
    for (WriteRequest* w : batch) {
      if (auto r = c.Exec("SAVEPOINT w", {}); !r) {
        w->result = Fail(r.error());
        continue;
      }
      w->result = (*w->fn)(c);
      if (!w->result) (void)c.Exec("ROLLBACK TO w", {});
      (void)c.Exec("RELEASE w", {});
    }
    auto committed = Commit(c);
    if (!committed) {
      spdlog::error("SQLite commit failed: {}", committed.error().message);
      (void)c.ExecScript("ROLLBACK");
      Error e = committed.error();  // keeps what failed: a full disk, an I/O error, ...
      if (e.code == ErrorCode::kAlreadyExists || e.code == ErrorCode::kFailedPrecondition ||
          e.code == ErrorCode::kInvalidArgument || e.code == ErrorCode::kInternal) {
        e = Error::DatabaseUnavailable(e.message);  // deferred checks are not the request's doing
      }
      e.message = "commit failed: " + e.message;
      for (WriteRequest* w : batch) {
        if (w->result) w->result = Fail(e);
      }
      return;
    }
    std::lock_guard lock(readers_mu_);
    ++stats_.write_batches;
    stats_.write_transactions += static_cast<std::int64_t>(batch.size());
  }

  const std::string path_;
  const Options options_;

  std::mutex writer_mu_;  // held while the writer connection is in use
  std::unique_ptr<SqliteConnection> writer_;
  std::thread writer_thread_;

  std::unique_ptr<SqliteConnection> checkpointer_;  // used by checkpoint_thread_ only
  std::thread checkpoint_thread_;
  std::mutex checkpoint_mu_;
  std::condition_variable checkpoint_cv_;
  bool checkpoint_wanted_ = false;  // guarded by checkpoint_mu_
  bool checkpoint_stop_ = false;    // guarded by checkpoint_mu_
  std::mutex checkpoint_run_mu_;    // held by a background checkpoint and by Exclusive

  std::mutex queue_mu_;
  std::condition_variable queue_cv_;
  std::condition_variable done_cv_;
  std::deque<WriteRequest*> queue_;  // guarded by queue_mu_
  std::size_t queued_async_ = 0;     // WriteAsync requests queued or running; queue_mu_
  bool stopping_ = false;            // guarded by queue_mu_

  mutable std::mutex readers_mu_;
  std::condition_variable readers_cv_;
  std::vector<std::unique_ptr<SqliteConnection>> readers_;
  std::vector<SqliteConnection*> free_readers_;  // guarded by readers_mu_
  Stats stats_;                                  // guarded by readers_mu_
};

}  // namespace

namespace {

// The database and its -wal/-shm/-journal files are 0600 whatever the umask. SQLite gives the
// side files the database file's mode, so the database is fixed first (when it exists) and
// all of them again once open.
void MakeDatabaseFilesPrivate(const std::string& path) {
  for (const char* suffix : {"", "-wal", "-shm", "-journal"}) {
    const std::string p = path + suffix;
    struct stat st {};
    if (::lstat(p.c_str(), &st) == 0 && S_ISREG(st.st_mode) && (st.st_mode & 077) != 0) {
      (void)::chmod(p.c_str(), 0600);
    }
  }
}

}  // namespace

Result<std::unique_ptr<Database>> OpenSqlite(const std::string& path, const Options& options) {
  std::error_code ec;
  const auto parent = std::filesystem::path(path).parent_path();
  if (!parent.empty() && !path.starts_with("file:"))
    SL_RETURN_IF_ERROR(core::MakeDirsDurable(parent));
  const bool on_disk = !path.empty() && path != ":memory:" && !path.starts_with("file:");
  if (on_disk) {
    MakeDatabaseFilesPrivate(path);
    if (!std::filesystem::exists(path, ec)) {
      // Create it 0600, so SQLite's own open and every side file start private.
      const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
      if (fd >= 0) ::close(fd);
    }
  }
  auto db = std::make_unique<SqliteDatabase>(path, options);
  SL_RETURN_IF_ERROR(db->Init());
  if (on_disk) MakeDatabaseFilesPrivate(path);
  return std::unique_ptr<Database>(std::move(db));
}

}  // namespace storyloom::db
