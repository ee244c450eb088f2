// storyloom completion bash|zsh: prints a shell completion script generated from this
// command's own CLI11 tree (every subcommand at every depth and the options each accepts,
// the global ones included), so it cannot drift from the command. The Debian package ships
// its output; keep the command's name and the script's function names stable.
#include <cstdio>
#include <string>
#include <string_view>
#include <vector>

#include "cli/commands.h"

namespace storyloom::cli {
namespace {

// One option as completion sees it.
struct OptionSpec {
  std::string name;         // "--data-dir" or "-h"
  std::string description;  // one line
  // "" for a flag; otherwise what its value completes to: "*" anything (the shell's file
  // names), or the allowed words separated by spaces.
  std::string value;
  bool inherited = false;  // an ancestor's option, accepted here by fallthrough
};

// One command level: "" for storyloom itself, "users add" for `storyloom users add`.
struct LevelSpec {
  std::string path;
  std::vector<std::pair<std::string, std::string>> subcommands;  // name, description
  std::vector<OptionSpec> options;  // its own, then the ones it inherits (fallthrough)
  std::string argument_words;       // what its positional argument may be ("bash zsh"), if known
};

// "TEXT:{day,model}" (CLI11's type name with an IsMember check) -> "day model"; else "*".
std::string ValueWords(const CLI::Option& opt) {
  const std::string type = opt.get_type_name();
  const auto open = type.find(":{");
  if (open == std::string::npos || type.back() != '}') return "*";
  std::string words = type.substr(open + 2, type.size() - open - 3);
  for (char& c : words) {
    if (c == ',') c = ' ';
  }
  return words;
}

std::string FirstLine(const std::string& s) { return s.substr(0, s.find('\n')); }

std::vector<OptionSpec> OptionsOf(const CLI::App& app, bool own) {
  std::vector<OptionSpec> out;
  for (const CLI::Option* opt : app.get_options()) {
    if (opt->get_positional()) continue;
    // An ancestor's --help and --version are its own; every level has its own --help.
    if (!own && (opt == app.get_help_ptr() || opt == app.get_help_all_ptr() ||
                 opt == app.get_version_ptr()))
      continue;
    const std::string value = opt->get_items_expected_max() == 0 ? "" : ValueWords(*opt);
    for (const auto& l : opt->get_lnames()) {
      out.push_back({"--" + l, FirstLine(opt->get_description()), value});
    }
    for (const auto& s : opt->get_snames()) {
      out.push_back({"-" + s, FirstLine(opt->get_description()), value});
    }
  }
  return out;
}

void Collect(CLI::App& app, const std::string& path, std::vector<LevelSpec>& out) {
  LevelSpec level;
  level.path = path;
  level.options = OptionsOf(app, /*own=*/true);
  for (const CLI::Option* opt : app.get_options()) {
    if (!opt->get_positional()) continue;
    if (std::string words = ValueWords(*opt); words != "*") level.argument_words = words;
  }
  for (const CLI::App* up = app.get_parent(); up != nullptr; up = up->get_parent()) {
    for (auto& o : OptionsOf(*up, /*own=*/false)) {
      o.inherited = true;
      bool shadowed = false;  // `backup restore --data-dir` is its own, not the global one
      for (const auto& mine : level.options) shadowed = shadowed || mine.name == o.name;
      if (!shadowed) level.options.push_back(std::move(o));
    }
  }
  std::vector<std::pair<CLI::App*, std::string>> children;
  for (CLI::App* sub : app.get_subcommands([](CLI::App*) { return true; })) {
    if (sub->get_name().empty() || sub->get_group().empty()) continue;  // groups, hidden
    level.subcommands.emplace_back(sub->get_name(), FirstLine(sub->get_description()));
    children.emplace_back(sub, path.empty() ? sub->get_name() : path + " " + sub->get_name());
  }
  out.push_back(std::move(level));
  for (auto& [sub, sub_path] : children) Collect(*sub, sub_path, out);
}

// A single-quoted shell word (bash and zsh alike).
std::string Quote(const std::string& s) {
  std::string q = "'";
  for (char c : s) {
    if (c == '\'') {
      q += "'\\''";
    } else {
      q += c;
    }
  }
  return q + "'";
}

// f(x) for every x of `xs`, separated by spaces.
template <typename T, typename F>
std::string JoinEach(const std::vector<T>& xs, F f) {
  std::string out;
  for (const auto& x : xs) {
    if (!out.empty()) out += ' ';
    out += f(x);
  }
  return out;
}

// zsh's "name:description", quoted.
std::string Described(const std::string& name, const std::string& description) {
  std::string entry = name;
  entry += ':';
  entry += description;
  return Quote(entry);
}

// _storyloom_value LEVEL OPTION: prints (bash) or sets REPLY to (zsh) what OPTION's value
// completes to at LEVEL, "" for a flag or an unknown option. Shared by both scripts.
// One branch of a `case`: "    PATTERN) ACTION'VALUE' ;;".
std::string Branch(const std::string& pattern, std::string_view action, const std::string& value) {
  std::string out = "    ";
  out += pattern;
  out += ") ";
  out += action;
  out += Quote(value);
  out += " ;;\n";
  return out;
}

std::string ValueFunction(const std::vector<LevelSpec>& levels, bool zsh) {
  const std::string_view set = zsh ? "REPLY=" : "echo ";
  std::string out = "_storyloom_value() {\n  case \"$1|$2\" in\n";
  // Each level's own options first: one of them shadows an ancestor's of the same name.
  for (const auto& level : levels) {
    for (const auto& o : level.options) {
      if (o.value.empty() || o.inherited) continue;
      out += Branch(Quote(level.path + "|" + o.name), set, o.value);
    }
  }
  // Then a parent's options once more for every level below it (the global ones: any level).
  for (const auto& level : levels) {
    if (level.subcommands.empty()) continue;
    for (const auto& o : level.options) {
      if (o.value.empty() || o.inherited) continue;
      const std::string below = level.path.empty() ? "*" : Quote(level.path + " ") + "*";
      out += Branch(below + Quote("|" + o.name), set, o.value);
    }
  }
  out += "    *) " + (zsh ? std::string("REPLY=''") : std::string(":")) + " ;;\n  esac\n}\n";
  return out;
}

std::string Bash(const std::vector<LevelSpec>& levels) {
  std::string out =
      "# bash completion for storyloom. Generated by `storyloom completion bash` from the\n"
      "# command's own definition. Install it as\n"
      "# /usr/share/bash-completion/completions/storyloom, or source it from ~/.bashrc.\n\n";
  out += "# _storyloom_commands LEVEL: the subcommands of LEVEL (\"\" or e.g. \"users\").\n";
  out += "_storyloom_commands() {\n  case \"$1\" in\n";
  for (const auto& level : levels) {
    if (level.subcommands.empty()) continue;
    const std::string names = JoinEach(level.subcommands, [](const auto& c) { return c.first; });
    out += "    " + Quote(level.path) + ") echo " + Quote(names) + " ;;\n";
  }
  out += "  esac\n}\n\n";
  out += "# _storyloom_arguments LEVEL: the words LEVEL's argument may be, when they are known.\n";
  out += "_storyloom_arguments() {\n  case \"$1\" in\n";
  for (const auto& level : levels) {
    if (level.argument_words.empty()) continue;
    out += "    " + Quote(level.path) + ") echo " + Quote(level.argument_words) + " ;;\n";
  }
  out += "  esac\n}\n\n";
  out += "# _storyloom_options LEVEL: every option LEVEL accepts, the global ones included.\n";
  out += "_storyloom_options() {\n  case \"$1\" in\n";
  for (const auto& level : levels) {
    const std::string names = JoinEach(level.options, [](const OptionSpec& o) { return o.name; });
    out += "    " + Quote(level.path) + ") echo " + Quote(names) + " ;;\n";
  }
  out += "  esac\n}\n\n";
  out += "# _storyloom_value LEVEL OPTION: \"\" for a flag, \"*\" for any value (file names), or\n";
  out += "# the words the value may be.\n";
  out += ValueFunction(levels, /*zsh=*/false);
  out += R"sh(
_storyloom() {
  local IFS=$' \t\n' cur=${COMP_WORDS[COMP_CWORD]} prev='' level='' word kind sub i=1
  COMPREPLY=()
  # Find the subcommand level: skip options and their values ("--opt value", "--opt=value").
  while ((i < COMP_CWORD)); do
    word=${COMP_WORDS[i]}
    case $word in
      =) ((i++)) ;;
      -*)
        if [[ ${COMP_WORDS[i + 1]} != = && -n $(_storyloom_value "$level" "$word") ]]; then
          ((i++))
        fi
        ;;
      *)
        for sub in $(_storyloom_commands "$level"); do
          if [[ $sub == "$word" ]]; then
            level=${level:+$level }$word
            break
          fi
        done
        ;;
    esac
    ((i++))
  done
  ((COMP_CWORD > 1)) && prev=${COMP_WORDS[COMP_CWORD - 1]}
  # "--by=<TAB>" arrives as "--by" "=" "": the option is the word before the "=".
  if [[ $cur == = ]]; then
    cur=''
  elif [[ $prev == = && COMP_CWORD -gt 2 ]]; then
    prev=${COMP_WORDS[COMP_CWORD - 2]}
  fi
  if [[ $prev == -* ]]; then
    kind=$(_storyloom_value "$level" "$prev")
    if [[ $kind == '*' ]]; then
      return 0 # complete -o default: file names
    elif [[ -n $kind ]]; then
      mapfile -t COMPREPLY < <(compgen -W "$kind" -- "$cur")
      return 0
    fi
  fi
  if [[ $cur == -* ]]; then
    mapfile -t COMPREPLY < <(compgen -W "$(_storyloom_options "$level")" -- "$cur")
  else
    mapfile -t COMPREPLY < <(compgen -W "$(_storyloom_commands "$level") $(_storyloom_arguments "$level")" -- "$cur")
  fi
  return 0
}
complete -o default -F _storyloom storyloom
)sh";
  return out;
}

