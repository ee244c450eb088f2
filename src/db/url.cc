#include "db/url.h"

#include <fmt/format.h>

namespace storyloom::db {

Result<DatabaseUrl> ParseDatabaseUrl(std::string_view url) {
  DatabaseUrl out;
  if (url.starts_with("sqlite:")) {
    std::string_view rest = url.substr(7);
    if (rest.starts_with("//")) {
      rest.remove_prefix(2);
      // sqlite:///abs/path: the authority is empty and the path absolute.
      if (!rest.starts_with("/")) {
        return Fail(Error::InvalidArgument(
            fmt::format("database URL '{}': use sqlite:///absolute/path.db (three slashes) or "
                        "sqlite:relative/path.db",
                        url)));
      }
    }
    if (rest.empty() || rest.ends_with("/")) {
      return Fail(Error::InvalidArgument(fmt::format("database URL '{}' names no file", url)));
    }
    if (rest.find('?') != std::string_view::npos) {
      return Fail(Error::InvalidArgument(
          fmt::format("database URL '{}': SQLite URLs take no query parameters", url)));
    }
    out.dialect = Dialect::kSqlite;
    out.sqlite_path = std::string(rest);
    out.display = fmt::format("sqlite:{}{}", rest.starts_with("/") ? "//" : "", rest);
    return out;
  }
  if (url.starts_with("postgresql://") || url.starts_with("postgres://")) {
    out.dialect = Dialect::kPostgres;
    const auto query_at = url.find('?');
    std::string conninfo(url.substr(0, query_at));
    std::string display = conninfo;
    // Hide a password: scheme://user:secret@host -> scheme://user:***@host
    const auto scheme_end = display.find("://") + 3;
    const auto at = display.find('@', scheme_end);
    const auto slash = display.find('/', scheme_end);
    if (at != std::string::npos && (slash == std::string::npos || at < slash)) {
      const auto colon = display.find(':', scheme_end);
      if (colon != std::string::npos && colon < at)
        display.replace(colon + 1, at - colon - 1, "***");
    }
    // The query: pool_mode is ours and taken out; the rest is libpq's, passwords hidden.
    char separator = '?';
    std::string_view query =
        query_at == std::string_view::npos ? std::string_view() : url.substr(query_at + 1);
    while (!query.empty()) {
      const auto amp = query.find('&');
      const std::string_view param = query.substr(0, amp);
      query = amp == std::string_view::npos ? std::string_view() : query.substr(amp + 1);
      if (param.empty()) continue;
      const auto eq = param.find('=');
      const std::string_view key = param.substr(0, eq);
      const std::string_view value =
          eq == std::string_view::npos ? std::string_view() : param.substr(eq + 1);
      if (key == "pool_mode") {
        if (value != "session" && value != "transaction") {
          return Fail(Error::InvalidArgument(fmt::format(
              "database URL '{}...': pool_mode must be session or transaction", display)));
        }
        out.pool_mode = value == "transaction" ? PoolMode::kTransaction : PoolMode::kSession;
        continue;
      }
      conninfo += separator;
      display += separator;
      separator = '&';
      conninfo += param;
      display += key == "password" || key == "sslpassword" ? fmt::format("{}=***", key)
                                                           : std::string(param);
    }
    out.postgres_conninfo = std::move(conninfo);
    out.display = std::move(display);
    return out;
  }
  return Fail(Error::InvalidArgument(
      fmt::format("unsupported database URL '{}': expected sqlite:///path.db, sqlite:path.db or "
                  "postgresql://user@host:5432/db",
                  url)));
}

}  // namespace storyloom::db
