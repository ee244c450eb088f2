// `storyloom completion bash|zsh`: the scripts are sourced in the real shells and their
// completion functions called as the shell would call them on <TAB>; what they offer is
// checked against what `storyloom <command> --help` lists, so a subcommand the scripts miss
// fails here.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <set>
#include <sstream>

#include "support/checks.h"
#include "support/temp_dir.h"

namespace storyloom {
namespace {

using testing::CliResult;
using testing::RunCli;

std::set<std::string> Words(const std::string& text) {
  std::set<std::string> out;
  std::istringstream in(text);
  for (std::string w; in >> w;) out.insert(w);
  return out;
}

// The subcommands `storyloom <path> --help` lists under "Subcommands:".
std::set<std::string> HelpSubcommands(const std::string& path) {
  CliResult help = RunCli(path + " --help");
  EXPECT_EQ(help.exit_code, 0) << help.out;
  std::set<std::string> out;
  std::istringstream in(help.out);
  bool in_section = false;
  for (std::string line; std::getline(in, line);) {
    if (line == "Subcommands:") {
      in_section = true;
    } else if (in_section && line.starts_with("  ")) {
      std::istringstream words(line);
      std::string name;
      words >> name;
      out.insert(name);
    } else if (in_section) {
      break;
    }
  }
  return out;
}

class CliCompletionTest : public ::testing::Test {
 protected:
  void SetUp() override {
    for (const char* shell : {"bash", "zsh"}) {
      CliResult r = RunCli(std::string("completion ") + shell);
      ASSERT_EQ(r.exit_code, 0) << r.out;
      testing::WriteFile(dir_ / shell, r.out);
    }
  }

  // What bash's completion offers for the command line `words` (the last one is the word
  // being completed): COMP_WORDS/COMP_CWORD set as bash sets them, then _storyloom.
  std::string BashComplete(const std::vector<std::string>& words) {
    std::string script = "set -u\nsource '" + (dir_ / "bash").string() + "'\nCOMP_WORDS=(";
    for (const auto& w : words) script += "'" + w + "' ";
    script += ")\nCOMP_CWORD=" + std::to_string(words.size() - 1) +
              "\n_storyloom || exit 3\nprintf '%s\\n' \"${COMPREPLY[@]}\"\n";
    return Shell("bash", script);
  }