std::string Zsh(const std::vector<LevelSpec>& levels) {
  std::string out =
      "#compdef storyloom\n"
      "# zsh completion for storyloom. Generated by `storyloom completion zsh` from the\n"
      "# command's own definition. Install it as _storyloom in a directory of $fpath\n"
      "# (Debian: /usr/share/zsh/vendor-completions/_storyloom), or source it after compinit.\n\n";
  out +=
      "# _storyloom_commands LEVEL: reply=(name:description ...) for the subcommands of LEVEL.\n";
  out += "_storyloom_commands() {\n  reply=()\n  case \"$1\" in\n";
  for (const auto& level : levels) {
    if (level.subcommands.empty()) continue;
    const std::string items =
        JoinEach(level.subcommands, [](const auto& c) { return Described(c.first, c.second); });
    out += "    " + Quote(level.path) + ") reply=(" + items + ") ;;\n";
  }
  out += "  esac\n}\n\n";
  out += "# _storyloom_arguments LEVEL: reply=(words LEVEL's argument may be), when known.\n";
  out += "_storyloom_arguments() {\n  reply=()\n  case \"$1\" in\n";
  for (const auto& level : levels) {
    if (level.argument_words.empty()) continue;
    out += "    " + Quote(level.path) + ") reply=(" + level.argument_words + ") ;;\n";
  }
  out += "  esac\n}\n\n";
  out += "# _storyloom_options LEVEL: reply=(option:description ...), global options included.\n";
  out += "_storyloom_options() {\n  reply=()\n  case \"$1\" in\n";
  for (const auto& level : levels) {
    const std::string items = JoinEach(
        level.options, [](const OptionSpec& o) { return Described(o.name, o.description); });
    out += "    " + Quote(level.path) + ") reply=(" + items + ") ;;\n";
  }
  out += "  esac\n}\n\n";
  out += "# _storyloom_value LEVEL OPTION: REPLY=\"\" for a flag, \"*\" for any value (file\n";
  out += "# names), or the words the value may be.\n";
  out += ValueFunction(levels, /*zsh=*/true);
  out += R"sh(
# _storyloom_level: REPLY=the subcommand level of words[2,CURRENT-1].
_storyloom_level() {
  local level='' word entry i=2
  local -a reply
  while ((i < CURRENT)); do
    word=${words[i]}
    case $word in
      --*=*) ;;
      -*)
        _storyloom_value "$level" "$word"
        [[ -n $REPLY ]] && ((i++))
        ;;
      *)
        _storyloom_commands "$level"
        for entry in "${reply[@]}"; do
          if [[ ${entry%%:*} == "$word" ]]; then
            level=${level:+$level }$word
            break
          fi
        done
        ;;
    esac
    ((i++))
  done
  REPLY=$level
}

