#include "support/routes.h"

#include <filesystem>
#include <fstream>
#include <iterator>
#include <regex>

namespace storyloom::testing {

std::set<std::pair<std::string, std::string>> RegisteredRoutes() {
  std::set<std::pair<std::string, std::string>> out;
  const std::regex add(R"re(\br\.Add\(\s*"([A-Z]+)",\s*"([^"]+)")re");
  for (const auto& e :
       std::filesystem::directory_iterator(std::string(STORYLOOM_SOURCE_DIR) + "/src/api")) {
    if (e.path().extension() != ".cc") continue;
    std::ifstream in(e.path());
    const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    for (std::sregex_iterator it(text.begin(), text.end(), add), end; it != end; ++it) {
      out.emplace((*it)[1], (*it)[2]);
    }
  }
  return out;
}

}  // namespace storyloom::testing
