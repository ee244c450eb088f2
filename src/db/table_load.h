// Loading whole tables into an empty database: what a logical restore does, whatever the
// rows come from (a SQLite copy, a JSON-lines export). Migrates the target to the rows'
// schema version, replaces the rows migrations seeded, inserts every table parents-first in
// batches (the scenes/files cycle deferred), then moves id sequences past the loaded ids.
// Written over table_io and the Connection's catalog hooks; no dialect is named here. Used
// from one thread at a time.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <vector>

#include "db/database.h"
#include "db/table_io.h"

namespace storyloom::db {

// storyloom/table_data.h
using RowBatch = storyloom::RowBatch;
using BatchSink = storyloom::BatchSink;
using TableSource = storyloom::TableSource;

// The rows of another database (a backup's SQLite copy).
[[nodiscard]] std::unique_ptr<TableSource> DatabaseSource(std::unique_ptr<Database> d);

// failed_precondition unless `d` has no table at all.
[[nodiscard]] Result<void> CheckEmptyDatabase(Database& d);

// Loads `src` into `target` (see above): the columns both sides have, tables the target
// lacks skipped. Returns the rows inserted.
[[nodiscard]] Result<std::int64_t> LoadTables(TableSource& src, Database& target,
                                              int schema_version, const ProgressFn& progress);

// Rows per batch read from a source and written in one transaction.
inline constexpr std::size_t kLoadBatch = storyloom::kRowBatchSize;

}  // namespace storyloom::db
