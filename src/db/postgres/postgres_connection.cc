#include "db/postgres/postgres_connection.h"

#include <fmt/format.h>
#include <poll.h>
#include <spdlog/spdlog.h>

#include <cerrno>
#include <charconv>
#include <cstdlib>
#include <cstring>
#include <iterator>
#include <optional>

#include "core/storage_error.h"
#include "db/postgres/placeholders.h"

namespace storyloom::db {
namespace {

// Type OIDs from pg_type.h (stable across PostgreSQL versions).
constexpr Oid kBoolOid = 16;
constexpr Oid kInt8Oid = 20;
constexpr Oid kInt2Oid = 21;
constexpr Oid kInt4Oid = 23;
constexpr Oid kOidOid = 26;
constexpr Oid kFloat4Oid = 700;
constexpr Oid kFloat8Oid = 701;
constexpr Oid kNumericOid = 1700;

std::string Trim(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
  return s;
}

// The server's warnings are logged as warnings, its notices ("relation already exists,
// skipping") at debug: through a transaction pooler the connection cannot ask the server
// to keep them (client_min_messages is session state).
void LogNotice(void*, const PGresult* res) {
  const char* severity = PQresultErrorField(res, PG_DIAG_SEVERITY_NONLOCALIZED);
  const std::string message = Trim(PQresultErrorMessage(res));
  if (severity != nullptr && std::string_view(severity) == "WARNING") {
    spdlog::warn("PostgreSQL: {}", message);
  } else {
    spdlog::debug("PostgreSQL: {}", message);
  }
}

Value IntegerValue(const char* text) {
  std::int64_t n = 0;
  const char* end = text + std::strlen(text);
  if (std::from_chars(text, end, n).ec == std::errc()) return n;
  return std::string(text);
}

Value RealValue(const char* text) {
  char* end = nullptr;
  const double d = std::strtod(text, &end);
  if (end != text && *end == '\0') return d;
  return std::string(text);
}

// NUMERIC is what sum() of a BIGINT column returns: keep whole numbers exact as integers.
Value NumericValue(const char* text) {
  std::int64_t n = 0;
  const char* end = text + std::strlen(text);
  if (auto [p, ec] = std::from_chars(text, end, n); ec == std::errc() && p == end) return n;
  return RealValue(text);
}

Value ColumnValue(const PGresult* res, int row, int col, Oid type) {
  if (PQgetisnull(res, row, col)) return std::monostate{};
  const char* text = PQgetvalue(res, row, col);
  switch (type) {
    case kInt2Oid:
    case kInt4Oid:
    case kInt8Oid:
    case kOidOid:
      return IntegerValue(text);
    case kFloat4Oid:
    case kFloat8Oid:
      return RealValue(text);
    case kNumericOid:
      return NumericValue(text);
    case kBoolOid:
      return std::int64_t{text[0] == 't' ? 1 : 0};
    default:
      return std::string(text, static_cast<std::size_t>(PQgetlength(res, row, col)));
  }
}

// Appends `v` as one field of COPY's text format: \\N for NULL, backslash escapes for the
// delimiter, line breaks and the backslash itself.
void AppendCopyField(std::string& out, const Value& v) {
  if (std::holds_alternative<std::monostate>(v)) {
    out += "\\N";
  } else if (const auto* n = std::get_if<std::int64_t>(&v)) {
    char buf[24];
    out.append(buf, std::to_chars(buf, buf + sizeof buf, *n).ptr);
  } else if (const auto* d = std::get_if<double>(&v)) {
    char buf[32];  // shortest form that reads back exactly
    out.append(buf, std::to_chars(buf, buf + sizeof buf, *d).ptr);
  } else {
    for (char ch : std::get<std::string>(v)) {
      switch (ch) {
        case '\\':
          out += "\\\\";
          break;
        case '\t':
          out += "\\t";
          break;
        case '\n':
          out += "\\n";
          break;
        case '\r':
          out += "\\r";
          break;
        default:
          out += ch;
      }
    }
  }
}

}  // namespace

Error PostgresError(std::string_view sqlstate, std::string message) {
  if (sqlstate == "23505") return Error::AlreadyExists(std::move(message));
  // disk_full; the rest of class 53 (out of memory, too many connections) is unavailable.
  if (sqlstate == "53100")
    return core::CountStorageFault(Error::InsufficientStorage(std::move(message)));
  if (sqlstate == "58030") return core::CountStorageFault(Error::StorageIo(std::move(message)));
  if (sqlstate == "23503") return Error::ForeignKey(std::move(message));
  if (sqlstate == "23514" || sqlstate == "23502") return Error::InvalidArgument(std::move(message));
  // Class 22 (data exception): malformed JSON, out-of-range numbers, bad text encodings.
  if (sqlstate.starts_with("22")) return Error::InvalidArgument(std::move(message));
  if (sqlstate == "40001" || sqlstate == "40P01") return Error::Aborted(std::move(message));
  // Connection exceptions, operator intervention (shutdown, terminated backend) and
  // insufficient resources (too many connections).
  if (sqlstate.starts_with("08") || sqlstate.starts_with("57P") || sqlstate.starts_with("53")) {
    return Error::DatabaseUnavailable(std::move(message));
  }
  return Error::Internal(std::move(message));
}

Result<std::unique_ptr<PostgresConnection>> PostgresConnection::Connect(const std::string& conninfo,
                                                                        PoolMode pool_mode) {
  // Our settings come first so that the URL's own parameters (expanded from dbname) win.
  // PgBouncer refuses the `options` startup parameter (1.18, Debian 12's), so it is not
  // sent through a pooler.
  std::vector<const char*> keys = {"fallback_application_name", "connect_timeout"};
  std::vector<const char*> values = {"storyloom", "10"};
  if (pool_mode == PoolMode::kNone) {
    keys.push_back("options");
    values.push_back("-c client_min_messages=warning");
  }
  keys.insert(keys.end(), {"dbname", nullptr});
  values.insert(values.end(), {conninfo.c_str(), nullptr});
  PGconn* conn = PQconnectdbParams(keys.data(), values.data(), /*expand_dbname=*/1);
  if (conn == nullptr)
    return Fail(Error::DatabaseUnavailable("cannot allocate a PostgreSQL connection"));
  if (PQstatus(conn) != CONNECTION_OK) {
    std::string reason = Trim(PQerrorMessage(conn));
    if (reason.find("unsupported startup parameter") != std::string::npos) {
      // PgBouncer's answer to the `options` above: a pooler is in between.
      reason +=
          " (behind PgBouncer? add pool_mode=transaction, or pool_mode=session for "
          "its session pooling, to the database URL)";
    }
    Error e = Error::DatabaseUnavailable("cannot connect to PostgreSQL: " + reason);
    PQfinish(conn);
    return Fail(std::move(e));
  }
  PQsetNoticeReceiver(conn, LogNotice, nullptr);
  return std::unique_ptr<PostgresConnection>(
      new PostgresConnection(conn, pool_mode != PoolMode::kTransaction));
}

PostgresConnection::~PostgresConnection() { PQfinish(conn_); }

bool PostgresConnection::in_transaction() const {
  const PGTransactionStatusType s = PQtransactionStatus(conn_);
  return s == PQTRANS_INTRANS || s == PQTRANS_INERROR || s == PQTRANS_ACTIVE;
}

void PostgresConnection::ClearLastError() {
  last_error_.reset();
  last_sqlstate_.clear();
}

Result<void> PostgresConnection::EnsureHealthy() {
  pending_begin_ = nullptr;
  if (std::exchange(unread_answer_, false) && !broken()) {
    // The answer to SendWithoutWaiting (a read's COMMIT). A read-only COMMIT does not fail
    // in practice; if it did, the transaction must not stay open for the next user.
    bool failed = false;
    while (PGresult* raw = PQgetResult(conn_)) {
      ResultPtr res(raw);
      if (PQresultStatus(res.get()) != PGRES_COMMAND_OK) {
        failed = true;
        spdlog::warn("PostgreSQL: {}", Trim(PQresultErrorMessage(res.get())));
      }
    }
    if (failed && !broken() && in_transaction()) (void)Run("ROLLBACK");
  }
  bool reset = broken() || PQpipelineStatus(conn_) != PQ_PIPELINE_OFF;
  if (!reset) {
    // An idle connection has nothing to read unless the server is closing it (it sends a
    // FATAL error first): readable means dead, or about to be.
    pollfd p{PQsocket(conn_), POLLIN, 0};
    reset = ::poll(&p, 1, 0) != 0;
  }
  if (!reset) return {};
  spdlog::info("PostgreSQL connection lost; reconnecting");
  if (PQpipelineStatus(conn_) != PQ_PIPELINE_OFF) (void)PQexitPipelineMode(conn_);
  PQreset(conn_);
  statements_.clear();  // prepared statements die with the server session
  next_statement_ = 0;
  if (broken()) {
    return Fail(Error::DatabaseUnavailable("cannot reconnect to PostgreSQL: " +
                                           Trim(PQerrorMessage(conn_))));
  }
  return {};
}

Error PostgresConnection::Failure(const PGresult* res, std::string_view what) {
  std::string sqlstate;
  std::string message;
  if (res != nullptr) {
    const char* state = PQresultErrorField(res, PG_DIAG_SQLSTATE);
    if (state != nullptr) sqlstate = state;
    const char* primary = PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY);
    message = primary ? primary : Trim(PQresultErrorMessage(res));
    if (const char* detail = PQresultErrorField(res, PG_DIAG_MESSAGE_DETAIL)) {
      message += fmt::format(" ({})", detail);
    }
  }
  if (message.empty()) message = Trim(PQerrorMessage(conn_));
  if (sqlstate == "26000" && named_statements_) {
    // invalid_sql_statement_name: a prepared statement of this connection is gone, which
    // is what a transaction pooler does to them.
    message +=
        " (behind PgBouncer in transaction pooling mode? add pool_mode=transaction to "
        "the database URL)";
  }
  message = fmt::format("{}: {}", what, message);
  Error e = sqlstate.empty() && broken() ? Error::DatabaseUnavailable(std::move(message))
                                         : PostgresError(sqlstate, std::move(message));
  if (sqlstate.empty() && broken()) sqlstate = "08006";  // connection_failure
  last_error_ = e;
  last_sqlstate_ = sqlstate;
  return e;
}

