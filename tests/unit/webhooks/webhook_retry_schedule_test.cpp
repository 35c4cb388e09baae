#include <gtest/gtest.h>

#include <chrono>

#include "lab_orders/webhooks/retry_schedule.h"

namespace lab_orders::webhooks {
namespace {

using namespace std::chrono_literals;
using std::chrono::milliseconds;

// Monday 2030-01-07 15:00:00 UTC.
const auto kNow = std::chrono::sys_days{std::chrono::year{2030} / 1 / 7} + 15h;

JitterSource Fixed(double value) {
  return [value] { return value; };
}

std::optional<milliseconds> Delay(int failed_attempts, double jitter = 0.5,
                                  std::optional<std::string> retry_after = std::nullopt) {
  return NextAttemptDelay(RetrySchedule{}, failed_attempts, Fixed(jitter), retry_after, kNow);
}

TEST(RetryScheduleTest, FollowsTheStandardWebhooksScheduleThenGivesUp) {
  EXPECT_EQ(Delay(1), milliseconds(5s));
  EXPECT_EQ(Delay(2), milliseconds(5min));
  EXPECT_EQ(Delay(3), milliseconds(30min));
  EXPECT_EQ(Delay(4), milliseconds(2h));
  EXPECT_EQ(Delay(5), milliseconds(5h));
  EXPECT_EQ(Delay(6), milliseconds(10h));
  EXPECT_EQ(Delay(7), milliseconds(10h));
  EXPECT_EQ(Delay(8), std::nullopt);
  EXPECT_EQ(Delay(100), std::nullopt);
}

TEST(RetryScheduleTest, ZeroOrNegativeAttemptsHaveNoDelay) {
  EXPECT_EQ(Delay(0), std::nullopt);
  EXPECT_EQ(Delay(-1), std::nullopt);
}

TEST(RetryScheduleTest, JitterSpreadsEachDelayOverPlusOrMinusTenPercent) {
  EXPECT_EQ(Delay(1, 0.0), milliseconds(4500));
  EXPECT_EQ(Delay(1, 0.25), milliseconds(4750));
  EXPECT_EQ(Delay(1, 0.75), milliseconds(5250));
  EXPECT_EQ(Delay(4, 0.0), milliseconds(108min));
  EXPECT_LE(*Delay(4, 0.999999), milliseconds(132min));
  // A source that strays outside [0, 1) is held to it.
  EXPECT_EQ(Delay(1, -3.0), milliseconds(4500));
  EXPECT_EQ(Delay(1, 7.0), milliseconds(5500));
}

TEST(RetryScheduleTest, RetryAfterInSecondsIsAFloor) {
  EXPECT_EQ(Delay(1, 0.5, "60"), milliseconds(60s));
  // Sooner than the schedule: the schedule wins.
  EXPECT_EQ(Delay(2, 0.5, "60"), milliseconds(5min));
  EXPECT_EQ(Delay(1, 0.5, "0"), milliseconds(5s));
}

TEST(RetryScheduleTest, RetryAfterAsAnHttpDateIsReadAgainstTheInjectedNow) {
  EXPECT_EQ(Delay(1, 0.5, "Mon, 07 Jan 2030 15:01:30 GMT"), milliseconds(90s));
  EXPECT_EQ(Delay(1, 0.5, "Mon, 07 Jan 2030 14:00:00 GMT"), milliseconds(5s));
}

TEST(RetryScheduleTest, RetryAfterIsBounded) {
  EXPECT_EQ(Delay(1, 0.5, "86400"), milliseconds(10h));
  EXPECT_EQ(Delay(1, 0.5, "Fri, 01 Jan 2100 00:00:00 GMT"), milliseconds(10h));
  RetrySchedule schedule;
  schedule.max_retry_after = 1min;
  EXPECT_EQ(NextAttemptDelay(schedule, 1, Fixed(0.5), "3600", kNow), milliseconds(1min));
}

TEST(RetryScheduleTest, UnreadableRetryAfterIsIgnored) {
  for (const char* value : {"", "soon", "-5", "1.5", "Mon, 07 Jan 2030 15:01:30 PST"}) {
    EXPECT_EQ(Delay(1, 0.5, value), milliseconds(5s)) << value;
  }
}

TEST(RetryScheduleTest, TheGiveUpPointIgnoresRetryAfter) {
  EXPECT_EQ(Delay(8, 0.5, "60"), std::nullopt);
}

}  // namespace
}  // namespace lab_orders::webhooks
