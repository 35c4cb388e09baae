// Retry timing: exponential backoff with equal jitter, and Retry-After (common/backoff.h).

#include "lab_orders/common/backoff.h"

#include <gtest/gtest.h>

#include <chrono>
#include <optional>

namespace lab_orders::workflow {
namespace {

using namespace std::chrono_literals;
using std::chrono::milliseconds;

const BackoffPolicy kPolicy{1000ms, 60000ms, 2.0};

JitterSource Fixed(double value) {
  return [value] { return value; };
}

TEST(BackoffDelayTest, FullJitterGrowsByTheMultiplierFromTheInitialDelay) {
  // Jitter just under 1 gives (nearly) the whole computed delay.
  JitterSource top = Fixed(0.999999);
  const milliseconds expected[] = {1000ms, 2000ms, 4000ms, 8000ms, 16000ms, 32000ms};
  for (int attempt = 1; attempt <= 6; ++attempt) {
    milliseconds delay = BackoffDelay(kPolicy, attempt, top);
    EXPECT_LE(delay, expected[attempt - 1]) << "attempt " << attempt;
    EXPECT_GE(delay, expected[attempt - 1] - 1ms) << "attempt " << attempt;
  }
}

TEST(BackoffDelayTest, ZeroJitterGivesHalfTheComputedDelay) {
  JitterSource zero = Fixed(0.0);
  EXPECT_EQ(BackoffDelay(kPolicy, 1, zero), 500ms);
  EXPECT_EQ(BackoffDelay(kPolicy, 2, zero), 1000ms);
  EXPECT_EQ(BackoffDelay(kPolicy, 3, zero), 2000ms);
  EXPECT_EQ(BackoffDelay(kPolicy, 4, zero), 4000ms);
}

TEST(BackoffDelayTest, JitterSpreadsOverTheUpperHalf) {
  EXPECT_EQ(BackoffDelay(kPolicy, 3, Fixed(0.5)), 3000ms);  // 4000 * (0.5 + 0.25)
  EXPECT_EQ(BackoffDelay(kPolicy, 1, Fixed(0.25)), 625ms);
  // Whatever the jitter, the delay stays within [half, whole].
  for (double jitter : {0.0, 0.1, 0.33, 0.5, 0.77, 0.9999}) {
    milliseconds delay = BackoffDelay(kPolicy, 5, Fixed(jitter));
    EXPECT_GE(delay, 8000ms) << jitter;
    EXPECT_LE(delay, 16000ms) << jitter;
  }
}

TEST(BackoffDelayTest, JitterOutsideZeroToOneIsClamped) {
  EXPECT_EQ(BackoffDelay(kPolicy, 2, Fixed(-3.0)), 1000ms);
  EXPECT_EQ(BackoffDelay(kPolicy, 2, Fixed(7.0)), 2000ms);
}

TEST(BackoffDelayTest, CappedAtTheMaximum) {
  JitterSource top = Fixed(0.999999);
  EXPECT_LE(BackoffDelay(kPolicy, 7, top), 60000ms);  // 64 s computed
  EXPECT_GE(BackoffDelay(kPolicy, 7, top), 59999ms);
  EXPECT_EQ(BackoffDelay(kPolicy, 7, Fixed(0.0)), 30000ms);
  // However many attempts: no overflow, still the cap.
  EXPECT_LE(BackoffDelay(kPolicy, 5000, top), 60000ms);
  EXPECT_GE(BackoffDelay(kPolicy, 5000, top), 59999ms);
  EXPECT_EQ(BackoffDelay(kPolicy, 5000, Fixed(0.0)), 30000ms);
}

TEST(BackoffDelayTest, AttemptBelowOneCountsAsTheFirst) {
  EXPECT_EQ(BackoffDelay(kPolicy, 0, Fixed(0.0)), 500ms);
  EXPECT_EQ(BackoffDelay(kPolicy, -4, Fixed(0.0)), 500ms);
}

TEST(BackoffDelayTest, RetryAfterIsAFloor) {
  JitterSource zero = Fixed(0.0);
  EXPECT_EQ(BackoffDelay(kPolicy, 1, zero, 30), 30000ms);
  // A shorter Retry-After does not shorten the backoff.
  EXPECT_EQ(BackoffDelay(kPolicy, 4, zero, 1), 4000ms);
  // Above the policy's cap too: Junction said when.
  EXPECT_EQ(BackoffDelay(kPolicy, 1, zero, 600), 600000ms);
}

TEST(BackoffDelayTest, RetryAfterZeroNegativeOrAbsentIsIgnored) {
  JitterSource zero = Fixed(0.0);
  EXPECT_EQ(BackoffDelay(kPolicy, 2, zero, 0), 1000ms);
  EXPECT_EQ(BackoffDelay(kPolicy, 2, zero, -5), 1000ms);
  EXPECT_EQ(BackoffDelay(kPolicy, 2, zero, std::nullopt), 1000ms);
}

TEST(BackoffDelayTest, RetryAfterIsCappedAtADay) {
  JitterSource zero = Fixed(0.0);
  EXPECT_EQ(BackoffDelay(kPolicy, 1, zero, 86400), milliseconds(24h));
  EXPECT_EQ(BackoffDelay(kPolicy, 1, zero, 86401), milliseconds(24h));
  EXPECT_EQ(BackoffDelay(kPolicy, 1, zero, 2147483647), milliseconds(24h));
}

TEST(BackoffDelayTest, OtherMultipliersAndInitialDelays) {
  BackoffPolicy slow{200ms, 10000ms, 3.0};
  JitterSource zero = Fixed(0.0);
  EXPECT_EQ(BackoffDelay(slow, 1, zero), 100ms);
  EXPECT_EQ(BackoffDelay(slow, 2, zero), 300ms);
  EXPECT_EQ(BackoffDelay(slow, 3, zero), 900ms);
  EXPECT_EQ(BackoffDelay(slow, 5, zero), 5000ms);  // 16.2 s capped at 10 s, halved
}

TEST(RandomJitterTest, StaysInZeroToOne) {
  JitterSource jitter = RandomJitter();
  for (int i = 0; i < 1000; ++i) {
    double value = jitter();
    EXPECT_GE(value, 0.0);
    EXPECT_LT(value, 1.0);
  }
}

}  // namespace
}  // namespace lab_orders::workflow
