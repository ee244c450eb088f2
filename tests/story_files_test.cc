// A story's files beyond one at a time, over real HTTP against the real `storyloom serve`, on
// SQLite and PostgreSQL: the whole story as a zip (GET /api/v1/workflows/{id}/archive, read
// back with python3's zipfile and unzip -t), `storyloom export`, editing a file's metadata
// with a JSON merge patch (PATCH /api/v1/files/{id}), and the style an image records.
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>

#include "core/hash.h"
#include "support/checks.h"
#include "support/server_process.h"
#include "support/shared_servers.h"
#include "support/temp_dir.h"

namespace storyloom {
namespace {

using nlohmann::json;
using testing::HttpClient;
using testing::ServerProcess;
using testing::WaitForWorkflow;

// Runs `cmd` in a shell; returns its exit status and output.
std::pair<int, std::string> Shell(const std::string& cmd) {
  std::string out;
  FILE* p = ::popen((cmd + " 2>&1").c_str(), "r");
  if (!p) return {-1, ""};
  char buf[4096];
  std::size_t n;
  while ((n = std::fread(buf, 1, sizeof(buf), p)) > 0) out.append(buf, n);
  const int status = ::pclose(p);
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, out};
}

// Every entry of the zip at `path` as python3's zipfile reads it: name -> {size, sha256,
// compress_type}, and "bad": the first entry whose CRC fails (null when none).
json ReadZip(const std::string& path) {
  const std::string script =
      "import hashlib, json, sys, zipfile\n"
      "z = zipfile.ZipFile(sys.argv[1])\n"
      "out = {'bad': z.testzip(), 'entries': {}, 'manifest': None}\n"
      "for i in z.infolist():\n"
      "    b = z.read(i.filename)\n"
      "    out['entries'][i.filename] = {'size': i.file_size, 'compress_type': i.compress_type,"
      " 'sha256': hashlib.sha256(b).hexdigest()}\n"
      "    if i.filename.endswith('/manifest.json'): out['manifest'] = json.loads(b)\n"
      "print(json.dumps(out))\n";
  const std::string script_path = path + ".py";
  testing::WriteFile(script_path, script);
  const auto [code, out] = Shell("python3 '" + script_path + "' '" + path + "'");
  EXPECT_EQ(code, 0) << out;
  return json::parse(out, nullptr, false);
}

class StoryFilesTest : public ::testing::TestWithParam<std::string> {
 protected:
  static testing::SharedServers& servers() {
    static testing::SharedServers s;
    return s;
  }
  static void TearDownTestSuite() { servers().Clear(); }
  void SetUp() override { server_ = &servers().Get(GetParam()); }

  // A finished two-scene story of alice's in the given style (images only).
  json MakeStory(HttpClient& alice, const std::string& title_prompt) {
    auto r =
        alice.Post("/api/v1/workflows",
                   {{"prompt", title_prompt},
                    {"options", {{"scenes", 2}, {"style", "ink wash"}, {"narration", false}}}});
    EXPECT_EQ(r.status, 201) << r.body;
    json w = WaitForWorkflow(alice, r.Json()["id"]);
    EXPECT_EQ(w["status"], "completed") << w.dump(2);
    return w;
  }

  ServerProcess* server_ = nullptr;
  testing::TempDir tmp_;
};

TEST_P(StoryFilesTest, ImagesRecordTheStyleTheWorkflowAskedFor) {
  auto alice = server_->Client("alice");
  const json w = MakeStory(*alice, "A fox who paints the moon");
  auto images = alice->Get("/api/v1/files?type=image&workflow_id=" + w["id"].get<std::string>());
  ASSERT_EQ(images.status, 200);
  const json items = images.Json()["items"];
  ASSERT_EQ(items.size(), 2u) << images.body;
  std::set<int> scenes;
  for (const auto& f : items) {
    EXPECT_EQ(f["metadata"]["style"], "ink wash") << f.dump();
    EXPECT_EQ(f["metadata"]["scene_number"], f["scene_number"]) << f.dump();
    EXPECT_TRUE(f["metadata"].contains("prompt")) << f.dump();  // existing keys stay
    scenes.insert(f["metadata"]["scene_number"].get<int>());
  }
  EXPECT_EQ(scenes, (std::set<int>{1, 2}));
  // A workflow without a style records null.
  auto r = alice->Post("/api/v1/workflows",
                       {{"prompt", "Plain"}, {"options", {{"scenes", 1}, {"narration", false}}}});
  const json plain = WaitForWorkflow(*alice, r.Json()["id"]);
  ASSERT_EQ(plain["status"], "completed");
  const json img = plain["scenes"][0]["image"];
  ASSERT_TRUE(img["metadata"].contains("style")) << img.dump();
  EXPECT_TRUE(img["metadata"]["style"].is_null()) << img.dump();
}

TEST_P(StoryFilesTest, ArchiveHoldsEveryFileWithAManifestThatMatchesTheApi) {
  auto alice = server_->Client("alice");
  const json w = MakeStory(*alice, "The Lighthouse & the Map!");
  const std::string id = w["id"];
  // An upload of alice's own is part of the story too.
  const std::string notes = "notes of the author\n";
  ASSERT_EQ(alice->Request("PUT", "/api/v1/workflows/" + id + "/files/notes.txt", notes).status,
            201);

  auto r = alice->Get("/api/v1/workflows/" + id + "/archive");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.Header("content-type"), "application/zip");
  const std::string title = w["title"];
  const std::string disposition = r.Header("content-disposition");
  EXPECT_EQ(disposition.rfind("attachment; filename=\"", 0), 0u) << disposition;
  EXPECT_EQ(disposition.find_first_of(" /\\&!", 21), std::string::npos) << disposition;
  EXPECT_TRUE(disposition.ends_with(".zip\"")) << disposition;
  const std::string folder = disposition.substr(22, disposition.size() - 22 - 5);
  EXPECT_EQ(r.Header("transfer-encoding"), "chunked");

