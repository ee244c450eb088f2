// storyloom.toml (config.cc LoadConfig): written to a file and loaded with no STORYLOOM_*
// environment variables set. Any input gives a Config or an error, never a crash.
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <string_view>

#include "core/config.h"

extern char** environ;

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  // Only the file decides: drop STORYLOOM_* and OPENAI_API_KEY from the environment.
  for (bool again = true; again;) {
    again = false;
    for (char** e = environ; *e; ++e) {
      std::string_view kv(*e);
      if (kv.starts_with("STORYLOOM_") || kv.starts_with("OPENAI_API_KEY=")) {
        ::unsetenv(std::string(kv.substr(0, kv.find('='))).c_str());
        again = true;
        break;
      }
    }
  }
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const std::string path = [] {
    std::string tmpl = (std::filesystem::temp_directory_path() / "sl-fuzz-config-XXXXXX").string();
    if (::mkdtemp(tmpl.data()) == nullptr) std::abort();
    return tmpl + "/storyloom.toml";
  }();
  {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out.write(reinterpret_cast<const char*>(data), static_cast<std::streamsize>(size));
  }
  (void)storyloom::core::LoadConfig(path);
  return 0;
}
