// Domain types of libstoryloom: plain value structs mirroring the data model in
// docs/DATA_MODEL.md. Times are milliseconds since the Unix epoch (UTC); money is integer
// nano-USD, std::nullopt meaning "unpriced". Values; safe to copy between threads.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace storyloom {

using Millis = std::int64_t;
using NanoUsd = std::int64_t;

enum class WorkflowStatus { kQueued, kRunning, kCompleted, kFailed, kCancelled };
std::string_view ToString(WorkflowStatus s);
std::optional<WorkflowStatus> ParseWorkflowStatus(std::string_view s);
inline bool IsTerminal(WorkflowStatus s) {
  return s == WorkflowStatus::kCompleted || s == WorkflowStatus::kFailed ||
         s == WorkflowStatus::kCancelled;
}

enum class PhaseStatus { kPending, kRunning, kCompleted, kFailed, kSkipped };
std::string_view ToString(PhaseStatus s);
std::optional<PhaseStatus> ParsePhaseStatus(std::string_view s);

// The pipeline's phases, in order; kPhases are their names (as stored and in the API).
enum class Phase { kStory, kScenes, kImages, kNarration, kAssemble };
inline constexpr std::array<Phase, 5> kPhaseOrder = {Phase::kStory, Phase::kScenes, Phase::kImages,
                                                     Phase::kNarration, Phase::kAssemble};
inline constexpr std::array<std::string_view, 5> kPhases = {"story", "scenes", "images",
                                                            "narration", "assemble"};
std::string_view ToString(Phase p);
std::optional<Phase> ParsePhase(std::string_view s);
bool IsPhase(std::string_view name);

enum class FileType { kImage, kAudio, kVideo, kText, kJson, kOther };
std::string_view ToString(FileType t);
std::optional<FileType> ParseFileType(std::string_view s);

struct Workflow {
  std::string id;  // UUIDv7
  std::string user_id;
  std::string title;
  std::string original_prompt;
  std::string enhanced_story;
  WorkflowStatus status = WorkflowStatus::kQueued;
  std::string current_phase;  // "" before the first phase
  double progress = 0;        // 0..1
  std::string options_json = "{}";
  std::string error_code;
  std::string error_message;
  std::string idempotency_key;
  int attempt = 0;
  bool cancel_requested = false;
  std::string lease_owner;
  Millis lease_expires_at = 0;
  Millis created_at = 0;
  Millis updated_at = 0;
  std::optional<Millis> started_at;
  std::optional<Millis> finished_at;
};

struct WorkflowPhase {
  std::string workflow_id;
  Phase phase = Phase::kStory;
  PhaseStatus status = PhaseStatus::kPending;
  int attempts = 0;
  std::optional<Millis> started_at;
  std::optional<Millis> finished_at;
  std::string error;
  std::string output_json;  // "" when none
};

struct Scene {
  std::string id;
  std::string workflow_id;
  int scene_number = 0;  // 1-based, unique per workflow
  std::string title;
  std::string description;
  std::string image_prompt;
  std::string narration;
  std::string image_file_id;  // "" when none
  std::string audio_file_id;  // "" when none
  Millis created_at = 0;
  Millis updated_at = 0;
};

struct GeneratedFile {
  std::string id;
  std::string workflow_id;
  std::string scene_id;  // "" when the file belongs to no scene
  FileType file_type = FileType::kOther;
  std::string file_path;  // relative to save_outputs/, unique
  std::string file_name;
  std::string mime_type;
  std::int64_t file_size = 0;
  std::string sha256;  // lowercase hex
  std::string metadata_json = "{}";
  Millis created_at = 0;
  // Filled on reads (joined from scenes); 0 when the file has no scene.
  int scene_number = 0;
};

struct ApiUsage {
  std::int64_t id = 0;
  std::string workflow_id;  // "" for calls outside a workflow
  std::string user_id;
  std::string phase;
  std::string provider;
  std::string model;
  std::string operation;      // chat | image | speech
  std::string status = "ok";  // ok | error
  std::optional<int> http_status;
  std::string error_code;
  int attempt = 1;
  std::int64_t input_tokens = 0;
  std::int64_t cached_input_tokens = 0;
  std::int64_t output_tokens = 0;
  std::int64_t reasoning_tokens = 0;
  std::int64_t images = 0;
  std::string image_size;
  std::string image_quality;
  std::int64_t characters = 0;
  std::int64_t audio_ms = 0;
  std::int64_t duration_ms = 0;
  std::optional<NanoUsd> cost_nusd;  // nullopt: unpriced
  std::string cost_source;           // "price_table" | "reported" | "offline" | ""
  std::optional<std::int64_t> price_id;
  Millis created_at = 0;
};

