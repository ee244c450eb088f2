// Connection's convenience readers over Query.
#include "db/database.h"

namespace storyloom::db {

std::string QuoteIdentifier(std::string_view ident) {
  std::string out = "\"";
  for (char ch : ident) {
    out.push_back(ch);
    if (ch == '"') out.push_back('"');
  }
  out.push_back('"');
  return out;
}

Result<Row> Connection::QueryOne(std::string_view sql, std::span<const Value> params) {
  SL_ASSIGN_OR_RETURN(auto rows, Query(sql, params));
  if (rows.empty()) return Fail(Error::NotFound("no row"));
  return std::move(rows.front());
}

Result<std::vector<std::string>> Connection::DropIndexesListed(std::string_view catalog_sql,
                                                               std::span<const Value> params) {
  SL_ASSIGN_OR_RETURN(auto rows, Query(catalog_sql, params));
  std::vector<std::string> restore;
  for (const auto& r : rows) {
    SL_RETURN_IF_ERROR(Exec("DROP INDEX " + QuoteIdentifier(r.Text(0)), {}));
    restore.push_back(r.Text(1));
  }
  return restore;
}

Result<std::vector<std::vector<Row>>> Connection::QueryBatch(
    std::span<const Statement> statements) {
  std::vector<std::vector<Row>> out;
  out.reserve(statements.size());
  for (const Statement& s : statements) {
    SL_ASSIGN_OR_RETURN(auto rows, Query(s.sql, s.params));
    out.push_back(std::move(rows));
  }
  return out;
}

Result<std::optional<Row>> Connection::QueryOpt(std::string_view sql,
                                                std::span<const Value> params) {
  SL_ASSIGN_OR_RETURN(auto rows, Query(sql, params));
  if (rows.empty()) return std::optional<Row>();
  return std::optional<Row>(std::move(rows.front()));
}

}  // namespace storyloom::db
