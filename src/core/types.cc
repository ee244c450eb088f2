#include "storyloom/types.h"

#include <algorithm>

namespace storyloom {
namespace {

template <typename E, std::size_t N>
std::optional<E> ParseEnum(std::string_view s, const std::array<std::string_view, N>& names) {
  for (std::size_t i = 0; i < N; ++i) {
    if (names[i] == s) return static_cast<E>(i);
  }
  return std::nullopt;
}

constexpr std::array<std::string_view, 5> kWorkflowStatusNames = {"queued", "running", "completed",
                                                                  "failed", "cancelled"};
constexpr std::array<std::string_view, 5> kPhaseStatusNames = {"pending", "running", "completed",
                                                               "failed", "skipped"};
constexpr std::array<std::string_view, 6> kFileTypeNames = {"image", "audio", "video",
                                                            "text",  "json",  "other"};
constexpr std::array<std::string_view, 2> kRoleNames = {"admin", "user"};

}  // namespace

std::string_view ToString(WorkflowStatus s) { return kWorkflowStatusNames[static_cast<int>(s)]; }
std::optional<WorkflowStatus> ParseWorkflowStatus(std::string_view s) {
  return ParseEnum<WorkflowStatus>(s, kWorkflowStatusNames);
}
std::string_view ToString(PhaseStatus s) { return kPhaseStatusNames[static_cast<int>(s)]; }
std::optional<PhaseStatus> ParsePhaseStatus(std::string_view s) {
  return ParseEnum<PhaseStatus>(s, kPhaseStatusNames);
}
std::string_view ToString(FileType t) { return kFileTypeNames[static_cast<int>(t)]; }
std::optional<FileType> ParseFileType(std::string_view s) {
  return ParseEnum<FileType>(s, kFileTypeNames);
}
std::string_view ToString(Role r) { return kRoleNames[static_cast<int>(r)]; }
std::optional<Role> ParseRole(std::string_view s) { return ParseEnum<Role>(s, kRoleNames); }

std::string_view ToString(Phase p) { return kPhases[static_cast<int>(p)]; }
std::optional<Phase> ParsePhase(std::string_view s) { return ParseEnum<Phase>(s, kPhases); }

bool IsPhase(std::string_view name) {
  return std::find(kPhases.begin(), kPhases.end(), name) != kPhases.end();
}

}  // namespace storyloom
