/* SQLite's own ceiling for Storyloom's durable write on this disk (make bench-compare,
 * issue 14): rows shaped like a created workflow (a 26-character id, owner, prompt, status,
 * options JSON, timestamps) inserted into a WAL database with synchronous=FULL, the
 * settings a Storyloom 201 waits for, committed `batch` rows at a time. No server, no
 * parsing, no indexes beyond the primary key: what the disk and SQLite allow, so the
 * server's create rate can be read as a fraction of it.
 *
 *   sqlite_ceiling DIR [seconds per batch size (default 2)]
 *
 * Prints one line per batch size: "batch=N rows_per_s=R commits_per_s=C". */
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double Now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void Check(int rc, sqlite3* db, const char* what) {
  if (rc != SQLITE_OK && rc != SQLITE_DONE && rc != SQLITE_ROW) {
    fprintf(stderr, "sqlite_ceiling: %s: %s\n", what, sqlite3_errmsg(db));
    exit(1);
  }
}

static void Exec(sqlite3* db, const char* sql) {
  Check(sqlite3_exec(db, sql, NULL, NULL, NULL), db, sql);
}

int main(int argc, char** argv) {
  if (argc < 2) {
    fprintf(stderr, "usage: sqlite_ceiling DIR [seconds per batch size]\n");
    return 2;
  }
  const double seconds = argc > 2 ? atof(argv[2]) : 2.0;
  char path[4096];
  snprintf(path, sizeof path, "%s/ceiling.db", argv[1]);
  remove(path);
  sqlite3* db = NULL;
  Check(sqlite3_open(path, &db), db, "open");
  Exec(db, "PRAGMA journal_mode=WAL");
  Exec(db, "PRAGMA synchronous=FULL");
  Exec(db,
       "CREATE TABLE workflows (id TEXT PRIMARY KEY, user_id TEXT NOT NULL, prompt TEXT NOT "
       "NULL, status TEXT NOT NULL, options TEXT NOT NULL, created_at INTEGER NOT NULL, "
       "updated_at INTEGER NOT NULL)");
  sqlite3_stmt* insert = NULL;
  Check(sqlite3_prepare_v2(db, "INSERT INTO workflows VALUES (?, ?, ?, ?, ?, ?, ?)", -1, &insert,
                           NULL),
        db, "prepare");
  const int batches[] = {1, 8, 32, 100};
  long long next_id = 0;
  for (size_t b = 0; b < sizeof batches / sizeof batches[0]; ++b) {
    const int batch = batches[b];
    long long rows = 0, commits = 0;
    const double start = Now();
    while (Now() - start < seconds) {
      Exec(db, "BEGIN IMMEDIATE");
      for (int i = 0; i < batch; ++i) {
        char id[32];
        snprintf(id, sizeof id, "01J%023lld", next_id++);
        sqlite3_bind_text(insert, 1, id, -1, SQLITE_TRANSIENT);
        sqlite3_bind_text(insert, 2, "01JUSER0000000000000000000", -1, SQLITE_STATIC);
        sqlite3_bind_text(insert, 3, "A lighthouse keeper finds a map", -1, SQLITE_STATIC);
        sqlite3_bind_text(insert, 4, "queued", -1, SQLITE_STATIC);
        sqlite3_bind_text(insert, 5, "{\"scenes\":1,\"narration\":false}", -1, SQLITE_STATIC);
        sqlite3_bind_int64(insert, 6, 1795392000000LL + next_id);
        sqlite3_bind_int64(insert, 7, 1795392000000LL + next_id);
        Check(sqlite3_step(insert), db, "insert");
        sqlite3_reset(insert);
        ++rows;
      }
      Exec(db, "COMMIT");
      ++commits;
    }
    const double took = Now() - start;
    printf("batch=%d rows_per_s=%.0f commits_per_s=%.0f\n", batch, rows / took, commits / took);
    fflush(stdout);
  }
  sqlite3_finalize(insert);
  sqlite3_close(db);
  remove(path);
  return 0;
}
