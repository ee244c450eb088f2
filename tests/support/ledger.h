// Ledger: a mixed-load client that remembers every write the server ACKNOWLEDGED, and a
// checker that proves, after a crash and a restart, that none of them was lost.
//
// The load (one thread, seeded RNG) creates workflows with an Idempotency-Key (an answer
// lost to a crash is retried with the same key: it must not make a second workflow),
// uploads files (size and sha256 of each 201 recorded), records usage rows, cancels,
// retries and deletes workflows and takes backups, while the server's workers run the
// workflows. A request that got no answer (the connection died) is "unknown": neither
// acknowledged nor refused, and the checker accepts both outcomes for it.
//
// The checker needs only a LedgerTarget (URL, tokens, data dir, database URL), so it works
// for any restarted server: a ServerProcess after `kill -9` (tests/kill_loop_test.cc), or
// one on a power-cut filesystem. Failures are reported with ADD_FAILURE and name the write.
// Test support; the Ledger is thread-safe (the load thread and the test thread share it).
#pragma once

#include <atomic>
#include <cstdint>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "support/server_process.h"

namespace storyloom::testing {

// Where the server under test is now.
struct LedgerTarget {
  std::string url;
  std::string user_token;   // the user the load runs as
  std::string admin_token;  // for backups
  std::string data_dir;
  std::string database_url;
};
LedgerTarget TargetOf(const ServerProcess& server, const std::string& user = "alice");

struct LoadOptions {
  std::uint64_t seed = 1;
  int max_scenes = 3;                 // each workflow has 1..max_scenes scenes (narrated)
  int max_upload_bytes = 192 * 1024;  // each upload 1..max bytes of random data
  int max_live_workflows = 10;        // above this the load deletes before it creates
  int backup_per_mille = 15;          // chance of a backup per operation, in 1/1000
  int pause_ms = 2;                   // between operations (the workers need the CPU too)
};

struct CheckOptions {
  // Wait for every workflow to end, retry the cancelled ones until every workflow has
  // completed, then check scenes, files exactly once, events, `storyloom fsck`. Without
  // it only what must hold at any moment is checked (acknowledged rows and files exist,
  // deletions stay deleted, database integrity).
  bool finish_all = false;
  int wait_ms = 240000;  // for finish_all
  // Known gap (docs/RELIABILITY.md, "Kills"): a crash between a file's rename and its row's
  // commit (an upload), or between the commit of a DELETE and the removal of the files,
  // leaves untracked files on disk (fsck: ORPHAN) that only a manual `fsck --repair`
  // (quarantine) handles. When true, untracked files of workflows the ledger sent a DELETE
  // for, and of uploads that got no answer, are counted (orphans_of_deleted()) instead of
  // failing the check; any other untracked file fails it.
  bool tolerate_crash_orphans = true;
};

class Ledger {
 public:
  explicit Ledger(LoadOptions options);
  ~Ledger();
  Ledger(const Ledger&) = delete;
  Ledger& operator=(const Ledger&) = delete;

  // Starts the load against `target` on a thread. Create keys whose answer was lost are
  // replayed first.
  void StartLoad(const LedgerTarget& target);
  // Stops the load and joins its thread. Call it after killing the server (requests in
  // flight then fail at once and become unknown) or while the server runs.
  void StopLoad();

  // Checks every acknowledged write against the server at `target` (running, restarted).
  // Returns the number of acknowledged writes checked. ADD_FAILUREs on every loss.
  int Check(const LedgerTarget& target, const CheckOptions& options = {});

  struct Counts {
    int creates = 0, replays = 0, uploads = 0, usage = 0, cancels = 0, retries = 0, deletes = 0,
        backups = 0, unknown = 0, refused = 0;
    std::int64_t upload_bytes = 0;
  };
  Counts counts() const;
  std::string Summary() const;  // one line of counts
  // Untracked files of deleted workflows the last finish_all check found (see
  // CheckOptions::tolerate_crash_orphans).
  int orphans_of_deleted() const {
    std::lock_guard lock(mu_);
    return orphans_of_deleted_;
  }

 private:
  struct Workflow {
    std::string id, key;
    int scenes = 1;
    bool deleted = false;         // DELETE answered 204
    bool delete_unknown = false;  // a DELETE got no answer
  };
  struct Upload {
    std::string workflow_id, file_id, path;
    std::int64_t size = 0;
    std::string sha256;
  };
  class Load;

  bool MayBeGone(const std::string& workflow_id) const;  // lock held

  LoadOptions options_;
  mutable std::mutex mu_;
  std::uint64_t seq_ = 0;                       // names of keys and uploads, unique per ledger
  std::set<std::string> pending_keys_;          // create keys whose answer was lost
  std::set<std::string> unknown_upload_paths_;  // <workflow>/uploads/<name>, no answer
  std::map<std::string, std::string> key_ids_;  // key -> workflow id acknowledged
  std::vector<Workflow> workflows_;             // acknowledged creates
  std::map<std::string, std::size_t> by_id_;
  std::vector<Upload> uploads_;
  std::vector<std::string> usage_ids_;
  std::vector<std::string> backup_ids_;
  Counts counts_;
  int orphans_of_deleted_ = 0;
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

}  // namespace storyloom::testing
