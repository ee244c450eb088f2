#include "db/sqlite/sqlite_connection.h"

#include <fmt/format.h>

#include "core/storage_error.h"

namespace storyloom::db {

Error SqliteError(int code, std::string_view message) {
  std::string msg(message);
  switch (code) {
    case SQLITE_CONSTRAINT_UNIQUE:
    case SQLITE_CONSTRAINT_PRIMARYKEY:
      return Error::AlreadyExists(msg);
    case SQLITE_CONSTRAINT_FOREIGNKEY:
      return Error::ForeignKey(msg);
    case SQLITE_CONSTRAINT_CHECK:
    case SQLITE_CONSTRAINT_NOTNULL:
      return Error::InvalidArgument(msg);
  }
  switch (code & 0xff) {
    case SQLITE_FULL:
      return core::CountStorageFault(Error::InsufficientStorage(msg));
    case SQLITE_IOERR:
      return core::CountStorageFault(Error::StorageIo(msg));
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
    case SQLITE_CANTOPEN:
    case SQLITE_READONLY:
      return Error::DatabaseUnavailable(msg);
    case SQLITE_CONSTRAINT:
      return Error::FailedPrecondition(msg);
    case SQLITE_CORRUPT:
    case SQLITE_NOTADB:
      return Error::Internal("database file is corrupt: " + msg);
  }
  return Error::Internal(msg);
}

Result<std::unique_ptr<SqliteConnection>> SqliteConnection::Open(const std::string& path,
                                                                 bool read_only,
                                                                 const Options& options) {
  sqlite3* db = nullptr;
  const int flags =
      (read_only ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE) |
      SQLITE_OPEN_NOMUTEX | SQLITE_OPEN_EXRESCODE;
  const int rc = sqlite3_open_v2(path.c_str(), &db, flags, nullptr);
  if (rc != SQLITE_OK) {
    Error e = SqliteError(rc, fmt::format("cannot open SQLite database {}: {}", path,
                                          db ? sqlite3_errmsg(db) : sqlite3_errstr(rc)));
    sqlite3_close_v2(db);
    return Fail(Error::DatabaseUnavailable(e.message));
  }
  std::unique_ptr<SqliteConnection> conn(new SqliteConnection(db));
  sqlite3_busy_timeout(db, options.busy_timeout_ms);
  sqlite3_extended_result_codes(db, 1);
  std::string pragmas = "PRAGMA foreign_keys=ON;";
  if (read_only) {
    pragmas += "PRAGMA query_only=1;";
  } else {
    // auto_vacuum only takes effect on a database with no tables yet: new files get
    // incremental vacuum so cleanup can hand space back without a full VACUUM.
    pragmas += "PRAGMA auto_vacuum=INCREMENTAL; PRAGMA journal_mode=WAL;";
    pragmas += fmt::format("PRAGMA synchronous={};", options.synchronous);
  }
  SL_RETURN_IF_ERROR(conn->ExecScript(pragmas));
  return conn;
}

SqliteConnection::~SqliteConnection() {
  for (auto& [sql, stmt] : cache_) sqlite3_finalize(stmt);
  sqlite3_close_v2(db_);
}

Error SqliteConnection::LastError(std::string_view what) const {
  return SqliteError(sqlite3_extended_errcode(db_),
                     fmt::format("{}: {}", what, sqlite3_errmsg(db_)));
}

Result<sqlite3_stmt*> SqliteConnection::Prepare(std::string_view sql) {
  auto it = cache_.find(std::string(sql));
  if (it != cache_.end()) return it->second;
  sqlite3_stmt* stmt = nullptr;
  const int rc = sqlite3_prepare_v3(db_, sql.data(), static_cast<int>(sql.size()),
                                    SQLITE_PREPARE_PERSISTENT, &stmt, nullptr);
  if (rc != SQLITE_OK) return Fail(LastError("prepare failed"));
  if (stmt == nullptr) return Fail(Error::Internal("empty SQL statement"));
  cache_.emplace(std::string(sql), stmt);
  return stmt;
}

Result<void> SqliteConnection::Bind(sqlite3_stmt* stmt, std::span<const Value> params) {
  if (static_cast<int>(params.size()) != sqlite3_bind_parameter_count(stmt)) {
    return Fail(Error::Internal(fmt::format("statement wants {} parameters, got {}",
                                            sqlite3_bind_parameter_count(stmt), params.size())));
  }
  for (std::size_t i = 0; i < params.size(); ++i) {
    const int idx = static_cast<int>(i) + 1;
    int rc = SQLITE_OK;
    const Value& v = params[i];
    if (std::holds_alternative<std::monostate>(v)) {
      rc = sqlite3_bind_null(stmt, idx);
    } else if (const auto* n = std::get_if<std::int64_t>(&v)) {
      rc = sqlite3_bind_int64(stmt, idx, *n);
    } else if (const auto* d = std::get_if<double>(&v)) {
      rc = sqlite3_bind_double(stmt, idx, *d);
    } else {
      const auto& s = std::get<std::string>(v);
      rc = sqlite3_bind_text64(stmt, idx, s.data(), s.size(), SQLITE_STATIC, SQLITE_UTF8);
    }
    if (rc != SQLITE_OK) return Fail(LastError("bind failed"));
  }
  return {};
}

namespace {

// Resets a cached statement when the call is over, whatever happens.
struct StatementReset {
  sqlite3_stmt* stmt;
  ~StatementReset() {
    sqlite3_reset(stmt);
    sqlite3_clear_bindings(stmt);
  }
};

}  // namespace

Result<std::vector<Row>> SqliteConnection::Query(std::string_view sql,
                                                 std::span<const Value> params) {
  SL_ASSIGN_OR_RETURN(sqlite3_stmt * stmt, Prepare(sql));
  StatementReset reset{stmt};
  SL_RETURN_IF_ERROR(Bind(stmt, params));
  std::vector<Row> rows;
  const int ncol = sqlite3_column_count(stmt);
  for (;;) {
    const int rc = sqlite3_step(stmt);
    if (rc == SQLITE_DONE) break;
    if (rc != SQLITE_ROW) return Fail(LastError("query failed"));
    std::vector<Value> values;
    values.reserve(ncol);
    for (int c = 0; c < ncol; ++c) {
      switch (sqlite3_column_type(stmt, c)) {
        case SQLITE_NULL:
          values.emplace_back(std::monostate{});
          break;
        case SQLITE_INTEGER:
          values.emplace_back(static_cast<std::int64_t>(sqlite3_column_int64(stmt, c)));
          break;
        case SQLITE_FLOAT:
          values.emplace_back(sqlite3_column_double(stmt, c));
          break;
        default: {
          const auto* p = reinterpret_cast<const char*>(sqlite3_column_text(stmt, c));
          values.emplace_back(std::string(p ? p : "", sqlite3_column_bytes(stmt, c)));
        }
      }
    }
    rows.emplace_back(std::move(values));
  }
  return rows;
}

Result<std::int64_t> SqliteConnection::Exec(std::string_view sql, std::span<const Value> params) {
  SL_ASSIGN_OR_RETURN(sqlite3_stmt * stmt, Prepare(sql));
  StatementReset reset{stmt};
  SL_RETURN_IF_ERROR(Bind(stmt, params));
  for (;;) {
    const int rc = sqlite3_step(stmt);
    if (rc == SQLITE_DONE) break;
    if (rc != SQLITE_ROW) return Fail(LastError("statement failed"));
  }
  return static_cast<std::int64_t>(sqlite3_changes64(db_));
}

Result<void> SqliteConnection::ExecScript(std::string_view sql) {
  char* err = nullptr;
  const std::string script(sql);
  const int rc = sqlite3_exec(db_, script.c_str(), nullptr, nullptr, &err);
  if (rc != SQLITE_OK) {
    Error e = SqliteError(sqlite3_extended_errcode(db_), err ? err : sqlite3_errstr(rc));
    sqlite3_free(err);
    return Fail(std::move(e));
  }
  return {};
}

}  // namespace storyloom::db
