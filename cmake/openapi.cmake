# The API description (docs/openapi.yaml), converted to JSON at build time and compiled into
# sl_api: GET /api/v1/openapi.json serves it (src/api/web_api.cc). Needs python3 with
# python3-yaml (scripts/install-deps). Also writes generated/openapi.json for the tests.
find_program(STORYLOOM_PYTHON3 NAMES python3 REQUIRED)
set(OPENAPI_YAML ${CMAKE_CURRENT_SOURCE_DIR}/docs/openapi.yaml)
set(OPENAPI_CC ${CMAKE_CURRENT_BINARY_DIR}/generated/openapi_json.cc)
set(OPENAPI_JSON ${CMAKE_CURRENT_BINARY_DIR}/generated/openapi.json)
add_custom_command(
  OUTPUT ${OPENAPI_CC} ${OPENAPI_JSON}
  COMMAND ${STORYLOOM_PYTHON3} ${CMAKE_CURRENT_SOURCE_DIR}/cmake/openapi_to_cc.py
          ${OPENAPI_YAML} ${OPENAPI_CC} ${OPENAPI_JSON}
  DEPENDS ${OPENAPI_YAML} ${CMAKE_CURRENT_SOURCE_DIR}/cmake/openapi_to_cc.py
  COMMENT "Embedding docs/openapi.yaml as JSON")
target_sources(sl_api PRIVATE ${OPENAPI_CC})
