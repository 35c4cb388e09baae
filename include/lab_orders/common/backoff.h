#pragma once

// Retry timing: exponential backoff with jitter, and the Retry-After an upstream asked for.

#include <chrono>
#include <functional>
#include <optional>

namespace lab_orders {

struct BackoffPolicy {
  std::chrono::milliseconds initial{1000};
  std::chrono::milliseconds max{std::chrono::minutes(5)};
  double multiplier = 2.0;
};

// A number in [0, 1), injected so tests are deterministic.
using JitterSource = std::function<double()>;
JitterSource RandomJitter();

// The wait before retry number attempt (1-based): initial * multiplier^(attempt-1), capped at
// max, then spread over its upper half ("equal jitter") so many orders failing together do not
// retry together. A Retry-After from upstream is a floor.
std::chrono::milliseconds BackoffDelay(const BackoffPolicy& policy, int attempt,
                                       const JitterSource& jitter,
                                       std::optional<int> retry_after_seconds = std::nullopt);

}  // namespace lab_orders
