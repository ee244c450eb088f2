#include "db/db_copy.h"

#include <fmt/format.h>
#include <sodium.h>

#include <algorithm>
#include <array>
#include <charconv>
#include <chrono>
#include <cmath>
#include <cstring>
#include <map>
#include <nlohmann/json.hpp>
#include <set>

#include "db/migrations.h"

namespace storyloom::db {

namespace {

using Clock = std::chrono::steady_clock;

double SecondsSince(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

// Seeded by migrations (default prices); replaced by the source's rows, never "data".
bool IsSeededTable(const std::string& name) { return name == "model_prices"; }

bool IsDeferredColumn(const std::string& table, const std::string& column) {
  for (const auto& d : DeferredColumns()) {
    if (d.table == table && d.column == column) return true;
  }
  return false;
}

// Appends one value, normalised so both backends produce the same bytes.
void AppendNormalised(std::string& out, const Value& v) {
  char num[32];
  std::string_view text;
  std::string json_text;
  char tag = 's';
  if (std::holds_alternative<std::monostate>(v)) {
    tag = 'n';
  } else if (const auto* i = std::get_if<std::int64_t>(&v)) {
    text = std::string_view(num, std::to_chars(num, num + sizeof num, *i).ptr);
  } else if (const auto* d = std::get_if<double>(&v)) {
    const char* end = std::isfinite(*d) && std::floor(*d) == *d && std::fabs(*d) < 9.0e15
                          ? std::to_chars(num, num + sizeof num, static_cast<std::int64_t>(*d)).ptr
                          : std::to_chars(num, num + sizeof num, *d).ptr;
    text = std::string_view(num, end);
  } else {
    const auto& s = std::get<std::string>(v);
    text = s;
    // JSONB re-formats JSON text (key order, spaces): compare canonical dumps.
    if (!s.empty() && (s.front() == '{' || s.front() == '[')) {
      auto j = nlohmann::json::parse(s, nullptr, false);
      if (!j.is_discarded()) text = json_text = j.dump();
    }
  }
  out += tag;
  char len[24];
  out.append(len, std::to_chars(len, len + sizeof len, text.size()).ptr);
  out += ':';
  out += text;
}

Result<std::int64_t> CountRows(Connection& c, const std::string& table) {
  SL_ASSIGN_OR_RETURN(auto row, c.QueryOne("SELECT count(*) FROM " + QuoteIdentifier(table)));
  return row.Int(0);
}

// The columns of `source` that `target` also has, in source order, with their indexes.
struct CommonTable {
  TableInfo source;
  TableInfo target;
  std::vector<std::string> columns;
  std::vector<std::size_t> source_index;
};

std::vector<CommonTable> Intersect(const std::vector<TableInfo>& source,
                                   const std::vector<TableInfo>& target) {
  std::vector<CommonTable> out;
  for (const auto& s : source) {
    auto t = std::find_if(target.begin(), target.end(),
                          [&](const TableInfo& x) { return x.name == s.name; });
    if (t == target.end()) continue;
    CommonTable ct{s, *t, {}, {}};
    for (std::size_t i = 0; i < s.columns.size(); ++i) {
      if (std::find(t->columns.begin(), t->columns.end(), s.columns[i]) == t->columns.end()) {
        continue;
      }
      ct.columns.push_back(s.columns[i]);
      ct.source_index.push_back(i);
    }
    out.push_back(std::move(ct));
  }
  return out;
}

// Empties the target's tables (rows seeded by migrations too), parents listed first.
Result<void> EmptyTarget(Connection& c, const std::vector<CommonTable>& tables) {
  std::vector<std::string> names;
  names.reserve(tables.size());
  for (const auto& t : tables) names.push_back(t.target.name);
  std::vector<std::pair<std::string, std::string>> cycle;
  for (const auto& d : DeferredColumns()) cycle.emplace_back(d.table, d.column);
  return c.EmptyTables(names, cycle);
}

}  // namespace

bool CopyReport::ok() const {
  return std::all_of(tables.begin(), tables.end(), [](const auto& t) { return t.ok(); });
}

Result<TableChecksum> ChecksumTable(Connection& c, const TableInfo& t,
                                    const std::vector<std::string>& columns) {
  std::vector<std::size_t> index;
  for (const auto& col : columns) {
    auto it = std::find(t.columns.begin(), t.columns.end(), col);
    if (it == t.columns.end()) {
      return Fail(Error::InvalidArgument(fmt::format("{} has no column {}", t.name, col)));
    }
    index.push_back(static_cast<std::size_t>(it - t.columns.begin()));
  }
  // The sum of per-row digests (4 lanes mod 2^64): independent of row order, since the two
  // backends may sort text keys differently.
  std::array<std::uint64_t, 4> sum{};
  TableChecksum out;
  std::string buf;
  SL_RETURN_IF_ERROR(ScanTable(
      c, t,
      [&](const Row& r) -> Result<void> {
        buf.clear();
        for (std::size_t i : index) AppendNormalised(buf, r.at(i));
        unsigned char digest[crypto_hash_sha256_BYTES];
        crypto_hash_sha256(digest, reinterpret_cast<const unsigned char*>(buf.data()), buf.size());
        for (std::size_t lane = 0; lane < 4; ++lane) {
          std::uint64_t x;
          std::memcpy(&x, digest + lane * 8, 8);
          sum[lane] += x;
        }
        ++out.rows;
        return {};
      },
      5000));
  for (auto lane : sum) out.checksum += fmt::format("{:016x}", lane);
  return out;
}

Result<CopyReport> CopyDatabase(const std::string& from_url, const std::string& to_url,
                                const CopyOptions& options) {
  SL_ASSIGN_OR_RETURN(auto source, Open(from_url));
  SL_ASSIGN_OR_RETURN(auto target, Open(to_url));
  SL_ASSIGN_OR_RETURN(auto status, GetMigrationStatus(*source));
  if (status.current_version == 0 || !status.pending.empty()) {
    return Fail(Error::FailedPrecondition(
        source->display_url() +
        " is not a current Storyloom database; run `storyloom db migrate` on it first"));
  }
  SL_RETURN_IF_ERROR(Migrate(*target));

  SL_ASSIGN_OR_RETURN(
      auto source_tables,
      ReadValue<std::vector<TableInfo>>(*source, [](Connection& c) { return ListTables(c); }));
  SL_ASSIGN_OR_RETURN(
      auto target_tables,
      ReadValue<std::vector<TableInfo>>(*target, [](Connection& c) { return ListTables(c); }));
  const std::vector<CommonTable> tables = Intersect(source_tables, target_tables);

  // Refuse a target that holds data of its own.
  std::string non_empty;
  SL_RETURN_IF_ERROR(target->Read([&](Connection& c) -> Result<void> {
    for (const auto& t : tables) {
      if (IsDerivedTable(t.target.name) || IsSeededTable(t.target.name)) continue;
      SL_ASSIGN_OR_RETURN(auto n, CountRows(c, t.target.name));
      if (n > 0 && non_empty.empty()) non_empty = fmt::format("{} has {} row(s)", t.target.name, n);
    }
    return {};
  }));
  if (!non_empty.empty() && !options.force) {
    return Fail(Error::FailedPrecondition(fmt::format(
        "the target database {} is not empty ({}); pass --force to replace its contents",
        target->display_url(), non_empty)));
  }
  CopyReport report;
  const auto copy_start = Clock::now();
  // One transaction on the target: a failed copy leaves it as it was. Inside it, one read
  // transaction over the whole source: a consistent snapshot of every table.
  SL_RETURN_IF_ERROR(target->Write([&](Connection& dst) -> Result<void> {
    report.rows = 0;  // the callback runs again after a transient failure
    SL_RETURN_IF_ERROR(EmptyTarget(dst, tables));
    return source->Read([&](Connection& src) -> Result<void> {
      std::map<std::string, std::int64_t> counts;
      std::int64_t total = 0;
      for (const auto& t : tables) {
        SL_ASSIGN_OR_RETURN(counts[t.source.name], CountRows(src, t.source.name));
        total += counts[t.source.name];
      }
      std::int64_t done = 0;
      if (options.on_progress) options.on_progress("copy", 0, total);
      std::map<std::string, std::vector<std::vector<Value>>> deferred;  // table -> rows
      for (const auto& t : tables) {
        const std::string table = QuoteIdentifier(t.target.name);
        // Triggers rebuilt derived tables while the base rows went in (SQLite); the source's
        // copy also holds history of rows deleted since.
        if (IsDerivedTable(t.target.name)) SL_RETURN_IF_ERROR(dst.Exec("DELETE FROM " + table));
        // Rollup triggers would only rebuild derived tables that are copied from the source
        // anyway: on PostgreSQL the tables' owner switches them off until the commit.
        // Foreign keys stay checked.
        SL_RETURN_IF_ERROR(dst.SetUserTriggers(t.target.name, false));
        // Big tables: build their secondary indexes and check their foreign keys once,
        // after the rows are in.
        std::vector<std::string> restore;
        if (counts[t.source.name] >= options.rebuild_indexes_from_rows) {
          SL_ASSIGN_OR_RETURN(restore, DropIndexesAndForeignKeys(dst, t.target.name));
        }
        bool has_deferred = false;
        for (const auto& col : t.columns) has_deferred |= IsDeferredColumn(t.target.name, col);
        const TableInfo into{t.target.name, t.columns, {}};
        std::vector<std::vector<Value>> batch;
        auto flush = [&]() -> Result<void> {
          if (batch.empty()) return {};
          SL_RETURN_IF_ERROR(InsertRows(dst, into, batch));
          done += static_cast<std::int64_t>(batch.size());
          report.rows += static_cast<std::int64_t>(batch.size());
          if (options.on_progress) options.on_progress("copy", done, total);
          if (has_deferred) {
            auto& keep = deferred[t.target.name];
            keep.insert(keep.end(), std::make_move_iterator(batch.begin()),
                        std::make_move_iterator(batch.end()));
          }
          batch.clear();
          return {};
        };
        SL_RETURN_IF_ERROR(ScanTable(
            src, t.source,
            [&](const Row& r) -> Result<void> {
              std::vector<Value> v;
              v.reserve(t.source_index.size());
              for (std::size_t i : t.source_index) v.push_back(r.at(i));
              batch.push_back(std::move(v));
              if (static_cast<int>(batch.size()) >= options.rows_per_batch) return flush();
              return {};
            },
            5000));
        SL_RETURN_IF_ERROR(flush());
        for (const auto& sql : restore) SL_RETURN_IF_ERROR(dst.ExecScript(sql));
        SL_RETURN_IF_ERROR(dst.SetUserTriggers(t.target.name, true));
      }
      // Now that every file row exists, link scenes to their files.
      for (const auto& t : tables) {
        auto it = deferred.find(t.target.name);
        if (it == deferred.end()) continue;
        SL_RETURN_IF_ERROR(
            UpdateDeferred(dst, TableInfo{t.target.name, t.columns, {}}, it->second));
      }
      std::vector<TableInfo> written;
      written.reserve(tables.size());
      for (const auto& t : tables) written.push_back(TableInfo{t.target.name, t.columns, {}});
      return ResetSequences(dst, written);
    });
  }));
  report.copy_seconds = SecondsSince(copy_start);

  const auto verify_start = Clock::now();
  std::int64_t verified = 0;
  for (const auto& t : tables) {
    TableCopyReport tr;
    tr.name = t.target.name;
    SL_ASSIGN_OR_RETURN(auto s, ReadValue<TableChecksum>(*source, [&](Connection& c) {
                          return ChecksumTable(c, t.source, t.columns);
                        }));
    SL_ASSIGN_OR_RETURN(auto d, ReadValue<TableChecksum>(*target, [&](Connection& c) {
                          return ChecksumTable(c, t.target, t.columns);
                        }));
    tr.source_rows = s.rows;
    tr.source_checksum = s.checksum;
    tr.target_rows = d.rows;
    tr.target_checksum = d.checksum;
    report.tables.push_back(std::move(tr));
    if (options.on_progress) {
      options.on_progress("verify", ++verified, static_cast<std::int64_t>(tables.size()));
    }
  }
  report.verify_seconds = SecondsSince(verify_start);
  return report;
}

}  // namespace storyloom::db
