// storyloom: the command line. `storyloom --help` lists the subcommands.
#include <malloc.h>

#include <CLI/CLI.hpp>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <thread>

#include "cli/commands.h"
#include "cli/output.h"
#include "core/failpoint.h"

namespace {

// Test builds only (core/failpoint.h): ways for a command to end badly on purpose, so the
// tests can show that they notice a leak, a data race, a bad exit status or a slow stop of their
// children.
[[gnu::noinline]] void LeakOnPurpose() {
  void* p = std::malloc(4096);
  std::memset(p, 0x5a, 4096);
  asm volatile("" : : "r"(p) : "memory");  // the pointer dies here: an unreachable block
}

// Two threads write one int with nothing ordering them: the data race ThreadSanitizer reports.
[[gnu::noinline]] void RaceOnPurpose() {
  int shared = 0;
  std::thread t([&shared] { shared = 1; });
  shared = 2;
  t.join();
  asm volatile("" : : "r"(&shared) : "memory");
}

int ExitFailpoints(int rc) {
  if (auto ms = storyloom::FailpointArg("exit.delay_ms")) {
    std::this_thread::sleep_for(std::chrono::milliseconds(std::atoi(ms->c_str())));
  }
  if (storyloom::Failpoint("exit.leak")) LeakOnPurpose();
  if (storyloom::Failpoint("exit.race")) RaceOnPurpose();
  if (auto status = storyloom::FailpointArg("exit.status")) return std::atoi(status->c_str());
  return rc;
}

int RunCli(int argc, char** argv) {
  using namespace storyloom::cli;
  // glibc gives freed memory at the top of each thread's heap back to the kernel once 128 KiB
  // are free; the handler threads' request buffers cross that all the time, and every
  // madvise costs a TLB shootdown on every core and page faults on the next request. Keeping
  // up to 32 MiB free per heap made durable POSTs ~20% faster with the same peak RSS
  // (docs/PERFORMANCE.md).
  mallopt(M_TRIM_THRESHOLD, 32 << 20);
  CLI::App app{"Storyloom: a self-hosted story generation server that never forgets.", "storyloom"};
  app.require_subcommand(1);
  // Options a subcommand does not know go up to its parents, so the global options work
  // after the subcommand too, at any depth (`storyloom users add bob --data-dir D`).
  // Subcommands inherit the setting when they are added, so it comes first.
  app.fallthrough();
  app.set_version_flag("--version", "storyloom " STORYLOOM_VERSION);
  GlobalFlags flags;
  AddGlobalFlags(app, flags);
  Action action;
  AddServeCommand(app, flags, action);
  AddDbCommand(app, flags, action);
  AddDbCopyCommand(app, flags, action);
  AddRunCommand(app, flags, action);
  AddUsersCommand(app, flags, action);
  AddTokensCommand(app, flags, action);
  AddBackupCommand(app, flags, action);
  AddCleanupCommand(app, flags, action);
  AddFsckCommand(app, flags, action);
  AddFilesCommand(app, flags, action);
  AddExportCommand(app, flags, action);
  AddImportCommand(app, flags, action);
  AddUsageCommand(app, flags, action);
  AddPricesCommand(app, flags, action);
  AddBudgetCommand(app, flags, action);
  AddCompletionCommand(app, action);
  AddConventionFooters(app);
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    // One line, not CLI11's usage dump.
    std::fprintf(stderr, "storyloom: %s (see storyloom --help)\n", e.what());
    return 2;
  }
  // A command that lets an exception escape is a bug; it still ends with one line and a
  // non-zero exit, never std::terminate's abort.
  int rc = 0;
  try {
    rc = action ? action() : 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "storyloom: internal error: %s\n", e.what());
    rc = 1;
  }
  return ExitFailpoints(rc);
}

}  // namespace

// Setting up the commands can throw too (allocation, CLI11's construction errors): one line
// and exit status 1 then as well, never std::terminate's abort.
int main(int argc, char** argv) {
  try {
    return RunCli(argc, argv);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "storyloom: internal error: %s\n", e.what());
  } catch (...) {
    std::fprintf(stderr, "storyloom: internal error: unknown exception\n");
  }
  return 1;
}