  const auto zip = tmp_ / "story.zip";
  testing::WriteFile(zip, r.body);
  const auto [unzip_code, unzip_out] = Shell("unzip -tq '" + zip.string() + "'");
  EXPECT_EQ(unzip_code, 0) << unzip_out;
  const json z = ReadZip(zip.string());
  ASSERT_TRUE(z.is_object());
  EXPECT_TRUE(z["bad"].is_null()) << z.dump();

  // Every tracked file, as the API lists it, is in the zip with its size and sha256, stored
  // (not recompressed), under the story's folder; and the manifest says the same.
  auto listed = alice->Get("/api/v1/files?order=oldest&limit=200&workflow_id=" + id);
  ASSERT_EQ(listed.status, 200);
  const json files = listed.Json()["items"];
  ASSERT_GE(files.size(), 4u);  // 2 images, the story text, the storyboards, the upload
  const json manifest = z["manifest"];
  ASSERT_TRUE(manifest.is_object()) << z.dump();
  EXPECT_EQ(manifest["workflow_id"], id);
  EXPECT_EQ(manifest["title"], title);
  EXPECT_EQ(manifest["created_at"], w["created_at"]);
  ASSERT_EQ(manifest["files"].size(), files.size());
  EXPECT_EQ(z["entries"].size(), files.size() + 1);  // and the manifest
  std::map<std::string, json> by_id;
  for (const auto& m : manifest["files"]) by_id[m["id"]] = m;
  for (const auto& f : files) {
    ASSERT_TRUE(by_id.contains(f["id"])) << f.dump();
    const json m = by_id[f["id"]];
    const std::string path = m["path"];
    EXPECT_EQ(path.rfind(folder + "/", 0), 0u) << path;
    EXPECT_EQ(m["size"], f["size"]);
    EXPECT_EQ(m["sha256"], f["sha256"]);
    EXPECT_EQ(m["type"], f["type"]);
    EXPECT_EQ(m["mime_type"], f["mime_type"]);
    EXPECT_EQ(m["scene_number"], f["scene_number"]);
    ASSERT_TRUE(z["entries"].contains(path)) << path;
    const json e = z["entries"][path];
    EXPECT_EQ(e["sha256"], f["sha256"]) << path;
    EXPECT_EQ(e["size"], f["size"]) << path;
    EXPECT_EQ(e["compress_type"], 0) << path;  // ZIP_STORED
  }
  EXPECT_TRUE(z["entries"].contains(folder + "/uploads/notes.txt")) << z.dump();
  EXPECT_EQ(z["entries"][folder + "/uploads/notes.txt"]["sha256"], core::Sha256Hex(notes));

  // The admin may download it too (and that is audited); bob may not even learn it exists.
  auto admin = server_->Client("admin");
  EXPECT_EQ(admin->Get("/api/v1/workflows/" + id + "/archive").status, 200);
  auto audit = admin->Get("/api/v1/admin/audit?limit=200");
  bool audited = false;
  const json entries = audit.Json()["items"];
  for (const auto& e : entries) {
    audited = audited || (e["action"] == "workflow.archive" && e["target"] == id);
  }
  EXPECT_TRUE(audited) << audit.body;
  auto bob = server_->Client("bob")->Get("/api/v1/workflows/" + id + "/archive");
  EXPECT_EQ(bob.status, 404);
  EXPECT_EQ(bob.Json()["error"]["code"], "not_found");
  EXPECT_EQ(alice->Get("/api/v1/workflows/0190a0a0-0000-7000-8000-000000000000/archive").status,
            404);
  EXPECT_EQ(alice->Get("/api/v1/workflows/not-an-id/archive").status, 404);
  EXPECT_EQ(server_->Client()->Get("/api/v1/workflows/" + id + "/archive").status, 401);