  // Runs `script` with `shell` (-f for zsh: no user start-up files); its stdout and stderr.
  std::string Shell(const std::string& shell, const std::string& script) {
    testing::WriteFile(dir_ / "script", script);
    const std::string cmd = shell + (shell == "zsh" ? " -f " : " --norc ") + "'" +
                            (dir_ / "script").string() + "' 2>&1";
    FILE* p = ::popen(cmd.c_str(), "r");
    if (p == nullptr) return "";
    std::string out;
    char buf[4096];
    std::size_t n;
    while ((n = std::fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
    const int status = ::pclose(p);
    EXPECT_EQ(status, 0) << shell << " failed:\n" << out << "\nscript:\n" << script;
    return out;
  }

  testing::TempDir dir_;
};

TEST_F(CliCompletionTest, BashCompletesSubcommandsAtEveryLevel) {
  EXPECT_EQ(Words(BashComplete({"storyloom", "us"})), (std::set<std::string>{"users", "usage"}));
  // Every subcommand `--help` lists, at the top and one level down, and nothing else.
  const std::set<std::string> top = HelpSubcommands("");
  ASSERT_TRUE(top.contains("users") && top.contains("completion")) << "help not parsed";
  EXPECT_EQ(Words(BashComplete({"storyloom", ""})), top);
  int groups = 0;
  for (const auto& sub : top) {
    const std::set<std::string> children = HelpSubcommands(sub);
    if (children.empty()) continue;
    ++groups;
    EXPECT_EQ(Words(BashComplete({"storyloom", sub, ""})), children) << sub;
  }
  EXPECT_GE(groups, 5);  // db users tokens backup usage prices
  // Global options and their values before the subcommand do not get in the way.
  EXPECT_EQ(Words(BashComplete({"storyloom", "--data-dir", "/tmp/x", "users", "l"})),
            (std::set<std::string>{"list", "login-link"}));
  EXPECT_EQ(Words(BashComplete({"storyloom", "--log-level", "=", "off", "db", "c"})),
            (std::set<std::string>{"check", "copy"}));
  // A command's positional argument with known values.
  EXPECT_EQ(Words(BashComplete({"storyloom", "completion", ""})),
            (std::set<std::string>{"bash", "zsh"}));
}

TEST_F(CliCompletionTest, BashCompletesOptionsGlobalOnesAndValues) {
  // The global options after the subcommand, at depth 2.
  EXPECT_EQ(Words(BashComplete({"storyloom", "users", "add", "bob", "--da"})),
            (std::set<std::string>{"--data-dir", "--database"}));
  const auto status = Words(BashComplete({"storyloom", "db", "status", "--"}));
  for (const char* o :
       {"--json", "--help", "--config", "--data-dir", "--database", "--log-level"}) {
    EXPECT_TRUE(status.contains(o)) << o;
  }
  EXPECT_FALSE(status.contains("--version"));  // the top level's own
  EXPECT_FALSE(status.contains("--all"));      // another command's
  // Choices of an option's value, after a space or an "=".
  EXPECT_EQ(Words(BashComplete({"storyloom", "usage", "report", "--by", ""})),
            (std::set<std::string>{"day", "model", "provider", "operation", "user", "workflow"}));
  EXPECT_EQ(Words(BashComplete({"storyloom", "usage", "report", "--by", "=", "pro"})),
            (std::set<std::string>{"provider"}));
  EXPECT_EQ(Words(BashComplete({"storyloom", "users", "list", "--log-level", "d"})),
            (std::set<std::string>{"debug"}));
  // A free value (a directory) is left to bash's file name completion: nothing offered.
  EXPECT_EQ(BashComplete({"storyloom", "users", "list", "--data-dir", ""}), "\n");
  // The function is registered for the command, with file names as the fallback.
  EXPECT_NE(Shell("bash", "source '" + (dir_ / "bash").string() + "'\ncomplete -p storyloom\n")
                .find("-o default -F _storyloom storyloom"),
            std::string::npos);
}

TEST_F(CliCompletionTest, ZshScriptParsesAndCompletes) {
  // zsh -n: the script parses.
  Shell("zsh", "zsh -n '" + (dir_ / "zsh").string() + "' || exit 1\n");
  // Its completion function, called with words/CURRENT as zsh sets them, and zsh's
  // completion builtins replaced by functions that print what they are given.
  auto complete = [&](const std::vector<std::string>& words) {
    std::string script =
        "compdef() { print -r -- \"compdef $*\" >&2; }\n"
        "_describe() { local -a items; items=(\"${(@P)4}\"); print -rl -- \"${items[@]%%:*}\"; }\n"
        "compadd() { [[ $1 == -- ]] && shift; print -rl -- \"$@\"; }\n"
        "compset() { :; }\n"
        "_files() { print -r -- FILES; }\n"
        "source '" +
        (dir_ / "zsh").string() + "' 2>/dev/null\nwords=(";
    for (const auto& w : words) script += "'" + w + "' ";
    script += ")\nCURRENT=" + std::to_string(words.size()) + "\n_storyloom\n";
    return Words(Shell("zsh", script));
  };
  EXPECT_EQ(complete({"storyloom", ""}), HelpSubcommands(""));
  EXPECT_EQ(complete({"storyloom", "users", ""}), HelpSubcommands("users"));
  EXPECT_EQ(complete({"storyloom", "--data-dir", "/x", "backup", ""}), HelpSubcommands("backup"));
  const auto opts = complete({"storyloom", "tokens", "list", "--"});
  for (const char* o : {"--all", "--json", "--data-dir", "--log-level"}) {
    EXPECT_TRUE(opts.contains(o)) << o;
  }
  EXPECT_EQ(complete({"storyloom", "usage", "report", "--format", ""}),
            (std::set<std::string>{"table", "json"}));
  EXPECT_EQ(complete({"storyloom", "users", "list", "--config", ""}),
            (std::set<std::string>{"FILES"}));
  EXPECT_EQ(complete({"storyloom", "completion", ""}), (std::set<std::string>{"bash", "zsh"}));
  // Sourced (not autoloaded), it registers itself with compdef.
  EXPECT_NE(Shell("zsh", "compdef() { print -r -- \"compdef $*\"; }\nsource '" +
                             (dir_ / "zsh").string() + "'\n")
                .find("compdef _storyloom storyloom"),
            std::string::npos);
}

// The script is a pure function of the command: the same bytes every time (the Debian
// package generates it at build time).
TEST_F(CliCompletionTest, OutputIsStable) {
  for (const char* shell : {"bash", "zsh"}) {
    CliResult again = RunCli(std::string("completion ") + shell);
    EXPECT_EQ(again.out, testing::ReadFileOrEmpty(dir_ / shell)) << shell;
    EXPECT_EQ(again.out.find("storyloom: "), std::string::npos) << again.out;
  }
}

}  // namespace
}  // namespace storyloom
