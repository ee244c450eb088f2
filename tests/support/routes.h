// The routes the API registers, read from src/api/*.cc (every `r.Add("METHOD", "/pattern"`),
// so a route added later is covered by the tests that walk every route without editing
// them. Test support; any thread.
#pragma once

#include <set>
#include <string>
#include <utility>

namespace storyloom::testing {

// Every (method, path pattern) registered in src/api/*.cc.
std::set<std::pair<std::string, std::string>> RegisteredRoutes();

}  // namespace storyloom::testing
