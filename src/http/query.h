// Parsing of a request target's query string. Pure function; any thread.
#pragma once

#include <string>
#include <string_view>
#include <unordered_map>

namespace storyloom::http {

// Parses "a=1&b=x+y" into decoded pairs (first value wins). Returns false on a bad escape.
bool ParseQuery(std::string_view qs, std::unordered_map<std::string, std::string>& out);

}  // namespace storyloom::http