Result<void> PostgresConnection::Run(const char* sql) {
  ResultPtr res(PQexec(conn_, sql));
  if (PQresultStatus(res.get()) != PGRES_COMMAND_OK) return Fail(Failure(res.get(), sql));
  return {};
}

Result<void> PostgresConnection::FlushBegin() {
  if (pending_begin_ == nullptr) return {};
  return Run(std::exchange(pending_begin_, nullptr));
}

void PostgresConnection::SendWithoutWaiting(const char* sql) {
  // If it cannot be sent the connection is broken, and EnsureHealthy resets it.
  unread_answer_ = PQsendQuery(conn_, sql) == 1;
}

Result<PostgresConnection::Bound> PostgresConnection::Bind(std::string_view sql,
                                                           std::span<const Value> params) {
  Bound b;
  b.key = std::string(sql);
  if (!named_statements_) {
    RewrittenSql rewritten = RewritePlaceholders(sql);
    b.parameter_count = rewritten.parameter_count;
    b.prepare = std::move(rewritten.sql);
  } else if (auto it = statements_.find(b.key); it != statements_.end()) {
    b.name = it->second.name;
    b.parameter_count = it->second.parameter_count;
  } else {
    RewrittenSql rewritten = RewritePlaceholders(sql);
    b.name = fmt::format("sl{}", ++next_statement_);
    b.parameter_count = rewritten.parameter_count;
    b.prepare = std::move(rewritten.sql);
  }
  if (static_cast<std::size_t>(b.parameter_count) != params.size()) {
    return Fail(Error::Internal(
        fmt::format("statement wants {} parameters, got {}", b.parameter_count, params.size())));
  }
  // Parameters go as text; numbers are formatted here, NULL is a null pointer.
  b.params.reserve(params.size());
  for (const Value& v : params) {
    if (std::holds_alternative<std::monostate>(v)) {
      b.params.emplace_back();
    } else if (const auto* n = std::get_if<std::int64_t>(&v)) {
      b.params.emplace_back(fmt::format("{}", *n));
    } else if (const auto* d = std::get_if<double>(&v)) {
      b.params.emplace_back(fmt::format("{}", *d));  // shortest form that reads back exactly
    } else {
      b.params.emplace_back(std::get<std::string>(v));
    }
  }
  return b;
}

