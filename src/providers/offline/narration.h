// Speech synthesis for the offline provider: runs espeak-ng as a child process (no shell;
// the text goes through its standard input) and returns the WAV it wrote. Thread-safe:
// each call uses its own temporary file and child process.
#pragma once

#include <atomic>
#include <filesystem>
#include <string>
#include <string_view>

#include "storyloom/error.h"

namespace storyloom::providers::offline {

struct SpeechOptions {
  std::string binary = "espeak-ng";  // looked up in PATH unless it contains a '/'
  std::string voice = "en-us";
  int words_per_minute = 165;
  std::filesystem::path temp_dir;  // empty: std::filesystem::temp_directory_path()
  int timeout_ms = 60000;
};

// Speaks `text` and returns the WAV bytes. Returns invalid_argument for empty text or a
// voice that is not a plain name, unavailable if espeak-ng is missing, fails, times out or
// writes no audio, and aborted if `*cancelled` becomes true (the child is killed).
Result<std::string> SynthesizeSpeech(const SpeechOptions& options, std::string_view text,
                                     const std::atomic<bool>* cancelled);

}  // namespace storyloom::providers::offline
