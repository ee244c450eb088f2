// The database's health from its catalog and statistics: each backend's own SQL, since
// neither has the other's views (pg_stat_* against PRAGMAs).
#include "db/database.h"
#include "store/safe_sum.h"
#include "storyloom/store.h"

namespace storyloom {

using db::Value;

namespace {

// Largest tables first; sizes from the files' lengths, rows from the planner's estimate
// (or the live rows counted by the statistics before the first ANALYZE); times in
// milliseconds since the epoch, NULL when never.
constexpr const char* kPgTables =
    "SELECT c.relname,"
    " CAST(CASE WHEN c.reltuples >= 0 THEN c.reltuples ELSE coalesce(s.n_live_tup, 0) END"
    " AS bigint),"
    " coalesce(pg_table_size(c.oid), 0), coalesce(pg_indexes_size(c.oid), 0),"
    " coalesce(s.n_dead_tup, 0),"
    " CAST(extract(epoch FROM s.last_vacuum) * 1000 AS bigint),"
    " CAST(extract(epoch FROM s.last_autovacuum) * 1000 AS bigint),"
    " CAST(extract(epoch FROM s.last_analyze) * 1000 AS bigint),"
    " CAST(extract(epoch FROM s.last_autoanalyze) * 1000 AS bigint)"
    " FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
    " LEFT JOIN pg_stat_user_tables s ON s.relid = c.oid"
    " WHERE n.nspname = current_schema() AND c.relkind IN ('r', 'p')"
    " ORDER BY coalesce(pg_total_relation_size(c.oid), 0) DESC, c.relname"
    " LIMIT CAST(? AS bigint)";

constexpr const char* kPgServer =
    "SELECT current_setting('server_version'), pg_database_size(current_database()),"
    " CAST(current_setting('max_connections') AS bigint), pg_is_in_recovery()";

// Client connections to the whole server, since max_connections bounds them all.
constexpr const char* kPgConnections =
    "SELECT coalesce(state, 'unknown'), count(*) FROM pg_stat_activity"
    " WHERE backend_type = 'client backend' GROUP BY 1 ORDER BY 1";

// Transactions of this database (the ones that hold back its vacuum) open longer than the
// threshold, oldest first; not this one.
constexpr const char* kPgLongTransactions =
    "SELECT pid, state, usename, application_name, age_ms,"
    " left(query, CAST(? AS integer)) FROM ("
    " SELECT pid, coalesce(state, '') AS state, coalesce(usename, '') AS usename,"
    " coalesce(application_name, '') AS application_name, coalesce(query, '') AS query,"
    " CAST(extract(epoch FROM clock_timestamp() - xact_start) * 1000 AS bigint) AS age_ms"
    " FROM pg_stat_activity WHERE datname = current_database() AND xact_start IS NOT NULL"
    " AND pid <> pg_backend_pid()) a"
    " WHERE age_ms > CAST(? AS bigint) ORDER BY age_ms DESC LIMIT CAST(? AS bigint)";

constexpr const char* kPgReplicas =
    "SELECT coalesce(application_name, ''), coalesce(CAST(client_addr AS text), ''),"
    " coalesce(state, ''), coalesce(sync_state, ''),"
    " CAST(extract(epoch FROM replay_lag) * 1000 AS bigint)"
    " FROM pg_stat_replication ORDER BY 1 LIMIT 20";

}  // namespace

Result<DatabaseHealth> HealthRepo::Status(const HealthOptions& options) {
  DatabaseHealth out;
  if (c_.dialect() == db::Dialect::kPostgres) {
    SL_RETURN_IF_ERROR(PostgresStatus(options, out));
  } else {
    SL_RETURN_IF_ERROR(SqliteStatus(out));
  }
  SL_ASSIGN_OR_RETURN(auto last, c_.QueryOpt("SELECT created_at, path FROM backups WHERE status "
                                             "= 'ok' ORDER BY created_at DESC LIMIT 1"));
  if (last) {
    out.last_backup_at = last->Int(0);
    out.last_backup_path = last->Text(1);
  }
  return out;
}

Result<void> HealthRepo::PostgresStatus(const HealthOptions& options, DatabaseHealth& out) {
  const db::Statement statements[] = {
      {kPgServer, {}},
      {kPgTables, {std::int64_t{options.max_tables}}},
      {kPgConnections, {}},
      {kPgLongTransactions,
       {std::int64_t{options.query_chars}, options.long_transaction_ms,
        std::int64_t{options.max_long_transactions}}},
      {kPgReplicas, {}},
  };
  SL_ASSIGN_OR_RETURN(auto results, c_.QueryBatch(statements));
  const db::Row& server = results[0].at(0);
  out.server_version = server.Text(0);
  out.size_bytes = server.Int(1);
  out.max_connections = server.Int(2);
  out.in_recovery = server.Int(3) != 0;
  for (const auto& r : results[1]) {
    out.tables.push_back({r.Text(0), r.Int(1), r.Int(2), r.Int(3), r.Int(4), r.OptInt(5),
                          r.OptInt(6), r.OptInt(7), r.OptInt(8)});
  }
  for (const auto& r : results[2]) out.connections.push_back({r.Text(0), r.Int(1)});
  for (const auto& r : results[3]) {
    out.long_transactions.push_back(
        {r.Int(0), r.Text(1), r.Text(2), r.Text(3), r.Int(4), r.Text(5)});
  }
  for (const auto& r : results[4]) {
    out.replicas.push_back({r.Text(0), r.Text(1), r.Text(2), r.Text(3), r.OptInt(4)});
  }
  return {};
}

Result<void> HealthRepo::SqliteStatus(DatabaseHealth& out) {
  SL_ASSIGN_OR_RETURN(auto version, c_.QueryOne("SELECT sqlite_version()"));
  SL_ASSIGN_OR_RETURN(auto pages, c_.QueryOne("PRAGMA page_count"));
  SL_ASSIGN_OR_RETURN(auto size, c_.QueryOne("PRAGMA page_size"));
  SL_ASSIGN_OR_RETURN(auto freelist, c_.QueryOne("PRAGMA freelist_count"));
  out.server_version = version.Text(0);
  out.page_count = pages.Int(0);
  out.page_size = size.Int(0);
  out.size_bytes = out.page_count * out.page_size;
  out.free_pages = freelist.Int(0);
  // quick_check: integrity_check without the index cross-checks, fast enough for a status;
  // at most 100 complaints.
  SL_ASSIGN_OR_RETURN(auto quick, c_.Query("PRAGMA quick_check(100)"));
  out.quick_check.emplace();
  for (const auto& row : quick) {
    if (row.Text(0) != "ok") out.quick_check->push_back(row.Text(0));
  }
  SL_ASSIGN_OR_RETURN(auto wf, c_.QueryOne("SELECT count(*) FROM workflows"));
  SL_ASSIGN_OR_RETURN(auto files,
                      c_.QueryOne("SELECT count(*), " + store::SafeSum(c_.dialect(), "file_size") +
                                  " FROM generated_files"));
  SL_ASSIGN_OR_RETURN(auto usage, c_.QueryOne("SELECT count(*) FROM api_usage"));
  out.workflows = wf.Int(0);
  out.files = files.Int(0);
  out.file_bytes = files.Int(1);
  out.usage_rows = usage.Int(0);
  return {};
}

Result<AmcheckState> HealthRepo::Amcheck() {
  AmcheckState st;
  if (c_.dialect() != db::Dialect::kPostgres) return st;
  SL_ASSIGN_OR_RETURN(
      auto row,
      c_.QueryOne("SELECT (SELECT n.nspname FROM pg_extension e JOIN pg_namespace n"
                  " ON n.oid = e.extnamespace WHERE e.extname = 'amcheck'),"
                  " EXISTS (SELECT 1 FROM pg_available_extensions WHERE name = 'amcheck')"));
  st.installed = !row.IsNull(0);
  st.schema = row.Text(0);
  st.available = st.installed || row.Int(1) != 0;
  if (!st.installed) return st;
  const Value v[] = {db::QuoteIdentifier(st.schema) + ".bt_index_check(regclass)"};
  SL_ASSIGN_OR_RETURN(auto allowed,
                      c_.QueryOne("SELECT has_function_privilege(CAST(? AS text), 'EXECUTE')", v));
  st.allowed = allowed.Int(0) != 0;
  return st;
}

Result<void> HealthRepo::InstallAmcheck() {
  SL_RETURN_IF_ERROR(c_.Exec("CREATE EXTENSION IF NOT EXISTS amcheck"));
  return {};
}

Result<std::vector<IndexRef>> HealthRepo::BtreeIndexes() {
  std::vector<IndexRef> out;
  if (c_.dialect() != db::Dialect::kPostgres) return out;
  SL_ASSIGN_OR_RETURN(
      auto rows,
      c_.Query("SELECT CAST(i.indexrelid AS bigint), ci.relname, ct.relname FROM pg_index i"
               " JOIN pg_class ci ON ci.oid = i.indexrelid"
               " JOIN pg_class ct ON ct.oid = i.indrelid"
               " JOIN pg_namespace n ON n.oid = ci.relnamespace"
               " JOIN pg_am a ON a.oid = ci.relam"
               " WHERE n.nspname = current_schema() AND a.amname = 'btree' AND i.indisvalid"
               " AND i.indisready AND ci.relpersistence <> 't'"
               " ORDER BY ct.relname, ci.relname LIMIT 10000"));
  for (const auto& r : rows) out.push_back({r.Int(0), r.Text(1), r.Text(2)});
  return out;
}

Result<void> HealthRepo::CheckBtreeIndex(const AmcheckState& amcheck, const IndexRef& index) {
  const Value v[] = {index.oid};
  SL_RETURN_IF_ERROR(c_.Query("SELECT " + db::QuoteIdentifier(amcheck.schema) +
                                  ".bt_index_check(CAST(CAST(? AS bigint) AS oid))",
                              v));
  return {};
}

Result<std::vector<std::string>> HealthRepo::ConstraintProblems() {
  std::vector<std::string> out;
  if (c_.dialect() != db::Dialect::kPostgres) return out;
  SL_ASSIGN_OR_RETURN(
      auto rows, c_.Query("SELECT 'index ' || ci.relname || ' on ' || ct.relname || ' is invalid'"
                          " FROM pg_index i JOIN pg_class ci ON ci.oid = i.indexrelid"
                          " JOIN pg_class ct ON ct.oid = i.indrelid"
                          " JOIN pg_namespace n ON n.oid = ci.relnamespace"
                          " WHERE n.nspname = current_schema() AND NOT i.indisvalid"
                          " UNION ALL"
                          " SELECT 'constraint ' || co.conname || ' on ' || ct.relname"
                          " || ' is not validated'"
                          " FROM pg_constraint co JOIN pg_class ct ON ct.oid = co.conrelid"
                          " JOIN pg_namespace n ON n.oid = ct.relnamespace"
                          " WHERE n.nspname = current_schema() AND NOT co.convalidated"
                          " ORDER BY 1 LIMIT 1000"));
  for (const auto& r : rows) out.push_back(r.Text(0));
  return out;
}

Result<std::vector<ForeignKeyProblem>> HealthRepo::ForeignKeyProblems() {
  std::vector<ForeignKeyProblem> out;
  if (c_.dialect() == db::Dialect::kPostgres) return out;  // it enforces them
  SL_ASSIGN_OR_RETURN(auto rows, c_.Query("SELECT \"table\", rowid, parent"
                                          " FROM pragma_foreign_key_check LIMIT 1000"));
  for (const auto& r : rows) out.push_back({r.Text(0), r.Int(1), r.Text(2)});
  return out;
}

}  // namespace storyloom
