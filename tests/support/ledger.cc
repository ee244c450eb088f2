#include "support/ledger.h"

#include <fmt/format.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <random>
#include <sstream>

#include "core/hash.h"
#include "db/database.h"
#include "support/checks.h"

namespace storyloom::testing {

using nlohmann::json;
using Clock = std::chrono::steady_clock;

LedgerTarget TargetOf(const ServerProcess& server, const std::string& user) {
  return {server.url(), server.token(user), server.token("admin"), server.data_dir(),
          server.database_url()};
}

namespace {

std::unique_ptr<HttpClient> ClientFor(const std::string& url, const std::string& token) {
  auto c = std::make_unique<HttpClient>(url);
  c->set_token(token);
  return c;
}

// An id from an answer, as text (usage rows have numeric ids).
std::string IdOf(const json& j) {
  if (!j.is_object() || !j.contains("id")) return "";
  return j["id"].is_string() ? j["id"].get<std::string>() : j["id"].dump();
}

bool Final(const json& w) {
  if (!w.is_object()) return false;
  const std::string s = w.value("status", "");
  return s == "completed" || s == "failed" || s == "cancelled";
}

}  // namespace

// One pass of load against one server; lives on the load thread.
class Ledger::Load {
 public:
  Load(Ledger& l, const LedgerTarget& t)
      : l_(l), user_(ClientFor(t.url, t.user_token)), admin_(ClientFor(t.url, t.admin_token)) {
    std::lock_guard lock(l_.mu_);
    rng_.seed(l_.options_.seed * 1000003 + l_.seq_);
  }

  void Run() {
    int failures_in_a_row = 0;
    while (!l_.stop_.load()) {
      const bool answered = Step();
      failures_in_a_row = answered ? 0 : failures_in_a_row + 1;
      // A dead server refuses at once: do not spin.
      const int pause = failures_in_a_row > 0 ? 20 : l_.options_.pause_ms;
      std::this_thread::sleep_for(std::chrono::milliseconds(pause));
    }
  }

 private:
  int Pick(int n) { return static_cast<int>(rng_() % static_cast<std::uint64_t>(n)); }

  // Returns false when the request got no answer.
  bool Step() {
    std::string pending;
    int live = 0;
    {
      std::lock_guard lock(l_.mu_);
      if (!l_.pending_keys_.empty()) pending = *l_.pending_keys_.begin();
      for (const auto& w : l_.workflows_) live += !w.deleted && !w.delete_unknown;
    }
    if (!pending.empty()) return Create(pending);
    if (live == 0) return Create("");
    if (Pick(1000) < l_.options_.backup_per_mille) return Backup();
    if (live > l_.options_.max_live_workflows) return Delete();
    const int r = Pick(100);
    if (r < 18) return Create("");
    if (r < 48) return Upload();
    if (r < 73) return Usage();
    if (r < 82) return Cancel();
    if (r < 91) return Retry();
    return Delete();
  }

  // A live workflow of the ledger (acknowledged, no delete sent), or "".
  std::string AnyLive() {
    std::lock_guard lock(l_.mu_);
    std::vector<std::string> ids;
    for (const auto& w : l_.workflows_) {
      if (!w.deleted && !w.delete_unknown) ids.push_back(w.id);
    }
    return ids.empty() ? "" : ids[Pick(static_cast<int>(ids.size()))];
  }

  void Unknown() {
    std::lock_guard lock(l_.mu_);
    ++l_.counts_.unknown;
  }
  void Refused() {
    std::lock_guard lock(l_.mu_);
    ++l_.counts_.refused;
  }

  bool Create(std::string key) {
    int scenes;
    {
      std::lock_guard lock(l_.mu_);
      if (key.empty()) key = fmt::format("ledger{}k{}", l_.options_.seed, ++l_.seq_);
      l_.pending_keys_.insert(key);
      scenes = 1 + static_cast<int>((std::hash<std::string>{}(key)) %
                                    static_cast<std::size_t>(l_.options_.max_scenes));
    }
    // The body depends only on the key: a replay sends exactly the first request again.
    auto r = user_->Post("/api/v1/workflows",
                         {{"prompt", "The story of " + key}, {"options", {{"scenes", scenes}}}},
                         {"Idempotency-Key: " + key});
    if (r.status == 0) {
      Unknown();
      return false;
    }
    if (r.status != 201 && r.status != 200) {
      // Refused (e.g. 503 while starting): the key stays pending and is tried again.
      Refused();
      return true;
    }
    const std::string id = IdOf(r.Json());
    std::lock_guard lock(l_.mu_);
    l_.pending_keys_.erase(key);
    if (auto it = l_.key_ids_.find(key); it != l_.key_ids_.end()) {
      EXPECT_EQ(it->second, id) << "key " << key << " replayed to another workflow";
      return true;
    }
    if (r.status == 200) ++l_.counts_.replays;
    ++l_.counts_.creates;
    l_.key_ids_[key] = id;
    l_.by_id_[id] = l_.workflows_.size();
    l_.workflows_.push_back({id, key, scenes});
    return true;
  }

