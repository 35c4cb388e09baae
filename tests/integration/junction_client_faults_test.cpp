// Every scripted fault on every Junction operation the client makes, and how it is classified.

#include <Poco/Net/ServerSocket.h>
#include <gtest/gtest.h>

#include <functional>
#include <set>

#include "lab_orders/junction/http_client.h"
#include "support/junction_fixtures.h"
#include "support/shared_sim_test.h"

namespace lab_orders::testing {
namespace {

using junction::Outcome;
using nlohmann::json;

// What an operation needs to exist before it is called.
struct Prepared {
  std::string unbooked_order_id;
  std::string booked_order_id;
  std::string booking_key;
  std::string second_booking_key;
  std::string reason_id;
};

struct Ended {
  Outcome outcome;
  bool may_have_reached = false;
  int http_status = 0;
  std::optional<int> retry_after;
};

template <typename T>
Ended EndOf(const junction::Result<T>& result) {
  if (result.ok()) return Ended{Outcome::kSuccess, false, 0, std::nullopt};
  return {result.error().outcome, result.error().may_have_reached_junction,
          result.error().http_status, result.error().retry_after_seconds};
}

using Invoke = std::function<Ended(junction::JunctionClient&, const Prepared&)>;

struct Operation {
  const char* name;
  bool safe_to_repeat;
  Invoke invoke;
};

const std::vector<Operation>& Operations() {
  static const std::vector<Operation> kOperations = {
      {"create_user", true,
       [](auto& c, const auto&) { return EndOf(c.CreateUser({"brand-f:new-patient"})); }},
      {"resolve_user", true,
       [](auto& c, const auto&) { return EndOf(c.ResolveUser("brand-f:patient")); }},
      {"list_lab_tests", true, [](auto& c, const auto&) { return EndOf(c.ListLabTests()); }},
      {"create_order", true,
       [](auto& c, const auto&) {
         auto user = c.ResolveUser("brand-f:patient");
         auto request = SampleOrder(user.ok() ? user->user_id : "");
         request.idempotency_key = "fault-order";
         return EndOf(c.CreateOrder(request));
       }},
      {"get_order", true,
       [](auto& c, const auto& p) { return EndOf(c.GetOrder(p.unbooked_order_id)); }},
      {"cancel_order", false,
       [](auto& c, const auto& p) { return EndOf(c.CancelOrder(p.unbooked_order_id)); }},
      {"area_info", true, [](auto& c, const auto&) { return EndOf(c.GetAreaInfo("85004")); }},
      {"availability", true,
       [](auto& c, const auto&) {
         return EndOf(c.GetAvailability(SampleAppointmentAddress(), std::nullopt));
       }},
      {"book_appointment", false,
       [](auto& c, const auto& p) {
         return EndOf(
             c.BookAppointment(p.unbooked_order_id, {p.booking_key, {}, true, {}, {}, {}}));
       }},
      {"get_appointment", true,
       [](auto& c, const auto& p) { return EndOf(c.GetAppointment(p.booked_order_id)); }},
      {"reschedule_appointment", false,
       [](auto& c, const auto& p) {
         return EndOf(c.RescheduleAppointment(p.booked_order_id, {p.second_booking_key, {}}));
       }},
      {"cancel_appointment", false,
       [](auto& c, const auto& p) {
         return EndOf(c.CancelAppointment(p.booked_order_id, {p.reason_id, {}}));
       }},
      {"cancellation_reasons", true,
       [](auto& c, const auto&) { return EndOf(c.ListCancellationReasons()); }},
  };
  return kOperations;
}

struct FaultCase {
  const char* name;
  json rule;  // merged into {"from_call": 1}
  Outcome expected;
  int expected_status;
};

const std::vector<FaultCase>& FaultCases() {
  static const std::vector<FaultCase> kCases = {
      {"reset", {{"fault", "reset"}}, Outcome::kConnectionFailed, 0},
      {"close", {{"fault", "close"}}, Outcome::kConnectionFailed, 0},
      {"hang", {{"fault", "hang"}, {"hang_ms", 5000}}, Outcome::kTimeout, 0},
      {"malformed_json", {{"fault", "malformed_json"}}, Outcome::kMalformedResponse, 200},
      {"truncated_body", {{"fault", "truncated_body"}}, Outcome::kMalformedResponse, 0},
      // Headers at once, then a byte every 300 ms: the call's deadline (700 ms) still holds.
      {"trickle", {{"fault", "trickle"}, {"trickle_ms", 300}}, Outcome::kTimeout, 0},
      {"rate_limited", {{"fault", "rate_limited"}, {"retry_after", 7}}, Outcome::kRateLimited, 429},
      {"unavailable", {{"fault", "unavailable"}, {"retry_after", 7}}, Outcome::kRateLimited, 503},
      {"server_error",
       {{"status", 500}, {"body", {{"detail", "Internal Server Error"}}}},
       Outcome::kServerError,
       500},
      {"bad_gateway",
       {{"status", 502}, {"raw_body", "<html>bad gateway</html>"}},
       Outcome::kServerError,
       502},
  };
  return kCases;
}

class JunctionClientFaultTest : public SharedSimTest,
                                public ::testing::WithParamInterface<std::tuple<size_t, size_t>> {
 protected:
  void SetUp() override {
    SharedSimTest::SetUp();
    client_ = NewClient(std::chrono::milliseconds(700));

    CreatedOrder unbooked = CreateUserAndOrder(*client_, "brand-f:patient");
    auto user = client_->ResolveUser("brand-f:patient");
    ASSERT_TRUE(user.ok());
    auto booked_order = client_->CreateOrder(SampleOrder(user->user_id));
    ASSERT_TRUE(booked_order.ok());
    auto availability = client_->GetAvailability(SampleAppointmentAddress(), std::nullopt);
    ASSERT_TRUE(availability.ok());
    prepared_.unbooked_order_id = unbooked.order_id;
    prepared_.booked_order_id = booked_order->order.id;
    prepared_.booking_key = *availability->days[0].slots[0].booking_key;
    prepared_.second_booking_key = *availability->days[1].slots[0].booking_key;
    ASSERT_TRUE(client_
                    ->BookAppointment(prepared_.booked_order_id,
                                      {prepared_.booking_key, {}, true, {}, {}, {}})
                    .ok());
    auto reasons = client_->ListCancellationReasons();
    ASSERT_TRUE(reasons.ok());
    prepared_.reason_id = reasons->front().id;
  }

  std::unique_ptr<junction::HttpJunctionClient> client_;
  Prepared prepared_;
};

TEST_P(JunctionClientFaultTest, IsClassified) {
  const Operation& operation = Operations()[std::get<0>(GetParam())];
  const FaultCase& fault = FaultCases()[std::get<1>(GetParam())];
  json rule = fault.rule;
  rule["from_call"] = 1;
  sim_->LoadScript({{"operations", {{operation.name, json::array({rule})}}}});
  size_t calls_before = sim_->Calls(operation.name).size();

  Ended ended = operation.invoke(*client_, prepared_);

  EXPECT_EQ(junction::OutcomeName(ended.outcome),
            std::string(junction::OutcomeName(fault.expected)));
  EXPECT_EQ(ended.http_status, fault.expected_status);
  EXPECT_TRUE(ended.may_have_reached) << "the request was sent before the fault";
  if (fault.expected == Outcome::kRateLimited) {
    EXPECT_EQ(ended.retry_after, 7);
  }
  // A connection that closed before answering is retried once on a new connection, and only
  // when repeating the request is safe.
  bool dropped = fault.expected == Outcome::kConnectionFailed;
  size_t expected_calls = dropped && operation.safe_to_repeat ? 2 : 1;
  EXPECT_EQ(sim_->Calls(operation.name).size() - calls_before, expected_calls);
}

INSTANTIATE_TEST_SUITE_P(EveryOperationEveryFault, JunctionClientFaultTest,
                         ::testing::Combine(::testing::Range<size_t>(0, Operations().size()),
                                            ::testing::Range<size_t>(0, FaultCases().size())),
                         [](const ::testing::TestParamInfo<std::tuple<size_t, size_t>>& info) {
                           return std::string(Operations()[std::get<0>(info.param)].name) + "_" +
                                  FaultCases()[std::get<1>(info.param)].name;
                         });

class JunctionClientConnectionTest : public ::testing::Test {
 protected:
  junction::HttpClientOptions OptionsFor(const std::string& base_url) {
    return ClientOptions(base_url, std::chrono::milliseconds(2000));
  }
};

TEST_F(JunctionClientConnectionTest, RefusedConnectionNeverReachedJunction) {
  unsigned short port;
  {
    Poco::Net::ServerSocket probe(Poco::Net::SocketAddress("127.0.0.1", 0));
    port = probe.address().port();
  }  // closed: nothing listens there now
  junction::HttpJunctionClient client(OptionsFor("http://127.0.0.1:" + std::to_string(port)));
  auto result = client.ListLabTests();
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.error().outcome, Outcome::kConnectionFailed);
  EXPECT_FALSE(result.error().may_have_reached_junction);
}

TEST_F(JunctionClientConnectionTest, StaleConnectionIsReopenedForASafeRequest) {
  SimProcess sim;
  junction::HttpJunctionClient client(OptionsFor(sim.base_url()));
  ASSERT_TRUE(client.ListLabTests().ok());  // leaves a pooled connection
  // The server handles the next call on that connection, then closes it without answering.
  sim.LoadScript({{"operations",
                   {{"list_lab_tests", {{{"call", 1}, {"fault", "close"}, {"when", "after"}}}}}}});
  auto result = client.ListLabTests();
  ASSERT_TRUE(result.ok()) << result.error().summary;
  auto calls = sim.Calls("list_lab_tests");
  ASSERT_EQ(calls.size(), 3u);
  EXPECT_EQ(calls[0]["connection_id"], calls[1]["connection_id"]);
  EXPECT_NE(calls[1]["connection_id"], calls[2]["connection_id"]);
}

TEST_F(JunctionClientConnectionTest, LostAnswerToABookingIsNotResent) {
  SimProcess sim;
  junction::HttpJunctionClient client(OptionsFor(sim.base_url()));
  CreatedOrder created = CreateUserAndOrder(client, "brand-f:patient-lost");
  std::string key = FirstBookingKey(client);
  sim.LoadScript(
      {{"operations",
        {{"book_appointment", {{{"call", 1}, {"fault", "reset"}, {"when", "after"}}}}}}});
  auto booked = client.BookAppointment(created.order_id, {key, {}, true, {}, {}, {}});
  ASSERT_FALSE(booked.ok());
  EXPECT_EQ(booked.error().outcome, Outcome::kConnectionFailed);
  EXPECT_TRUE(booked.error().may_have_reached_junction);
  EXPECT_EQ(sim.Calls("book_appointment").size(), 1u);
  // It did happen at Junction: the caller must look before booking again.
  auto appointment = client.GetAppointment(created.order_id);
  ASSERT_TRUE(appointment.ok());
  EXPECT_EQ(appointment->status, "confirmed");
}

TEST_F(JunctionClientConnectionTest, TimedOutOrderReplaysWithItsIdempotencyKey) {
  SimProcess sim;
  junction::HttpClientOptions options = OptionsFor(sim.base_url());
  options.timeout = std::chrono::milliseconds(500);
  junction::HttpJunctionClient client(options);
  auto user = client.CreateUser({"brand-f:patient-timeout"});
  ASSERT_TRUE(user.ok());
  sim.LoadScript({{"operations",
                   {{"create_order",
                     {{{"call", 1}, {"fault", "hang"}, {"hang_ms", 3000}, {"when", "after"}}}}}}});
  auto request = SampleOrder(user->user_id);
  request.idempotency_key = "order-after-timeout";
  auto first = client.CreateOrder(request);
  ASSERT_FALSE(first.ok());
  EXPECT_EQ(first.error().outcome, Outcome::kTimeout);
  EXPECT_TRUE(first.error().may_have_reached_junction);
  auto retried = client.CreateOrder(request);
  ASSERT_TRUE(retried.ok()) << retried.error().summary;
  auto again = client.CreateOrder(request);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(retried->order.id, again->order.id);
}

}  // namespace
}  // namespace lab_orders::testing
