// A JSON Schema validator for the subset Storyloom sends as structured-output schemas:
// type (one name or a list), properties, required, additionalProperties: false, items,
// minItems/maxItems, minLength/maxLength and enum. Pure function; any thread.
#pragma once

#include <nlohmann/json.hpp>
#include <string>

namespace storyloom::providers::openai {

// "" when `value` satisfies `schema`; otherwise the first violation with its path, e.g.
// "$.scenes[2].title: expected a string, got null".
std::string ValidateJson(const nlohmann::json& schema, const nlohmann::json& value);

}  // namespace storyloom::providers::openai