// Provider-call counters summed over some rows of api_usage or usage_daily (a day, a
// workflow, a report group). Column order is the one store::kUsageTotalsColumns reads.
struct UsageTotals {
  std::int64_t calls = 0;
  std::int64_t errors = 0;
  std::int64_t input_tokens = 0;
  std::int64_t cached_input_tokens = 0;
  std::int64_t output_tokens = 0;
  std::int64_t reasoning_tokens = 0;
  std::int64_t images = 0;
  std::int64_t characters = 0;
  std::int64_t audio_ms = 0;
  NanoUsd cost_nusd = 0;
  std::int64_t unpriced_calls = 0;

  // Adds each of `o`'s counters; a sum saturates at INT64_MAX instead of wrapping, and
  // never goes below 0 (stored counters are non-negative, see migration 0008).
  void Add(const UsageTotals& o) {
    auto add = [](std::int64_t& a, std::int64_t b) {
      std::int64_t out = 0;
      a = __builtin_add_overflow(a, b, &out) ? (b > 0 ? INT64_MAX : 0) : (out < 0 ? 0 : out);
    };
    add(calls, o.calls);
    add(errors, o.errors);
    add(input_tokens, o.input_tokens);
    add(cached_input_tokens, o.cached_input_tokens);
    add(output_tokens, o.output_tokens);
    add(reasoning_tokens, o.reasoning_tokens);
    add(images, o.images);
    add(characters, o.characters);
    add(audio_ms, o.audio_ms);
    add(cost_nusd, o.cost_nusd);
    add(unpriced_calls, o.unpriced_calls);
  }
};

// One usage_daily row: the totals of one day, user, provider, model and operation.
struct UsageDaily : UsageTotals {
  std::string day;  // YYYY-MM-DD (UTC)
  std::string user_id;
  std::string provider;
  std::string model;
  std::string operation;
};

enum class Role { kAdmin, kUser };
std::string_view ToString(Role r);
std::optional<Role> ParseRole(std::string_view s);

struct User {
  std::string id;
  std::string username;
  std::string email;
  Role role = Role::kUser;
  std::string password_hash;  // argon2id encoded string; never leaves the server
  bool disabled = false;
  std::optional<NanoUsd> monthly_budget_nusd;
  Millis created_at = 0;
  Millis updated_at = 0;
};

struct ApiToken {
  std::string id;
  std::string user_id;
  std::string name;
  std::string kind = "api";  // api | session | login
  std::string token_hash;    // sha256 hex of the secret
  Millis created_at = 0;
  std::optional<Millis> expires_at;
  std::optional<Millis> last_used_at;
  std::optional<Millis> revoked_at;
};

struct WorkflowEvent {
  std::int64_t id = 0;  // monotonically increasing; the SSE event id
  std::string workflow_id;
  std::string type;  // status | phase | progress | scene | file | warning | log
  std::string data_json = "{}";
  Millis created_at = 0;
};

struct AuditEntry {
  std::int64_t id = 0;
  std::string user_id;  // actor; "" for the system
  std::string action;   // e.g. "login.success", "token.create"
  std::string target;
  std::string detail_json = "{}";
  std::string remote_addr;
  Millis created_at = 0;
};

// One row of the versioned price table (model_prices). Rates are nano-USD; nullopt means
// the row does not charge for that unit. A row applies to calls made in
// [effective_from, effective_to).
struct ModelPrice {
  std::int64_t id = 0;
  std::string provider;
  std::string model_pattern;  // exact model name or a glob: "gpt-4o-mini*"
  std::string operation;      // chat | image | speech
  std::string image_size;     // "" = any size
  std::string image_quality;  // "" = any quality
  std::optional<NanoUsd> input_per_mtok_nusd;
  std::optional<NanoUsd> cached_input_per_mtok_nusd;  // nullopt: cached tokens at input rate
  std::optional<NanoUsd> output_per_mtok_nusd;
  std::optional<NanoUsd> per_image_nusd;
  std::optional<NanoUsd> per_mchar_nusd;
  std::optional<NanoUsd> per_minute_nusd;
  Millis effective_from = 0;
  std::optional<Millis> effective_to;  // nullopt: still in effect
  std::string source;
  Millis created_at = 0;
};

// Monthly spending limits of one user or of the whole server; nullopt = no limit.
struct BudgetLimits {
  std::optional<NanoUsd> hard_nusd;
  std::optional<NanoUsd> soft_nusd;
};

// One page of a keyset-paginated list. next_cursor is "" on the last page.
template <typename T>
struct Page {
  std::vector<T> items;
  std::string next_cursor;
};

}  // namespace storyloom
