// JSON views of domain objects as the API contract defines them (docs/API.md). Pure
// functions; any thread.
#pragma once

#include <nlohmann/json.hpp>
#include <string>

#include "storyloom/types.h"

namespace storyloom::api {

// "0.00045" from 450000 nano-USD: exact, trailing zeros trimmed to two decimals.
std::string FormatUsd(NanoUsd nusd);
// "/files/<path>", or with files_origin set a link signed for 1 to 2 hours on that origin.
std::string FileUrl(const GeneratedFile& f);
std::string FileUrl(const std::string& file_path);

// files_origin support. Configure once at start-up, before any request is served.
void ConfigureFileLinks(const std::string& files_origin, const std::string& secret);
const std::string& FilesOrigin();  // "" = files are served on the main origin
// True when `exp` (unix seconds, not yet passed) and `sig` were made by FileUrl for
// `file_path` with this process's secret.
bool VerifyFileLink(const std::string& file_path, const std::string& exp, const std::string& sig);
nlohmann::json FileJson(const GeneratedFile& f);
// The workflow summary (list items): no phases, scenes, files or cost.
nlohmann::json WorkflowJson(const Workflow& w);
nlohmann::json PhaseJson(const WorkflowPhase& p);
// A scene with its image and audio files (from `files`, matched by id).
nlohmann::json SceneJson(const Scene& s, const std::vector<GeneratedFile>& files);
nlohmann::json UsageJson(const ApiUsage& u);
// One item of GET /api/v1/usage/calls (and `storyloom usage calls --json`): UsageJson plus
// "priced" (false when cost_usd is null) and "error" ({"code", "http_status"} or null).
nlohmann::json UsageCallJson(const ApiUsage& u);
// A usage report row: the eleven counters, plus cost_usd as a decimal string.
nlohmann::json UsageTotalsJson(const UsageTotals& t);
nlohmann::json UserJson(const User& u);
nlohmann::json TokenJson(const ApiToken& t);
// A JSON string or null for optional times.
nlohmann::json TimeJson(std::optional<Millis> ms);

}  // namespace storyloom::api
