// POST /api/v1/workflows bodies: JsonBody's depth-bounded parse (core::ParseJson), the `options`
// object re-serialised as the handler does, ParseWorkflowOptions; raw bytes as options text too.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>

#include "api/handler_util.h"  // OptString (defined in request_parsers.cc)
#include "core/bounded_json.h"
#include "engine/workflow_options.h"

using namespace storyloom;

namespace {

void CheckOptions(std::string_view text) {
  auto o = engine::ParseWorkflowOptions(text);
  if (!o) return;
  if (o->scenes < 1 || o->scenes > 20) std::abort();
  // What was accepted is stored as ToJson() and parsed again by the worker.
  auto again = engine::ParseWorkflowOptions(o->ToJson());
  if (!again || again->ToJson() != o->ToJson()) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  CheckOptions(text);

  // handler_util.cc JsonBody: the depth-bounded parse, then "must be an object".
  auto body = core::ParseJson(text);
  if (!body || !body->is_object()) return 0;
  (void)api::OptString(*body, "title");
  (void)api::OptString(*body, "prompt");
  if (auto it = body->find("options"); it != body->end() && it->is_object()) {
    CheckOptions(it->dump());  // workflows_api.cc CreateWorkflow
  }
  return 0;
}
