#include "cli/output.h"

#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

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

constexpr const char* kRootFooter =
    "Conventions:\n"
    "  Global options (--config, --data-dir, --database, --log-level) may come before or after\n"
    "  the subcommand: `storyloom users add bob --data-dir D` is `storyloom --data-dir D users\n"
    "  add bob`.\n"
    "  Listing commands take --json: users list, users budget, tokens list, usage report,\n"
    "  prices list, backup list, db status, cleanup, fsck.\n"
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

void SetFooters(CLI::App& app) {
  for (CLI::App* sub : app.get_subcommands([](CLI::App*) { return true; })) {
    if (sub->get_name().empty()) continue;  // an option group, not a subcommand
    sub->footer(kSubcommandFooter);
    SetFooters(*sub);
  }
}

}  // namespace

void AddConventionFooters(CLI::App& app) {
  app.footer(kRootFooter);
  SetFooters(app);
}

}  // namespace storyloom::cli
