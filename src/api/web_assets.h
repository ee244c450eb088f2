// The browser UI's files (web/), compiled into the binary. Read-only; any thread.
#pragma once

#include <string_view>
#include <vector>

namespace storyloom::api {

struct WebAsset {
  std::string_view path;  // "/index.html"
  std::string_view bytes;
};

// Every embedded asset, sorted by path.
const std::vector<WebAsset>& WebAssets();

}  // namespace storyloom::api
