// The pure halves of backups, without a database or a file system: which backups retention
// keeps, and the manifest's text, which a restore of an older or a hand-edited backup
// must read back exactly or refuse.
#include <gtest/gtest.h>

#include <functional>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <vector>

#include "ops/backup.h"
#include "ops/backup_manifest.h"

namespace storyloom {
namespace {

using nlohmann::json;

constexpr Millis kDay = 86400000;
// Monday 2026-11-23 12:00 UTC.
constexpr Millis kMonday = 1795392000000 + 12 * 3600 * 1000;

BackupRecord Rec(std::string id, std::string kind, Millis at, std::string status = "ok") {
  BackupRecord b;
  b.id = std::move(id);
  b.path = "/backups/" + b.id;
  b.kind = std::move(kind);
  b.status = std::move(status);
  b.created_at = at;
  return b;
}

std::set<std::string> Removed(const std::vector<BackupRecord>& all, int daily, int weekly) {
  std::set<std::string> out;
  for (const auto& b : ops::PlanBackupRetention(all, {daily, weekly})) out.insert(b.id);
  return out;
}

TEST(BackupRetentionPlanTest, KeepsTheNewestOfEachDayAndWeekAndEveryManualOrRunningOne) {
  // Newest first, as ListBackups returns them: two a day for ten days back from Monday.
  std::vector<BackupRecord> all;
  for (int day = 0; day < 10; ++day) {
    all.push_back(
        Rec("d" + std::to_string(day) + "-pm", "scheduled", kMonday - day * kDay + 3600000));
    all.push_back(
        Rec("d" + std::to_string(day) + "-am", "scheduled", kMonday - day * kDay - 3600000));
  }
  all.insert(all.begin() + 4, Rec("manual", "manual", kMonday - 2 * kDay));
  all.insert(all.begin() + 6, Rec("writing", "scheduled", kMonday - 3 * kDay, "running"));
  const auto removed = Removed(all, 2, 2);
  // Kept: days 0 and 1; this week is day 0's, and last week's newest is Sunday, day 1;
  // the manual and the running one whatever their age.
  std::set<std::string> kept;
  for (const auto& b : all) {
    if (!removed.contains(b.id)) kept.insert(b.id);
  }
  EXPECT_EQ(kept, (std::set<std::string>{"d0-pm", "d1-pm", "manual", "writing"}));
  EXPECT_EQ(removed.size(), all.size() - 4);
}

TEST(BackupRetentionPlanTest, AWeekRunsMondayToSunday) {
  // Sunday night and Monday morning are different weeks; with one daily and two weekly
  // backups kept, both stay.
  const std::vector<BackupRecord> all = {Rec("mon", "scheduled", kMonday - 11 * 3600000),
                                         Rec("sun", "scheduled", kMonday - 13 * 3600000),
                                         Rec("sat", "scheduled", kMonday - kDay - 13 * 3600000)};
  EXPECT_EQ(Removed(all, 1, 2), (std::set<std::string>{"sat"}));
}

TEST(BackupRetentionPlanTest, FailedBackupsGoAndTheNewestGoodOneAlwaysStays) {
  const std::vector<BackupRecord> all = {Rec("failed-new", "scheduled", kMonday, "failed"),
                                         Rec("good", "scheduled", kMonday - 40 * kDay),
                                         Rec("older", "scheduled", kMonday - 41 * kDay)};
  // Nothing kept per day or week, yet the newest good backup is never the one deleted.
  EXPECT_EQ(Removed(all, 0, 0), (std::set<std::string>{"failed-new", "older"}));
  EXPECT_TRUE(Removed({}, 7, 4).empty());
}

ops::Manifest FileCopyManifest() {
  ops::Manifest m;
  m.id = "b1";
  m.kind = "manual";
  m.created_at = "2026-11-30T08:00:00.000Z";
  m.schema_version = 7;
  m.rows = {{"workflows", 3}, {"scenes", 9}};
  m.database_file = {"storyloom.db", 4096, std::string(64, 'a')};
  m.files = {{"u1/w1/image_1.png", 10, std::string(64, 'b')},
             {"u1/w1/audio_1.mp3", 0, std::string(64, 'c')}};
  m.missing_files = {"u1/w2/gone.png"};
  m.changed_files = {"u1/w1/image_1.png"};
  m.linked = 2;
  return m;
}

TEST(BackupManifestTest, WhatIsWrittenReadsBackTheSame) {
  const ops::Manifest m = FileCopyManifest();
  const std::string text = ops::ManifestText(m);
  auto back = ops::ParseManifest(json::parse(text));
  ASSERT_TRUE(back.has_value()) << back.error().ToString();
  EXPECT_EQ(ops::ManifestText(*back), text);
  EXPECT_TRUE(back->file_copy);
  EXPECT_EQ(back->id, "b1");
  EXPECT_EQ(back->schema_version, 7);
  EXPECT_EQ(back->database_file.size, 4096);
  ASSERT_EQ(back->files.size(), 2u);
  EXPECT_EQ(back->files[1].path, "u1/w1/audio_1.mp3");
  EXPECT_EQ(back->missing_files, m.missing_files);
  EXPECT_EQ(back->changed_files, m.changed_files);

  ops::Manifest logical = m;
  logical.file_copy = false;
  logical.tables = {{"workflows", {"database/workflows.jsonl", 100, std::string(64, 'd')}, 3}};
  auto back2 = ops::ParseManifest(json::parse(ops::ManifestText(logical)));
  ASSERT_TRUE(back2.has_value()) << back2.error().ToString();
  EXPECT_FALSE(back2->file_copy);
  ASSERT_EQ(back2->tables.size(), 1u);
  EXPECT_EQ(back2->tables[0].file.path, "database/workflows.jsonl");
  EXPECT_EQ(back2->tables[0].rows, 3);
}

TEST(BackupManifestTest, TheTextKeepsTheLayoutEarlierVersionsWrote) {
  // Backups taken by earlier versions must restore, and theirs by ours: same keys.
  const json j = json::parse(ops::ManifestText(FileCopyManifest()));
  EXPECT_EQ(j["format"], 1);
  EXPECT_EQ(j["database"]["dialect"], "sqlite");
  EXPECT_EQ(j["database"]["file"], "storyloom.db");
  EXPECT_EQ(j["database"]["sha256"], std::string(64, 'a'));
  EXPECT_EQ(j["database"]["rows"]["scenes"], 9);
  EXPECT_EQ(j["files"][0]["path"], "u1/w1/image_1.png");
  EXPECT_EQ(j["files"][0]["size"], 10);
  EXPECT_EQ(j["missing_files"][0], "u1/w2/gone.png");
  EXPECT_EQ(j["linked"], 2);
}

// A logical export's database part with one table.
json LogicalPart(const std::string& name, const std::string& file) {
  return {{"dialect", "postgres"},
          {"schema_version", 1},
          {"tables",
           json::array(
               {{{"name", name}, {"file", file}, {"size", 1}, {"sha256", std::string(64, 'a')}}})}};
}

TEST(BackupManifestTest, HostileManifestsAreRefusedNamingTheProblem) {
  const json good = json::parse(ops::ManifestText(FileCopyManifest()));
  struct Case {
    const char* what;
    std::function<void(json&)> spoil;
    const char* says;
  };
  const std::vector<Case> cases = {
      {"escaping path", [](json& j) { j["files"][0]["path"] = "../../etc/passwd"; }, "bad path"},
      {"absolute path", [](json& j) { j["files"][0]["path"] = "/etc/passwd"; }, "absolute"},
      {"listed twice", [](json& j) { j["files"][1]["path"] = j["files"][0]["path"]; },
       "listed twice"},
      {"negative size", [](json& j) { j["files"][0]["size"] = -1; }, "bad size"},
      {"short sha256", [](json& j) { j["files"][0]["sha256"] = "abc"; }, "bad sha256"},
      {"other database file", [](json& j) { j["database"]["file"] = "../x.db"; },
       "the database file must be storyloom.db"},
      {"unknown dialect", [](json& j) { j["database"]["dialect"] = "oracle"; },
       "unknown database dialect"},
      {"no schema version", [](json& j) { j["database"].erase("schema_version"); },
       "bad schema_version"},
      {"table name with a quote",
       [](json& j) { j["database"] = LogicalPart("x\"; DROP", "database/x.jsonl"); }, "bad table"},
      {"table file elsewhere",
       [](json& j) { j["database"] = LogicalPart("users", "../users.jsonl"); }, "bad table"},
      {"files not a list", [](json& j) { j["files"] = "all"; }, "bad file list"},
      {"a good table list, to show the cases above fail for their own reason",
       [](json& j) {
         j["database"] = LogicalPart("users", "database/users.jsonl");
         j["files"] = 1;
       },
       "bad file list"},
  };
  for (const auto& c : cases) {
    json j = good;
    c.spoil(j);
    auto m = ops::ParseManifest(j);
    ASSERT_FALSE(m.has_value()) << c.what;
    EXPECT_EQ(m.error().code, ErrorCode::kInvalidArgument) << c.what;
    EXPECT_NE(m.error().message.find("the backup manifest is malformed"), std::string::npos)
        << c.what << ": " << m.error().message;
    EXPECT_NE(m.error().message.find(c.says), std::string::npos)
        << c.what << ": " << m.error().message;
  }
}

}  // namespace
}  // namespace storyloom
