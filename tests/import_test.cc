// `storyloom import DIR` (issue 16 part 6): a seed-style save_outputs/ tree with two story
// folders and a flat part becomes three completed, imported workflows with their scenes,
// story text, content-detected types and downloadable files; a dry run writes nothing, a
// second run adds nothing, fsck stays clean and the source tree is never changed. The scan
// alone (ops/import.h) on hostile trees. Real binary, real server, both backends.
#include "ops/import.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>

#include "core/hash.h"
#include "support/checks.h"
#include "support/server_process.h"
#include "support/temp_dir.h"
#include "support/test_db.h"

namespace storyloom {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using testing::CliFlags;
using testing::CliResult;
using testing::QueryText;
using testing::RunCli;
using testing::ServerOptions;
using testing::ServerProcess;

const std::string kPng = std::string("\x89PNG\r\n\x1a\n", 8) + std::string(64, '\x01');
const std::string kMp3 = std::string("ID3\x03\x00\x00\x00\x00\x00\x00", 10) + std::string(64, 'x');
const std::string kWav = std::string("RIFF\x24\x00\x00\x00WAVEfmt ", 16) + std::string(32, '\0');

// Every entry under `root` (symlinks as their target text, folders as "dir"), each regular
// file as its sha256: what a change to the tree would change.
std::map<std::string, std::string> Snapshot(const fs::path& root) {
  std::map<std::string, std::string> out;
  for (auto it = fs::recursive_directory_iterator(root); it != fs::recursive_directory_iterator();
       ++it) {
    const std::string rel = fs::relative(it->path(), root).string();
    const auto st = it->symlink_status();
    if (fs::is_symlink(st)) {
      out[rel] = "-> " + fs::read_symlink(it->path()).string();
    } else if (fs::is_regular_file(st)) {
      out[rel] = core::Sha256Hex(testing::ReadFileOrEmpty(it->path()));
    } else {
      out[rel] = fs::is_directory(st) ? "dir" : "special";
    }
  }
  return out;
}

// The seed's save_outputs/: a flat part (kind folders and a story text), two story folders,
// and what an import must step around.
fs::path MakeTree(const fs::path& base) {
  const fs::path root = base / "save_outputs";
  auto put = [&](const std::string& rel, const std::string& bytes) {
    fs::create_directories((root / rel).parent_path());
    testing::WriteFile(root / rel, bytes);
  };
  put("images/scene_1.png", kPng);
  put("images/scene_2.dat", kPng + "two");  // a PNG whatever its name says
  put("audio/scene_1.mp3", kMp3);
  put("stories/story.txt", "Once upon a flat tree.\n");
  put("The Fox/story.txt", "The fox's story.\n");
  put("The Fox/scene_1.png", kPng + "fox");
  put("The Fox/scene_01.txt", "The fox runs.");
  put("The Fox/scene_2.wav", kWav);
  put("The Fox/notes.json", R"({"mood":"sly"})");
  put("Owl Tale/images/scene_3.png", kPng + "owl");
  put("Owl Tale/narration/scene_3.mp3", kMp3 + "owl");
  put("Owl Tale/stories/story_owl.txt", "The owl's story.\n");
  put(std::string("Owl Tale/odd \xC3\xA9\x01 name.png"), kPng + "odd");
  put(".DS_Store", "hidden");
  fs::create_symlink("/etc/passwd", root / "escape.png");
  fs::create_symlink("/", root / "Owl Tale" / "outside");
  EXPECT_EQ(::mkfifo((root / "The Fox" / "pipe").c_str(), 0644), 0);
  return root;
}

json ParseOut(const CliResult& r) {
  json j = json::parse(r.out, nullptr, /*allow_exceptions=*/false);
  EXPECT_FALSE(j.is_discarded()) << "not JSON:\n" << r.out;
  return j;
}

class ImportTest : public ::testing::TestWithParam<std::string> {
 protected:
  ServerOptions Options() {
    ServerOptions o;
    o.workers = 1;
    if (GetParam() == "postgres") {
      db_ = std::make_unique<testing::TestDatabase>("postgres");
      o.database_url = db_->url();
    }
    return o;
  }
  std::string Import(const ServerProcess& s, const std::string& args) {
    return CliFlags(s) + " --log-level off import " + args;
  }
  std::unique_ptr<testing::TestDatabase> db_;
  testing::TempDir src_;
};

TEST_P(ImportTest, ImportsStoriesIdempotentlyAndLeavesTheTreeAlone) {
  ServerProcess server(Options());
  const fs::path root = MakeTree(src_.path());
  const auto before = Snapshot(root);
  const std::string dir = "'" + root.string() + "'";

  // Dry run: the plan, and nothing written.
  CliResult dry = RunCli(Import(server, dir + " --user alice --dry-run --json"));
  ASSERT_EQ(dry.exit_code, 0) << dry.out;
  json d = ParseOut(dry);
  EXPECT_EQ(d["dry_run"], true);
  EXPECT_EQ(d["workflows_created"], 3) << d.dump(2);
  EXPECT_EQ(d["files_added"], 13) << d.dump(2);
  EXPECT_EQ(d["skipped_total"], 4) << d.dump(2);  // .DS_Store, two symlinks, the fifo
  EXPECT_EQ(QueryText(server.database_url(), "SELECT count(*) FROM workflows"), "0");
  EXPECT_TRUE(!fs::exists(server.outputs_dir()) || fs::is_empty(server.outputs_dir()));

  // The import.
  CliResult run = RunCli(Import(server, dir + " --user alice --json"));
  ASSERT_EQ(run.exit_code, 0) << run.out;
  json r = ParseOut(run);
  EXPECT_EQ(r["dry_run"], false);
  EXPECT_EQ(r["workflows_created"], 3) << r.dump(2);
  EXPECT_EQ(r["files_added"], 13) << r.dump(2);
  EXPECT_EQ(r["files_present"], 0);
  std::map<std::string, std::string> ids;  // folder -> workflow id
  for (const auto& s : r["stories"]) ids[s["folder"]] = s["workflow_id"];
  ASSERT_EQ(ids.size(), 3u) << r.dump(2);
  ASSERT_TRUE(ids.contains(".") && ids.contains("The Fox") && ids.contains("Owl Tale"));

  // What the API shows: completed, imported, scenes, story, types, files that download.
  auto alice = server.Client("alice");
  auto get = [&](const std::string& folder) {
    auto g = alice->Get("/api/v1/workflows/" + ids[folder]);
    EXPECT_EQ(g.status, 200) << g.body;
    return g.Json();
  };
  json fox = get("The Fox");
  EXPECT_EQ(fox["status"], "completed");
  EXPECT_EQ(fox["title"], "The Fox");
  EXPECT_EQ(fox["options"]["imported"]["layout"], "story-folder") << fox.dump(2);
  EXPECT_EQ(fox["story"], "The fox's story.\n");
  ASSERT_EQ(fox["phases"].size(), 5u);
  for (const auto& p : fox["phases"]) EXPECT_EQ(p["status"], "skipped") << fox.dump(2);
  ASSERT_EQ(fox["scenes"].size(), 2u) << fox.dump(2);
  EXPECT_EQ(fox["scenes"][0]["number"], 1);
  EXPECT_EQ(fox["scenes"][0]["narration"], "The fox runs.");
  EXPECT_FALSE(fox["scenes"][0]["image"].is_null()) << fox.dump(2);
  EXPECT_EQ(fox["scenes"][1]["number"], 2);
  EXPECT_FALSE(fox["scenes"][1]["audio"].is_null()) << fox.dump(2);
  json flat = get(".");
  EXPECT_EQ(flat["title"], "save_outputs");
  EXPECT_EQ(flat["options"]["imported"]["layout"], "flat");
  EXPECT_EQ(flat["story"], "Once upon a flat tree.\n");
  json owl = get("Owl Tale");
  EXPECT_EQ(owl["story"], "The owl's story.\n");
  ASSERT_EQ(owl["scenes"].size(), 1u);
  EXPECT_EQ(owl["scenes"][0]["number"], 3);

  std::map<std::string, json> by_source;
  for (const json* w : {&fox, &flat, &owl}) {
    for (const auto& f : (*w)["files"]) by_source[f["metadata"]["source"]] = f;
  }
  ASSERT_EQ(by_source.size(), 13u);
  const json& dat = by_source["images/scene_2.dat"];
  EXPECT_EQ(dat["type"], "image");
  EXPECT_EQ(dat["mime_type"], "image/png");
  EXPECT_EQ(dat["scene_number"], 2);
  EXPECT_EQ(by_source["The Fox/notes.json"]["type"], "json");
  EXPECT_EQ(by_source["The Fox/scene_2.wav"]["type"], "audio");
  EXPECT_EQ(by_source["audio/scene_1.mp3"]["mime_type"], "audio/mpeg");
  for (const auto& [source, f] : by_source) {
    const std::string bytes = testing::ReadFileOrEmpty(root / source);
    EXPECT_EQ(f["sha256"], core::Sha256Hex(bytes)) << source;
    EXPECT_EQ(f["size"], bytes.size()) << source;
    auto dl = alice->Get(f["url"].get<std::string>());
    EXPECT_EQ(dl.status, 200) << source << ": " << dl.body;
    EXPECT_EQ(dl.body, bytes) << source;
  }
  // Another user sees none of it.
  EXPECT_EQ(server.Client("bob")->Get("/api/v1/workflows/" + ids["The Fox"]).status, 404);
  EXPECT_EQ(QueryText(server.database_url(),
                      "SELECT count(*) FROM audit_log WHERE action = 'workflow.import' AND "
                      "user_id IS NULL AND CAST(detail AS TEXT) LIKE '%" +
                          server.user_id("alice") + "%'"),
            "3");

  // Again: nothing new. Then a new file joins its story's workflow.
  CliResult again = RunCli(Import(server, dir + " --user alice --json"));
  ASSERT_EQ(again.exit_code, 0) << again.out;
  json a = ParseOut(again);
  EXPECT_EQ(a["workflows_created"], 0) << a.dump(2);
  EXPECT_EQ(a["files_added"], 0) << a.dump(2);
  EXPECT_EQ(a["files_present"], 13) << a.dump(2);
  CliResult text = RunCli(Import(server, dir + " --user alice"));
  ASSERT_EQ(text.exit_code, 0) << text.out;
  EXPECT_NE(text.LastLine().find("imported 0 new workflow(s) and 0 new file(s)"), std::string::npos)
      << text.out;
  EXPECT_EQ(Snapshot(root), before);

  testing::WriteFile(root / "The Fox" / "scene_3.png", kPng + "late");
  CliResult more = RunCli(Import(server, dir + " --user alice --json"));
  ASSERT_EQ(more.exit_code, 0) << more.out;
  json m = ParseOut(more);
  EXPECT_EQ(m["workflows_created"], 0);
  EXPECT_EQ(m["files_added"], 1);
  EXPECT_EQ(get("The Fox")["scenes"].size(), 3u);
  EXPECT_EQ(QueryText(server.database_url(), "SELECT count(*) FROM workflows"), "3");
  EXPECT_EQ(QueryText(server.database_url(), "SELECT count(*) FROM generated_files"), "14");

  testing::ExpectStoreClean(server);
}

TEST_P(ImportTest, LinkSharesTheInodeAndBadDirectoriesFailInOneLine) {
  ServerProcess server(Options());
  const fs::path root = src_.path() / "tree";
  fs::create_directories(root / "Moon");
  testing::WriteFile(root / "Moon" / "scene_1.png", kPng);
  CliResult run = RunCli(Import(server, "'" + root.string() + "' --link --json"));
  ASSERT_EQ(run.exit_code, 0) << run.out;
  json r = ParseOut(run);
  EXPECT_EQ(r["user"], "admin");  // the default owner: the first admin
  EXPECT_EQ(r["linked"], 1) << r.dump(2);
  const std::string id = r["stories"][0]["workflow_id"];
  struct stat a {
  }, b{};
  ASSERT_EQ(::stat((root / "Moon" / "scene_1.png").c_str(), &a), 0);
  ASSERT_EQ(::stat((fs::path(server.outputs_dir()) / id / "scene_1.png").c_str(), &b), 0);
  EXPECT_EQ(a.st_ino, b.st_ino);
  testing::ExpectStoreClean(server);

  for (const std::string& bad :
       {(src_.path() / "missing").string(), server.data_dir(), server.outputs_dir()}) {
    CliResult e = RunCli(Import(server, "'" + bad + "'"));
    EXPECT_EQ(e.exit_code, 1) << bad << ": " << e.out;
    EXPECT_EQ(e.out.find('\n'), e.out.size() - 1) << e.out;  // one line
    EXPECT_EQ(e.out.rfind("storyloom: ", 0), 0u) << e.out;
  }
  fs::create_directories(src_.path() / "empty" / ".hidden");
  CliResult empty = RunCli(Import(server, "'" + (src_.path() / "empty").string() + "'"));
  EXPECT_EQ(empty.exit_code, 1) << empty.out;
  EXPECT_NE(empty.out.find("no file to import"), std::string::npos) << empty.out;
  CliResult nobody = RunCli(Import(server, "'" + root.string() + "' --user nobody"));
  EXPECT_EQ(nobody.exit_code, 1) << nobody.out;
}

INSTANTIATE_TEST_SUITE_P(Backends, ImportTest, ::testing::ValuesIn(testing::Backends()),
                         [](const auto& info) { return info.param; });

// The scan alone: limits, the data directory inside the tree, names kept safe.
TEST(ImportScanTest, BoundsTheTreeAndKeepsNamesSafe) {
  testing::TempDir dir;
  const fs::path root = dir.path() / "tree";
  fs::create_directories(root / "a" / "b" / "c");
  for (int i = 0; i < 5; ++i) {
    testing::WriteFile(root / "a" / ("scene_" + std::to_string(i + 1) + ".png"), kPng);
  }
  testing::WriteFile(root / "a" / "b" / "c" / "deep.txt", "deep");
  testing::WriteFile(root / "a" / "big.bin", std::string(2048, 'x'));
  testing::WriteFile(root / "a" / "odd..\x01weird?.txt", "odd");
  fs::create_directories(root / "data" / "save_outputs");
  testing::WriteFile(root / "data" / "save_outputs" / "x.png", kPng);

  ops::ImportLimits lim;
  lim.max_files = 4;
  auto too_many = ops::ScanImportTree(root.string(), "", lim);
  ASSERT_FALSE(too_many);
  EXPECT_EQ(too_many.error().code, ErrorCode::kResourceExhausted);

  lim.max_files = 100;
  lim.max_file_bytes = 1024;
  lim.max_depth = 2;
  auto plan = ops::ScanImportTree(root.string(), (root / "data").string(), lim);
  ASSERT_TRUE(plan) << plan.error().message;
  ASSERT_EQ(plan->stories.size(), 1u);  // "data" is the data directory: skipped
  const auto& story = plan->stories[0];
  EXPECT_EQ(story.source, "a");
  std::map<std::string, const ops::ImportFile*> files;
  for (const auto& f : story.files) files[f.source] = &f;
  EXPECT_EQ(files.size(), 6u);  // five scenes and the odd name; big.bin and c/ are skipped
  EXPECT_EQ(files["a/scene_4.png"]->scene_number, 4);
  EXPECT_EQ(files["a/scene_4.png"]->type, FileType::kImage);
  const ops::ImportFile* odd = files["a/odd..\x01weird?.txt"];
  ASSERT_NE(odd, nullptr);
  EXPECT_TRUE(files::IsSafeRelativePath(odd->dest)) << odd->dest;
  EXPECT_EQ(odd->dest.find_first_not_of(
                "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-~/"),
            std::string::npos)
      << odd->dest;
  EXPECT_NE(odd->dest.front(), '.');
  std::map<std::string, std::string> skipped;
  for (const auto& s : plan->skipped) skipped[s.source] = s.reason;
  EXPECT_TRUE(skipped.contains("a/big.bin"));
  EXPECT_TRUE(skipped.contains("a/b/c"));
  EXPECT_TRUE(skipped.contains("data"));

  // A tree inside the data directory is refused.
  auto inside =
      ops::ScanImportTree((root / "data" / "save_outputs").string(), (root / "data").string(), lim);
  ASSERT_FALSE(inside);
  EXPECT_EQ(inside.error().code, ErrorCode::kInvalidArgument);
}

}  // namespace
}  // namespace storyloom
