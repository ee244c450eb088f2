// UsageRecorder: turns a provider's report of one call attempt into a durable api_usage
// row with its cost. Thread-safe.
#pragma once

#include "storyloom/error.h"
#include "storyloom/store.h"
#include "storyloom/types.h"

namespace storyloom::engine {

class UsageRecorder {
 public:
  explicit UsageRecorder(Store& store) : store_(store) {}
  virtual ~UsageRecorder() = default;

  // Called before a paid call with its worst-case cost; returns resource_exhausted
  // (detail "budget_exceeded") when a budget would be exceeded. The default allows all.
  [[nodiscard]] virtual Result<void> Reserve(const ApiUsage& planned);
  // Prices and records one attempt; fills u.id and u.cost_nusd.
  [[nodiscard]] virtual Result<void> Record(ApiUsage& u);

 protected:
  Store& store_;
};

}  // namespace storyloom::engine
