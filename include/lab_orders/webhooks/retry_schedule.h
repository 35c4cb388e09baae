#pragma once

// When a failed webhook is tried again: the Standard Webhooks / Svix schedule, spread by jitter
// so endpoints that failed together are not hit together again, and never sooner than the
// endpoint's own Retry-After. Pure: randomness and time come in as arguments.

#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "lab_orders/common/backoff.h"

namespace lab_orders::webhooks {

struct RetrySchedule {
  // The wait after the first, second, ... failed attempt; after the last one the message is
  // given up (eight attempts in all, over about 28 hours).
  std::vector<std::chrono::seconds> delays{std::chrono::seconds(5),  std::chrono::minutes(5),
                                           std::chrono::minutes(30), std::chrono::hours(2),
                                           std::chrono::hours(5),    std::chrono::hours(10),
                                           std::chrono::hours(10)};
  double jitter_fraction = 0.1;  // each wait spread evenly over ±10%
  // Retry-After is a floor up to this: an endpoint cannot park a message for longer.
  std::chrono::seconds max_retry_after{std::chrono::hours(10)};
};

// The wait before the next attempt once failed_attempts attempts (1: the first) have failed;
// nullopt when the schedule is over and the message is given up. jitter yields [0, 1);
// retry_after is the failed answer's Retry-After (seconds or an HTTP date, read against now).
std::optional<std::chrono::milliseconds> NextAttemptDelay(
    const RetrySchedule& schedule, int failed_attempts, const JitterSource& jitter,
    const std::optional<std::string>& retry_after, std::chrono::system_clock::time_point now);

}  // namespace lab_orders::webhooks
