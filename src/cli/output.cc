#include "cli/output.h"

#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

namespace storyloom::cli {

CLI::Option* AddJsonFlag(CLI::App* cmd, bool& flag) {
  return cmd->add_flag("--json", flag, "print JSON for scripts (field names as in the HTTP API)");
}

void PrintJson(const nlohmann::json& j) {
  const std::string text = j.dump(2, ' ', false, nlohmann::json::error_handler_t::replace);
  std::printf("%s\n", text.c_str());
}

bool ColorAllowed(int fd) {
  const char* no_color = std::getenv("NO_COLOR");
  if (no_color != nullptr && *no_color != '\0') return false;
  if (::isatty(fd) != 1) return false;
  const char* term = std::getenv("TERM");
  return term != nullptr && *term != '\0' && std::string_view(term) != "dumb";
}

namespace {

// The conventions; the list of commands with --json is added from the tree.
constexpr const char* kRootFooter =
    "Conventions:\n"
    "  Global options (--config, --data-dir, --database, --log-level) may come before or after\n"
    "  the subcommand: `storyloom users add bob --data-dir D` is `storyloom --data-dir D users\n"
    "  add bob`.\n"
    "  Colour appears only in log lines on a terminal; NO_COLOR=1 (any non-empty value) or a\n"
    "  stderr that is not a terminal turns it off.\n"
    "  Shell completion: storyloom completion bash|zsh prints the script.\n"
    "\n"
    "Exit status:\n"
    "  0  success\n"
    "  1  error: the command ran and failed (database, file or network error; a check such as\n"
    "     fsck, db check or backup verify found problems)\n"
    "  2  usage: unknown subcommand or option, missing or invalid argument or value, or an\n"
    "     invalid configuration (storyloom.toml, STORYLOOM_* variables)";

constexpr const char* kSubcommandFooter =
    "Global options (--config, --data-dir, --database, --log-level) are accepted here too.\n"
    "Exit status: 0 success, 1 error, 2 usage (see storyloom --help).";

// Sets the subcommands' footers, and adds to `json` the path of each that takes --json.
void SetFooters(CLI::App& app, const std::string& path, std::vector<std::string>& json) {
  for (CLI::App* sub : app.get_subcommands([](CLI::App*) { return true; })) {
    if (sub->get_name().empty()) continue;  // an option group, not a subcommand
    sub->footer(kSubcommandFooter);
    const std::string sub_path = path.empty() ? sub->get_name() : path + " " + sub->get_name();
    if (sub->get_option_no_throw("--json") != nullptr) json.push_back(sub_path);
    SetFooters(*sub, sub_path, json);
  }
}

// "  Listing commands take --json: a, b, c.", wrapped at 92 columns.
std::string JsonLine(const std::vector<std::string>& commands) {
  std::string out = "  Listing commands take --json:";
  std::size_t line_start = 0;
  for (std::size_t i = 0; i < commands.size(); ++i) {
    const std::string word = commands[i] + (i + 1 < commands.size() ? "," : ".");
    if (out.size() - line_start + 1 + word.size() > 92) {
      out += "\n ";
      line_start = out.size() - 2;
    }
    out += ' ';
    out += word;
  }
  return out + "\n";
}

}  // namespace

void AddConventionFooters(CLI::App& app) {
  std::vector<std::string> json;
  SetFooters(app, "", json);
  std::string footer = kRootFooter;
  const std::string before = "  Colour appears";
  footer.insert(footer.find(before), JsonLine(json));
  app.footer(footer);
}

}  // namespace storyloom::cli
