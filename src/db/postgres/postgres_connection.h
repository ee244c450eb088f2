// PostgresConnection: one libpq connection with a cache of prepared statements, `?`
// placeholders rewritten to $n, parameters and results as text converted to db::Value.
// Not thread-safe; owned and serialised by PostgresDatabase's pool.
#pragma once

#include <libpq-fe.h>

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "db/database.h"
#include "db/url.h"

namespace storyloom::db {

class PostgresConnection final : public Connection {
 public:
  // Connects to `conninfo` (a postgresql:// URL or key=value string). Returns unavailable
  // with libpq's reason when the server cannot be reached or refuses the login.
  // `pool_mode` (url.h): behind a pooler no startup `options` are sent; behind a
  // transaction pooler (PgBouncer pool_mode=transaction) each statement may reach another
  // server session outside a transaction, so statements are sent unnamed (parse, bind and
  // execute before one sync) instead of prepared once per connection.
  static Result<std::unique_ptr<PostgresConnection>> Connect(const std::string& conninfo,
                                                             PoolMode pool_mode = PoolMode::kNone);
  ~PostgresConnection() override;
  PostgresConnection(const PostgresConnection&) = delete;
  PostgresConnection& operator=(const PostgresConnection&) = delete;

  Dialect dialect() const override { return Dialect::kPostgres; }
  Result<std::vector<Row>> Query(std::string_view sql, std::span<const Value> params) override;
  Result<std::int64_t> Exec(std::string_view sql, std::span<const Value> params) override;
  // One pipeline: one round trip for the whole batch (and a pending BEGIN).
  Result<std::vector<std::vector<Row>>> QueryBatch(std::span<const Statement> statements) override;
  // A whole transaction in one pipeline: `begin`, the statements, COMMIT. On failure the
  // transaction is rolled back.
  Result<std::vector<std::vector<Row>>> QueryBatchInTransaction(
      const char* begin, std::span<const Statement> statements);
  Result<void> ExecScript(std::string_view sql) override;
  // COPY … FROM STDIN in the text format, streamed in chunks of about 1 MiB.
  Result<void> BulkInsert(std::string_view table, std::span<const std::string> columns,
                          std::span<const std::vector<Value>> rows) override;

  // Catalog and bulk load (sqlite/sqlite_catalog.cc | postgres/postgres_catalog.cc).
  Result<std::vector<CatalogTable>> DescribeTables() override;
  Result<std::vector<std::string>> DropSecondaryIndexes(const std::string& table) override;
  Result<void> ResetIdSequence(const std::string& table) override;
  Result<void> SetUserTriggers(const std::string& table, bool enabled) override;
  Result<void> EmptyTables(std::span<const std::string> parent_first,
                           std::span<const std::pair<std::string, std::string>> cycle) override;

  // Runs a parameterless statement with the simple protocol (BEGIN, COMMIT, ROLLBACK).
  Result<void> Run(const char* sql);

  // Transactions begin lazily: DeferBegin keeps `begin` (a BEGIN statement, a literal), and
  // the first statement run afterwards sends it in one pipeline with that statement, so a
  // transaction's first query costs one round trip, not two. ExecScript and BulkInsert send
  // it on its own first. TakeBegun reports whether it went out and forgets it if not (a
  // transaction that ran no statement has nothing to commit).
  void DeferBegin(const char* begin) { pending_begin_ = begin; }
  bool TakeBegun() { return std::exchange(pending_begin_, nullptr) == nullptr; }

  // Sends `sql` (the COMMIT of a read-only transaction) without waiting for the answer; the
  // next EnsureHealthy reads it before the connection is used again.
  void SendWithoutWaiting(const char* sql);

  // Makes sure the connection is usable before it is handed out: a connection the server
  // closed (restart, pg_terminate_backend, idle timeout) is reset once. Returns
  // unavailable if it still cannot connect.
  Result<void> EnsureHealthy();

