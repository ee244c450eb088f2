// Rows and whole tables as plain values, shared by every layer that moves data in bulk: the
// database driver reads and writes them, the store hands them out for backups and loads
// them in restores, and ops encodes them in a backup's files. Values only, no I/O except
// through a TableSource; a TableSource is used by one thread at a time.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include "storyloom/error.h"

namespace storyloom {

// A column value or a bound parameter: NULL, an integer, a real or text (bytes).
using Value = std::variant<std::monostate, std::int64_t, double, std::string>;

// One result row. Column access by index; NULL reads as 0 / "" unless asked with Opt*.
class Row {
 public:
  explicit Row(std::vector<Value> values) : values_(std::move(values)) {}
  std::size_t size() const { return values_.size(); }
  bool IsNull(std::size_t i) const;
  std::int64_t Int(std::size_t i) const;
  double Real(std::size_t i) const;
  std::string Text(std::size_t i) const;
  std::optional<std::int64_t> OptInt(std::size_t i) const;
  const Value& at(std::size_t i) const { return values_.at(i); }

 private:
  std::vector<Value> values_;
};

// A data table: its name, its columns in order, and the columns that order its rows (the
// primary key; "rowid" on a SQLite table without one).
struct TableInfo {
  std::string name;
  std::vector<std::string> columns;
  std::vector<std::string> key;
};

// Rows of one table, each with one value per column in the table's column order.
using RowBatch = std::vector<std::vector<Value>>;
// Receives rows in batches; may consume the batch.
using BatchSink = std::function<Result<void>(RowBatch&)>;
// Rows a TableSource hands over at a time; each batch is loaded in one transaction.
inline constexpr std::size_t kRowBatchSize = 1000;

// Where the rows of a load come from: another database, or a backup's files.
class TableSource {
 public:
  virtual ~TableSource() = default;
  // The tables, parents first, with their columns.
  [[nodiscard]] virtual Result<std::vector<TableInfo>> Tables() = 0;
  // Every row of `t`, in batches.
  [[nodiscard]] virtual Result<void> Scan(const TableInfo& t, const BatchSink& sink) = 0;
};

}  // namespace storyloom