namespace {
std::vector<const char*> ParamPointers(const std::vector<std::optional<std::string>>& params) {
  std::vector<const char*> out;
  out.reserve(params.size());
  for (const auto& p : params) out.push_back(p ? p->c_str() : nullptr);
  return out;
}
}  // namespace

Result<std::vector<PostgresConnection::ResultPtr>> PostgresConnection::RunPipeline(
    std::span<Bound> batch, const char* end) {
  // A statement new to this connection that appears twice is prepared once.
  for (std::size_t i = 0; named_statements_ && i < batch.size(); ++i) {
    for (std::size_t j = 0; j < i && batch[i].prepare; ++j) {
      if (batch[j].key == batch[i].key) {
        batch[i].name = batch[j].name;
        batch[i].prepare.reset();
      }
    }
  }
  const char* begin = std::exchange(pending_begin_, nullptr);
  if (PQenterPipelineMode(conn_) != 1) return Fail(Failure(nullptr, "pipeline mode failed"));
  // What each answer is for, in the order they come.
  enum class Kind { kBegin, kPrepare, kStatement, kEnd };
  std::vector<std::pair<Kind, std::size_t>> expected;
  bool sent = true;
  if (begin != nullptr) {
    sent = PQsendQueryParams(conn_, begin, 0, nullptr, nullptr, nullptr, nullptr, 0) == 1;
    expected.emplace_back(Kind::kBegin, 0);
  }
  for (std::size_t i = 0; sent && i < batch.size(); ++i) {
    const Bound& b = batch[i];
    if (!named_statements_) {
      const std::vector<const char*> values = ParamPointers(b.params);
      sent = PQsendQueryParams(conn_, b.prepare->c_str(), b.parameter_count, nullptr, values.data(),
                               nullptr, nullptr, /*resultFormat=*/0) == 1;
      expected.emplace_back(Kind::kStatement, i);
      continue;
    }
    if (b.prepare) {
      sent =
          PQsendPrepare(conn_, b.name.c_str(), b.prepare->c_str(), b.parameter_count, nullptr) == 1;
      expected.emplace_back(Kind::kPrepare, i);
    }
    const std::vector<const char*> values = ParamPointers(b.params);
    sent = sent && PQsendQueryPrepared(conn_, b.name.c_str(), b.parameter_count, values.data(),
                                       nullptr, nullptr, /*resultFormat=*/0) == 1;
    expected.emplace_back(Kind::kStatement, i);
  }
  if (sent && end != nullptr) {
    sent = PQsendQueryParams(conn_, end, 0, nullptr, nullptr, nullptr, nullptr, 0) == 1;
    expected.emplace_back(Kind::kEnd, 0);
  }
  sent = sent && PQpipelineSync(conn_) == 1;
  // A connection that fails here is broken; EnsureHealthy resets it (and its pipeline).
  if (!sent) return Fail(Failure(nullptr, "sending the statements failed"));
  // Each command answers with its result and a null; after an error the rest answer
  // PGRES_PIPELINE_ABORTED; the sync answers last.
  std::vector<ResultPtr> out(batch.size());
  std::optional<Error> error;
  for (const auto& [kind, i] : expected) {
    ResultPtr res(PQgetResult(conn_));
    if (res == nullptr) return Fail(Failure(nullptr, "a statement got no answer"));
    ResultPtr closing(PQgetResult(conn_));  // the null that ends this command's answer
    const ExecStatusType status = PQresultStatus(res.get());
    if (status == PGRES_PIPELINE_ABORTED) continue;
    if (status != PGRES_COMMAND_OK && status != PGRES_TUPLES_OK) {
      if (!error) {
        error = Failure(res.get(), kind == Kind::kBegin     ? std::string_view(begin)
                                   : kind == Kind::kEnd     ? std::string_view(end)
                                   : kind == Kind::kPrepare ? "prepare failed"
                                                            : "statement failed");
      }
      continue;
    }
    if (kind == Kind::kPrepare) {
      statements_.emplace(batch[i].key, PreparedStatement{batch[i].name, batch[i].parameter_count});
    } else if (kind == Kind::kStatement) {
      out[i] = std::move(res);
    }
  }
  ResultPtr sync(PQgetResult(conn_));
  if (PQresultStatus(sync.get()) != PGRES_PIPELINE_SYNC || PQexitPipelineMode(conn_) != 1) {
    return Fail(error.value_or(Failure(nullptr, "the pipeline did not end cleanly")));
  }
  if (error) return Fail(std::move(*error));
  return out;
}

