#pragma once

// Rate limits per key (a client's address, a link's token): each key its own token bucket, as
// TokenBucket keeps one for all. A key whose bucket has refilled is the same as one never seen, so
// it is forgotten: the table holds only keys that sent a burst lately, at most max_keys of them.
// Past that, a key not in the table is refused until some refill (a flood of new keys cannot make
// room for itself by pushing out the ones being limited).

#include <chrono>
#include <cstddef>
#include <mutex>
#include <string>
#include <unordered_map>

#include "lab_orders/common/clock.h"

namespace lab_orders {

class KeyedRateLimiter {
 public:
  // rate_per_second a second for each key, holding at most burst; every key starts full.
  KeyedRateLimiter(double rate_per_second, int burst, const Clock& clock,
                   std::size_t max_keys = 100000);

  // Counts a request for key and returns zero, or counts nothing and returns how long until the
  // key may send one.
  std::chrono::nanoseconds TryAcquire(const std::string& key);

  // Keys held now (for tests and metrics).
  std::size_t KeyCount() const;

 private:
  struct Bucket {
    double tokens;
    std::chrono::system_clock::time_point last;
  };
  // Drops every bucket full again at now.
  void ForgetRefilledLocked(std::chrono::system_clock::time_point now);

  const double rate_;
  const double burst_;
  const Clock& clock_;
  const std::size_t max_keys_;
  mutable std::mutex mutex_;
  std::unordered_map<std::string, Bucket> buckets_;
};

}  // namespace lab_orders
