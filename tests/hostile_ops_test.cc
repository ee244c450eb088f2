// Hostile operations (issue #12, classes 8, 10, 12, 13), through the real binary: hand-crafted
// hostile backups given to `storyloom backup restore`; a backup taken while a file is being
// replaced, and `backup verify` on tampered backups; the sign-in limiter under concurrent
// guesses and guesses from another address, and the CLI's one-time sign-in link; the modes
// of everything under the data directory with umask 022, and the session cookie's Secure
// flag. Backup tests run on SQLite and PostgreSQL.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <set>
#include <thread>

#include "core/hash.h"
#include "files/file_store.h"
#include "ops/backup.h"
#include "support/checks.h"
#include "support/server_process.h"
#include "support/test_db.h"

namespace storyloom {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using testing::CliResult;
using testing::HttpClient;
using testing::ReadFileOrEmpty;
using testing::RunCli;
using testing::ServerOptions;
using testing::ServerProcess;
using testing::TempDir;
using testing::TestDatabase;
using testing::WriteFile;

// Sets the process umask for the scope (children inherit it).
class UmaskScope {
 public:
  explicit UmaskScope(mode_t m) : old_(::umask(m)) {}
  ~UmaskScope() { ::umask(old_); }

 private:
  mode_t old_;
};

std::string Sha(const std::string& bytes) { return core::Sha256Hex(bytes); }

json ReadJson(const fs::path& p) { return json::parse(ReadFileOrEmpty(p)); }
void WriteJson(const fs::path& p, const json& j) { WriteFile(p, j.dump(2)); }

// Every path under `root` (relative), following no symlinks.
std::set<std::string> Listing(const fs::path& root) {
  std::set<std::string> out;
  std::error_code ec;
  if (!fs::exists(fs::symlink_status(root, ec))) return out;
  for (auto it = fs::recursive_directory_iterator(root, ec); !ec && it != fs::end(it);
       it.increment(ec)) {
    out.insert(fs::relative(it->path(), root, ec).generic_string());
  }
  return out;
}

// Each directory under (and including) `root` is 0700 and each regular file 0600.
void ExpectPrivateTree(const fs::path& root) {
  struct stat st {};
  ASSERT_EQ(::lstat(root.c_str(), &st), 0) << root;
  EXPECT_EQ(st.st_mode & 07777, 0700u) << root;
  std::error_code ec;
  int checked = 0;
  for (auto it = fs::recursive_directory_iterator(root, ec); !ec && it != fs::end(it);
       it.increment(ec)) {
    ASSERT_EQ(::lstat(it->path().c_str(), &st), 0) << it->path();
    if (S_ISDIR(st.st_mode)) {
      EXPECT_EQ(st.st_mode & 07777, 0700u) << it->path();
    } else if (S_ISREG(st.st_mode)) {
      EXPECT_EQ(st.st_mode & 07777, 0600u) << it->path();
    }
    ++checked;
  }
  EXPECT_GT(checked, 0) << root;
}

// ----------------------------------------------------------------------------------------
// Class 8: hostile backups given to `storyloom backup restore`.

class HostileRestoreTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    tdb_ = std::make_unique<TestDatabase>(GetParam());
    const fs::path src = root_ / "src";
    flags_ = "--data-dir " + src.string() + " --database '" + tdb_->url() + "'";
    if (GetParam() == "sqlite") flags_ = "--data-dir " + src.string();
    CliResult add = RunCli(flags_ + " users add ada --admin");
    ASSERT_EQ(add.exit_code, 0) << add.out;
    CliResult b = RunCli(flags_ + " backup create");
    ASSERT_EQ(b.exit_code, 0) << b.out;
    base_ = b.LastLine();
    ASSERT_TRUE(fs::exists(fs::path(base_) / "manifest.json")) << b.out;
  }

  // A fresh copy of the genuine backup at <root>/cases/<name>/bk.
  fs::path CopyBase(const std::string& name) {
    const fs::path bk = root_ / "cases" / name / "bk";
    fs::create_directories(bk.parent_path());
    fs::copy(base_, bk, fs::copy_options::recursive);
    fs::create_directories(bk / "save_outputs");
    return bk;
  }

  // Adds a file entry to the manifest and (unless `bytes` is null) the file at `on_disk`.
  static void AddFile(json& m, const std::string& path, const std::string& bytes,
                      std::int64_t size = -1, std::string sha = "") {
    m["files"].push_back({{"path", path},
                          {"size", size < 0 ? static_cast<std::int64_t>(bytes.size()) : size},
                          {"sha256", sha.empty() ? Sha(bytes) : sha}});
  }

  // Restores `bk` into <root>/out/<name>/data and expects a clean refusal: non-zero exit, a
  // one-line message, no target left, nothing new anywhere outside the backup's own case.
  void ExpectRefused(const fs::path& bk, const std::string& name) {
    const fs::path out = root_ / "out" / name;
    fs::create_directories(out);
    const auto before = Listing(root_.path());
    CliResult r =
        RunCli("backup restore " + bk.string() + " --data-dir " + (out / "data").string());
    EXPECT_NE(r.exit_code, 0) << name << ": " << r.out;
    // One line says what is wrong (the last); any others are the log's (migrations applied
    // to the temporary database before a bad row was found).
    std::string text = r.out;
    while (!text.empty() && text.back() == '\n') text.pop_back();
    EXPECT_FALSE(text.empty()) << name;
    const std::string last =
        text.substr(text.rfind('\n') == std::string::npos ? 0 : text.rfind('\n') + 1);
    EXPECT_TRUE(last.starts_with("storyloom: ")) << name << ": " << r.out;
    int errors = 0;
    for (std::size_t at = 0; (at = text.find("storyloom: ", at)) != std::string::npos; ++at)
      ++errors;
    EXPECT_EQ(errors, 1) << name << ": " << r.out;
    EXPECT_FALSE(fs::exists(fs::symlink_status(out / "data"))) << name << ": target left behind";
    EXPECT_TRUE(Listing(out).empty()) << name << ": something was written next to the target";
    EXPECT_EQ(Listing(root_.path()), before) << name << ": something was written outside";
  }

  TempDir root_;
  std::unique_ptr<TestDatabase> tdb_;
  std::string flags_;
  std::string base_;
};

