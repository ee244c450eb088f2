#include "support/checks.h"

#include <gtest/gtest.h>
#include <sys/wait.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <map>
#include <set>
#include <thread>

#include "core/hash.h"
#include "db/database.h"
#include "support/sanitizer_report.h"

namespace storyloom::testing {

std::string CliResult::LastLine() const {
  std::string s = out;
  while (!s.empty() && s.back() == '\n') s.pop_back();
  const auto nl = s.rfind('\n');
  return nl == std::string::npos ? s : s.substr(nl + 1);
}

CliResult RunCli(const std::string& args) {
  CliResult r;
  const std::string cmd = std::string(STORYLOOM_BINARY) + " " + args + " 2>&1";
  FILE* p = ::popen(cmd.c_str(), "r");
  if (p == nullptr) return r;
  char buf[4096];
  std::size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, p)) > 0) r.out.append(buf, n);
  const int status = ::pclose(p);
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  if (const std::string report = SanitizerReport(r.out); !report.empty()) {
    ADD_FAILURE() << "storyloom " << args << " printed a sanitizer report:\n" << report;
  }
  return r;
}

std::string CliFlags(const ServerProcess& server) {
  return "--data-dir '" + server.data_dir() + "' --database '" + server.database_url() + "'";
}

void ExpectStoreClean(const ServerProcess& server) {
  CliResult fsck = RunCli(CliFlags(server) + " fsck --grace-minutes 0");
  EXPECT_EQ(fsck.exit_code, 0) << fsck.out;
  CliResult check = RunCli(CliFlags(server) + " db check");
  EXPECT_EQ(check.exit_code, 0) << check.out;
}

int RunningEvents(Store& store, const std::string& id) {
  auto events = store.ReadOne<std::vector<WorkflowEvent>>(
      [&](StoreTx& tx) { return tx.events().List(id, 0, 1000); });
  EXPECT_TRUE(events.has_value());
  int running = 0;
  for (const auto& e : *events) {
    running += e.type == "status" && e.data_json.find("\"running\"") != std::string::npos;
  }
  return running;
}

std::string QueryText(const std::string& url, const std::string& sql) {
  auto d = db::Open(url, {.readers = 1});
  EXPECT_TRUE(d.has_value()) << url;
  if (!d) return "";
  std::string out;
  auto r = (*d)->Read([&](db::Connection& c) -> Result<void> {
    SL_ASSIGN_OR_RETURN(auto rows, c.Query(sql));
    if (!rows.empty() && !rows[0].IsNull(0)) out = rows[0].Text(0);
    return {};
  });
  EXPECT_TRUE(r.has_value()) << sql << ": " << r.error().ToString();
  return out;
}

double MetricValue(const ServerProcess& server, const std::string& sample) {
  auto admin = server.Client("admin");
  const HttpResult r = admin->Get("/metrics");
  EXPECT_EQ(r.status, 200) << r.body;
  std::size_t at = 0;
  while ((at = r.body.find(sample + " ", at)) != std::string::npos) {
    if (at == 0 || r.body[at - 1] == '\n') {
      const std::size_t end = r.body.find('\n', at);
      return std::stod(r.body.substr(at + sample.size() + 1, end - at - sample.size() - 1));
    }
    at += sample.size();
  }
  return std::nan("");
}

bool WaitForImagesInProgress(HttpClient& c, const std::string& id, int scenes, int timeout_s) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(timeout_s);
  while (std::chrono::steady_clock::now() < deadline) {
    nlohmann::json w = c.Get("/api/v1/workflows/" + id).Json();
    if (w.is_object() && w["phase"] == "images") {
      int images = 0;
      for (const auto& s : w["scenes"]) images += s["image"].is_object();
      if (images >= 1 && images < scenes) return true;
    }
    if (w.is_object() && w["status"] == "completed") return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return false;
}

void ExpectEachSceneHasItsFilesOnce(const nlohmann::json& w, int scenes) {
  ASSERT_EQ(w["scenes"].size(), static_cast<std::size_t>(scenes));
  std::set<std::string> image_ids, audio_ids;
  for (const auto& s : w["scenes"]) {
    ASSERT_TRUE(s["image"].is_object());
    ASSERT_TRUE(s["audio"].is_object());
    image_ids.insert(s["image"]["id"].get<std::string>());
    audio_ids.insert(s["audio"]["id"].get<std::string>());
  }
  EXPECT_EQ(image_ids.size(), static_cast<std::size_t>(scenes));
  EXPECT_EQ(audio_ids.size(), static_cast<std::size_t>(scenes));
  // The pipeline's own files. An upload (a client may add one to any workflow, and its type
  // comes from its content: random bytes starting FF Ex sniff as MPEG audio) is not one.
  int images = 0, audio = 0;
  for (const auto& f : w["files"]) {
    if (f["path"].get<std::string>().find("/uploads/") != std::string::npos) continue;
    images += f["type"] == "image";
    audio += f["type"] == "audio";
  }
  EXPECT_EQ(images, scenes) << "one image file per scene, no duplicates";
  EXPECT_EQ(audio, scenes);
}

void ExpectEveryFileTrackedExactlyOnce(const ServerProcess& server, const nlohmann::json& w) {
  std::map<std::string, std::string> tracked;  // path -> sha256
  for (const auto& f : w["files"]) tracked[f["path"]] = f["sha256"];
  ASSERT_EQ(tracked.size(), w["files"].size()) << "a path is tracked twice";
  const std::filesystem::path root = server.outputs_dir();
  int on_disk = 0;
  for (const auto& entry : std::filesystem::recursive_directory_iterator(root)) {
    if (!entry.is_regular_file()) continue;
    const std::string rel = std::filesystem::relative(entry.path(), root).generic_string();
    ++on_disk;
    auto it = tracked.find(rel);
    ASSERT_NE(it, tracked.end()) << "untracked file left on disk: " << rel;
    EXPECT_EQ(core::Sha256Hex(ReadFileOrEmpty(entry.path())), it->second) << rel;
  }
  EXPECT_EQ(on_disk, static_cast<int>(tracked.size()));
}

HttpResult UploadText(HttpClient& c, const std::string& wid, const std::string& name,
                      const std::string& bytes, bool chunked) {
  std::vector<std::string> h = {"Content-Type: text/plain"};
  if (chunked) h.push_back("Transfer-Encoding: chunked");
  return c.Request("PUT", "/api/v1/workflows/" + wid + "/files/" + name, bytes, h);
}

std::vector<nlohmann::json> AllItems(HttpClient& c, const std::string& path) {
  std::vector<nlohmann::json> out;
  std::string cursor;
  for (int page = 0; page < 1000; ++page) {
    auto r = c.Get(path + (cursor.empty() ? "" : "&cursor=" + cursor));
    EXPECT_EQ(r.status, 200) << path << ": " << r.body;
    if (r.status != 200) break;
    const nlohmann::json j = r.Json();
    for (const auto& item : j["items"]) out.push_back(item);
    if (!j["next_cursor"].is_string()) break;
    cursor = j["next_cursor"];
  }
  return out;
}

std::vector<nlohmann::json> AuditRows(HttpClient& admin, const std::string& action,
                                      const std::string& target) {
  std::vector<nlohmann::json> out;
  for (auto& e : AllItems(admin, "/api/v1/admin/audit?limit=200")) {
    if (e["action"] == action && e["target"] == target) out.push_back(std::move(e));
  }
  return out;
}

}  // namespace storyloom::testing
