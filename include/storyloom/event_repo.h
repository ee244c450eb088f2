// Append-only logs: workflow events (EventRepo, what SSE streams) and the audit log
// (AuditRepo). Reached from a transaction (tx.events(), tx.audit()); used on its thread only.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>
#include <vector>

#include "storyloom/error.h"
#include "storyloom/types.h"

namespace storyloom {

namespace db {
class Connection;
}  // namespace db

class EventRepo {
 public:
  explicit EventRepo(db::Connection& c) : c_(c) {}

  // Appends an event and returns it with its id (strictly increasing).
  [[nodiscard]] Result<WorkflowEvent> Append(std::string_view workflow_id, std::string_view type,
                                             std::string_view data_json,
                                             std::string_view request_id = {});
  // Events of the workflow with id > after_id, oldest first.
  [[nodiscard]] Result<std::vector<WorkflowEvent>> List(std::string_view workflow_id,
                                                        std::int64_t after_id, int limit);

 private:
  db::Connection& c_;
};

class AuditRepo {
 public:
  explicit AuditRepo(db::Connection& c) : c_(c) {}

  [[nodiscard]] Result<void> Append(const AuditEntry& e);
  [[nodiscard]] Result<Page<AuditEntry>> List(int limit, std::string_view cursor);
  // When `action` was last recorded; nullopt if never.
  [[nodiscard]] Result<std::optional<Millis>> LastOf(std::string_view action);
  // The newest entry recorded for `action`; nullopt if none.
  [[nodiscard]] Result<std::optional<AuditEntry>> LatestOf(std::string_view action);

 private:
  db::Connection& c_;
};

}  // namespace storyloom