TEST_P(HostileRestoreTest, GenuineBackupRestoresIntoAPrivateDirectory) {
  UmaskScope umask(022);
  const fs::path bk = CopyBase("good");
  json m = ReadJson(bk / "manifest.json");
  const std::string bytes = "a genuine png";
  fs::create_directories(bk / "save_outputs" / "w1");
  WriteFile(bk / "save_outputs" / "w1" / "a.png", bytes);
  AddFile(m, "w1/a.png", bytes);
  WriteJson(bk / "manifest.json", m);
  const fs::path out = root_ / "out" / "good";
  fs::create_directories(out);
  CliResult r = RunCli("backup restore " + bk.string() + " --data-dir " + (out / "data").string());
  ASSERT_EQ(r.exit_code, 0) << r.out;
  EXPECT_EQ(ReadFileOrEmpty(out / "data" / "save_outputs" / "w1" / "a.png"), bytes);
  EXPECT_EQ(Listing(out).count("data"), 1u);
  for (const auto& p : Listing(out)) EXPECT_TRUE(p.starts_with("data")) << "left behind: " << p;
  ExpectPrivateTree(out / "data");
}

TEST_P(HostileRestoreTest, TraversalAndAbsolutePathsAreRefused) {
  {  // The reported one: ../../escaped.txt, with the bytes where the path leads.
    const fs::path bk = CopyBase("traversal");
    json m = ReadJson(bk / "manifest.json");
    WriteFile(bk.parent_path() / "escaped.txt", "escaped");
    AddFile(m, "../../escaped.txt", "escaped");
    WriteJson(bk / "manifest.json", m);
    ExpectRefused(bk, "traversal");
    EXPECT_FALSE(fs::exists(root_ / "out" / "escaped.txt"));
  }
  {  // An absolute path, pointing at a file that exists.
    const fs::path bk = CopyBase("absolute");
    const fs::path target = root_ / "cases" / "absolute" / "abs.txt";
    WriteFile(target, "absolute");
    json m = ReadJson(bk / "manifest.json");
    AddFile(m, target.string(), "absolute");
    WriteJson(bk / "manifest.json", m);
    ExpectRefused(bk, "absolute");
    EXPECT_EQ(ReadFileOrEmpty(target), "absolute");
  }
  // Every other shape of a path that is not a plain relative one under save_outputs/.
  int i = 0;
  for (const std::string& bad :
       {std::string("a/../../x.png"), std::string("save_outputs/../../x.png"), std::string(""),
        std::string("."), std::string("a/./b.png"), std::string("a//b.png"),
        std::string("a\\..\\..\\x.png"), std::string("a\0b.png", 7), std::string("a/b.png/"),
        std::string("..")}) {
    const std::string name = "shape" + std::to_string(i++);
    const fs::path bk = CopyBase(name);
    json m = ReadJson(bk / "manifest.json");
    AddFile(m, bad, "bytes");
    WriteJson(bk / "manifest.json", m);
    ExpectRefused(bk, name);
  }
}

