// Workflows: create (idempotent), get, keyset list with search, update, delete, leases.
#include <fmt/format.h>

#include <map>
#include <tuple>
#include <utility>

#include "core/clock.h"
#include "core/ids.h"
#include "db/database.h"
#include "store/rows.h"
#include "storyloom/store.h"

namespace storyloom {

using db::Value;
using store::kWorkflowColumns;

namespace {

// Escapes LIKE wildcards so user text matches literally (ESCAPE '\').
std::string LikePattern(std::string_view q) {
  std::string out = "%";
  for (char ch : q) {
    if (ch == '%' || ch == '_' || ch == '\\') out.push_back('\\');
    out.push_back(ch);
  }
  out.push_back('%');
  return out;
}

// Counts UTF-8 code points (trigram search needs three characters, not bytes).
std::size_t CodePoints(std::string_view s) {
  std::size_t n = 0;
  for (unsigned char ch : s) n += (ch & 0xc0) != 0x80;
  return n;
}

}  // namespace

Result<CreateResult> WorkflowRepo::Create(const NewWorkflow& w) {
  if (w.user_id.empty()) return Fail(Error::InvalidArgument("user_id is required", "user_id"));
  if (w.prompt.empty()) return Fail(Error::InvalidArgument("prompt must not be empty", "prompt"));
  if (!w.idempotency_key.empty()) {
    const Value k[] = {w.user_id, w.idempotency_key};
    SL_ASSIGN_OR_RETURN(auto existing,
                        c_.QueryOpt(fmt::format("SELECT {} FROM workflows WHERE user_id = ? AND "
                                                "idempotency_key = ?",
                                                kWorkflowColumns),
                                    k));
    if (existing) return CreateResult{store::WorkflowFromRow(*existing), false};
  }
  Workflow out;
  out.id = core::NewId();
  out.user_id = w.user_id;
  out.title = w.title;
  out.original_prompt = w.prompt;
  out.options_json = w.options_json.empty() ? "{}" : w.options_json;
  out.idempotency_key = w.idempotency_key;
  out.created_at = out.updated_at = core::WallMillis();
  const Value v[] = {out.id,           out.user_id,
                     out.title,        out.original_prompt,
                     out.options_json, db::TextOrNull(out.idempotency_key),
                     out.created_at,   out.updated_at};
  // Two requests with the same key can both miss the SELECT above when they run at once
  // (PostgreSQL runs writes concurrently): the loser's INSERT does nothing, after waiting
  // for the winner to commit, and then reads the winner's workflow.
  SL_ASSIGN_OR_RETURN(
      auto inserted,
      c_.Exec("INSERT INTO workflows (id, user_id, title, original_prompt, options, "
              "idempotency_key, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?) "
              "ON CONFLICT (user_id, idempotency_key) WHERE idempotency_key IS NOT NULL "
              "DO NOTHING",
              v));
  if (inserted == 0) {
    const Value k[] = {w.user_id, w.idempotency_key};
    SL_ASSIGN_OR_RETURN(auto existing,
                        c_.QueryOne(fmt::format("SELECT {} FROM workflows WHERE user_id = ? AND "
                                                "idempotency_key = ?",
                                                kWorkflowColumns),
                                    k));
    return CreateResult{store::WorkflowFromRow(existing), false};
  }
  return CreateResult{std::move(out), true};
}

Result<std::optional<Workflow>> WorkflowRepo::FindByKey(std::string_view user_id,
                                                        std::string_view idempotency_key) {
  const Value k[] = {std::string(user_id), std::string(idempotency_key)};
  SL_ASSIGN_OR_RETURN(auto row, c_.QueryOpt(fmt::format("SELECT {} FROM workflows WHERE user_id = "
                                                        "? AND idempotency_key = ?",
                                                        kWorkflowColumns),
                                            k));
  if (!row) return std::optional<Workflow>();
  return std::optional<Workflow>(store::WorkflowFromRow(*row));
}

db::Statement store::WorkflowGetStatement(std::string_view id) {
  return {fmt::format("SELECT {} FROM workflows WHERE id = ? AND delete_requested = 0",
                      kWorkflowColumns),
          {std::string(id)}};
}

Result<Workflow> WorkflowRepo::Get(std::string_view id) {
  const db::Statement st = store::WorkflowGetStatement(id);
  SL_ASSIGN_OR_RETURN(auto row, c_.QueryOpt(st.sql, st.params));
  if (!row) return Fail(Error::NotFound(fmt::format("workflow {} does not exist", id)));
  return store::WorkflowFromRow(*row);
}

Result<std::vector<db::Statement>> store::WorkflowDetailStatements(db::Dialect dialect,
                                                                   std::string_view id,
                                                                   const FileFilter& files) {
  // Independent reads, so one batch: the parts of a workflow that does not exist come back
  // empty and are dropped.
  SL_ASSIGN_OR_RETURN(db::Statement file_list, store::FileListStatement(files));
  std::vector<db::Statement> batch;
  batch.reserve(5);
  batch.push_back(store::WorkflowGetStatement(id));
  batch.push_back(store::PhaseListStatement(id));
  batch.push_back(store::SceneListStatement(id));
  batch.push_back(std::move(file_list));
  batch.push_back(store::WorkflowCostStatement(dialect, id));
  return batch;
}

Result<WorkflowDetailView> store::WorkflowDetailFromRows(
    std::string_view id, const std::vector<std::vector<db::Row>>& rows, const FileFilter& files) {
  if (rows.size() != 5) return Fail(Error::Internal("the detail batch lost a query"));
  if (rows[0].empty()) return Fail(Error::NotFound(fmt::format("workflow {} does not exist", id)));
  WorkflowDetailView d;
  d.workflow = store::WorkflowFromRow(rows[0].front());
  SL_ASSIGN_OR_RETURN(d.phases, store::PhasesFromRows(rows[1]));
  for (const auto& r : rows[2]) d.scenes.push_back(store::SceneFromRow(r));
  d.files = store::FilePageFromRows(rows[3], files);
  if (rows[4].empty()) return Fail(Error::Internal("the cost query returned no row"));
  std::tie(d.cost, d.cost_unpriced) = store::WorkflowCostFromRow(rows[4].front());
  return d;
}

Result<Workflow> WorkflowRepo::GetForUpdate(std::string_view id) {
  const Value v[] = {std::string(id)};
  const char* lock = c_.dialect() == db::Dialect::kPostgres ? " FOR UPDATE" : "";
  SL_ASSIGN_OR_RETURN(auto row, c_.QueryOpt(fmt::format("SELECT {} FROM workflows WHERE id = ? AND "
                                                        "delete_requested = 0{}",
                                                        kWorkflowColumns, lock),
                                            v));
  if (!row) return Fail(Error::NotFound(fmt::format("workflow {} does not exist", id)));
  return store::WorkflowFromRow(*row);
}

Result<Page<Workflow>> WorkflowRepo::List(const WorkflowFilter& f) {
  SL_RETURN_IF_ERROR(store::CheckIdCursor(f.cursor));
  const int limit = store::ClampLimit(f.limit);
  // SQLite's search walks the trigram index newest first (its rowid is workflows.seq, in the
  // order the rows were written) and stops at the page's end: filtering the index's matches
  // by id instead read every match of every user and sorted them (a common word at
  // 1,000,000 workflows: 26 ms for one user, 233 ms for an admin; make bench-scale).
  const bool fts = c_.dialect() == db::Dialect::kSqlite && !f.q.empty() && CodePoints(f.q) >= 3;
  std::string sql =
      fts ? fmt::format(
                "SELECT {} FROM (SELECT rowid AS fts_seq FROM workflows_fts WHERE "
                "workflows_fts MATCH ?) AS found CROSS JOIN workflows ON workflows.seq = "
                "found.fts_seq WHERE delete_requested = 0",
                kWorkflowColumns)
          : fmt::format("SELECT {} FROM workflows WHERE delete_requested = 0", kWorkflowColumns);
  std::vector<Value> params;
  if (fts) {
    // The trigram index matches the quoted phrase as a case-insensitive substring.
    std::string phrase = "\"";
    for (char ch : f.q) {
      if (ch == '"') phrase.push_back('"');
      phrase.push_back(ch);
    }
    phrase.push_back('"');
    params.emplace_back(std::move(phrase));
  }
  if (!f.user_id.empty()) {
    sql += " AND user_id = ?";
    params.emplace_back(f.user_id);
  }
  if (f.status) {
    sql += " AND status = ?";
    params.emplace_back(std::string(ToString(*f.status)));
  }
  if (!f.cursor.empty() && fts) {
    // A search page continues after the cursor's row in the index's order; if that row has
    // been deleted since, from the next older one.
    const Value v[] = {f.cursor};
    SL_ASSIGN_OR_RETURN(auto at, c_.QueryOpt("SELECT seq FROM workflows WHERE id = ?", v));
    if (at) {
      sql += " AND found.fts_seq < ?";
      params.emplace_back(at->Int(0));
    } else {
      SL_ASSIGN_OR_RETURN(
          auto older,
          c_.QueryOpt("SELECT seq FROM workflows WHERE id < ? ORDER BY id DESC LIMIT 1", v));
      sql += " AND found.fts_seq <= ?";
      params.emplace_back(older ? older->Int(0) : std::int64_t{0});
    }
  } else if (!f.cursor.empty()) {
    sql += " AND id < ?";
    params.emplace_back(f.cursor);
  }
  if (!f.q.empty() && !fts) {
    if (c_.dialect() == db::Dialect::kPostgres) {
      // Statements are prepared once, and PostgreSQL soon settles on a generic plan that
      // cannot see the pattern: a common word then rechecks thousands of rows through the
      // trigram index (277 ms at 1,000,000 workflows, make bench-scale) where a plan made
      // for the pattern takes 27 ms. Plan the search for its pattern every time (this
      // read transaction only).
      SL_RETURN_IF_ERROR(c_.Exec("SET LOCAL plan_cache_mode = force_custom_plan"));
    }
    const char* op = c_.dialect() == db::Dialect::kPostgres ? "ILIKE" : "LIKE";
    sql += fmt::format(" AND (title {0} ? ESCAPE '\\' OR original_prompt {0} ? ESCAPE '\\')", op);
    params.emplace_back(LikePattern(f.q));
    params.emplace_back(LikePattern(f.q));
  }
  sql += fts ? " ORDER BY found.fts_seq DESC LIMIT ?" : " ORDER BY id DESC LIMIT ?";
  params.emplace_back(std::int64_t{limit + 1});
  SL_ASSIGN_OR_RETURN(auto rows, c_.Query(sql, params));
  Page<Workflow> page;
  for (const auto& r : rows) page.items.push_back(store::WorkflowFromRow(r));
  if (static_cast<int>(page.items.size()) > limit) {
    page.items.pop_back();
    page.next_cursor = page.items.back().id;
  }
  return page;
}

std::span<const WorkflowStatus> WorkflowStatusesBefore(WorkflowStatus to) {
  using enum WorkflowStatus;
  static constexpr WorkflowStatus kToQueued[] = {kQueued, kFailed, kCancelled};
  static constexpr WorkflowStatus kToRunning[] = {kQueued, kRunning};
  static constexpr WorkflowStatus kToCompleted[] = {kRunning, kCompleted};
  static constexpr WorkflowStatus kToEnded[] = {kQueued, kRunning};
  switch (to) {
    case kQueued:
      return kToQueued;
    case kRunning:
      return kToRunning;
    case kCompleted:
      return kToCompleted;
    case kFailed:
    case kCancelled:
      break;
  }
  return kToEnded;
}

Result<void> WorkflowRepo::Update(std::string_view id, const WorkflowUpdate& u) {
  std::string sql = "UPDATE workflows SET updated_at = ?";
  std::vector<Value> params{core::WallMillis()};
  auto set = [&](std::string_view col, Value v) {
    sql += fmt::format(", {} = ?", col);
    params.push_back(std::move(v));
  };
  if (u.title) set("title", *u.title);
  if (u.enhanced_story) set("enhanced_story", *u.enhanced_story);
  if (u.status) set("status", std::string(ToString(*u.status)));
  if (u.current_phase) {
    if (!u.current_phase->empty() && !IsPhase(*u.current_phase)) {
      return Fail(Error::InvalidArgument("unknown phase " + *u.current_phase, "phase"));
    }
    set("current_phase", *u.current_phase);
  }
  if (u.progress) {
    if (!(*u.progress >= 0 && *u.progress <= 1)) {
      return Fail(Error::InvalidArgument("progress must be within 0..1", "progress"));
    }
    set("progress", *u.progress);
  }
  if (u.error_code) set("error_code", db::TextOrNull(*u.error_code));
  if (u.error_message) set("error_message", db::TextOrNull(*u.error_message));
  if (u.cancel_requested) set("cancel_requested", std::int64_t{*u.cancel_requested ? 1 : 0});
  if (u.attempt) set("attempt", std::int64_t{*u.attempt});
  if (u.started_at) set("started_at", *u.started_at);
  if (u.finished_at) set("finished_at", db::OptInt(*u.finished_at));
  sql += " WHERE id = ?";
  params.emplace_back(std::string(id));
  if (u.status) {
    // The transition is part of the statement: a status that changed since the caller
    // read it (another instance, a cancel) makes this change nothing.
    sql += " AND status IN (";
    const char* sep = "";
    for (WorkflowStatus from : WorkflowStatusesBefore(*u.status)) {
      sql += std::exchange(sep, ", ");
      sql += "?";
      params.emplace_back(std::string(ToString(from)));
    }
    sql += ")";
  }
  SL_ASSIGN_OR_RETURN(auto changed, c_.Exec(sql, params));
  if (changed > 0) return {};
  if (u.status) {
    if (auto now = Get(id); now) {
      return Fail(
          Error::FailedPrecondition(fmt::format("workflow {} is {} and cannot become {}", id,
                                                ToString(now->status), ToString(*u.status)),
                                    "conflict"));
    }
  }
  return Fail(Error::NotFound(fmt::format("workflow {} does not exist", id)));
}

Result<std::vector<GeneratedFile>> WorkflowRepo::Delete(std::string_view id) {
  const Value v[] = {std::string(id)};
  SL_ASSIGN_OR_RETURN(auto rows, c_.Query(fmt::format("SELECT {} FROM {} WHERE f.workflow_id = ?",
                                                      store::kFileColumns, store::kFileFrom),
                                          v));
  SL_ASSIGN_OR_RETURN(auto changed, c_.Exec("DELETE FROM workflows WHERE id = ?", v));
  if (changed == 0) return Fail(Error::NotFound(fmt::format("workflow {} does not exist", id)));
  std::vector<GeneratedFile> files;
  for (const auto& r : rows) files.push_back(store::FileFromRow(r));
  return files;
}

Result<WorkflowDeletion> WorkflowRepo::RequestDelete(std::string_view id) {
  SL_RETURN_IF_ERROR(Get(id));  // not_found for missing and already-marked ones
  const Value v[] = {std::string(id)};
  SL_ASSIGN_OR_RETURN(auto rows, c_.Query(fmt::format("SELECT {} FROM {} WHERE f.workflow_id = ?",
                                                      store::kFileColumns, store::kFileFrom),
                                          v));
  const Millis now = core::WallMillis();
  // Conditional in one statement: on PostgreSQL a claim holding the row lock makes this wait
  // and then see the new lease, so a workflow is never deleted under a run.
  const Value d[] = {std::string(id), now};
  SL_ASSIGN_OR_RETURN(auto deleted,
                      c_.Exec("DELETE FROM workflows WHERE id = ? AND (lease_owner IS NULL OR "
                              "lease_expires_at IS NULL OR lease_expires_at < ?)",
                              d));
  WorkflowDeletion out;
  if (deleted > 0) {
    for (const auto& r : rows) out.files.push_back(store::FileFromRow(r));
    return out;
  }
  const Value m[] = {now, std::string(id)};
  SL_RETURN_IF_ERROR(
      c_.Exec("UPDATE workflows SET delete_requested = 1, cancel_requested = 1, "
              "updated_at = ? WHERE id = ?",
              m));
  out.deferred = true;
  return out;
}

Result<bool> WorkflowRepo::RowExists(std::string_view id) {
  const Value v[] = {std::string(id)};
  SL_ASSIGN_OR_RETURN(auto rows, c_.Query("SELECT 1 FROM workflows WHERE id = ?", v));
  return !rows.empty();
}

Result<std::vector<DeletedWorkflow>> WorkflowRepo::DeleteMarked(int limit,
                                                                std::string_view only_id) {
  const Millis now = core::WallMillis();
  std::vector<Value> v{now};
  std::string sql =
      "SELECT id FROM workflows WHERE delete_requested = 1 AND (lease_owner IS NULL OR "
      "lease_expires_at IS NULL OR lease_expires_at < ?)";
  if (!only_id.empty()) {
    sql += " AND id = ?";
    v.emplace_back(std::string(only_id));
  }
  sql += " ORDER BY id LIMIT ?";
  v.emplace_back(std::int64_t{std::max(1, limit)});
  SL_ASSIGN_OR_RETURN(auto ids, c_.Query(sql, v));
  std::vector<DeletedWorkflow> out;
  for (const auto& r : ids) {
    DeletedWorkflow dw{r.Text(0), {}};
    const Value f[] = {dw.id};
    SL_ASSIGN_OR_RETURN(auto rows, c_.Query(fmt::format("SELECT {} FROM {} WHERE f.workflow_id = ?",
                                                        store::kFileColumns, store::kFileFrom),
                                            f));
    const Value d[] = {dw.id, now};
    SL_ASSIGN_OR_RETURN(auto n, c_.Exec("DELETE FROM workflows WHERE id = ? AND delete_requested "
                                        "= 1 AND (lease_owner IS NULL OR lease_expires_at IS "
                                        "NULL OR lease_expires_at < ?)",
                                        d));
    if (n == 0) continue;  // claimed or renewed meanwhile
    for (const auto& fr : rows) dw.files.push_back(store::FileFromRow(fr));
    out.push_back(std::move(dw));
  }
  return out;
}

Result<std::int64_t> WorkflowRepo::CountLeased(std::string_view user_id) {
  const Value v[] = {std::string(user_id), core::WallMillis()};
  SL_ASSIGN_OR_RETURN(auto row, c_.QueryOne("SELECT count(*) FROM workflows WHERE user_id = ? AND "
                                            "status IN ('queued', 'running') AND lease_owner IS "
                                            "NOT NULL AND lease_expires_at >= ?",
                                            v));
  return row.Int(0);
}

Result<std::vector<Workflow>> WorkflowRepo::Claim(std::string_view owner, Millis lease_ms,
                                                  int limit, int max_per_user,
                                                  std::string_view only_id) {
  const Millis now = core::WallMillis();
  const bool postgres = c_.dialect() == db::Dialect::kPostgres;
  // SKIP LOCKED lets PostgreSQL instances claim disjoint sets; SQLite has one writer.
  const char* lock = postgres ? " FOR UPDATE SKIP LOCKED" : "";
  // With a per-user cap, users already at it are left out of the candidates (so they do not
  // crowd out others), and more candidates than slots are read, since some may be skipped.
  const std::string capped =
      max_per_user > 0
          ? " AND user_id NOT IN (SELECT user_id FROM workflows WHERE status IN ('queued', "
            "'running') AND lease_owner IS NOT NULL AND lease_expires_at >= ? GROUP BY user_id "
            "HAVING count(*) >= ?)"
          : "";
  const int fetch = max_per_user > 0 ? limit * 4 + 16 : limit;
  std::vector<Workflow> candidates;
  for (const char* status : {"running", "queued"}) {
    if (max_per_user <= 0 && static_cast<int>(candidates.size()) >= limit) break;
    std::vector<Value> v = {std::string(status), now};
    if (!only_id.empty()) v.emplace_back(std::string(only_id));
    if (max_per_user > 0) {
      v.emplace_back(now);
      v.emplace_back(std::int64_t{max_per_user});
    }
    v.emplace_back(std::int64_t{fetch - static_cast<int>(candidates.size())});
    SL_ASSIGN_OR_RETURN(
        auto rows,
        c_.Query(
            fmt::format(
                "SELECT {} FROM workflows WHERE status = ? AND (lease_expires_at IS "
                "NULL OR lease_expires_at < ?) AND delete_requested = 0{}{} ORDER BY id LIMIT ?{}",
                kWorkflowColumns, only_id.empty() ? "" : " AND id = ?", capped, lock),
            v));
    for (const auto& r : rows) candidates.push_back(store::WorkflowFromRow(r));
  }
  // Live leases per user of the candidates. On PostgreSQL the user rows are locked first, in
  // id order (no deadlock between instances), so two instances cannot both take a user's
  // last slot.
  std::map<std::string, std::int64_t> leased;
  if (max_per_user > 0) {
    for (const Workflow& w : candidates) leased.emplace(w.user_id, 0);
    for (auto& [user_id, count] : leased) {
      if (postgres) {
        const Value u[] = {user_id};
        SL_RETURN_IF_ERROR(c_.Query("SELECT id FROM users WHERE id = ? FOR UPDATE", u));
      }
      SL_ASSIGN_OR_RETURN(count, CountLeased(user_id));
    }
  }
  std::vector<Workflow> out;
  for (Workflow& w : candidates) {
    if (static_cast<int>(out.size()) >= limit) break;
    if (max_per_user > 0) {
      std::int64_t& count = leased[w.user_id];
      if (count >= max_per_user) continue;
      ++count;
    }
    w.lease_owner = std::string(owner);
    w.lease_expires_at = now + lease_ms;
    const Value v[] = {w.lease_owner, w.lease_expires_at, w.id};
    SL_RETURN_IF_ERROR(
        c_.Exec("UPDATE workflows SET lease_owner = ?, lease_expires_at = ? WHERE id = ?", v));
    out.push_back(std::move(w));
  }
  return out;
}

Result<std::vector<std::string>> WorkflowRepo::RenewLeases(std::string_view owner,
                                                           const std::vector<std::string>& ids,
                                                           Millis lease_ms) {
  std::vector<std::string> held;
  const Millis until = core::WallMillis() + lease_ms;
  for (const std::string& id : ids) {
    const Value v[] = {until, id, std::string(owner)};
    SL_ASSIGN_OR_RETURN(auto n, c_.Exec("UPDATE workflows SET lease_expires_at = ? WHERE id = ? "
                                        "AND lease_owner = ?",
                                        v));
    if (n > 0) held.push_back(id);
  }
  return held;
}

Result<void> WorkflowRepo::ReleaseLease(std::string_view id, std::string_view owner) {
  const Value v[] = {std::string(id), std::string(owner)};
  SL_RETURN_IF_ERROR(
      c_.Exec("UPDATE workflows SET lease_owner = NULL, lease_expires_at = NULL "
              "WHERE id = ? AND lease_owner = ?",
              v));
  return {};
}

Result<std::int64_t> WorkflowRepo::ReleaseAllLeases() {
  return c_.Exec(
      "UPDATE workflows SET lease_owner = NULL, lease_expires_at = NULL "
      "WHERE status IN ('queued', 'running') AND lease_owner IS NOT NULL");
}

Result<std::int64_t> WorkflowRepo::Count(std::optional<WorkflowStatus> status,
                                         std::string_view user_id) {
  std::string sql = "SELECT count(*) FROM workflows WHERE delete_requested = 0";
  std::vector<Value> params;
  if (!user_id.empty()) {
    sql += " AND user_id = ?";
    params.emplace_back(std::string(user_id));
  }
  if (status) {
    sql += " AND status = ?";
    params.emplace_back(std::string(ToString(*status)));
  }
  SL_ASSIGN_OR_RETURN(auto row, c_.QueryOne(sql, params));
  return row.Int(0);
}

}  // namespace storyloom
