#pragma once

#include <chrono>
#include <string>

#include "lab_orders/common/clock.h"
#include "lab_orders/common/ids.h"

namespace lab_orders::testing {

// A clock that moves only when told to.
class FakeClock final : public Clock {
 public:
  using TimePoint = std::chrono::system_clock::time_point;
  explicit FakeClock(TimePoint start) : now_(start) {}
  TimePoint Now() const override { return now_; }
  void Advance(std::chrono::system_clock::duration by) { now_ += by; }

 private:
  TimePoint now_;
};

// 00000000-0000-4000-8000-000000000001, ...: valid UUIDs, predictable in failure output.
class CountingIdGenerator final : public IdGenerator {
 public:
  std::string NewUuid() override {
    std::string digits = std::to_string(++count_);
    return "00000000-0000-4000-8000-" + std::string(12 - digits.size(), '0') + digits;
  }

 private:
  int count_ = 0;
};

}  // namespace lab_orders::testing