  // `storyloom export` writes the same archive to a file.
  const auto exported = tmp_ / "exported.zip";
  auto cli = testing::RunCli("export " + id + " -o '" + exported.string() + "' --log-level off " +
                             testing::CliFlags(*server_));
  ASSERT_EQ(cli.exit_code, 0) << cli.out;
  const json ze = ReadZip(exported.string());
  ASSERT_TRUE(ze.is_object());
  EXPECT_TRUE(ze["bad"].is_null());
  ASSERT_EQ(ze["entries"].size(), z["entries"].size());
  for (const auto& [name, e] : z["entries"].items()) {
    if (name.ends_with("/manifest.json")) continue;
    EXPECT_EQ(ze["entries"][name]["sha256"], e["sha256"]) << name;
  }
  EXPECT_EQ(ze["manifest"]["files"], manifest["files"]);
  auto missing = testing::RunCli("export 0190a0a0-0000-7000-8000-000000000000 --log-level off " +
                                 testing::CliFlags(*server_));
  EXPECT_EQ(missing.exit_code, 1) << missing.out;
  EXPECT_NE(missing.LastLine().find("no workflow"), std::string::npos) << missing.out;
}

TEST_P(StoryFilesTest, AFileChangedOnDiskNeverMakesAWholeLookingArchive) {
  auto alice = server_->Client("alice");
  const json w = MakeStory(*alice, "Changed under us");
  const std::string id = w["id"];
  // Same size, other bytes: only the sha256 can tell, once the file has been read.
  const json img = w["scenes"][1]["image"];
  const auto on_disk =
      std::filesystem::path(server_->outputs_dir()) / img["path"].get<std::string>();
  std::string bytes = testing::ReadFileOrEmpty(on_disk);
  ASSERT_FALSE(bytes.empty());
  bytes[bytes.size() / 2] = static_cast<char>(bytes[bytes.size() / 2] ^ 0x55);
  testing::WriteFile(on_disk, bytes);
  auto r = alice->Get("/api/v1/workflows/" + id + "/archive");
  // The transfer ends without its last chunk: the client sees a failed download.
  EXPECT_EQ(r.status, 0) << "a bad archive was sent whole";
  const auto zip = tmp_ / "cut.zip";
  testing::WriteFile(zip, r.body);
  EXPECT_NE(Shell("unzip -tq '" + zip.string() + "'").first, 0);
  EXPECT_NE(server_->log().find("aborted its streamed response"), std::string::npos);
  // The CLI refuses too, and leaves no file behind.
  const auto exported = tmp_ / "bad.zip";
  auto cli = testing::RunCli("export " + id + " -o '" + exported.string() + "' --log-level off " +
                             testing::CliFlags(*server_));
  EXPECT_EQ(cli.exit_code, 1) << cli.out;
  EXPECT_NE(cli.out.find("sha256"), std::string::npos) << cli.out;
  EXPECT_FALSE(std::filesystem::exists(exported));
  EXPECT_FALSE(std::filesystem::exists(exported.string() + ".partial"));
  // A file missing (or of another size) is found before anything is sent: 409.
  std::filesystem::remove(on_disk);
  auto gone = alice->Get("/api/v1/workflows/" + id + "/archive");
  EXPECT_EQ(gone.status, 409) << gone.body;
  EXPECT_NE(gone.Json()["error"]["message"].get<std::string>().find("fsck"), std::string::npos);
}

TEST_P(StoryFilesTest, AnUnfinishedStoryHasNoArchiveYet) {
  // No workers: the workflow stays queued.
  testing::ServerOptions o;
  o.workers = 0;
  ServerProcess& idle = servers().Get(GetParam(), o, "idle");
  auto alice = idle.Client("alice");
  auto r = alice->Post("/api/v1/workflows", {{"prompt", "Waiting"}});
  ASSERT_EQ(r.status, 201);
  auto a = alice->Get("/api/v1/workflows/" + r.Json()["id"].get<std::string>() + "/archive");
  EXPECT_EQ(a.status, 409) << a.body;
  EXPECT_EQ(a.Json()["error"]["code"], "failed_precondition");
}

