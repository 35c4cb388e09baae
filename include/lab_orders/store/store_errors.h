#pragma once

// What every part of the store throws besides the standard exceptions.

#include <chrono>
#include <stdexcept>

namespace lab_orders::store {

using TimePoint = std::chrono::system_clock::time_point;

// The store cannot be reached or answered with an error: a 503, never a lost write.
struct StoreUnavailable : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// The job's lease was lost (it expired and another worker took it): this run's result is void.
struct LeaseLost : std::runtime_error {
  using std::runtime_error::runtime_error;
};
// The order changed under a job run (another run or a webhook wrote it first).
struct VersionConflict : std::runtime_error {
  using std::runtime_error::runtime_error;
};

}  // namespace lab_orders::store
