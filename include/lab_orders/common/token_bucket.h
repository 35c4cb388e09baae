#pragma once

// Keeps calls under a configured rate, across every thread that shares the bucket.

#include <chrono>
#include <functional>
#include <memory>
#include <mutex>

#include "lab_orders/common/clock.h"

namespace lab_orders {

class TokenBucket {
 public:
  // How Acquire waits for time to pass: the thread sleeps in the service; a test's fake clock
  // advances instead.
  using Sleep = std::function<void(std::chrono::nanoseconds)>;
  static void SleepThread(std::chrono::nanoseconds wait);

  // rate_per_second tokens a second, holding at most burst; starts full.
  TokenBucket(double rate_per_second, int burst, const Clock& clock, Sleep sleep = SleepThread);

  // Takes a token and returns zero, or takes nothing and returns how long until one is there.
  std::chrono::nanoseconds TryAcquire();
  // Waits (through sleep) until a token is taken.
  void Acquire();

 private:
  void RefillLocked(std::chrono::system_clock::time_point now);

  const double rate_;
  const double burst_;
  const Clock& clock_;
  const Sleep sleep_;
  std::mutex mutex_;
  double tokens_;
  std::chrono::system_clock::time_point last_;
};

}  // namespace lab_orders
