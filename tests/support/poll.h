#pragma once

#include <chrono>
#include <functional>

namespace lab_orders::testing {

// Asks done() until it says yes or deadline has passed (then asks once more): for what another
// process does in its own time. No sleep: each ask is a request to that process.
inline bool PollUntil(const std::function<bool()>& done, std::chrono::seconds deadline) {
  const auto until = std::chrono::steady_clock::now() + deadline;
  while (std::chrono::steady_clock::now() < until) {
    if (done()) return true;
  }
  return done();
}

}  // namespace lab_orders::testing
