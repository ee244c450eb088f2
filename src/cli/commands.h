// Subcommand registration, one function per file. Each sets `action` when its subcommand
// is chosen; main runs it and exits with its result.
#pragma once

#include <CLI/CLI.hpp>
#include <functional>

#include "cli/context.h"

namespace storyloom::cli {

using Action = std::function<int()>;

void AddServeCommand(CLI::App& app, GlobalFlags& flags, Action& action);
void AddDbCommand(CLI::App& app, GlobalFlags& flags, Action& action);
// Adds `db copy`; call after AddDbCommand.
void AddDbCopyCommand(CLI::App& app, GlobalFlags& flags, Action& action);
void AddRunCommand(CLI::App& app, GlobalFlags& flags, Action& action);
void AddUsersCommand(CLI::App& app, GlobalFlags& flags, Action& action);
void AddTokensCommand(CLI::App& app, GlobalFlags& flags, Action& action);
void AddBackupCommand(CLI::App& app, GlobalFlags& flags, Action& action);
void AddCleanupCommand(CLI::App& app, GlobalFlags& flags, Action& action);
void AddFsckCommand(CLI::App& app, GlobalFlags& flags, Action& action);
// files_cmd.cc: `files delete ID`.
void AddFilesCommand(CLI::App& app, GlobalFlags& flags, Action& action);
void AddExportCommand(CLI::App& app, GlobalFlags& flags, Action& action);
void AddImportCommand(CLI::App& app, GlobalFlags& flags, Action& action);
void AddUsageCommand(CLI::App& app, GlobalFlags& flags, Action& action);
// Adds `usage calls` under `usage` (usage_calls_cmd.cc); AddUsageCommand calls it.
void AddUsageCallsCommand(CLI::App* usage, GlobalFlags& flags, Action& action);
void AddPricesCommand(CLI::App& app, GlobalFlags& flags, Action& action);
// Adds `users budget`; call after AddUsersCommand.
void AddBudgetCommand(CLI::App& app, GlobalFlags& flags, Action& action);
// Adds `completion bash|zsh`, which prints a script generated from `app`'s whole tree.
void AddCompletionCommand(CLI::App& app, Action& action);

}  // namespace storyloom::cli