Result<PostgresConnection::ResultPtr> PostgresConnection::Execute(std::string_view sql,
                                                                  std::span<const Value> params) {
  SL_ASSIGN_OR_RETURN(Bound b, Bind(sql, params));
  if (pending_begin_ != nullptr) {
    SL_ASSIGN_OR_RETURN(auto results, RunPipeline(std::span<Bound>(&b, 1)));
    return std::move(results.front());
  }
  const std::vector<const char*> values = ParamPointers(b.params);
  if (!named_statements_) {
    // Parse, bind and execute before one sync: one server session sees all of it.
    ResultPtr res(PQexecParams(conn_, b.prepare->c_str(), b.parameter_count, nullptr, values.data(),
                               nullptr, nullptr, /*resultFormat=*/0));
    const ExecStatusType status = PQresultStatus(res.get());
    if (status != PGRES_TUPLES_OK && status != PGRES_COMMAND_OK) {
      return Fail(Failure(res.get(), "statement failed"));
    }
    return res;
  }
  if (b.prepare) {
    // No parameter types: the server infers each from its context (a JSONB column takes
    // the text of a JSON document, a BIGINT column the digits of a number).
    ResultPtr prepared(
        PQprepare(conn_, b.name.c_str(), b.prepare->c_str(), b.parameter_count, nullptr));
    if (PQresultStatus(prepared.get()) != PGRES_COMMAND_OK) {
      return Fail(Failure(prepared.get(), "prepare failed"));
    }
    statements_.emplace(b.key, PreparedStatement{b.name, b.parameter_count});
  }
  ResultPtr res(PQexecPrepared(conn_, b.name.c_str(), b.parameter_count, values.data(), nullptr,
                               nullptr, /*resultFormat=*/0));
  const ExecStatusType status = PQresultStatus(res.get());
  if (status != PGRES_TUPLES_OK && status != PGRES_COMMAND_OK) {
    return Fail(Failure(res.get(), "statement failed"));
  }
  return res;
}

