// The very first `storyloom serve` on an empty data directory makes the administrator and
// prints, once, a password and a one-time sign-in link. The link must lead to this server:
// with `--port 0` (the kernel picks the port) it once said ":0".
#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>

#include "support/http_client.h"
#include "support/sanitizer_report.h"
#include "support/temp_dir.h"

namespace storyloom {
namespace {

using testing::HttpClient;
using testing::TempDir;

std::string ReadAll(const std::string& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

// The text after `marker` in `text` up to the end of its word ("" when absent).
std::string WordAfter(const std::string& text, const std::string& marker) {
  const auto at = text.find(marker);
  if (at == std::string::npos) return "";
  const auto begin = at + marker.size();
  const auto end = text.find_first_of(" \n)", begin);
  return text.substr(begin, end == std::string::npos ? std::string::npos : end - begin);
}

TEST(FirstStartTest, PrintsASignInLinkToThePortItListensOn) {
  TempDir dir;
  const std::string out = (dir / "serve.out").string();
  const std::string data = (dir / "data").string();
  const pid_t pid = ::fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    const int fd = ::open(out.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    ::dup2(fd, 1);
    ::dup2(fd, 2);
    ::execl(STORYLOOM_BINARY, STORYLOOM_BINARY, "--data-dir", data.c_str(), "serve", "--port", "0",
            "--workers", "0", static_cast<char*>(nullptr));
    ::_exit(127);
  }
  // The server prints its address once it listens; it has a minute under the sanitizers.
  std::string text;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (std::chrono::steady_clock::now() < deadline) {
    text = ReadAll(out);
    if (text.find("Storyloom is running at ") != std::string::npos) break;
    if (::waitpid(pid, nullptr, WNOHANG) == pid) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  const std::string url = WordAfter(text, "Storyloom is running at ");
  const std::string link = WordAfter(text, "sign-in link (valid 24 hours):\n  ");
  EXPECT_FALSE(url.empty()) << text;
  EXPECT_FALSE(WordAfter(text, "password: ").empty()) << text;
  // The link is this server's address, and it signs the administrator in.
  EXPECT_TRUE(link.starts_with(url + "/login?token=")) << text;
  if (!url.empty() && link.starts_with(url + "/login?token=")) {
    HttpClient c(url);
    auto r = c.Get(link.substr(url.size()));
    EXPECT_EQ(r.status, 303) << r.body;
    std::string session;
    for (const auto& [k, v] : r.headers) {
      if (k == "set-cookie" && v.starts_with("sl_session=")) {
        session = v.substr(11, v.find(';') - 11);
      }
    }
    ASSERT_FALSE(session.empty());
    auto me = c.Get("/api/v1/me", {"Cookie: sl_session=" + session});
    EXPECT_EQ(me.status, 200) << me.body;
    EXPECT_EQ(me.Json()["username"], "admin");
  }
  ::kill(pid, SIGTERM);
  int status = 0;
  ::waitpid(pid, &status, 0);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << ReadAll(out);
  EXPECT_EQ(testing::SanitizerReport(ReadAll(out)), "");
}

}  // namespace
}  // namespace storyloom
