// FileStore on real files: atomic writes, hashing, path rules, symlink escapes, removal.
#include "files/file_store.h"

#include <gtest/gtest.h>

#include <filesystem>

#include "core/hash.h"
#include "support/temp_dir.h"

namespace storyloom::files {
namespace {

namespace fs = std::filesystem;
using testing::ReadFileOrEmpty;
using testing::TempDir;

TEST(FileStoreTest, WriteIsAtomicAndHashed) {
  TempDir dir;
  FileStore store((dir / "save_outputs").string());
  auto r = store.Write("w1/images/scene_01.png", "png bytes");
  ASSERT_TRUE(r) << r.error().ToString();
  EXPECT_EQ(r->rel_path, "w1/images/scene_01.png");
  EXPECT_EQ(r->size, 9);
  EXPECT_EQ(r->sha256, core::Sha256Hex("png bytes"));
  EXPECT_EQ(ReadFileOrEmpty(dir / "save_outputs/w1/images/scene_01.png"), "png bytes");
  // Replacing leaves only the new content and no temporary files behind.
  ASSERT_TRUE(store.Write("w1/images/scene_01.png", "second"));
  EXPECT_EQ(ReadFileOrEmpty(dir / "save_outputs/w1/images/scene_01.png"), "second");
  auto all = store.ListAll();
  ASSERT_TRUE(all);
  EXPECT_EQ(*all, std::vector<std::string>{"w1/images/scene_01.png"});
}

TEST(FileStoreTest, UnsafePathsAreRefused) {
  TempDir dir;
  FileStore store((dir / "save_outputs").string());
  for (const char* bad :
       {"", "/etc/passwd", "../x", "a/../../x", "a//b", "a/./b", "a/..", "a\\b"}) {
    EXPECT_FALSE(store.Resolve(bad)) << bad;
    EXPECT_FALSE(store.Write(bad, "x")) << bad;
  }
  EXPECT_FALSE(IsSafeRelativePath(std::string("a\0b", 3)));
  EXPECT_TRUE(store.Resolve("w/images/a.png"));
}

TEST(FileStoreTest, SymlinksCannotLeadOutOfTheRoot) {
  TempDir dir;
  fs::create_directories(dir / "save_outputs/w1");
  fs::create_directories(dir / "secret");
  testing::WriteFile(dir / "secret/key", "top secret");
  fs::create_directory_symlink(dir / "secret", dir / "save_outputs/w1/link");
  FileStore store((dir / "save_outputs").string());
  EXPECT_FALSE(store.Resolve("w1/link/key"));
  EXPECT_FALSE(store.Write("w1/link/new", "x"));
  EXPECT_FALSE(fs::exists(dir / "secret/new"));
}

TEST(FileStoreTest, AdoptMovesAnUploadAndRemoveTidiesUp) {
  TempDir dir;
  FileStore store((dir / "save_outputs").string());
  testing::WriteFile(dir / "upload.part", std::string(100000, 'z'));
  auto r = store.Adopt((dir / "upload.part").string(), "w2/uploads/clip.mp4");
  ASSERT_TRUE(r) << r.error().ToString();
  EXPECT_EQ(r->size, 100000);
  EXPECT_EQ(r->sha256, core::Sha256Hex(std::string(100000, 'z')));
  EXPECT_FALSE(fs::exists(dir / "upload.part"));
  auto under = store.ListUnder("w2");
  ASSERT_TRUE(under);
  EXPECT_EQ(under->size(), 1u);
  EXPECT_TRUE(store.ListUnder("nothing-here")->empty());
  ASSERT_TRUE(store.Remove("w2/uploads/clip.mp4"));
  EXPECT_FALSE(fs::exists(dir / "save_outputs/w2"));  // empty folders go too
  EXPECT_TRUE(fs::exists(dir / "save_outputs"));      // never the root
  EXPECT_TRUE(store.Remove("w2/uploads/clip.mp4"));   // already gone is fine
}

TEST(FileStoreTest, QuarantineMovesOutOfTheTree) {
  TempDir dir;
  FileStore store((dir / "save_outputs").string());
  ASSERT_TRUE(store.Write("w3/orphan.bin", "lost"));
  auto q = store.Quarantine("w3/orphan.bin");
  ASSERT_TRUE(q) << q.error().ToString();
  EXPECT_EQ(ReadFileOrEmpty(*q), "lost");
  EXPECT_TRUE(store.ListAll()->empty());
}

TEST(FileStoreTest, SafeUploadNames) {
  EXPECT_TRUE(FileStore::IsSafeName("scene_01.png"));
  EXPECT_TRUE(FileStore::IsSafeName("a-b.c"));
  for (const char* bad : {"", ".hidden", "a/b", "..", "a b", "a\\b", "ü.png"}) {
    EXPECT_FALSE(FileStore::IsSafeName(bad)) << bad;
  }
  EXPECT_FALSE(FileStore::IsSafeName(std::string(129, 'a')));
}

}  // namespace
}  // namespace storyloom::files
