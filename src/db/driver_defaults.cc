// The portable defaults of optional driver features: Connection::BulkInsert as multi-row
// INSERTs of as many rows as the statement's parameter limit allows (each statement
// prepared once per row count), Database::Listen as "not supported", and
// Database::WriteAsync as a Write whose outcome is handed to the callback.
#include <fmt/format.h>

#include <algorithm>

#include "db/database.h"

namespace storyloom::db {
namespace {

// SQLite's default SQLITE_MAX_VARIABLE_NUMBER is 32766; PostgreSQL's limit is 65535.
constexpr std::size_t kMaxParameters = 30000;
constexpr std::size_t kMaxRowsPerStatement = 500;

}  // namespace

Result<void> Connection::BulkInsert(std::string_view table, std::span<const std::string> columns,
                                    std::span<const std::vector<Value>> rows) {
  if (columns.empty()) return Fail(Error::InvalidArgument("BulkInsert needs columns"));
  const std::size_t per =
      std::clamp<std::size_t>(kMaxParameters / columns.size(), 1, kMaxRowsPerStatement);
  std::string one = "(";
  std::string head = fmt::format("INSERT INTO \"{}\" (", table);
  for (std::size_t i = 0; i < columns.size(); ++i) {
    one += i ? ", ?" : "?";
    head += fmt::format("{}\"{}\"", i ? ", " : "", columns[i]);
  }
  one += ")";
  head += ") VALUES ";
  std::string sql;
  std::size_t sql_rows = 0;
  std::vector<Value> params;
  for (std::size_t start = 0; start < rows.size(); start += per) {
    const std::size_t n = std::min(per, rows.size() - start);
    if (n != sql_rows) {
      sql = head;
      for (std::size_t r = 0; r < n; ++r) sql += (r ? ", " : "") + one;
      sql_rows = n;
    }
    params.clear();
    params.reserve(n * columns.size());
    for (std::size_t r = start; r < start + n; ++r) {
      if (rows[r].size() != columns.size()) {
        return Fail(Error::InvalidArgument(fmt::format("a row of {} has {} values, expected {}",
                                                       table, rows[r].size(), columns.size())));
      }
      params.insert(params.end(), rows[r].begin(), rows[r].end());
    }
    SL_RETURN_IF_ERROR(Exec(sql, params));
  }
  return {};
}

Result<void> Database::WriteAsync(std::function<Result<void>(Connection&)> fn, WriteDone done) {
  // Taken by value for the drivers that keep them (the SQLite writer's queue); used at once
  // here.
  const auto write = std::move(fn);
  const auto finish = std::move(done);
  finish(Write(write));
  return {};
}

Result<std::vector<std::vector<Row>>> Database::ReadBatch(std::span<const Statement> statements) {
  std::vector<std::vector<Row>> out;
  SL_RETURN_IF_ERROR(Read([&](Connection& c) -> Result<void> {
    SL_ASSIGN_OR_RETURN(out, c.QueryBatch(statements));
    return {};
  }));
  return out;
}

Result<std::unique_ptr<Listener>> Database::Listen(const std::string&) {
  return Fail(Error::FailedPrecondition(display_url() + " has no notifications"));
}

}  // namespace storyloom::db
