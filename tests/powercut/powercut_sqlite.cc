// powercut_sqlite: the SQLite client of the power-cut tests (docs/RELIABILITY.md).
//
//   powercut_sqlite write <db> <synchronous> <journal_mode>
//       Creates table t(id) if needed, then commits one row per transaction forever
//       (ids continue after the largest present); after each COMMIT returns it prints the
//       id on stdout ("acknowledged"). Exits 1 on the first error.
//   powercut_sqlite check <db>
//       Prints "integrity <result>", "fk <n violations>", then every id, one a line.
#include <sqlite3.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <string>

namespace {

bool Exec(sqlite3* db, const std::string& sql) {
  char* err = nullptr;
  if (sqlite3_exec(db, sql.c_str(), nullptr, nullptr, &err) != SQLITE_OK) {
    fprintf(stderr, "powercut_sqlite: %s: %s\n", sql.c_str(), err ? err : "?");
    sqlite3_free(err);
    return false;
  }
  return true;
}

int Write(const char* path, const std::string& sync, const std::string& journal) {
  sqlite3* db = nullptr;
  if (sqlite3_open(path, &db) != SQLITE_OK) return 1;
  sqlite3_busy_timeout(db, 5000);
  if (!Exec(db, "PRAGMA journal_mode=" + journal) || !Exec(db, "PRAGMA synchronous=" + sync) ||
      !Exec(db, "CREATE TABLE IF NOT EXISTS t(id INTEGER PRIMARY KEY, pad BLOB)"))
    return 1;
  sqlite3_stmt* max = nullptr;
  sqlite3_prepare_v2(db, "SELECT coalesce(max(id), 0) FROM t", -1, &max, nullptr);
  long long id = sqlite3_step(max) == SQLITE_ROW ? sqlite3_column_int64(max, 0) : 0;
  sqlite3_finalize(max);
  sqlite3_stmt* ins = nullptr;
  // ~1.5 KiB a row, so rows span pages and the WAL grows past a checkpoint now and then.
  sqlite3_prepare_v2(db, "INSERT INTO t(id, pad) VALUES(?, randomblob(1500))", -1, &ins, nullptr);
  for (;;) {
    ++id;
    if (!Exec(db, "BEGIN IMMEDIATE")) return 1;
    sqlite3_bind_int64(ins, 1, id);
    if (sqlite3_step(ins) != SQLITE_DONE) return 1;
    sqlite3_reset(ins);
    if (!Exec(db, "COMMIT")) return 1;
    const std::string line = std::to_string(id) + "\n";
    if (write(1, line.data(), line.size()) != static_cast<ssize_t>(line.size())) return 1;
  }
}

int Check(const char* path) {
  sqlite3* db = nullptr;
  if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE, nullptr) != SQLITE_OK) {
    printf("integrity cannot-open\n");
    return 1;
  }
  auto one = [&](const char* sql) {
    sqlite3_stmt* st = nullptr;
    std::string out;
    if (sqlite3_prepare_v2(db, sql, -1, &st, nullptr) != SQLITE_OK) return std::string("error");
    int rows = 0;
    while (sqlite3_step(st) == SQLITE_ROW) {
      ++rows;
      if (out.empty() && sqlite3_column_text(st, 0))
        out = reinterpret_cast<const char*>(sqlite3_column_text(st, 0));
    }
    sqlite3_finalize(st);
    return out.empty() ? std::to_string(rows) : out;
  };
  printf("integrity %s\n", one("PRAGMA integrity_check").c_str());
  printf("fk %s\n", one("SELECT count(*) FROM pragma_foreign_key_check").c_str());
  sqlite3_stmt* st = nullptr;
  if (sqlite3_prepare_v2(db, "SELECT id FROM t ORDER BY id", -1, &st, nullptr) == SQLITE_OK)
    while (sqlite3_step(st) == SQLITE_ROW) printf("%lld\n", sqlite3_column_int64(st, 0));
  sqlite3_finalize(st);
  sqlite3_close(db);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc == 5 && strcmp(argv[1], "write") == 0) return Write(argv[2], argv[3], argv[4]);
  if (argc == 3 && strcmp(argv[1], "check") == 0) return Check(argv[2]);
  fprintf(stderr, "usage: powercut_sqlite write <db> <sync> <journal> | check <db>\n");
  return 2;
}