TEST_P(HostileRestoreTest, SymlinksInsideTheBackupAreRefused) {
  const fs::path secret_dir = root_ / "secret";
  fs::create_directories(secret_dir);
  WriteFile(secret_dir / "secret.txt", "the secret");
  {  // A file that is a symlink to something outside.
    const fs::path bk = CopyBase("link-file");
    fs::create_symlink(secret_dir / "secret.txt", bk / "save_outputs" / "link.png");
    json m = ReadJson(bk / "manifest.json");
    AddFile(m, "link.png", "the secret");
    WriteJson(bk / "manifest.json", m);
    ExpectRefused(bk, "link-file");
  }
  {  // A directory that is a symlink.
    const fs::path bk = CopyBase("link-dir");
    fs::create_directory_symlink(secret_dir, bk / "save_outputs" / "d");
    json m = ReadJson(bk / "manifest.json");
    AddFile(m, "d/secret.txt", "the secret");
    WriteJson(bk / "manifest.json", m);
    ExpectRefused(bk, "link-dir");
  }
  {  // save_outputs itself.
    const fs::path bk = CopyBase("link-root");
    fs::remove_all(bk / "save_outputs");
    fs::create_directory_symlink(secret_dir, bk / "save_outputs");
    json m = ReadJson(bk / "manifest.json");
    AddFile(m, "secret.txt", "the secret");
    WriteJson(bk / "manifest.json", m);
    ExpectRefused(bk, "link-root");
  }
}

TEST_P(HostileRestoreTest, DatabasePartsOutsideTheBackupAreRefused) {
  const fs::path bk = CopyBase("db-outside");
  json m = ReadJson(bk / "manifest.json");
  const fs::path elsewhere = root_ / "cases" / "db-outside" / "elsewhere.bin";
  if (m["database"]["dialect"] == "sqlite") {
    fs::copy_file(bk / "storyloom.db", elsewhere);
    m["database"]["file"] = elsewhere.string();
  } else {
    const std::string first = m["database"]["tables"][0]["file"];
    fs::copy_file(bk / first, elsewhere);
    m["database"]["tables"][0]["file"] = "../elsewhere.bin";
  }
  WriteJson(bk / "manifest.json", m);
  ExpectRefused(bk, "db-outside");
}