TEST_P(StoryFilesTest, MetadataMergePatch) {
  auto alice = server_->Client("alice");
  const json w = MakeStory(*alice, "Patched");
  const json img = w["scenes"][0]["image"];
  const std::string url = "/api/v1/files/" + img["id"].get<std::string>();
  const std::vector<std::string> merge = {"Content-Type: application/merge-patch+json"};
  auto patch = [&](const std::string& body, const std::vector<std::string>& headers = {
                                                "Content-Type: application/merge-patch+json"}) {
    return alice->Request("PATCH", url, body, headers);
  };

  auto r = patch(R"({"caption": "the fox", "tags": ["a", "b"], "extra": {"x": 1}})");
  ASSERT_EQ(r.status, 200) << r.body;
  json m = r.Json()["metadata"];
  EXPECT_EQ(m["caption"], "the fox");
  EXPECT_EQ(m["tags"], json({"a", "b"}));
  EXPECT_EQ(m["style"], "ink wash");  // the server's keys stay
  EXPECT_EQ(m["scene_number"], 1);
  EXPECT_EQ(r.Json()["sha256"], img["sha256"]);
  // null removes, objects merge, application/json is accepted too.
  r = patch(R"({"caption": null, "extra": {"y": 2}})", {"Content-Type: application/json"});
  ASSERT_EQ(r.status, 200) << r.body;
  m = r.Json()["metadata"];
  EXPECT_FALSE(m.contains("caption"));
  EXPECT_EQ(m["extra"], json({{"x", 1}, {"y", 2}}));
  // What GET answers afterwards is the same.
  EXPECT_EQ(alice->Get(url).Json()["metadata"], m);
  // Sending back a reserved key with its current value is fine; changing one is not.
  EXPECT_EQ(patch(R"({"style": "ink wash", "scene_number": 1})").status, 200);
  for (std::string_view bad :
       {R"({"style": "noir"})", R"({"scene_number": null})", R"({"prompt": "other"})"}) {
    auto res = patch(std::string(bad));
    EXPECT_EQ(res.status, 422) << bad << " " << res.body;
    EXPECT_EQ(res.Json()["error"]["code"], "invalid_argument") << bad;
  }

  // Hostile bodies: each gets its status and the error format, and nothing changes.
  struct Case {
    std::string body;
    long status;
    std::vector<std::string> headers;
  };
  std::string deep;
  for (int i = 0; i < 40; ++i) deep += "{\"a\":";
  deep += "1" + std::string(40, '}');
  std::string many = "{";
  for (int i = 0; i < 300; ++i)
    many += std::string(i ? "," : "") + "\"k" + std::to_string(i) + "\": 1";
  many += "}";
  const std::vector<Case> cases = {
      {"[1, 2]", 422, merge},
      {"\"text\"", 422, merge},
      {"{\"a\": ", 400, merge},
      {"", 400, merge},
      {deep, 422, merge},
      {many, 422, merge},
      {"{\"big\": \"" + std::string(20000, 'x') + "\"}", 413, merge},
      {R"({"a": 1})", 415, {"Content-Type: text/plain"}},
  };
  for (const auto& c : cases) {
    auto res = alice->Request("PATCH", url, c.body, c.headers);
    EXPECT_EQ(res.status, c.status) << c.body.substr(0, 80) << " -> " << res.body;
    EXPECT_TRUE(res.Json()["error"]["code"].is_string()) << res.body;
  }
  EXPECT_EQ(alice->Get(url).Json()["metadata"], m);

  // Another user's file is not found, like a missing one; the admin may edit (audited).
  EXPECT_EQ(server_->Client("bob")->Request("PATCH", url, R"({"x": 1})", merge).status, 404);
  EXPECT_EQ(alice
                ->Request("PATCH", "/api/v1/files/0190a0a0-0000-7000-8000-000000000000",
                          R"({"x": 1})", merge)
                .status,
            404);
  EXPECT_EQ(alice->Request("PATCH", "/api/v1/files/nope", R"({"x": 1})", merge).status, 404);
  auto admin = server_->Client("admin");
  auto by_admin = admin->Request("PATCH", url, R"({"reviewed": true})", merge);
  ASSERT_EQ(by_admin.status, 200) << by_admin.body;
  EXPECT_EQ(by_admin.Json()["metadata"]["reviewed"], true);
  auto audit = admin->Get("/api/v1/admin/audit?limit=200");
  bool audited = false;
  const json entries = audit.Json()["items"];
  for (const auto& e : entries) {
    audited = audited || (e["action"] == "file.metadata" && e["target"] == img["id"]);
  }
  EXPECT_TRUE(audited) << audit.body;
}

}  // namespace

INSTANTIATE_TEST_SUITE_P(Backends, StoryFilesTest, ::testing::ValuesIn(testing::Backends()));

}  // namespace storyloom
