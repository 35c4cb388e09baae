#pragma once

#include <atomic>
#include <chrono>

#include "lab_orders/common/clock.h"

namespace lab_orders::sim {

// The system clock plus an offset that POST /_sim/clock moves forward, so tests can expire
// booking keys and due transitions without waiting.
class SimClock final : public Clock {
 public:
  std::chrono::system_clock::time_point Now() const override {
    return std::chrono::system_clock::now() + std::chrono::milliseconds(offset_ms_.load());
  }
  void Advance(std::chrono::milliseconds by) { offset_ms_ += by.count(); }
  void ResetOffset() { offset_ms_ = 0; }
  std::chrono::milliseconds Offset() const { return std::chrono::milliseconds(offset_ms_.load()); }

 private:
  std::atomic<long long> offset_ms_{0};
};

}  // namespace lab_orders::sim
