// The scrape-time collectors behind GET /metrics: one function per concern (workflows,
// phase durations, provider usage, database, disk, backups and cleanup), each writing its
// metric families to a MetricsWriter. ServerMetrics runs them in order on the scraping
// thread; they share nothing but the ScrapeReads they are given.
#pragma once

#include <cstdint>
#include <functional>
#include <string>

#include "ops/metrics.h"
#include "storyloom/store.h"

namespace storyloom::ops {

// The database reads of one scrape: each timed in storyloom_db_query_duration_seconds by
// query name, a failed one counted in storyloom_metrics_scrape_errors_total.
class ScrapeReads {
 public:
  ScrapeReads(Store& store, Family<Histogram>& seconds, Family<Counter>& errors)
      : store_(store), seconds_(seconds), errors_(errors) {}

  // Runs `fn` in a read transaction, timed as `query`; false (an error counted) if it failed.
  bool Read(const std::string& query, const std::function<Result<void>(StoreTx&)>& fn);
  // Runs `fn` (a read that is not a transaction), timed as `query`; false (an error
  // counted) if it returned false.
  bool Timed(const std::string& query, const std::function<bool()>& fn);
  Store& store() { return store_; }

 private:
  Store& store_;
  Family<Histogram>& seconds_;
  Family<Counter>& errors_;
};

// storyloom_database_up, workflows by status, queue depth and (when `running_here` is set)
// the workflows this instance runs. Returns false when the database did not answer: the
// other database collectors are then skipped.
bool CollectWorkflows(ScrapeReads& db, const std::function<int()>& running_here, MetricsWriter& w);
// storyloom_phase_duration_seconds, from the all-users rollup histogram.
void CollectPhaseDurations(ScrapeReads& db, MetricsWriter& w);
// Provider calls, errors, tokens and cost per provider and model, from the usage rollup.
void CollectProviderUsage(ScrapeReads& db, MetricsWriter& w);
// Database size, SQLite's WAL size and free pages (sqlite_path "" on PostgreSQL), and the
// store's transaction counters.
void CollectDatabaseSize(ScrapeReads& db, const std::string& sqlite_path, MetricsWriter& w);
// Free and total space under `data_dir`, whether it is below `min_free_bytes`, and the
// storage faults seen by this process.
void CollectDisk(const std::string& data_dir, std::uint64_t min_free_bytes, MetricsWriter& w);
// When the last good backup and the last cleanup finished.
void CollectOperations(ScrapeReads& db, MetricsWriter& w);

}  // namespace storyloom::ops