  bool Upload() {
    const std::string id = AnyLive();
    if (id.empty()) return true;
    std::string name;
    {
      std::lock_guard lock(l_.mu_);
      name = fmt::format("up{}.bin", ++l_.seq_);
    }
    std::string body(1 + Pick(l_.options_.max_upload_bytes), '\0');
    for (auto& ch : body) ch = static_cast<char>(rng_());
    auto r = user_->Request("PUT", "/api/v1/workflows/" + id + "/files/" + name, body,
                            {"Content-Type: application/octet-stream"}, 60000);
    if (r.status == 0) {
      Unknown();
      std::lock_guard lock(l_.mu_);
      l_.unknown_upload_paths_.insert(id + "/uploads/" + name);
      return false;
    }
    if (r.status != 201) {
      Refused();
      std::lock_guard lock(l_.mu_);
      // Only a workflow with a DELETE in doubt may have vanished.
      if (r.status == 404 && !l_.MayBeGone(id)) {
        ADD_FAILURE() << "upload to acknowledged workflow " << id << " answered 404: " << r.body;
      }
      return true;
    }
    json f = r.Json();
    std::lock_guard lock(l_.mu_);
    l_.uploads_.push_back({id, IdOf(f), f.value("path", ""), static_cast<std::int64_t>(body.size()),
                           core::Sha256Hex(body)});
    EXPECT_EQ(f.value("sha256", ""), l_.uploads_.back().sha256) << "201 with a wrong sha256";
    ++l_.counts_.uploads;
    l_.counts_.upload_bytes += static_cast<std::int64_t>(body.size());
    return true;
  }

  bool Usage() {
    json body = {{"provider", "openai"},       {"model", "gpt-4o-mini"},
                 {"operation", "chat"},        {"status", "ok"},
                 {"http_status", 200},         {"attempt", 1},
                 {"input_tokens", Pick(5000)}, {"output_tokens", Pick(800)},
                 {"duration_ms", Pick(2000)}};
    if (Pick(2) == 0) {
      if (std::string id = AnyLive(); !id.empty()) body["workflow_id"] = id;
    }
    auto r = user_->Post("/api/v1/usage", body);
    if (r.status == 0) {
      Unknown();
      return false;
    }
    if (r.status != 201) {
      Refused();
      return true;
    }
    std::lock_guard lock(l_.mu_);
    l_.usage_ids_.push_back(IdOf(r.Json()));
    ++l_.counts_.usage;
    return true;
  }

  bool Cancel() {
    const std::string id = AnyLive();
    if (id.empty()) return true;
    auto r = user_->Post("/api/v1/workflows/" + id + "/cancel", json::object());
    if (r.status == 0) {
      Unknown();
      return false;
    }
    std::lock_guard lock(l_.mu_);
    if (r.status == 202) ++l_.counts_.cancels;
    return true;
  }

  bool Retry() {
    const std::string id = AnyLive();
    if (id.empty()) return true;
    auto r = user_->Post("/api/v1/workflows/" + id + "/retry", json::object());
    if (r.status == 0) {
      Unknown();
      return false;
    }
    std::lock_guard lock(l_.mu_);
    if (r.status == 202) ++l_.counts_.retries;
    return true;
  }

  bool Delete() {
    const std::string id = AnyLive();
    if (id.empty()) return true;
    auto r = user_->Delete("/api/v1/workflows/" + id);
    std::lock_guard lock(l_.mu_);
    Workflow& w = l_.workflows_[l_.by_id_.at(id)];
    if (r.status == 0) {
      w.delete_unknown = true;
      ++l_.counts_.unknown;
      return false;
    }
    if (r.status == 204) {
      w.deleted = true;
      ++l_.counts_.deletes;
    } else if (r.status == 404) {
      ADD_FAILURE() << "DELETE of acknowledged workflow " << id << " answered 404";
      w.delete_unknown = true;  // report it once
    } else {
      ++l_.counts_.refused;
    }
    return true;
  }

