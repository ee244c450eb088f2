// What the database underneath can do, described without naming it: the store and the
// layers above decide by capability, never by dialect (only src/db knows which database it
// is). Plain values; Listener is used by one thread at a time.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "storyloom/error.h"

namespace storyloom {

// Progress of a long whole-database operation (backup, restore, copy, cleanup): done/total
// of the current stage ("database", "files", "copy", "verify", "restore", ...).
using ProgressFn =
    std::function<void(std::string_view stage, std::int64_t done, std::int64_t total)>;

struct BackendCapabilities {
  // One server process owns the database (an embedded file): leases left by a crash of
  // that process can be released at start-up, and the database is copied as a file.
  bool embedded = false;
  // Notifications reach every instance (PostgreSQL LISTEN/NOTIFY).
  bool notifications = false;
};

struct DatabaseSize {
  std::int64_t bytes = 0;
  std::int64_t free_pages = -1;  // reclaimable pages; -1 where the backend has no such count
};

struct DatabaseStats {
  std::int64_t write_transactions = 0;  // commits
  std::int64_t write_batches = 0;       // writes that shared a commit count once
  std::int64_t reads = 0;
  std::int64_t checkpoints = 0;  // SQLite: WAL checkpoints run (background or by the writer)
};

// The schema's migration state (db/migrations.h has the detail).
struct SchemaStatus {
  int current_version = 0;
  int latest_version = 0;
  int pending = 0;
};

// Notifications sent on a channel by any connection to the database, including other
// Storyloom instances. Used by one thread at a time.
class Listener {
 public:
  virtual ~Listener() = default;
  // Waits up to `timeout` for notifications and returns their payloads (none on timeout).
  // Returns unavailable when the connection is lost; the next call reconnects and listens
  // again (notifications sent in between are lost, so the caller should catch up).
  [[nodiscard]] virtual Result<std::vector<std::string>> Wait(
      std::chrono::milliseconds timeout) = 0;
};

}  // namespace storyloom
