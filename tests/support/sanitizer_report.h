// Finds sanitizer reports (AddressSanitizer, LeakSanitizer, UndefinedBehaviorSanitizer,
// ThreadSanitizer) in the output of a child process, so a test fails when the server or CLI
// it ran printed one. Test support; any thread.
#pragma once

#include <string>

namespace storyloom::testing {

// The first sanitizer report in `output` (from its first line, at most ~60 lines), or "".
std::string SanitizerReport(const std::string& output);

}  // namespace storyloom::testing
