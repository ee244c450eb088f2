// Configuration: every key the README documents is accepted from storyloom.toml and from
// its STORYLOOM_* environment variable, bad values are refused with a message naming the
// key, and the environment wins over the file.
#include "core/config.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <fstream>
#include <iterator>
#include <string>

#include "support/temp_dir.h"

namespace storyloom::core {
namespace {

// Sets an environment variable for the scope of one test.
class ScopedEnv {
 public:
  ScopedEnv(std::string name, const std::string& value) : name_(std::move(name)) {
    ::setenv(name_.c_str(), value.c_str(), 1);
  }
  ~ScopedEnv() { ::unsetenv(name_.c_str()); }

 private:
  std::string name_;
};

Result<Config> LoadToml(const testing::TempDir& dir, const std::string& text) {
  const std::string path = dir.str() + "/storyloom.toml";
  std::ofstream(path) << text;
  return LoadConfig(path);
}

TEST(ConfigTest, DefaultsAreTheDocumentedOnes) {
  const Config c;
  EXPECT_EQ(c.data_dir, "./storyloom-data");
  EXPECT_EQ(c.sqlite_synchronous, "FULL");
  EXPECT_EQ(c.port, 8080);
  EXPECT_EQ(c.workers, 2);
  EXPECT_EQ(c.min_free_disk_bytes, 64ull << 20);
  EXPECT_EQ(c.provider, "offline");
  EXPECT_FALSE(c.budget_monthly_usd.has_value());
}

TEST(ConfigTest, EveryKindOfKeyIsSetFromText) {
  Config c;
  ASSERT_TRUE(SetConfigValue(c, "data_dir", "/srv/story"));
  ASSERT_TRUE(SetConfigValue(c, "port", "9090"));
  ASSERT_TRUE(SetConfigValue(c, "max_upload_tmp_bytes", "1048576"));
  ASSERT_TRUE(SetConfigValue(c, "min_free_disk_bytes", "0"));
  ASSERT_TRUE(SetConfigValue(c, "log_json", "yes"));
  ASSERT_TRUE(SetConfigValue(c, "access_log", "off"));
  ASSERT_TRUE(SetConfigValue(c, "sqlite_synchronous", "EXTRA"));
  ASSERT_TRUE(SetConfigValue(c, "openai.speech_format", "mp3"));
  ASSERT_TRUE(SetConfigValue(c, "openai.phase_models.images", "gpt-image-1-mini"));
  ASSERT_TRUE(SetConfigValue(c, "budget.monthly_usd", "12.5"));
  ASSERT_TRUE(SetConfigValue(c, "files_origin", "https://files.example.net/"));
  ASSERT_TRUE(SetConfigValue(c, "login.lockout_seconds", "60"));
  EXPECT_EQ(c.data_dir, "/srv/story");
  EXPECT_EQ(c.port, 9090);
  EXPECT_EQ(c.max_upload_tmp_bytes, 1048576u);
  EXPECT_EQ(c.min_free_disk_bytes, 0u);
  EXPECT_TRUE(c.log_json);
  EXPECT_FALSE(c.access_log);
  EXPECT_EQ(c.sqlite_synchronous, "EXTRA");
  EXPECT_EQ(c.openai_speech_format, "mp3");
  EXPECT_EQ(c.phase_models.at("images"), "gpt-image-1-mini");
  ASSERT_TRUE(c.budget_monthly_usd.has_value());
  EXPECT_DOUBLE_EQ(*c.budget_monthly_usd, 12.5);
  EXPECT_EQ(c.files_origin, "https://files.example.net");  // trailing '/' dropped
  EXPECT_EQ(c.login_lockout_seconds, 60);
  // Empty clears the optional ones.
  ASSERT_TRUE(SetConfigValue(c, "budget.monthly_usd", ""));
  EXPECT_FALSE(c.budget_monthly_usd.has_value());
  ASSERT_TRUE(SetConfigValue(c, "openai.phase_models.images", ""));
  EXPECT_FALSE(c.phase_models.contains("images"));
}

TEST(ConfigTest, BadValuesAreRefusedNamingTheKey) {
  struct Case {
    std::string key, value, says;
  };
  const Case cases[] = {
      {"port", "70000", "port must be a whole number from 0 to 65535"},
      {"port", "80x", "port must be a whole number"},
      {"workers", "-1", "workers must be a whole number from 0 to 256"},
      {"lease_ms", "999", "lease_ms must be a whole number from 1000"},
      {"log_json", "maybe", "log_json must be true or false"},
      {"sqlite_synchronous", "fast", "sqlite_synchronous must be FULL, NORMAL, EXTRA or OFF"},
      {"log_level", "loud", "log_level must be trace, debug, info, warn, error or off"},
      {"provider", "magic", "provider must be offline or openai"},
      {"openai.speech_format", "ogg", "openai.speech_format must be mp3, wav, opus, aac, flac"},
      {"budget.monthly_usd", "-3", "budget.monthly_usd must be an amount in USD"},
      {"files_origin", "https://files.example.net/path", "files_origin must be an origin"},
      {"openai.phase_models.video", "x",
       "openai.phase_models takes story, scenes, images and narration"},
      {"no_such_key", "1", "unknown setting 'no_such_key'"},
  };
  for (const auto& k : cases) {
    Config c;
    auto r = SetConfigValue(c, k.key, k.value);
    ASSERT_FALSE(r.has_value()) << k.key << "=" << k.value;
    EXPECT_EQ(r.error().code, ErrorCode::kInvalidArgument);
    EXPECT_NE(r.error().message.find(k.says), std::string::npos)
        << k.key << ": " << r.error().message;
    EXPECT_EQ(r.error().detail, k.key);
  }
}

TEST(ConfigTest, FileTablesAreDottedKeysAndTheEnvironmentWins) {
  testing::TempDir dir;
  ScopedEnv port("STORYLOOM_PORT", "7001");
  ScopedEnv key("STORYLOOM_OPENAI_API_KEY", "sk-env");
  auto c = LoadToml(dir, R"(
port = 6000
workers = 3
min_free_disk_bytes = 1048576
[openai]
api_key = "sk-file"
timeout_ms = 5000
[openai.phase_models]
story = "gpt-4o"
[budget]
monthly_usd = 20
)");
  ASSERT_TRUE(c.has_value()) << c.error().message;
  EXPECT_EQ(c->port, 7001);  // the environment over the file
  EXPECT_EQ(c->workers, 3);
  EXPECT_EQ(c->min_free_disk_bytes, 1048576u);
  EXPECT_EQ(c->openai_api_key, "sk-env");
  EXPECT_EQ(c->openai_timeout_ms, 5000);
  EXPECT_EQ(c->phase_models.at("story"), "gpt-4o");
  EXPECT_DOUBLE_EQ(c->budget_monthly_usd.value_or(0), 20);
}

TEST(ConfigTest, KeysOfEverySectionComeFromTheEnvironment) {
  // One key of each section and kind, set only through the environment.
  ScopedEnv a("STORYLOOM_MIN_FREE_DISK_BYTES", "4096");
  ScopedEnv b("STORYLOOM_OPENAI_PHASE_MODELS_NARRATION", "tts-1");
  ScopedEnv d("STORYLOOM_RETENTION_USAGE_DAYS", "10");
  ScopedEnv e("STORYLOOM_LOGIN_MAX_FAILURES_PER_ADDRESS", "9");
  ScopedEnv f("STORYLOOM_METRICS_PUBLIC", "true");
  auto c = LoadConfig("/nonexistent-dir-for-the-test/none.toml");
  // A named file that is missing is an error; the environment alone works without one.
  EXPECT_FALSE(c.has_value());
  testing::TempDir dir;
  auto ok = LoadToml(dir, "");
  ASSERT_TRUE(ok.has_value()) << ok.error().message;
  EXPECT_EQ(ok->min_free_disk_bytes, 4096u);
  EXPECT_EQ(ok->phase_models.at("narration"), "tts-1");
  EXPECT_EQ(ok->retention_usage_days, 10);
  EXPECT_EQ(ok->login_max_failures_per_address, 9);
  EXPECT_TRUE(ok->metrics_public);
}

TEST(ConfigTest, BadFileValuesNameTheFileAndTheKey) {
  testing::TempDir dir;
  auto c = LoadToml(dir, "[openai]\nmax_retries = 99\n");
  ASSERT_FALSE(c.has_value());
  EXPECT_NE(c.error().message.find("storyloom.toml"), std::string::npos) << c.error().message;
  EXPECT_NE(c.error().message.find("openai.max_retries must be a whole number from 0 to 20"),
            std::string::npos)
      << c.error().message;
  ScopedEnv bad("STORYLOOM_WORKERS", "lots");
  auto e = LoadToml(dir, "");
  ASSERT_FALSE(e.has_value());
  EXPECT_NE(e.error().message.find("STORYLOOM_WORKERS: workers must be a whole number"),
            std::string::npos)
      << e.error().message;
}

// The README's configuration table (with docs/PROVIDERS.md for the openai.* keys) names
// every key the server reads, so a new key cannot go undocumented.
TEST(ConfigTest, TheDefaultStorageQuotaTakesSizes) {
  testing::TempDir dir;
  auto c = LoadToml(dir, "[storage]\ndefault_quota = \"2G\"\n");
  ASSERT_TRUE(c.has_value()) << c.error().message;
  EXPECT_EQ(c->storage_default_quota, std::optional<std::int64_t>(2ll << 30));
  auto n = LoadToml(dir, "[storage]\ndefault_quota = 1048576\n");
  ASSERT_TRUE(n.has_value()) << n.error().message;
  EXPECT_EQ(n->storage_default_quota, std::optional<std::int64_t>(1048576));
  {
    ScopedEnv env("STORYLOOM_STORAGE_DEFAULT_QUOTA", "500M");
    auto e = LoadToml(dir, "[storage]\ndefault_quota = \"2G\"\n");
    ASSERT_TRUE(e.has_value()) << e.error().message;
    EXPECT_EQ(e->storage_default_quota, std::optional<std::int64_t>(500ll << 20));
  }
  Config d;
  ASSERT_TRUE(SetConfigValue(d, "storage.default_quota", "1K"));
  EXPECT_EQ(d.storage_default_quota, std::optional<std::int64_t>(1024));
  ASSERT_TRUE(SetConfigValue(d, "storage.default_quota", "none"));
  EXPECT_FALSE(d.storage_default_quota.has_value());
  auto bad = SetConfigValue(d, "storage.default_quota", "lots");
  ASSERT_FALSE(bad.has_value());
  EXPECT_NE(bad.error().message.find("storage.default_quota"), std::string::npos)
      << bad.error().message;
}

TEST(ConfigTest, EveryKeyIsDocumented) {
  std::string docs;
  for (const char* f : {"/README.md", "/docs/PROVIDERS.md"}) {
    std::ifstream in(std::string(STORYLOOM_SOURCE_DIR) + f);
    ASSERT_TRUE(in) << f;
    docs.append(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  }
  const auto keys = ConfigKeys();
  EXPECT_GE(keys.size(), 60u);
  for (const auto& key : keys) {
    EXPECT_NE(docs.find("`" + key + "`"), std::string::npos) << key << " is not documented";
  }
}

}  // namespace
}  // namespace storyloom::core
