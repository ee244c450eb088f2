// ThreadSanitizer options for the test binary (STORYLOOM_TSAN builds), picked up by the
// runtime without any environment variable (TSAN_OPTIONS still overrides them). A report in
// the test process goes to stderr, which ctest keeps with the test's output, and makes the
// process exit 66, so ctest fails the test. In other builds nothing calls this function.

// A lock-order inversion report shows where both mutexes were taken, not only one.
extern "C" const char* __tsan_default_options() { return "second_deadlock_stack=1"; }