TEST_P(HostileRestoreTest, WrongChecksumsAndTruncatedFilesAreRefused) {
  {  // One good file, then one whose checksum is wrong: nothing of the first stays either.
    const fs::path bk = CopyBase("checksum");
    json m = ReadJson(bk / "manifest.json");
    fs::create_directories(bk / "save_outputs" / "w1");
    WriteFile(bk / "save_outputs" / "w1" / "a.png", "first");
    WriteFile(bk / "save_outputs" / "w1" / "b.png", "second");
    AddFile(m, "w1/a.png", "first");
    AddFile(m, "w1/b.png", "second", -1, Sha("something else"));
    WriteJson(bk / "manifest.json", m);
    ExpectRefused(bk, "checksum");
  }
  {  // A file shorter than the manifest says, and one with a negative size.
    const fs::path bk = CopyBase("short");
    json m = ReadJson(bk / "manifest.json");
    WriteFile(bk / "save_outputs" / "short.png", "half");
    AddFile(m, "short.png", "half", 100, Sha("half"));
    WriteFile(bk / "save_outputs" / "neg.png", "neg");
    AddFile(m, "neg.png", "neg");
    m["files"].back()["size"] = -5;
    WriteJson(bk / "manifest.json", m);
    ExpectRefused(bk, "short");
  }
  {  // The database part truncated, with a checksum that matches the truncated bytes.
    const fs::path bk = CopyBase("db-truncated");
    json m = ReadJson(bk / "manifest.json");
    fs::path part;
    json* entry = nullptr;
    if (m["database"]["dialect"] == "sqlite") {
      part = bk / "storyloom.db";
      entry = &m["database"];
    } else {
      // The largest table file, cut in the middle of a row.
      std::uintmax_t best = 0;
      for (auto& t : m["database"]["tables"]) {
        const auto size = fs::file_size(bk / t["file"].get<std::string>());
        if (size > best) {
          best = size;
          entry = &t;
        }
      }
      part = bk / (*entry)["file"].get<std::string>();
    }
    std::string bytes = ReadFileOrEmpty(part);
    ASSERT_GT(bytes.size(), 10u);
    bytes.resize(bytes.size() / 2 + 3);
    fs::remove(part);
    WriteFile(part, bytes);
    (*entry)["sha256"] = Sha(bytes);
    (*entry)["size"] = bytes.size();
    WriteJson(bk / "manifest.json", m);
    ExpectRefused(bk, "db-truncated");
  }
  {  // The manifest itself truncated.
    const fs::path bk = CopyBase("manifest-truncated");
    std::string text = ReadFileOrEmpty(bk / "manifest.json");
    text.resize(text.size() / 2);
    WriteFile(bk / "manifest.json", text);
    ExpectRefused(bk, "manifest-truncated");
  }
  {  // A manifest that is not the right shape.
    const fs::path bk = CopyBase("manifest-shape");
    json m = ReadJson(bk / "manifest.json");
    m["files"] = json{{"path", "x"}};
    WriteJson(bk / "manifest.json", m);
    ExpectRefused(bk, "manifest-shape");
  }
  // Members of the wrong type, each alone: a clear refusal, never an exception.
  int n = 0;
  for (const char* member : {"format", "database", "files", "missing_files"}) {
    for (const json& wrong : {json("x"), json(5), json::array({1}), json::object(), json(nullptr)}) {
      const std::string name = "types-" + std::to_string(n++);
      const fs::path bk = CopyBase(name);
      json m = ReadJson(bk / "manifest.json");
      m[member] = wrong;
      WriteJson(bk / "manifest.json", m);
      SCOPED_TRACE(std::string(member) + " = " + wrong.dump());
      ExpectRefused(bk, name);
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Backends, HostileRestoreTest, ::testing::ValuesIn(testing::Backends()));

// ----------------------------------------------------------------------------------------
// Class 13: a file replaced while the backup runs; verify on tampered and good backups.

class BackupDurabilityTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    tdb_ = std::make_unique<TestDatabase>(GetParam());
    store_ = tdb_->OpenMigrated();
    files_ = std::make_unique<files::FileStore>((dir_ / "data" / "save_outputs").string());
    const std::string alice = testing::MakeUser(*store_, "alice");
    auto created = store_->CreateWorkflow({alice, "a prompt", "", "{}", ""});
    ASSERT_TRUE(created.has_value());
    wf_ = created->workflow.id;
    for (int i = 0; i < 3; ++i) {
      const std::string rel = wf_ + "/scene_" + std::to_string(i) + ".png";
      auto stored = files_->Write(rel, "png bytes " + std::to_string(i) + std::string(100, 'x'));
      ASSERT_TRUE(stored.has_value());
      NewFile f;
      f.workflow_id = wf_;
      f.file_type = FileType::kImage;
      f.file_path = rel;
      f.file_name = "scene.png";
      f.mime_type = "image/png";
      f.file_size = stored->size;
      f.sha256 = stored->sha256;
      ASSERT_TRUE(store_->AddGeneratedFile(f).has_value());
      rels_.push_back(rel);
    }
  }

  TempDir dir_;
  std::unique_ptr<TestDatabase> tdb_;
  std::unique_ptr<Store> store_;
  std::unique_ptr<files::FileStore> files_;
  std::string wf_;
  std::vector<std::string> rels_;
};

