// ThreadSanitizer options and suppressions (STORYLOOM_TSAN builds) for the storyloom binary
// and the test binary (tests/CMakeLists.txt compiles this file into both), picked up by the
// runtime without any environment variable (TSAN_OPTIONS still overrides the options). A
// report goes to stderr and makes the process exit 66: for a server that is its log, which
// the test harness reads for "WARNING: ThreadSanitizer" (tests/support/sanitizer_report.cc);
// for the test process, ctest fails the test. In other builds nothing calls these functions.

// A lock-order inversion report shows where both mutexes were taken, not only one.
extern "C" const char* __tsan_default_options() { return "second_deadlock_stack=1"; }

// Only reports inside a third-party library that are provably not ours belong here, each
// with its reason (docs/RELIABILITY.md "Races").
extern "C" const char* __tsan_default_suppressions() {
  // Cairo keeps freed clips, patterns and contexts in lock-free pools (cairo-freed-pool-
  // private.h) and hands them to the next thread that creates one, through an atomic
  // compare-and-swap in libcairo. libcairo is not instrumented, so TSan does not see that
  // handoff and reports the reuse of the memory as a race between two workers that each draw
  // on their own surface and context (scene_card.cc shares no cairo object). A 30-line
  // program with two threads that share nothing gets the same reports. Only a report with a
  // libcairo frame in an access stack is matched; cairo's functions are not symbolised
  // (Debian strips them), so the library is named rather than the pool functions.
  return "race:libcairo.so.2\n";
}
