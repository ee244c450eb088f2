// The command line's conventions, on the real binary: global options after the subcommand
// at every depth, exit status 2 for a usage error and 1 for an error (one line each), the
// conventions in `storyloom --help`, and colour only on a terminal without NO_COLOR.
#include <gtest/gtest.h>
#include <pty.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>

#include "support/checks.h"
#include "support/temp_dir.h"

extern char** environ;

namespace storyloom {
namespace {

using nlohmann::json;
using testing::CliResult;
using testing::RunCli;

json ParseJson(const CliResult& r) {
  json j = json::parse(r.out, nullptr, /*allow_exceptions=*/false);
  EXPECT_FALSE(j.is_discarded()) << "not JSON:\n" << r.out;
  return j;
}

std::vector<std::string> Lines(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) out.push_back(line);
  return out;
}

class CliConventionsTest : public ::testing::Test {
 protected:
  std::string Dir() const { return "'" + dir_.str() + "'"; }
  testing::TempDir dir_;
};

TEST_F(CliConventionsTest, GlobalOptionsWorkAfterTheSubcommandAtEveryDepth) {
  // Depth 2, after the positional argument: the issue's own example.
  CliResult add = RunCli("users add bob --data-dir " + Dir() + " --log-level off");
  ASSERT_EQ(add.exit_code, 0) << add.out;
  EXPECT_NE(add.out.find("created user bob"), std::string::npos) << add.out;
  // Depth 2, between the two subcommands.
  add = RunCli("users --data-dir " + Dir() + " add carol --log-level off");
  ASSERT_EQ(add.exit_code, 0) << add.out;
  // Depth 2, every global option after the subcommand, mixed with the command's own flag.
  const std::string url = "sqlite://" + dir_.str() + "/storyloom.db";
  CliResult list =
      RunCli("users list --json --database '" + url + "' --data-dir " + Dir() + " --log-level off");
  ASSERT_EQ(list.exit_code, 0) << list.out;
  std::set<std::string> names;
  const json users = ParseJson(list);
  for (const auto& u : users["items"]) names.insert(u["username"].get<std::string>());
  EXPECT_EQ(names, (std::set<std::string>{"bob", "carol"}));
  // Depth 1: a command without subcommands.
  CliResult fsck = RunCli("fsck --json --data-dir " + Dir() + " --log-level off");
  ASSERT_EQ(fsck.exit_code, 0) << fsck.out;
  EXPECT_EQ(ParseJson(fsck)["ok"], true);
  // Depth 2 under another parent, the database it reports is the one named after it.
  CliResult status = RunCli("db status --json --data-dir " + Dir() + " --log-level off");
  ASSERT_EQ(status.exit_code, 0) << status.out;
  EXPECT_NE(ParseJson(status)["database"].get<std::string>().find(dir_.str()), std::string::npos)
      << status.out;
  // Before and after give the same answer.
  CliResult before = RunCli("--data-dir " + Dir() + " --log-level off users list --json");
  ASSERT_EQ(before.exit_code, 0) << before.out;
  EXPECT_EQ(before.out, list.out);
}

TEST_F(CliConventionsTest, ConfigAndLogLevelWorkAfterTheSubcommand) {
  const auto data = dir_ / "from-config";
  testing::WriteFile(dir_ / "storyloom.toml", "data_dir = \"" + data.string() + "\"\n");
  CliResult add = RunCli("users add dora --log-level off --config '" +
                         (dir_ / "storyloom.toml").string() + "'");
  ASSERT_EQ(add.exit_code, 0) << add.out;
  EXPECT_TRUE(std::filesystem::exists(data / "storyloom.db")) << "--config after the "
                                                                 "subcommand was not read";
  // --log-level after the subcommand is the global option: its value is checked.
  CliResult bad = RunCli("users list --data-dir " + Dir() + " --log-level loud");
  EXPECT_EQ(bad.exit_code, 2) << bad.out;
  EXPECT_NE(bad.out.find("--log-level"), std::string::npos) << bad.out;
  // The restore target's --data-dir stays its own (not the global one): it is required.
  CliResult restore = RunCli("backup restore /nonexistent --log-level off");
  EXPECT_EQ(restore.exit_code, 2) << restore.out;
  EXPECT_NE(restore.out.find("restore needs --data-dir"), std::string::npos) << restore.out;
}

TEST_F(CliConventionsTest, UsageErrorsExitTwoWithOneLine) {
  for (const std::string& args : std::vector<std::string>{
           "",                                            // no subcommand
           "frobnicate",                                  // unknown subcommand
           "users",                                       // a group without its subcommand
           "users add",                                   // missing argument
           "users list --bogus --data-dir " + Dir(),      // unknown option after the subcommand
           "users list extra --data-dir " + Dir(),        // unexpected argument
           "usage report --by week --data-dir " + Dir(),  // a value not among the choices
           "usage report --json --format table",          // options that exclude each other
           "serve --port 70000",                          // out of range
           "--log-level loud users list",                 // bad global value before
           "completion fish",                             // a shell it does not know
       }) {
    SCOPED_TRACE("storyloom " + args);
    CliResult r = RunCli(args);
    EXPECT_EQ(r.exit_code, 2) << r.out;
    const auto lines = Lines(r.out);
    ASSERT_EQ(lines.size(), 1u) << r.out;
    EXPECT_EQ(lines[0].rfind("storyloom: ", 0), 0u) << r.out;
  }
  // A date the command checks itself is a usage error too (usage report opens an existing
  // database only: make one first).
  ASSERT_EQ(RunCli("db migrate --log-level off --data-dir " + Dir()).exit_code, 0);
  CliResult date = RunCli("usage report --from yesterday --log-level off --data-dir " + Dir());
  EXPECT_EQ(date.exit_code, 2) << date.out;
  EXPECT_EQ(Lines(date.out).size(), 1u) << date.out;
}

TEST_F(CliConventionsTest, RuntimeErrorsExitOneWithOneLine) {
  ASSERT_EQ(RunCli("db migrate --log-level off --data-dir " + Dir()).exit_code, 0);
  for (const std::string& args : std::vector<std::string>{
           "users disable nobody",          // no such user
           "tokens list ghost",             // no such user
           "tokens revoke not-a-token-id",  // not an id
           "users budget nobody --json",    // no such user, --json or not
           "backup verify /nonexistent",    // no such backup
       }) {
    SCOPED_TRACE("storyloom " + args);
    CliResult r = RunCli(args + " --log-level off --data-dir " + Dir());
    EXPECT_EQ(r.exit_code, 1) << r.out;
    const auto lines = Lines(r.out);
    ASSERT_EQ(lines.size(), 1u) << r.out;
    EXPECT_EQ(lines[0].rfind("storyloom: ", 0), 0u) << r.out;
  }
}

// Every command the --help footer names as taking --json takes it, and the footer states
// the exit statuses and NO_COLOR.
TEST_F(CliConventionsTest, HelpDocumentsExitStatusJsonAndColour) {
  CliResult help = RunCli("--help");
  ASSERT_EQ(help.exit_code, 0) << help.out;
  for (const char* text : {"Exit status:", "  0  success", "  1  error", "  2  usage", "NO_COLOR",
                           "storyloom completion bash|zsh"}) {
    EXPECT_NE(help.out.find(text), std::string::npos) << text << " missing from:\n" << help.out;
  }
  const auto at = help.out.find("Listing commands take --json:");
  ASSERT_NE(at, std::string::npos) << help.out;
  std::string list = help.out.substr(at + 29, help.out.find('.', at) - at - 29);
  std::vector<std::string> commands;
  std::string current;
  for (char c : list + ",") {
    if (c == ',') {
      const auto b = current.find_first_not_of(" \n");
      const auto e = current.find_last_not_of(" \n");
      if (b != std::string::npos) commands.push_back(current.substr(b, e - b + 1));
      current.clear();
    } else {
      current += c == '\n' ? ' ' : c;
    }
  }
  // At least the listing commands the issue names.
  for (const char* needed : {"users list", "tokens list", "usage report", "prices list",
                             "users budget", "backup list", "db status"}) {
    EXPECT_NE(std::find(commands.begin(), commands.end(), needed), commands.end()) << needed;
  }
  for (const auto& c : commands) {
    CliResult sub = RunCli(c + " --help");
    EXPECT_EQ(sub.exit_code, 0) << sub.out;
    EXPECT_NE(sub.out.find("--json"), std::string::npos) << c << " --help:\n" << sub.out;
    EXPECT_NE(sub.out.find("Exit status: 0 success, 1 error, 2 usage"), std::string::npos)
        << sub.out;
  }
}

// Runs the binary on a new pseudo-terminal (its stdin, stdout and stderr), with TERM=xterm
// and NO_COLOR as given ("" = unset); returns its exit status and everything it wrote.
CliResult RunOnTerminal(const std::vector<std::string>& args, const std::string& no_color) {
  std::vector<std::string> env;
  for (char** e = environ; *e != nullptr; ++e) {
    const std::string_view kv(*e);
    if (kv.starts_with("NO_COLOR=") || kv.starts_with("TERM=")) continue;
    env.emplace_back(kv);
  }
  env.emplace_back("TERM=xterm");
  if (!no_color.empty()) env.push_back("NO_COLOR=" + no_color);
  std::vector<std::string> argv_s = {STORYLOOM_BINARY};
  argv_s.insert(argv_s.end(), args.begin(), args.end());
  std::vector<char*> argv, envp;
  for (auto& a : argv_s) argv.push_back(a.data());
  argv.push_back(nullptr);
  for (auto& e : env) envp.push_back(e.data());
  envp.push_back(nullptr);
  CliResult r;
  int master = -1;
  const pid_t pid = ::forkpty(&master, nullptr, nullptr, nullptr);
  if (pid < 0) {
    ADD_FAILURE() << "forkpty: " << std::strerror(errno);
    return r;
  }
  if (pid == 0) {
    ::execve(argv[0], argv.data(), envp.data());
    ::_exit(127);
  }
  char buf[4096];
  for (;;) {
    const ssize_t n = ::read(master, buf, sizeof buf);
    if (n > 0) {
      r.out.append(buf, static_cast<std::size_t>(n));
    } else if (n < 0 && errno == EINTR) {
      continue;
    } else {
      break;  // EIO: the child closed the terminal
    }
  }
  ::close(master);
  int status = 0;
  ::waitpid(pid, &status, 0);
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return r;
}

// The only colour is spdlog's level name on stderr: shown on a terminal, never with NO_COLOR
// set, never when stderr is not a terminal.
TEST_F(CliConventionsTest, ColourOnlyOnATerminalWithoutNoColor) {
  // A fresh data directory: `users list` migrates it and logs each migration at info.
  auto run = [&](const std::string& sub, const std::string& no_color) {
    return RunOnTerminal(
        {"users", "list", "--log-level", "info", "--data-dir", (dir_ / sub).string()}, no_color);
  };
  const std::string esc = "\x1b[";
  CliResult colour = run("a", "");
  ASSERT_EQ(colour.exit_code, 0) << colour.out;
  ASSERT_NE(colour.out.find("applying migration"), std::string::npos) << colour.out;
  EXPECT_NE(colour.out.find(esc), std::string::npos)
      << "no colour on a terminal: the test cannot tell colour from none\n"
      << colour.out;
  for (const std::string& value :
       std::vector<std::string>{"1", "0", "no"}) {  // any non-empty value
    CliResult plain = run("b" + value, value);
    ASSERT_EQ(plain.exit_code, 0) << plain.out;
    ASSERT_NE(plain.out.find("applying migration"), std::string::npos) << plain.out;
    EXPECT_EQ(plain.out.find(esc), std::string::npos) << "NO_COLOR=" << value << ":\n" << plain.out;
  }
  // Not a terminal (a pipe), NO_COLOR unset.
  CliResult piped =
      RunCli("users list --log-level info --data-dir '" + (dir_ / "c").string() + "'");
  ASSERT_EQ(piped.exit_code, 0) << piped.out;
  ASSERT_NE(piped.out.find("applying migration"), std::string::npos) << piped.out;
  EXPECT_EQ(piped.out.find(esc), std::string::npos) << piped.out;
}

}  // namespace
}  // namespace storyloom