// The database snapshot is taken, then (before its files are linked) a tracked file is
// replaced: the backup must describe the bytes it holds, so verify passes and no entry in
// the manifest has a checksum of bytes the backup does not have.
TEST_P(BackupDurabilityTest, FileReplacedAfterTheSnapshotLeavesNoStaleChecksum) {
  ops::BackupOptions o;
  o.backups_dir = (dir_ / "data" / "backups").string();
  bool replaced = false;
  o.on_progress = [&](std::string_view stage, std::int64_t, std::int64_t) {
    if (stage == "files" && !replaced) {
      replaced = true;
      ASSERT_TRUE(files_->Write(rels_[1], "replaced after the snapshot").has_value());
    }
  };
  auto b = ops::CreateBackup(*store_, *files_, o);
  ASSERT_TRUE(b.has_value()) << b.error().ToString();
  ASSERT_TRUE(replaced);
  const json m = ReadJson(fs::path(b->path) / "manifest.json");
  for (const auto& f : m["files"]) {
    const fs::path p = fs::path(b->path) / "save_outputs" / f["path"].get<std::string>();
    EXPECT_EQ(f["sha256"], Sha(ReadFileOrEmpty(p))) << f.dump();
  }
  auto v = ops::VerifyBackup(b->path);
  ASSERT_TRUE(v.has_value()) << v.error().ToString();
  EXPECT_TRUE(v->ok()) << (v->problems.empty() ? "" : v->problems.front());
  CliResult cli = RunCli("backup verify " + b->path);
  EXPECT_EQ(cli.exit_code, 0) << cli.out;
}

TEST_P(BackupDurabilityTest, VerifyPassesAGoodBackupAndCatchesATamperedOne) {
  ops::BackupOptions o;
  o.backups_dir = (dir_ / "data" / "backups").string();
  auto b = ops::CreateBackup(*store_, *files_, o);
  ASSERT_TRUE(b.has_value()) << b.error().ToString();
  CliResult good = RunCli("backup verify " + b->path);
  EXPECT_EQ(good.exit_code, 0) << good.out;
  // Same size, one bit different, replacing (not writing through) the linked file.
  const fs::path p = fs::path(b->path) / "save_outputs" / rels_[2];
  std::string bytes = ReadFileOrEmpty(p);
  bytes[5] ^= 1;
  fs::remove(p);
  WriteFile(p, bytes);
  CliResult bad = RunCli("backup verify " + b->path);
  EXPECT_NE(bad.exit_code, 0) << bad.out;
  EXPECT_NE(bad.out.find(rels_[2] + ": sha256"), std::string::npos) << bad.out;
  // And the manifest's own checksums for the database part.
  fs::remove(p);
  WriteFile(p, ReadFileOrEmpty(files_->Resolve(rels_[2]).value()));
  ASSERT_EQ(RunCli("backup verify " + b->path).exit_code, 0);
  json m = ReadJson(fs::path(b->path) / "manifest.json");
  if (m["database"]["dialect"] == "sqlite") {
    m["database"]["sha256"] = Sha("stale");
  } else {
    m["database"]["tables"][0]["sha256"] = Sha("stale");
  }
  WriteJson(fs::path(b->path) / "manifest.json", m);
  EXPECT_NE(RunCli("backup verify " + b->path).exit_code, 0);
}

// The backup directory and everything in it are private, whatever the umask.
TEST_P(BackupDurabilityTest, BackupIsPrivateUnderUmask022) {
  UmaskScope umask(022);
  ops::BackupOptions o;
  o.backups_dir = (dir_ / "data" / "backups").string();
  auto b = ops::CreateBackup(*store_, *files_, o);
  ASSERT_TRUE(b.has_value()) << b.error().ToString();
  ExpectPrivateTree(dir_ / "data" / "backups");
}

INSTANTIATE_TEST_SUITE_P(Backends, BackupDurabilityTest, ::testing::ValuesIn(testing::Backends()));

// ----------------------------------------------------------------------------------------
// Class 10: the sign-in limiter.

