// Error responses for handlers: the mapping itself lives in http/status_map (one place);
// these names keep handler code short.
#pragma once

#include "http/status_map.h"

namespace storyloom::api {

using http::ErrorResponse;
using http::Malformed;

}  // namespace storyloom::api
