// Rate limits per key (common/keyed_rate_limiter.h): each key its own bucket, the table bounded.

#include "lab_orders/common/keyed_rate_limiter.h"

#include <gtest/gtest.h>

#include <chrono>
#include <string>

#include "support/fakes.h"

namespace lab_orders {
namespace {

using namespace std::chrono_literals;
using lab_orders::testing::FakeClock;
using std::chrono::nanoseconds;

const std::chrono::system_clock::time_point kT0 =
    std::chrono::sys_days{std::chrono::year{2024} / 5 / 1} + 12h;

TEST(KeyedRateLimiterTest, EachKeyHasItsOwnBurstThenItsRate) {
  FakeClock clock(kT0);
  KeyedRateLimiter limiter(2.0, 3, clock);
  for (int i = 0; i < 3; ++i) EXPECT_EQ(limiter.TryAcquire("a"), nanoseconds::zero()) << i;
  const nanoseconds wait = limiter.TryAcquire("a");
  EXPECT_GT(wait, 499ms);
  EXPECT_LE(wait, 500ms);
  // Another key is not held back by the first.
  EXPECT_EQ(limiter.TryAcquire("b"), nanoseconds::zero());
  clock.Advance(500ms);
  EXPECT_EQ(limiter.TryAcquire("a"), nanoseconds::zero());
  EXPECT_GT(limiter.TryAcquire("a"), nanoseconds::zero());
}

TEST(KeyedRateLimiterTest, AKeyRefilledIsForgottenWhenRoomIsNeeded) {
  FakeClock clock(kT0);
  KeyedRateLimiter limiter(1.0, 2, clock, /*max_keys=*/2);
  EXPECT_EQ(limiter.TryAcquire("a"), nanoseconds::zero());
  EXPECT_EQ(limiter.TryAcquire("b"), nanoseconds::zero());
  // The table is full of keys still being limited: a new key waits.
  EXPECT_GT(limiter.TryAcquire("c"), nanoseconds::zero());
  EXPECT_EQ(limiter.KeyCount(), 2u);
  // Once they have refilled, they make room.
  clock.Advance(1s);
  EXPECT_EQ(limiter.TryAcquire("c"), nanoseconds::zero());
  EXPECT_EQ(limiter.KeyCount(), 1u);
}

TEST(KeyedRateLimiterTest, ARateOfZeroIsRefused) {
  FakeClock clock(kT0);
  EXPECT_THROW(KeyedRateLimiter(0.0, 1, clock), std::invalid_argument);
}

}  // namespace
}  // namespace lab_orders