// POSTs a sign-in from source address `from` (any 127/8 address reaches loopback); returns
// the HTTP status (0 on a transport failure).
int LoginFrom(const std::string& from, int port, const std::string& user,
              const std::string& password) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return 0;
  struct Closer {
    int fd;
    ~Closer() { ::close(fd); }
  } closer{fd};
  timeval tv{30, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  sockaddr_in src{};
  src.sin_family = AF_INET;
  ::inet_pton(AF_INET, from.c_str(), &src.sin_addr);
  if (::bind(fd, reinterpret_cast<sockaddr*>(&src), sizeof src) != 0) return 0;
  sockaddr_in dst{};
  dst.sin_family = AF_INET;
  dst.sin_port = htons(static_cast<std::uint16_t>(port));
  ::inet_pton(AF_INET, "127.0.0.1", &dst.sin_addr);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&dst), sizeof dst) != 0) return 0;
  const std::string body = json{{"username", user}, {"password", password}}.dump();
  const std::string req =
      "POST /api/v1/auth/login HTTP/1.1\r\nHost: 127.0.0.1\r\n"
      "Content-Type: application/json\r\nConnection: close\r\n"
      "Content-Length: " +
      std::to_string(body.size()) + "\r\n\r\n" + body;
  if (::send(fd, req.data(), req.size(), MSG_NOSIGNAL) != static_cast<ssize_t>(req.size()))
    return 0;
  std::string got;
  char buf[1024];
  while (got.find("\r\n") == std::string::npos) {
    const ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    if (n <= 0) return 0;
    got.append(buf, static_cast<std::size_t>(n));
  }
  if (!got.starts_with("HTTP/1.1 ") || got.size() < 12) return 0;
  return std::stoi(got.substr(9, 3));
}

int CountAudit(ServerProcess& server, const std::string& action) {
  auto r = server.Client("admin")->Get("/api/v1/admin/audit?limit=200");
  const json items = r.Json()["items"];
  int n = 0;
  for (const auto& e : items) n += e["action"] == action;
  return n;
}

// 40 wrong passwords at once: at most max_failures (5) of them are ever checked; the rest,
// and then the right password, are refused with 429.
TEST(HostileLoginTest, ConcurrentGuessesAreCheckedAtMostTheLimit) {
  ServerProcess server(ServerOptions{.workers = 0});
  std::atomic<int> unauthorized{0}, limited{0}, other{0};
  std::vector<std::thread> threads;
  std::atomic<bool> go{false};
  for (int i = 0; i < 40; ++i) {
    threads.emplace_back([&, i] {
      HttpClient c(server.url());
      while (!go) std::this_thread::yield();
      auto r = c.Post("/api/v1/auth/login",
                      {{"username", "alice"}, {"password", "guess-" + std::to_string(i)}});
      (r.status == 401 ? unauthorized : r.status == 429 ? limited : other)++;
    });
  }
  go = true;
  for (auto& t : threads) t.join();
  EXPECT_EQ(other.load(), 0);
  EXPECT_LE(unauthorized.load(), 5);
  EXPECT_GE(unauthorized.load(), 1);
  EXPECT_EQ(unauthorized + limited, 40);
  EXPECT_LE(CountAudit(server, "login.failure"), 5);
  HttpClient c(server.url());
  EXPECT_EQ(
      c.Post("/api/v1/auth/login", {{"username", "alice"}, {"password", "alice-password"}}).status,
      429);
}

// A stranger at 127.0.0.2 hammering alice locks only their own lane: alice signs in from
// 127.0.0.3.
TEST(HostileLoginTest, StrangerCannotLockOutTheOwnerFromElsewhere) {
  ServerProcess server(ServerOptions{.workers = 0});
  int first_limited = -1;
  for (int i = 0; i < 30; ++i) {
    const int s = LoginFrom("127.0.0.2", server.port(), "alice", "guess" + std::to_string(i));
    ASSERT_TRUE(s == 401 || s == 429) << i << ": " << s;
    if (s == 429 && first_limited < 0) first_limited = i;
  }
  EXPECT_EQ(first_limited, 5);
  EXPECT_EQ(LoginFrom("127.0.0.2", server.port(), "alice", "alice-password"), 429);
  EXPECT_EQ(LoginFrom("127.0.0.3", server.port(), "alice", "alice-password"), 200);
  // The owner's success does not lift the stranger's lock.
  EXPECT_EQ(LoginFrom("127.0.0.2", server.port(), "alice", "alice-password"), 429);
}

