#include "support/sanitizer_report.h"

#include <array>
#include <string_view>

namespace storyloom::testing {

std::string SanitizerReport(const std::string& output) {
  // What each runtime prints first: ASan/LSan/TSan errors and warnings, UBSan's
  // "file:line:col: runtime error: ..." and its summary line.
  static constexpr std::array<std::string_view, 6> kMarkers = {
      "ERROR: AddressSanitizer", "ERROR: LeakSanitizer", "WARNING: ThreadSanitizer",
      "ERROR: ThreadSanitizer",  "runtime error:",       "SUMMARY: UndefinedBehaviorSanitizer"};
  std::size_t first = std::string::npos;
  for (auto m : kMarkers) first = std::min(first, output.find(m));
  if (first == std::string::npos) return "";
  const std::size_t line_start = output.rfind('\n', first);
  std::size_t begin = line_start == std::string::npos ? 0 : line_start + 1;
  std::size_t end = begin;
  for (int lines = 0; lines < 60 && end != std::string::npos && end < output.size(); ++lines) {
    end = output.find('\n', end + 1);
  }
  return output.substr(begin, end == std::string::npos ? std::string::npos : end - begin);
}

}  // namespace storyloom::testing
