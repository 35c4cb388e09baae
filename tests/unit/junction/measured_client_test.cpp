// The Junction client decorator that feeds /metrics (junction/measured_client.h).

#include "lab_orders/junction/measured_client.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>

#include "mocks/mock_junction_client.h"
#include "support/junction_fixtures.h"
#include "support/metrics_text.h"

namespace lab_orders::junction {
namespace {

using lab_orders::testing::CallFailure;
using lab_orders::testing::ExpectValidExposition;
using lab_orders::testing::MockJunctionClient;
using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::Return;

TEST(MeasuredJunctionClientTest, CountsEveryCallByOperationAndOutcomeAndTimesIt) {
  metrics::Registry registry;
  MockJunctionClient inner;
  MeasuredJunctionClient client(inner, registry);
  EXPECT_CALL(inner, GetOrder("order-secret-id"))
      .WillOnce(Return(Result<Order>(Order{})))
      .WillOnce(Return(Result<Order>(CallFailure(Outcome::kTimeout, "get_order"))));
  EXPECT_CALL(inner, CreateUser(::testing::_))
      .WillOnce(Return(Result<User>(User{"u", "t", "c", "now"})));

  EXPECT_TRUE(client.GetOrder("order-secret-id").ok());
  EXPECT_EQ(client.GetOrder("order-secret-id").outcome(), Outcome::kTimeout);
  EXPECT_EQ(client.CreateUser({}).value().user_id, "u");

  std::string text = registry.RenderPrometheus();
  EXPECT_THAT(text, HasSubstr("lab_orders_junction_calls_total{operation=\"get_order\","
                              "outcome=\"success\"} 1\n"));
  EXPECT_THAT(text, HasSubstr("lab_orders_junction_calls_total{operation=\"get_order\","
                              "outcome=\"timeout\"} 1\n"));
  EXPECT_THAT(text, HasSubstr("lab_orders_junction_calls_total{operation=\"create_user\","
                              "outcome=\"success\"} 1\n"));
  EXPECT_THAT(text, HasSubstr("lab_orders_junction_call_duration_seconds_count{operation="
                              "\"get_order\"} 2\n"));
  EXPECT_THAT(text, Not(HasSubstr("order-secret-id")));
  ExpectValidExposition(text);
}

}  // namespace
}  // namespace lab_orders::junction