  bool Backup() {
    auto r = admin_->Request("POST", "/api/v1/admin/backups", "{}", {}, 120000);
    if (r.status == 0) {
      Unknown();
      return false;
    }
    std::lock_guard lock(l_.mu_);
    if (r.status == 201) {
      l_.backup_ids_.push_back(IdOf(r.Json()));
      ++l_.counts_.backups;
    } else {
      ++l_.counts_.refused;
    }
    return true;
  }

  Ledger& l_;
  std::unique_ptr<HttpClient> user_, admin_;
  std::mt19937_64 rng_;
};

Ledger::Ledger(LoadOptions options) : options_(options) {}

Ledger::~Ledger() { StopLoad(); }

void Ledger::StartLoad(const LedgerTarget& target) {
  StopLoad();
  stop_ = false;
  thread_ = std::thread([this, target] { Load(*this, target).Run(); });
}

void Ledger::StopLoad() {
  stop_ = true;
  if (thread_.joinable()) thread_.join();
}

bool Ledger::MayBeGone(const std::string& workflow_id) const {
  auto it = by_id_.find(workflow_id);
  return it == by_id_.end() || workflows_[it->second].deleted ||
         workflows_[it->second].delete_unknown;
}

Ledger::Counts Ledger::counts() const {
  std::lock_guard lock(mu_);
  return counts_;
}

std::string Ledger::Summary() const {
  const Counts c = counts();
  return fmt::format(
      "acknowledged: {} creates ({} replayed), {} uploads ({} bytes), {} usage rows, {} "
      "cancels, {} retries, {} deletes, {} backups; {} unanswered, {} refused; {} orphan "
      "file(s) of deleted workflows and unanswered uploads",
      c.creates, c.replays, c.uploads, c.upload_bytes, c.usage, c.cancels, c.retries, c.deletes,
      c.backups, c.unknown, c.refused, orphans_of_deleted());
}

namespace {

// Runs a query on the database; rows as text columns.
std::vector<std::vector<std::string>> Query(db::Database& d, const std::string& sql) {
  std::vector<std::vector<std::string>> out;
  auto r = d.Read([&](db::Connection& c) -> Result<void> {
    SL_ASSIGN_OR_RETURN(auto rows, c.Query(sql));
    for (const auto& row : rows) {
      std::vector<std::string> cols;
      for (std::size_t i = 0; i < row.size(); ++i) {
        cols.push_back(row.IsNull(i) ? "" : row.Text(i));
      }
      out.push_back(std::move(cols));
    }
    return {};
  });
  EXPECT_TRUE(r.has_value()) << sql << ": " << r.error().ToString();
  return out;
}

}  // namespace

int Ledger::Check(const LedgerTarget& t, const CheckOptions& options) {
  // A copy of the ledger: the load must be stopped, but do not rely on it.
  std::vector<Workflow> workflows;
  std::vector<Upload> uploads;
  std::vector<std::string> usage_ids, backup_ids;
  std::set<std::string> all_keys, unknown_uploads;
  {
    std::lock_guard lock(mu_);
    unknown_uploads = unknown_upload_paths_;
    workflows = workflows_;
    uploads = uploads_;
    usage_ids = usage_ids_;
    backup_ids = backup_ids_;
    all_keys = pending_keys_;
    for (const auto& [k, id] : key_ids_) all_keys.insert(k);
  }
  int checked = 0;
  auto user = ClientFor(t.url, t.user_token);
  auto admin = ClientFor(t.url, t.admin_token);
  auto database = db::Open(t.database_url, {.readers = 1});
  if (!database) {
    ADD_FAILURE() << "cannot open " << t.database_url << ": " << database.error().ToString();
    return 0;
  }
  db::Database& d = **database;
  const bool sqlite = t.database_url.starts_with("sqlite:");
  std::map<std::string, bool> gone;  // workflow id -> may be gone
  for (const auto& w : workflows) gone[w.id] = w.deleted || w.delete_unknown;

  // Creates: each acknowledged one exists (unless a DELETE went out), and no key made two.
  for (const auto& w : workflows) {
    ++checked;
    auto r = user->Get("/api/v1/workflows/" + w.id);
    if (w.deleted) {
      EXPECT_EQ(r.status, 404) << "deleted workflow " << w.id << " came back";
    } else if (!w.delete_unknown) {
      EXPECT_EQ(r.status, 200) << "acknowledged create " << w.id << " (key " << w.key
                               << ") lost: " << r.body;
    }
  }
  for (const auto& key : all_keys) {
    auto rows =
        Query(d, "SELECT id FROM workflows WHERE original_prompt = 'The story of " + key + "'");
    auto it = std::find_if(workflows.begin(), workflows.end(),
                           [&](const Workflow& w) { return w.key == key; });
    const bool acked = it != workflows.end();
    const bool may_be_gone = acked && (it->deleted || it->delete_unknown);
    EXPECT_LE(rows.size(), 1u) << "Idempotency-Key " << key << " made " << rows.size()
                               << " workflows";
    if (acked && !may_be_gone) {
      EXPECT_EQ(rows.size(), 1u) << "key " << key;
    }
  }

  // Uploads: each acknowledged file is tracked with its size and sha256, and on disk.
  for (const auto& u : uploads) {
    if (gone[u.workflow_id]) continue;
    ++checked;
    auto r = user->Get("/api/v1/files/" + u.file_id);
    EXPECT_EQ(r.status, 200) << "acknowledged upload " << u.path << " lost: " << r.body;
    if (r.status == 200) {
      json f = r.Json();
      EXPECT_EQ(f.value("size", -1), u.size) << u.path;
      EXPECT_EQ(f.value("sha256", ""), u.sha256) << u.path;
    }
    const std::string content =
        ReadFileOrEmpty(std::filesystem::path(t.data_dir) / "save_outputs" / u.path);
    EXPECT_EQ(static_cast<std::int64_t>(content.size()), u.size) << "on disk: " << u.path;
    EXPECT_EQ(core::Sha256Hex(content), u.sha256) << "on disk: " << u.path;
  }

  // Usage rows.
  {
    std::set<std::string> stored;
    for (const auto& row : Query(d, "SELECT CAST(id AS TEXT) FROM api_usage"))
      stored.insert(row[0]);
    for (const auto& id : usage_ids) {
      ++checked;
      EXPECT_TRUE(stored.contains(id)) << "acknowledged usage row " << id << " lost";
    }
  }

  // Backups: each acknowledged one is recorded as complete.
  if (!backup_ids.empty()) {
    std::map<std::string, std::string> status;
    for (const auto& row : Query(d, "SELECT id, status FROM backups")) status[row[0]] = row[1];
    for (const auto& id : backup_ids) {
      ++checked;
      EXPECT_EQ(status[id], "ok") << "acknowledged backup " << id;
    }
  }

  if (options.finish_all) {
    // Every workflow ends; cancelled ones are retried until all have completed.
    const auto deadline = Clock::now() + std::chrono::milliseconds(options.wait_ms);
    std::map<std::string, json> done;
    while (Clock::now() < deadline) {
      bool all = true;
      for (const auto& w : workflows) {
        if (gone[w.id] || done.contains(w.id)) continue;
        json j = user->Get("/api/v1/workflows/" + w.id).Json();
        if (!Final(j)) {
          all = false;
          continue;
        }
        if (j["status"] == "cancelled") {
          all = false;
          const long s = user->Post("/api/v1/workflows/" + w.id + "/retry", json::object()).status;
          EXPECT_EQ(s, 202) << "retry of cancelled " << w.id;
          continue;
        }
        done[w.id] = j;
      }
      if (all) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    // Creates whose answer a crash lost are not in the ledger (their replay waits for the next
    // load), but their workflows run too: the disk is scanned below only once nothing is
    // queued or running, or the files such a workflow is writing would look untracked.
    while (Clock::now() < deadline) {
      auto busy = Query(d, "SELECT count(*) FROM workflows WHERE status IN ('queued', 'running')");
      if (!busy.empty() && busy[0][0] == "0") break;
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    for (const auto& w : workflows) {
      if (gone[w.id]) continue;
      auto it = done.find(w.id);
      if (it == done.end()) {
        ADD_FAILURE() << "workflow " << w.id << " did not end within " << options.wait_ms
                      << " ms: " << user->Get("/api/v1/workflows/" + w.id).body;
        continue;
      }
      const json& j = it->second;
      EXPECT_EQ(j["status"], "completed") << j.dump(2);
      if (j["status"] != "completed") continue;
      {
        SCOPED_TRACE("workflow " + w.id);
        ExpectEachSceneHasItsFilesOnce(j, w.scenes);
      }
      // Finished exactly once: one final "completed" status event.
      auto rows = Query(d, "SELECT count(*) FROM workflow_events WHERE workflow_id = '" + w.id +
                               "' AND type = 'status' AND CAST(data AS TEXT) LIKE "
                               "'%\"completed\"%'");
      EXPECT_EQ(rows.empty() ? "" : rows[0][0], "1")
          << "workflow " << w.id << " completed more than once";
    }
    // Deleted workflows: rows and folder go (a run that held one deletes it when it stops;
    // after a crash, once the lease expires).
    for (const auto& w : workflows) {
      if (!w.deleted) continue;
      std::string n = "1";
      while (Clock::now() < deadline) {
        auto rows = Query(d, "SELECT count(*) FROM workflows WHERE id = '" + w.id + "'");
        n = rows.empty() ? "" : rows[0][0];
        if (n == "0") break;
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
      }
      EXPECT_EQ(n, "0") << "deleted workflow " << w.id << " still has its row";
    }
    for (const auto& u : uploads) {
      if (!gone[u.workflow_id]) continue;
      const auto stays = std::filesystem::path(t.data_dir) / "save_outputs" / u.path;
      auto it = std::find_if(workflows.begin(), workflows.end(),
                             [&](const Workflow& w) { return w.id == u.workflow_id; });
      if (it != workflows.end() && it->deleted && !options.tolerate_crash_orphans) {
        EXPECT_FALSE(std::filesystem::exists(stays)) << "deleted workflow's file " << u.path;
      }
    }
    // Every file on disk is tracked once with its sha256, and every tracked file is there.
    std::map<std::string, std::pair<std::string, std::string>> tracked;  // path -> size, sha
    for (const auto& row :
         Query(d, "SELECT file_path, file_size, sha256 FROM generated_files WHERE state = 'ok'")) {
      EXPECT_FALSE(tracked.contains(row[0])) << "tracked twice: " << row[0];
      tracked[row[0]] = {row[1], row[2]};
    }
    const std::filesystem::path root = std::filesystem::path(t.data_dir) / "save_outputs";
    std::size_t on_disk = 0;
    int tolerated = 0;
    for (const auto& e : std::filesystem::recursive_directory_iterator(root)) {
      if (!e.is_regular_file()) continue;
      const std::string rel = std::filesystem::relative(e.path(), root).generic_string();
      auto it = tracked.find(rel);
      if (it == tracked.end()) {
        if (options.tolerate_crash_orphans &&
            (gone[rel.substr(0, rel.find('/'))] || unknown_uploads.contains(rel))) {
          ++tolerated;  // a known gap: see CheckOptions::tolerate_crash_orphans
        } else {
          ADD_FAILURE() << "untracked file on disk: " << rel;
        }
        continue;
      }
      ++on_disk;
      const std::string content = ReadFileOrEmpty(e.path());
      EXPECT_EQ(std::to_string(content.size()), it->second.first) << rel;
      EXPECT_EQ(core::Sha256Hex(content), it->second.second) << rel;
    }
    EXPECT_EQ(on_disk, tracked.size()) << "tracked files missing from disk";
    const std::string flags = "--data-dir '" + t.data_dir + "' --database '" + t.database_url + "'";
    CliResult fsck = RunCli(flags + " fsck --grace-minutes 0");
    // Clean but for (some of) the orphans of deleted workflows counted above: the server is
    // still running, and it may finish a delete (and remove its folder) between the scan and
    // fsck, so orphans can only have gone, never come.
    const std::size_t at = fsck.out.find(" problem(s) found");
    if (at == std::string::npos) {
      EXPECT_EQ(fsck.exit_code, 0) << fsck.out;
    } else {
      const std::size_t begin = fsck.out.find_last_not_of("0123456789", at - 1) + 1;
      const int problems = std::atoi(fsck.out.substr(begin, at - begin).c_str());
      EXPECT_LE(problems, tolerated) << fsck.out;
    }
    std::lock_guard lock(mu_);
    orphans_of_deleted_ = tolerated;
  }

  // The database itself.
  if (sqlite) {
    auto ic = Query(d, "PRAGMA integrity_check");
    EXPECT_TRUE(ic.size() == 1 && ic[0][0] == "ok") << (ic.empty() ? "" : ic[0][0]);
    auto fk = Query(d, "PRAGMA foreign_key_check");
    EXPECT_TRUE(fk.empty()) << fk.size() << " foreign key violation(s), first in table "
                            << (fk.empty() ? "" : fk[0][0]);
  }
  return checked;
}

}  // namespace storyloom::testing
