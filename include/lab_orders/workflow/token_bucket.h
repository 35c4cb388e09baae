#pragma once

// Keeps calls to Junction under a configured rate, across every worker of the process.

#include <chrono>
#include <functional>
#include <memory>
#include <mutex>

#include "lab_orders/common/clock.h"
#include "lab_orders/junction/decorator.h"

namespace lab_orders::workflow {

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

// A JunctionClient that takes a token from the bucket before every call.
class RateLimitedJunctionClient final : public junction::JunctionClientDecorator {
 public:
  RateLimitedJunctionClient(junction::JunctionClient& inner, TokenBucket& bucket)
      : JunctionClientDecorator(inner), bucket_(bucket) {}

 private:
  void Before(const char* /*operation*/) override { bucket_.Acquire(); }

  TokenBucket& bucket_;
};

}  // namespace lab_orders::workflow