  // True once libpq has seen the connection fail; the next EnsureHealthy resets it.
  bool broken() const { return PQstatus(conn_) != CONNECTION_OK; }
  // Inside BEGIN … COMMIT (idle, active or failed).
  bool in_transaction() const;
  // Inside a transaction that a failed statement aborted: COMMIT would roll it back.
  bool transaction_failed() const { return PQtransactionStatus(conn_) == PQTRANS_INERROR; }

  // The error of the last failed statement since ClearLastError(), if any.
  const std::optional<Error>& last_error() const { return last_error_; }
  const std::string& last_sqlstate() const { return last_sqlstate_; }
  void ClearLastError();

  // Waits up to `timeout` for NOTIFY messages on the channels this connection LISTENs
  // to (after Run("LISTEN …")) and returns their payloads. unavailable if the connection
  // is lost.
  Result<std::vector<std::string>> WaitForNotifications(std::chrono::milliseconds timeout);

  // The server process serving this connection (pg_backend_pid()).
  int backend_pid() const { return PQbackendPID(conn_); }

 private:
  PostgresConnection(PGconn* conn, bool named_statements)
      : conn_(conn), named_statements_(named_statements) {}

  struct ResultDeleter {
    void operator()(PGresult* r) const { PQclear(r); }
  };
  using ResultPtr = std::unique_ptr<PGresult, ResultDeleter>;

  // A statement ready to send: its prepared name, the SQL to prepare first when it is new
  // on this connection, and its parameters as text (nullopt for NULL). Without named
  // statements the name is empty and `prepare` always set: it is sent unnamed.
  struct Bound {
    std::string key;  // the SQL as written
    std::string name;
    std::optional<std::string> prepare;  // the rewritten SQL, when not prepared yet
    int parameter_count = 0;
    std::vector<std::optional<std::string>> params;
  };
  // Looks `sql` up among the prepared statements (or names it anew) and formats `params`.
  Result<Bound> Bind(std::string_view sql, std::span<const Value> params);
  // Prepares (once per connection) and runs `sql`; returns the successful result.
  Result<ResultPtr> Execute(std::string_view sql, std::span<const Value> params);
  // Sends a pending BEGIN, the statements (preparing the new ones first), then `end` (a
  // COMMIT, when given) and a sync in one pipeline, and returns each statement's result.
  Result<std::vector<ResultPtr>> RunPipeline(std::span<Bound> batch, const char* end = nullptr);
  // Binds `statements`, runs them with RunPipeline(…, end) and returns their rows.
  Result<std::vector<std::vector<Row>>> PipelineRows(std::span<const Statement> statements,
                                                     const char* end);
  // Sends a pending BEGIN on its own (before the simple protocol or COPY).
  Result<void> FlushBegin();
  // Maps a failed result (or a lost connection when `res` is null) to an Error and
  // remembers it as the last error.
  Error Failure(const PGresult* res, std::string_view what);

  struct PreparedStatement {
    std::string name;  // server-side prepared statement name
    int parameter_count = 0;
  };

  PGconn* conn_;
  const bool named_statements_;  // false behind a transaction pooler
  std::unordered_map<std::string, PreparedStatement> statements_;  // keyed by the SQL as written
  int next_statement_ = 0;
  std::optional<Error> last_error_;
  std::string last_sqlstate_;
  const char* pending_begin_ = nullptr;  // DeferBegin's statement, not sent yet
  bool unread_answer_ = false;           // SendWithoutWaiting's answer is still to be read
};

// Maps a SQLSTATE and message to an Error: 23505 → already_exists, 23503 →
// failed_precondition (IsForeignKey), 23514/23502 and class 22 → invalid_argument,
// 40001/40P01 → aborted, classes 08, 57P and 53 → unavailable (IsDatabaseUnavailable; 53100
// is insufficient_storage), anything else → internal.
Error PostgresError(std::string_view sqlstate, std::string message);

}  // namespace storyloom::db
