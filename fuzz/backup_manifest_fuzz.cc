// Backup directories come from disk and may be damaged or hostile: manifest.json as
// ReadManifest reads and checks it (what it accepts must hold only plain relative paths,
// sizes in range and well-formed checksums, and must survive being written and read back),
// and each line as a logical-export row (JsonToValues), the way
// restore.cc reads database/*.jsonl.
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <string_view>

#include "core/bounded_json.h"
#include "ops/backup_format.h"
#include "ops/backup_io.h"
#include "ops/backup_manifest.h"

using namespace storyloom;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const std::filesystem::path dir = [] {
    std::string tmpl = (std::filesystem::temp_directory_path() / "sl-fuzz-backup-XXXXXX").string();
    if (::mkdtemp(tmpl.data()) == nullptr) std::abort();
    return std::filesystem::path(tmpl);
  }();
  const std::string_view in(reinterpret_cast<const char*>(data), size);
  {
    std::ofstream out(dir / ops::kManifestFile, std::ios::binary | std::ios::trunc);
    out.write(in.data(), static_cast<std::streamsize>(in.size()));
  }
  if (auto m = ops::ReadManifest(dir)) {
    for (const auto& f : m->files) {
      if (!ops::ValidateRelativePath(f.path) || f.size < 0 || f.size > ops::kMaxBackupFileBytes ||
          f.sha256.size() != 64)
        std::abort();
    }
    auto again = ops::ParseManifest(nlohmann::json::parse(ops::ManifestText(*m)));
    if (!again || again->files.size() != m->files.size() ||
        again->tables.size() != m->tables.size() || again->file_copy != m->file_copy)
      std::abort();
  }
  std::string_view rest = in;
  while (!rest.empty()) {
    const auto nl = rest.find('\n');
    const std::string_view line = rest.substr(0, nl);
    rest = nl == std::string_view::npos ? std::string_view() : rest.substr(nl + 1);
    auto row = core::ParseJson(line);
    if (!row) continue;
    (void)ops::JsonToValues(*row);
  }
  return 0;
}
