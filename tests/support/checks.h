// Checks and runners several test files share: running the storyloom CLI, and what a
// finished workflow must show about its scenes and files. Test support; single thread.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "support/server_process.h"

namespace storyloom::testing {

struct CliResult {
  int exit_code = -1;
  std::string out;  // stdout and stderr
  std::string LastLine() const;
};

// Runs the storyloom binary with `args` (a shell command line tail) and waits for it.
CliResult RunCli(const std::string& args);
// "--data-dir '<dir>' --database '<url>'": the CLI on `server`'s data.
std::string CliFlags(const ServerProcess& server);
// `storyloom fsck --grace-minutes 0` (every tracked file present with its size and sha256,
// no untracked file) and `storyloom db check` (integrity and foreign keys) exit 0.
void ExpectStoreClean(const ServerProcess& server);
// The first column of the first row of `sql` on the database at `url`, as text ("" when
// there is none); a failed query fails the test.
std::string QueryText(const std::string& url, const std::string& sql);
// The value of one sample of GET /metrics (asked as the admin), e.g.
// `storyloom_storage_errors_total{kind="io"}`; NaN when absent.
double MetricValue(const ServerProcess& server, const std::string& sample);

// PUT /api/v1/workflows/{wid}/files/{name} with `bytes` as text/plain, with Content-Length or,
// when `chunked`, in chunked transfer encoding.
HttpResult UploadText(HttpClient& c, const std::string& wid, const std::string& name,
                      const std::string& bytes, bool chunked = false);
// Every item of the list at `path` (which already has a query, e.g. "/api/v1/files?limit=2"),
// following next_cursor page by page; a page that is not 200 fails the test and ends the list.
std::vector<nlohmann::json> AllItems(HttpClient& c, const std::string& path);
// The audit entries with `action` on `target`, newest first, as `admin` sees them.
std::vector<nlohmann::json> AuditRows(HttpClient& admin, const std::string& action,
                                      const std::string& target);

// How many times workflow `id` started running: its status events that say "running".
int RunningEvents(Store& store, const std::string& id);

// A completed workflow's JSON has `scenes` scenes, each with its own image and audio file,
// and exactly one image and one audio file per scene among the files the pipeline wrote
// (uploads to the workflow aside).
void ExpectEachSceneHasItsFilesOnce(const nlohmann::json& w, int scenes);

// Polls the workflow until it is in the images phase with some but not all of its
// `scenes` images written (true), or it completed or `timeout_s` passed (false): the moment
// to kill a server mid-workflow.
bool WaitForImagesInProgress(HttpClient& c, const std::string& id, int scenes, int timeout_s);

// Every file under the server's save_outputs/ is one of `w`'s tracked files, with the
// sha256 its row records, and no path is tracked twice.
void ExpectEveryFileTrackedExactlyOnce(const ServerProcess& server, const nlohmann::json& w);

}  // namespace storyloom::testing
