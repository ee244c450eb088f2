// Output conventions every subcommand shares: --json for scripts, colour only for a person
// at a terminal, and the help texts that state them. Main thread only.
#pragma once

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

namespace storyloom::cli {

// Adds `--json` ("print JSON for scripts") to `cmd`, bound to `flag`.
CLI::Option* AddJsonFlag(CLI::App* cmd, bool& flag);

// Prints `j` on stdout, indented by two spaces, and a newline. Invalid UTF-8 in a string
// becomes U+FFFD instead of an exception.
void PrintJson(const nlohmann::json& j);

// True when output to `fd` may be coloured: NO_COLOR is unset or empty, `fd` is a terminal
// and TERM is set and not "dumb" (https://no-color.org).
bool ColorAllowed(int fd);

// The help footers: the conventions (global options anywhere, --json, exit status, colour,
// completion) under `storyloom --help`, and a pointer to them under every subcommand's.
// Call after every subcommand is added.
void AddConventionFooters(CLI::App& app);

}  // namespace storyloom::cli