_storyloom() {
  local level cur=${words[CURRENT]} prev=${words[CURRENT-1]}
  local -a reply
  _storyloom_level
  level=$REPLY
  if [[ $cur == --*=* ]]; then
    _storyloom_value "$level" "${cur%%=*}"
    if [[ $REPLY == '*' ]]; then
      compset -P '*='
      _files
      return
    elif [[ -n $REPLY ]]; then
      compset -P '*='
      compadd -- ${=REPLY}
      return
    fi
  fi
  if ((CURRENT > 2)) && [[ $prev == -* ]]; then
    _storyloom_value "$level" "$prev"
    if [[ $REPLY == '*' ]]; then
      _files
      return
    elif [[ -n $REPLY ]]; then
      compadd -- ${=REPLY}
      return
    fi
  fi
  if [[ $cur == -* ]]; then
    _storyloom_options "$level"
    _describe -t options 'option' reply
  else
    _storyloom_commands "$level"
    if ((${#reply})); then
      _describe -t commands 'command' reply
      return
    fi
    _storyloom_arguments "$level"
    if ((${#reply})); then
      compadd -- "${reply[@]}"
    else
      _files
    fi
  fi
}

if [[ ${zsh_eval_context[-1]} == loadautofunc ]]; then
  _storyloom "$@"
else
  compdef _storyloom storyloom
fi
)sh";
  return out;
}

}  // namespace

void AddCompletionCommand(CLI::App& app, Action& action) {
  static std::string shell;
  CLI::App* cmd = app.add_subcommand(
      "completion",
      "Print a shell completion script for bash or zsh (README \"Command line\" says where to "
      "install it)");
  cmd->add_option("shell", shell, "bash or zsh")->required()->check(CLI::IsMember({"bash", "zsh"}));
  cmd->callback([&app, &action] {
    action = [&app] {
      std::vector<LevelSpec> levels;
      Collect(app, "", levels);
      const std::string script = shell == "bash" ? Bash(levels) : Zsh(levels);
      std::fwrite(script.data(), 1, script.size(), stdout);
      return 0;
    };
  });
}

}  // namespace storyloom::cli
