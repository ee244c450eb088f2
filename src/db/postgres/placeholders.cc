#include "db/postgres/placeholders.h"

namespace storyloom::db {
namespace {

bool IsIdentChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
         c == '$' || static_cast<unsigned char>(c) >= 0x80;
}

// If a dollar-quote opening tag ($$ or $tag$) starts at `i`, returns its length, else 0.
std::size_t DollarTagLength(std::string_view sql, std::size_t i) {
  // `$1` is a parameter and `a$b` an identifier, not a quote.
  if (i > 0 && IsIdentChar(sql[i - 1])) return 0;
  std::size_t j = i + 1;
  if (j < sql.size() && sql[j] >= '0' && sql[j] <= '9') return 0;
  while (j < sql.size() && sql[j] != '$') {
    if (!IsIdentChar(sql[j])) return 0;
    ++j;
  }
  return j < sql.size() ? j - i + 1 : 0;
}

}  // namespace

RewrittenSql RewritePlaceholders(std::string_view sql) {
  RewrittenSql out;
  out.sql.reserve(sql.size() + 16);
  std::size_t i = 0;
  // Copies sql[i..end) verbatim and moves past it.
  auto copy_to = [&](std::size_t end) {
    out.sql.append(sql.substr(i, end - i));
    i = end;
  };
  while (i < sql.size()) {
    const char c = sql[i];
    if (c == '?') {
      out.sql += '$';
      out.sql += std::to_string(++out.parameter_count);
      ++i;
    } else if (c == '\'' || c == '"') {
      // '…' and "…"; a doubled quote is an escaped quote. E'…' also allows \'.
      const bool backslashes = c == '\'' && i > 0 && (sql[i - 1] == 'E' || sql[i - 1] == 'e') &&
                               (i < 2 || !IsIdentChar(sql[i - 2]));
      std::size_t j = i + 1;
      while (j < sql.size()) {
        if (backslashes && sql[j] == '\\') {
          j += 2;
        } else if (sql[j] == c) {
          if (j + 1 < sql.size() && sql[j + 1] == c) {
            j += 2;
          } else {
            ++j;
            break;
          }
        } else {
          ++j;
        }
      }
      copy_to(std::min(j, sql.size()));
    } else if (c == '-' && i + 1 < sql.size() && sql[i + 1] == '-') {
      const std::size_t eol = sql.find('\n', i);
      copy_to(eol == std::string_view::npos ? sql.size() : eol);
    } else if (c == '/' && i + 1 < sql.size() && sql[i + 1] == '*') {
      // Block comments nest in PostgreSQL.
      int depth = 0;
      std::size_t j = i;
      while (j < sql.size()) {
        if (sql.substr(j, 2) == "/*") {
          ++depth;
          j += 2;
        } else if (sql.substr(j, 2) == "*/") {
          j += 2;
          if (--depth == 0) break;
        } else {
          ++j;
        }
      }
      copy_to(std::min(j, sql.size()));
    } else if (c == '$') {
      const std::size_t tag_len = DollarTagLength(sql, i);
      if (tag_len == 0) {
        copy_to(i + 1);
        continue;
      }
      const std::string_view tag = sql.substr(i, tag_len);
      const std::size_t close = sql.find(tag, i + tag_len);
      copy_to(close == std::string_view::npos ? sql.size() : close + tag_len);
    } else {
      out.sql += c;
      ++i;
    }
  }
  return out;
}

}  // namespace storyloom::db
