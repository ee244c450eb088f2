// Placeholder rewriting for PostgreSQL: the store writes portable SQL with `?`; libpq wants
// `$1..$n`. Pure function; any thread.
#pragma once

#include <string>
#include <string_view>

namespace storyloom::db {

struct RewrittenSql {
  std::string sql;          // `?` replaced by $1, $2, … in order
  int parameter_count = 0;  // how many were replaced
};

// Replaces each `?` that stands outside a string literal ('…', E'…'), a quoted identifier
// ("…"), a dollar-quoted string ($tag$…$tag$) and a comment (-- …, /* … */) by $n. A `?`
// inside any of those is left alone. PostgreSQL's jsonb operators `?`, `?|` and `?&`
// cannot be written in portable SQL: use jsonb_exists() and friends instead.
RewrittenSql RewritePlaceholders(std::string_view sql);

}  // namespace storyloom::db
