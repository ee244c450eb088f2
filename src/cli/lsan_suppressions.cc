// LeakSanitizer suppressions for the storyloom binary (sanitizer builds), picked up by the
// sanitizer runtime without any environment variable. Only leaks that a library keeps on purpose
// for the life of the process belong here.

extern "C" const char* __lsan_default_suppressions() {
  // Cairo's toy text API caches fontconfig patterns process-wide (a fixed ~1 KB however
  // many scene cards are drawn); they are only freed by cairo_debug_reset_static_data().
  return "leak:libfontconfig.so\n";
}

extern "C" const char* __lsan_default_options() { return "print_suppressions=0"; }