namespace {
std::vector<Row> RowsOf(const PGresult* res) {
  const int nrows = PQntuples(res);
  const int ncols = PQnfields(res);
  std::vector<Oid> types(static_cast<std::size_t>(ncols));
  for (int c = 0; c < ncols; ++c) types[c] = PQftype(res, c);
  std::vector<Row> rows;
  rows.reserve(static_cast<std::size_t>(nrows));
  for (int r = 0; r < nrows; ++r) {
    std::vector<Value> values;
    values.reserve(static_cast<std::size_t>(ncols));
    for (int c = 0; c < ncols; ++c) values.push_back(ColumnValue(res, r, c, types[c]));
    rows.emplace_back(std::move(values));
  }
  return rows;
}
}  // namespace

Result<std::vector<Row>> PostgresConnection::Query(std::string_view sql,
                                                   std::span<const Value> params) {
  SL_ASSIGN_OR_RETURN(ResultPtr res, Execute(sql, params));
  return RowsOf(res.get());
}

Result<std::vector<std::vector<Row>>> PostgresConnection::PipelineRows(
    std::span<const Statement> statements, const char* end) {
  std::vector<Bound> batch;
  batch.reserve(statements.size());
  for (const Statement& st : statements) {
    SL_ASSIGN_OR_RETURN(Bound b, Bind(st.sql, st.params));
    batch.push_back(std::move(b));
  }
  SL_ASSIGN_OR_RETURN(auto results, RunPipeline(batch, end));
  std::vector<std::vector<Row>> out;
  out.reserve(results.size());
  for (const auto& res : results) out.push_back(RowsOf(res.get()));
  return out;
}

Result<std::vector<std::vector<Row>>> PostgresConnection::QueryBatch(
    std::span<const Statement> statements) {
  if (statements.empty()) return std::vector<std::vector<Row>>{};
  return PipelineRows(statements, nullptr);
}

Result<std::vector<std::vector<Row>>> PostgresConnection::QueryBatchInTransaction(
    const char* begin, std::span<const Statement> statements) {
  pending_begin_ = begin;
  auto rows = PipelineRows(statements, "COMMIT");
  // A failed statement left the transaction aborted (its COMMIT was skipped).
  if (!rows && !broken() && in_transaction()) (void)Run("ROLLBACK");
  return rows;
}

