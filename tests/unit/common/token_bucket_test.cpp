// The token bucket that keeps calls under a rate (common/token_bucket.h).

#include "lab_orders/common/token_bucket.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <chrono>
#include <stdexcept>
#include <vector>

#include "support/fakes.h"

namespace lab_orders {
namespace {

using namespace std::chrono_literals;
using lab_orders::testing::FakeClock;
using std::chrono::nanoseconds;

const std::chrono::system_clock::time_point kT0 =
    std::chrono::sys_days{std::chrono::year{2024} / 5 / 1} + 12h;

// The waits are computed in floating point: equal to within a microsecond.
::testing::AssertionResult WaitIs(nanoseconds actual, nanoseconds expected) {
  if (actual > expected - 1us && actual < expected + 1us) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure()
         << "wait is " << actual.count() << " ns, expected about " << expected.count() << " ns";
}

TEST(TokenBucketTest, StartsFullWithBurstTokens) {
  FakeClock clock(kT0);
  TokenBucket bucket(2.0, 3, clock);
  EXPECT_EQ(bucket.TryAcquire(), nanoseconds::zero());
  EXPECT_EQ(bucket.TryAcquire(), nanoseconds::zero());
  EXPECT_EQ(bucket.TryAcquire(), nanoseconds::zero());
  EXPECT_GT(bucket.TryAcquire(), nanoseconds::zero());
}

TEST(TokenBucketTest, EmptyBucketSaysHowLongUntilTheNextToken) {
  FakeClock clock(kT0);
  TokenBucket bucket(2.0, 1, clock);
  ASSERT_EQ(bucket.TryAcquire(), nanoseconds::zero());
  EXPECT_TRUE(WaitIs(bucket.TryAcquire(), 500ms));
  // Asking again takes nothing and says the same.
  EXPECT_TRUE(WaitIs(bucket.TryAcquire(), 500ms));
  clock.Advance(200ms);
  EXPECT_TRUE(WaitIs(bucket.TryAcquire(), 300ms));
}

TEST(TokenBucketTest, RefillsWithTime) {
  FakeClock clock(kT0);
  TokenBucket bucket(4.0, 2, clock);
  ASSERT_EQ(bucket.TryAcquire(), nanoseconds::zero());
  ASSERT_EQ(bucket.TryAcquire(), nanoseconds::zero());
  ASSERT_GT(bucket.TryAcquire(), nanoseconds::zero());
  clock.Advance(249ms);
  EXPECT_GT(bucket.TryAcquire(), nanoseconds::zero());
  clock.Advance(1ms);  // 250 ms at 4/s: one token
  EXPECT_EQ(bucket.TryAcquire(), nanoseconds::zero());
  EXPECT_GT(bucket.TryAcquire(), nanoseconds::zero());
  clock.Advance(500ms);  // two tokens
  EXPECT_EQ(bucket.TryAcquire(), nanoseconds::zero());
  EXPECT_EQ(bucket.TryAcquire(), nanoseconds::zero());
  EXPECT_GT(bucket.TryAcquire(), nanoseconds::zero());
}

TEST(TokenBucketTest, NeverHoldsMoreThanBurst) {
  FakeClock clock(kT0);
  TokenBucket bucket(10.0, 3, clock);
  clock.Advance(24h);
  for (int i = 0; i < 3; ++i) EXPECT_EQ(bucket.TryAcquire(), nanoseconds::zero()) << i;
  EXPECT_TRUE(WaitIs(bucket.TryAcquire(), 100ms));
}

TEST(TokenBucketTest, FractionalRatesAccumulate) {
  FakeClock clock(kT0);
  TokenBucket bucket(0.5, 1, clock);  // one every two seconds
  ASSERT_EQ(bucket.TryAcquire(), nanoseconds::zero());
  EXPECT_TRUE(WaitIs(bucket.TryAcquire(), 2s));
  clock.Advance(1s);
  EXPECT_TRUE(WaitIs(bucket.TryAcquire(), 1s));
  clock.Advance(1s);
  EXPECT_EQ(bucket.TryAcquire(), nanoseconds::zero());
}

TEST(TokenBucketTest, ClockGoingBackwardsAddsNothing) {
  FakeClock clock(kT0);
  TokenBucket bucket(1.0, 1, clock);
  ASSERT_EQ(bucket.TryAcquire(), nanoseconds::zero());
  clock.Advance(-10s);
  EXPECT_GT(bucket.TryAcquire(), nanoseconds::zero());
  clock.Advance(10s);  // back where it was: still nothing earned
  EXPECT_GT(bucket.TryAcquire(), nanoseconds::zero());
  clock.Advance(1s);
  EXPECT_EQ(bucket.TryAcquire(), nanoseconds::zero());
}

TEST(TokenBucketTest, BurstBelowOneHoldsOneToken) {
  FakeClock clock(kT0);
  TokenBucket bucket(1.0, 0, clock);
  EXPECT_EQ(bucket.TryAcquire(), nanoseconds::zero());
  EXPECT_GT(bucket.TryAcquire(), nanoseconds::zero());
}

TEST(TokenBucketTest, RateMustBePositive) {
  FakeClock clock(kT0);
  EXPECT_THROW(TokenBucket(0.0, 1, clock), std::invalid_argument);
  EXPECT_THROW(TokenBucket(-1.0, 1, clock), std::invalid_argument);
}

TEST(TokenBucketTest, AcquireTakesATokenWithoutWaitingWhileAnyIsLeft) {
  FakeClock clock(kT0);  // never moves: a wait would never end
  TokenBucket bucket(1.0, 2, clock);
  bucket.Acquire();
  bucket.Acquire();
  EXPECT_GT(bucket.TryAcquire(), nanoseconds::zero());
}

TEST(TokenBucketTest, AcquireWaitsExactlyUntilTheNextToken) {
  FakeClock clock(kT0);
  std::vector<nanoseconds> waits;
  TokenBucket bucket(4.0, 1, clock, [&](nanoseconds wait) {
    waits.push_back(wait);
    clock.Advance(wait);  // the time the service's thread would have slept
  });
  for (int i = 0; i < 5; ++i) bucket.Acquire();
  // The first token was there; each of the other four took a quarter of a second to come.
  EXPECT_EQ(waits, std::vector<nanoseconds>(4, 250ms));
  EXPECT_EQ(clock.Now(), kT0 + 1s);
  EXPECT_GT(bucket.TryAcquire(), nanoseconds::zero());
}

}  // namespace
}  // namespace lab_orders
