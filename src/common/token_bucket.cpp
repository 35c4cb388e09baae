#include "lab_orders/common/token_bucket.h"

#include <algorithm>
#include <stdexcept>
#include <thread>
#include <utility>

namespace lab_orders {

using std::chrono::duration;
using std::chrono::duration_cast;
using std::chrono::nanoseconds;

void TokenBucket::SleepThread(nanoseconds wait) { std::this_thread::sleep_for(wait); }

TokenBucket::TokenBucket(double rate_per_second, int burst, const Clock& clock, Sleep sleep)
    : rate_(rate_per_second),
      burst_(std::max(burst, 1)),
      clock_(clock),
      sleep_(std::move(sleep)),
      tokens_(burst_) {
  if (!(rate_per_second > 0)) throw std::invalid_argument("TokenBucket: the rate must be > 0");
  last_ = clock_.Now();
}

void TokenBucket::RefillLocked(std::chrono::system_clock::time_point now) {
  if (now > last_) {
    tokens_ = std::min(burst_, tokens_ + duration<double>(now - last_).count() * rate_);
    last_ = now;
  }
}

nanoseconds TokenBucket::TryAcquire() {
  std::lock_guard lock(mutex_);
  RefillLocked(clock_.Now());
  if (tokens_ >= 1.0) {
    tokens_ -= 1.0;
    return nanoseconds::zero();
  }
  return std::max(nanoseconds(1),
                  duration_cast<nanoseconds>(duration<double>((1.0 - tokens_) / rate_)));
}

void TokenBucket::Acquire() {
  for (nanoseconds wait = TryAcquire(); wait > nanoseconds::zero(); wait = TryAcquire()) {
    // Not waiting for another thread: the rate limit is time itself passing until the next
    // token (TryAcquire says exactly how long).
    sleep_(wait);
  }
}

}  // namespace lab_orders
