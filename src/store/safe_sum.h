// SQL fragments for totals of non-negative 64-bit columns that saturate at INT64_MAX
// instead of failing: SQLite's sum() raises "integer overflow" and PostgreSQL's bigint
// arithmetic raises "bigint out of range", and a total past 2^63 must never turn a read
// (GET /api/v1/budgets) or a write (the usage_daily rollup) into a 500.
//
// SQLite sums through total() (a double): exact while the total is below 2^53
// (9,007,199 USD in nano-USD, 9e15 tokens), within one part in 2^53 beyond, and CAST
// clamps it to INT64_MAX. PostgreSQL sums exactly as numeric and clamps with LEAST.
#pragma once

#include <fmt/format.h>

#include <string>
#include <string_view>

#include "db/database.h"

namespace storyloom::store {

// sum(expr) over the selected rows, 0 when there are none, at most INT64_MAX.
inline std::string SafeSum(db::Dialect d, std::string_view expr) {
  if (d == db::Dialect::kPostgres) {
    return fmt::format("LEAST(coalesce(sum({}), 0), 9223372036854775807)::bigint", expr);
  }
  return fmt::format("CAST(total({}) AS INTEGER)", expr);
}

// a + b for two non-negative bigint expressions, at most INT64_MAX.
inline std::string SafeAdd(db::Dialect d, std::string_view a, std::string_view b) {
  if (d == db::Dialect::kPostgres) {
    return fmt::format("LEAST({}::numeric + {}, 9223372036854775807)::bigint", a, b);
  }
  // SQLite turns an overflowing integer + into a REAL; min() brings it back to INT64_MAX.
  return fmt::format("min({} + {}, 9223372036854775807)", a, b);
}

}  // namespace storyloom::store
