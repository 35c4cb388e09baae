#include "lab_orders/webhooks/retry_schedule.h"

#include <algorithm>
#include <cmath>

#include "lab_orders/common/retry_after.h"

namespace lab_orders::webhooks {

std::optional<std::chrono::milliseconds> NextAttemptDelay(
    const RetrySchedule& schedule, int failed_attempts, const JitterSource& jitter,
    const std::optional<std::string>& retry_after, std::chrono::system_clock::time_point now) {
  if (failed_attempts < 1 || failed_attempts > int(schedule.delays.size())) return std::nullopt;
  const double base =
      double(std::chrono::milliseconds(schedule.delays[std::size_t(failed_attempts - 1)]).count());
  // jitter in [0, 1) becomes a factor in [1 - fraction, 1 + fraction).
  const double factor =
      1.0 + schedule.jitter_fraction * (2.0 * std::clamp(jitter(), 0.0, 1.0) - 1.0);
  auto delay = std::chrono::milliseconds(std::llround(base * factor));
  if (retry_after) {
    if (std::optional<int> asked = ParseRetryAfter(*retry_after, now)) {
      const std::chrono::milliseconds floor = std::min<std::chrono::milliseconds>(
          std::chrono::seconds(*asked), schedule.max_retry_after);
      delay = std::max(delay, floor);
    }
  }
  return delay;
}

}  // namespace lab_orders::webhooks
