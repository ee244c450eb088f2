// The browser UI's files (web/) and the API description (docs/openapi.yaml as JSON),
// compiled into the binary. Read-only; any thread.
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

// docs/openapi.yaml as compact JSON, converted at build time (cmake/openapi.cmake).
std::string_view OpenApiJson();

}  // namespace storyloom::api
