#include "lab_orders/common/retry_after.h"

#include <gtest/gtest.h>

#include <chrono>

namespace lab_orders {
namespace {

using namespace std::chrono_literals;

// Monday 2030-01-07 15:00:00 UTC.
const auto kNow = std::chrono::sys_days{std::chrono::year{2030} / 1 / 7} + 15h;

TEST(ParseRetryAfterTest, DelaySeconds) {
  EXPECT_EQ(ParseRetryAfter("0", kNow), 0);
  EXPECT_EQ(ParseRetryAfter("1", kNow), 1);
  EXPECT_EQ(ParseRetryAfter("120", kNow), 120);
}

TEST(ParseRetryAfterTest, HttpDateRelativeToNow) {
  EXPECT_EQ(ParseRetryAfter("Mon, 07 Jan 2030 15:01:30 GMT", kNow), 90);
  EXPECT_EQ(ParseRetryAfter("Mon, 07 Jan 2030 15:00:00 GMT", kNow), 0);
  EXPECT_EQ(ParseRetryAfter("Tue, 08 Jan 2030 14:00:00 GMT", kNow), 23 * 3600);
}

TEST(ParseRetryAfterTest, DatesInThePastMeanNow) {
  EXPECT_EQ(ParseRetryAfter("Mon, 07 Jan 2030 14:59:00 GMT", kNow), 0);
  EXPECT_EQ(ParseRetryAfter("Sun, 06 Nov 1994 08:49:37 GMT", kNow), 0);
}

TEST(ParseRetryAfterTest, FarFutureDatesAreCappedAtADay) {
  EXPECT_EQ(ParseRetryAfter("Fri, 01 Jan 2100 00:00:00 GMT", kNow), 86400);
}

TEST(ParseRetryAfterTest, GarbageIsNotAValue) {
  for (const char* value : {"", "soon", "-5", "1.5", " 5", "5 ", "0x10", "9999999999",
                            "Mon, 32 Jan 2030 15:01:30 GMT", "Mon, 07 Jan 2030 25:01:30 GMT",
                            "Mon, 07 Xyz 2030 15:01:30 GMT", "Mon, 07 Jan 2030 15:01:30 PST",
                            "Mon, 07 Jan 2030 15:01:30 GMT trailing", "tomorrow at noon"}) {
    EXPECT_EQ(ParseRetryAfter(value, kNow), std::nullopt) << "\"" << value << "\"";
  }
}

}  // namespace
}  // namespace lab_orders