Result<std::int64_t> PostgresConnection::Exec(std::string_view sql, std::span<const Value> params) {
  SL_ASSIGN_OR_RETURN(ResultPtr res, Execute(sql, params));
  const char* tuples = PQcmdTuples(res.get());
  std::int64_t n = 0;
  if (tuples != nullptr) std::from_chars(tuples, tuples + std::strlen(tuples), n);
  return n;
}

Result<void> PostgresConnection::BulkInsert(std::string_view table,
                                            std::span<const std::string> columns,
                                            std::span<const std::vector<Value>> rows) {
  if (columns.empty()) return Fail(Error::InvalidArgument("BulkInsert needs columns"));
  SL_RETURN_IF_ERROR(FlushBegin());
  std::string sql = fmt::format("COPY \"{}\" (", table);
  for (std::size_t i = 0; i < columns.size(); ++i) {
    sql += fmt::format("{}\"{}\"", i ? ", " : "", columns[i]);
  }
  sql += ") FROM STDIN";
  ResultPtr start(PQexec(conn_, sql.c_str()));
  if (PQresultStatus(start.get()) != PGRES_COPY_IN)
    return Fail(Failure(start.get(), "COPY failed"));

  constexpr std::size_t kChunk = 1 << 20;
  std::string buf;
  buf.reserve(kChunk + 4096);
  const char* abort_reason = nullptr;
  std::optional<Error> row_error;
  auto send = [&]() {
    if (buf.empty()) return true;
    const bool sent = PQputCopyData(conn_, buf.data(), static_cast<int>(buf.size())) == 1;
    buf.clear();
    return sent;
  };
  for (const auto& row : rows) {
    if (row.size() != columns.size()) {
      row_error = Error::InvalidArgument(
          fmt::format("a row of {} has {} values, expected {}", table, row.size(), columns.size()));
      abort_reason = "a row has the wrong number of values";
      break;
    }
    for (std::size_t i = 0; i < row.size(); ++i) {
      if (i) buf += '\t';
      AppendCopyField(buf, row[i]);
    }
    buf += '\n';
    if (buf.size() >= kChunk && !send()) {
      abort_reason = "sending the rows failed";
      break;
    }
  }
  if (abort_reason == nullptr && !send()) abort_reason = "sending the rows failed";
  // On an error the server answers the end of the data with the reason; drain every result.
  PQputCopyEnd(conn_, abort_reason);
  std::optional<Error> failure;
  while (PGresult* raw = PQgetResult(conn_)) {
    ResultPtr res(raw);
    if (PQresultStatus(res.get()) != PGRES_COMMAND_OK && !failure) {
      failure = Failure(res.get(), "COPY failed");
    }
  }
  if (row_error) return Fail(std::move(*row_error));
  if (failure) return Fail(std::move(*failure));
  return {};
}

Result<std::vector<std::string>> PostgresConnection::WaitForNotifications(
    std::chrono::milliseconds timeout) {
  std::vector<std::string> out;
  auto drain = [&] {
    while (PGnotify* n = PQnotifies(conn_)) {
      out.emplace_back(n->extra ? n->extra : "");
      PQfreemem(n);
    }
  };
  auto lost = [&] {
    return Fail(Error::DatabaseUnavailable("the PostgreSQL listener connection was lost: " +
                                           Trim(PQerrorMessage(conn_))));
  };
  if (PQconsumeInput(conn_) == 0) return lost();
  drain();
  if (!out.empty()) return out;
  pollfd p{PQsocket(conn_), POLLIN, 0};
  const int ready = ::poll(&p, 1, static_cast<int>(timeout.count()));
  if (ready < 0 && errno != EINTR) return lost();
  if (ready > 0) {
    if (PQconsumeInput(conn_) == 0 || broken()) return lost();
    drain();
  }
  return out;
}

Result<void> PostgresConnection::ExecScript(std::string_view sql) {
  // The simple protocol runs several statements in one call; PQexec returns the last
  // result, which is the error if any statement failed (the rest are skipped).
  SL_RETURN_IF_ERROR(FlushBegin());
  const std::string script(sql);
  ResultPtr res(PQexec(conn_, script.c_str()));
  const ExecStatusType status = PQresultStatus(res.get());
  if (status != PGRES_COMMAND_OK && status != PGRES_TUPLES_OK && status != PGRES_EMPTY_QUERY) {
    return Fail(Failure(res.get(), "script failed"));
  }
  return {};
}

}  // namespace storyloom::db
