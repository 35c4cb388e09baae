#include "lab_orders/common/keyed_rate_limiter.h"

#include <algorithm>
#include <stdexcept>

namespace lab_orders {

using std::chrono::duration;
using std::chrono::duration_cast;
using std::chrono::nanoseconds;

KeyedRateLimiter::KeyedRateLimiter(double rate_per_second, int burst, const Clock& clock,
                                   std::size_t max_keys)
    : rate_(rate_per_second),
      burst_(std::max(burst, 1)),
      clock_(clock),
      max_keys_(std::max<std::size_t>(max_keys, 1)) {
  if (!(rate_per_second > 0)) {
    throw std::invalid_argument("KeyedRateLimiter: the rate must be > 0");
  }
}

void KeyedRateLimiter::ForgetRefilledLocked(std::chrono::system_clock::time_point now) {
  std::erase_if(buckets_, [&](const auto& entry) {
    const Bucket& bucket = entry.second;
    return bucket.tokens + duration<double>(now - bucket.last).count() * rate_ >= burst_;
  });
}

nanoseconds KeyedRateLimiter::TryAcquire(const std::string& key) {
  const auto now = clock_.Now();
  std::lock_guard lock(mutex_);
  auto found = buckets_.find(key);
  if (found == buckets_.end()) {
    if (buckets_.size() >= max_keys_) ForgetRefilledLocked(now);
    if (buckets_.size() >= max_keys_) {
      // Full of keys being limited: the soonest any refills is a full refill of one token.
      return std::max(nanoseconds(1), duration_cast<nanoseconds>(duration<double>(1.0 / rate_)));
    }
    found = buckets_.emplace(key, Bucket{burst_, now}).first;
  }
  Bucket& bucket = found->second;
  if (now > bucket.last) {
    bucket.tokens =
        std::min(burst_, bucket.tokens + duration<double>(now - bucket.last).count() * rate_);
    bucket.last = now;
  }
  if (bucket.tokens >= 1.0) {
    bucket.tokens -= 1.0;
    return nanoseconds::zero();
  }
  return std::max(nanoseconds(1),
                  duration_cast<nanoseconds>(duration<double>((1.0 - bucket.tokens) / rate_)));
}

std::size_t KeyedRateLimiter::KeyCount() const {
  std::lock_guard lock(mutex_);
  return buckets_.size();
}

}  // namespace lab_orders
