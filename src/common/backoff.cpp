#include "lab_orders/common/backoff.h"

#include <algorithm>
#include <cmath>
#include <mutex>
#include <random>

namespace lab_orders {

JitterSource RandomJitter() {
  return [] {
    static std::mutex mutex;
    static std::mt19937_64 engine{std::random_device{}()};
    std::lock_guard lock(mutex);
    return std::uniform_real_distribution<double>(0.0, 1.0)(engine);
  };
}

std::chrono::milliseconds BackoffDelay(const BackoffPolicy& policy, int attempt,
                                       const JitterSource& jitter,
                                       std::optional<int> retry_after_seconds) {
  double base = double(policy.initial.count()) *
                std::pow(policy.multiplier, double(std::max(attempt, 1) - 1));
  double capped = std::min(base, double(policy.max.count()));
  double spread = capped / 2.0 + capped / 2.0 * std::clamp(jitter(), 0.0, 1.0);
  auto delay = std::chrono::milliseconds(static_cast<std::int64_t>(spread));
  if (retry_after_seconds && *retry_after_seconds > 0) {
    // Junction said when; never sooner, and never more than a day however it answers.
    auto asked = std::chrono::seconds(std::min(*retry_after_seconds, 86400));
    delay = std::max<std::chrono::milliseconds>(delay, asked);
  }
  return delay;
}

}  // namespace lab_orders