// Locked out of password sign-in, the administrator still gets in with a one-time link made
// by `storyloom users login-link`.
TEST(HostileLoginTest, OneTimeLinkFromTheCliWorksWhileLockedOut) {
  ServerProcess server(ServerOptions{.workers = 0});
  HttpClient c(server.url());
  for (int i = 0; i < 5; ++i) {
    ASSERT_EQ(c.Post("/api/v1/auth/login", {{"username", "admin"}, {"password", "guess"}}).status,
              401);
  }
  ASSERT_EQ(
      c.Post("/api/v1/auth/login", {{"username", "admin"}, {"password", "admin-password"}}).status,
      429);
  CliResult link = RunCli("--data-dir " + server.data_dir() + " --database '" +
                          server.database_url() + "' users login-link admin");
  ASSERT_EQ(link.exit_code, 0) << link.out;
  const std::string line = link.LastLine();
  const auto at = line.find("/login?token=");
  ASSERT_NE(at, std::string::npos) << link.out;
  auto r = c.Get(line.substr(at));
  ASSERT_EQ(r.status, 303) << r.body;
  std::string session;
  for (const auto& [k, v] : r.headers) {
    if (k == "set-cookie" && v.starts_with("sl_session=")) session = v.substr(11, v.find(';') - 11);
  }
  ASSERT_FALSE(session.empty());
  auto me = c.Get("/api/v1/me", {"Cookie: sl_session=" + session});
  ASSERT_EQ(me.status, 200) << me.body;
  EXPECT_EQ(me.Json()["username"], "admin");
  // Once only.
  auto again = c.Get(line.substr(at));
  bool cookie = false;
  for (const auto& [k, v] : again.headers) cookie |= k == "set-cookie";
  EXPECT_FALSE(cookie);
}

// ----------------------------------------------------------------------------------------
// Class 12: modes and cookies.

TEST(HostilePermissionsTest, DataDirectoryIsPrivateUnderUmask022) {
  UmaskScope umask(022);
  ServerProcess server(ServerOptions{.workers = 1});
  auto alice = server.Client("alice");
  auto w = alice->Post("/api/v1/workflows", {{"prompt", "A private lighthouse"},
                                             {"options", {{"scenes", 1}, {"narration", false}}}});
  ASSERT_EQ(w.status, 201) << w.body;
  ASSERT_EQ(testing::WaitForWorkflow(*alice, w.Json()["id"])["status"], "completed");
  auto b = server.Client("admin")->Post("/api/v1/admin/backups", json::object());
  ASSERT_EQ(b.status, 201) << b.body;
  // While the server runs (the -wal and -shm files exist).
  EXPECT_TRUE(fs::exists(fs::path(server.data_dir()) / "storyloom.db-wal"));
  ExpectPrivateTree(server.data_dir());
  // A data directory the CLI makes.
  TempDir t;
  CliResult add = RunCli("--data-dir " + (t / "new").string() + " users add carol");
  ASSERT_EQ(add.exit_code, 0) << add.out;
  ExpectPrivateTree(t / "new");
  CliResult bk = RunCli("--data-dir " + (t / "new").string() + " backup create");
  ASSERT_EQ(bk.exit_code, 0) << bk.out;
  ExpectPrivateTree(t / "new");
}

std::vector<std::string> SetCookies(const testing::HttpResult& r) {
  std::vector<std::string> out;
  for (const auto& [k, v] : r.headers)
    if (k == "set-cookie") out.push_back(v);
  return out;
}

TEST(HostilePermissionsTest, SessionCookieIsSecureWhenThePublicUrlIsHttps) {
  {
    ServerOptions o{.workers = 0};
    o.env["STORYLOOM_PUBLIC_URL"] = "https://stories.example.com";
    ServerProcess server(o);
    HttpClient c(server.url());
    auto r = c.Post("/api/v1/auth/login", {{"username", "alice"}, {"password", "alice-password"}});
    ASSERT_EQ(r.status, 200) << r.body;
    const auto cookies = SetCookies(r);
    ASSERT_EQ(cookies.size(), 2u);
    for (const auto& v : cookies) EXPECT_NE(v.find("; Secure"), std::string::npos) << v;
  }
  {
    ServerProcess server(ServerOptions{.workers = 0});
    HttpClient c(server.url());
    auto r = c.Post("/api/v1/auth/login", {{"username", "alice"}, {"password", "alice-password"}});
    ASSERT_EQ(r.status, 200) << r.body;
    for (const auto& v : SetCookies(r)) EXPECT_EQ(v.find("Secure"), std::string::npos) << v;
  }
}

}  // namespace
}  // namespace storyloom
