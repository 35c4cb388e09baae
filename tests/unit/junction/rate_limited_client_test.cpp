// The rate-limited Junction client: a decorator taking a token before every call
// (junction/rate_limited_client.h).

#include "lab_orders/junction/rate_limited_client.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <chrono>

#include "mocks/mock_junction_client.h"
#include "support/fakes.h"

namespace lab_orders::junction {
namespace {

using namespace std::chrono_literals;
using lab_orders::testing::FakeClock;
using lab_orders::testing::MockJunctionClient;
using std::chrono::nanoseconds;
using ::testing::_;
using ::testing::Return;
using ::testing::StrictMock;

const std::chrono::system_clock::time_point kT0 =
    std::chrono::sys_days{std::chrono::year{2024} / 5 / 1} + 12h;

junction::CallError Failure(junction::Outcome outcome, int http_status) {
  junction::CallError error;
  error.outcome = outcome;
  error.operation = "op";
  error.http_status = http_status;
  return error;
}

// The waits are computed in floating point: equal to within a microsecond.
::testing::AssertionResult WaitIs(nanoseconds actual, nanoseconds expected) {
  if (actual > expected - 1us && actual < expected + 1us) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure()
         << "wait is " << actual.count() << " ns, expected about " << expected.count() << " ns";
}

TEST(RateLimitedJunctionClientTest, EveryCallTakesOneTokenAndReachesTheInnerClient) {
  FakeClock clock(kT0);
  TokenBucket bucket(1.0, 14, clock);
  StrictMock<MockJunctionClient> inner;
  const junction::CallError error = Failure(junction::Outcome::kServerError, 500);
  EXPECT_CALL(inner, CreateUser(_)).WillOnce(Return(error));
  EXPECT_CALL(inner, ResolveUser("cu-1")).WillOnce(Return(error));
  EXPECT_CALL(inner, ListLabTests()).WillOnce(Return(error));
  EXPECT_CALL(inner, CreateOrder(_)).WillOnce(Return(error));
  EXPECT_CALL(inner, GetOrder("jo-1")).WillOnce(Return(error));
  EXPECT_CALL(inner, CancelOrder("jo-1")).WillOnce(Return(error));
  EXPECT_CALL(inner, GetAreaInfo("97405")).WillOnce(Return(error));
  EXPECT_CALL(inner, GetAvailability(_, _)).WillOnce(Return(error));
  EXPECT_CALL(inner, BookAppointment("jo-1", _)).WillOnce(Return(error));
  EXPECT_CALL(inner, GetAppointment("jo-1")).WillOnce(Return(error));
  EXPECT_CALL(inner, RescheduleAppointment("jo-1", _)).WillOnce(Return(error));
  EXPECT_CALL(inner, CancelAppointment("jo-1", _)).WillOnce(Return(error));
  EXPECT_CALL(inner, ListCancellationReasons()).WillOnce(Return(error));

  RateLimitedJunctionClient client(inner, bucket);
  EXPECT_EQ(client.CreateUser({"cu-1"}).outcome(), junction::Outcome::kServerError);
  client.ResolveUser("cu-1");
  client.ListLabTests();
  client.CreateOrder({});
  client.GetOrder("jo-1");
  client.CancelOrder("jo-1");
  client.GetAreaInfo("97405");
  client.GetAvailability({}, std::nullopt);
  client.BookAppointment("jo-1", {});
  client.GetAppointment("jo-1");
  client.RescheduleAppointment("jo-1", {});
  client.CancelAppointment("jo-1", {});
  client.ListCancellationReasons();

  // 13 calls took 13 of the 14 tokens.
  EXPECT_EQ(bucket.TryAcquire(), nanoseconds::zero());
  EXPECT_GT(bucket.TryAcquire(), nanoseconds::zero());
}

TEST(RateLimitedJunctionClientTest, PassesTheInnerAnswerThrough) {
  FakeClock clock(kT0);
  TokenBucket bucket(1.0, 5, clock);
  StrictMock<MockJunctionClient> inner;
  junction::Order order;
  order.id = "jo-1";
  order.status = "received.at_home_phlebotomy.ordered";
  EXPECT_CALL(inner, GetOrder("jo-1")).WillOnce(Return(order));
  RateLimitedJunctionClient client(inner, bucket);
  auto result = client.GetOrder("jo-1");
  ASSERT_TRUE(result.ok());
  EXPECT_EQ(result->status, "received.at_home_phlebotomy.ordered");
}

TEST(RateLimitedJunctionClientTest, SharedBucketLimitsCallsAcrossClients) {
  FakeClock clock(kT0);
  TokenBucket bucket(1.0, 2, clock);
  StrictMock<MockJunctionClient> first_inner;
  StrictMock<MockJunctionClient> second_inner;
  const junction::CallError error = Failure(junction::Outcome::kNotFound, 404);
  EXPECT_CALL(first_inner, GetOrder(_)).WillOnce(Return(error));
  EXPECT_CALL(second_inner, GetAppointment(_)).WillOnce(Return(error));
  RateLimitedJunctionClient first(first_inner, bucket);
  RateLimitedJunctionClient second(second_inner, bucket);
  first.GetOrder("jo-1");
  second.GetAppointment("jo-2");
  EXPECT_TRUE(WaitIs(bucket.TryAcquire(), 1s));
}

}  // namespace
}  // namespace lab_orders::junction
