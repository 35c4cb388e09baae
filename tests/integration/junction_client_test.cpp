// The HTTP Junction client against a real junction-sim process: every operation, end to end.

#include <gtest/gtest.h>

#include <atomic>
#include <thread>

#include "lab_orders/junction/http_client.h"
#include "support/junction_fixtures.h"
#include "support/shared_sim_test.h"

namespace lab_orders::testing {
namespace {

using junction::Outcome;

class JunctionClientTest : public SharedSimTest {
 protected:
  void SetUp() override {
    SharedSimTest::SetUp();
    client_ = NewClient(std::chrono::milliseconds(5000));
  }

  std::unique_ptr<junction::HttpJunctionClient> client_;
};

TEST_F(JunctionClientTest, CreateUserThenConflictCarriesTheExistingUserId) {
  auto created = client_->CreateUser({"brand-a:patient-1"});
  ASSERT_TRUE(created.ok()) << created.error().summary;
  EXPECT_EQ(created->client_user_id, "brand-a:patient-1");

  auto again = client_->CreateUser({"brand-a:patient-1"});
  ASSERT_FALSE(again.ok());
  EXPECT_EQ(again.error().outcome, Outcome::kUserConflict);
  EXPECT_EQ(again.error().existing_user_id, created->user_id);
  EXPECT_EQ(again.error().http_status, 400);
}

TEST_F(JunctionClientTest, ResolveUserFindsKnownAndReportsUnknownAsNotFound) {
  auto created = client_->CreateUser({"brand-a:patient-2"});
  ASSERT_TRUE(created.ok());
  auto resolved = client_->ResolveUser("brand-a:patient-2");
  ASSERT_TRUE(resolved.ok());
  EXPECT_EQ(resolved->user_id, created->user_id);

  auto unknown = client_->ResolveUser("brand-a:nobody");
  ASSERT_FALSE(unknown.ok());
  EXPECT_EQ(unknown.error().outcome, Outcome::kNotFound);
}

TEST_F(JunctionClientTest, CatalogHasAnAtHomeTestForEachPanel) {
  auto tests = client_->ListLabTests();
  ASSERT_TRUE(tests.ok());
  ASSERT_EQ(tests->size(), 6u);
  for (const auto& test : tests.value()) EXPECT_EQ(test.method, "at_home_phlebotomy") << test.slug;
}

TEST_F(JunctionClientTest, CreateOrderReachesRequisitionAndReadsBack) {
  CreatedOrder created = CreateUserAndOrder(*client_, "brand-a:patient-3");
  ASSERT_FALSE(created.order_id.empty());
  auto order = client_->GetOrder(created.order_id);
  ASSERT_TRUE(order.ok());
  EXPECT_EQ(order->user_id, created.user_id);
  EXPECT_EQ(order->status, "received.at_home_phlebotomy.requisition_created");
  EXPECT_EQ(order->low_level_status, "requisition_created");
  ASSERT_EQ(order->events.size(), 2u);
  EXPECT_EQ(order->events[0].status, "received.at_home_phlebotomy.ordered");
}

TEST_F(JunctionClientTest, CreateOrderWithTheSameIdempotencyKeyMakesOneOrder) {
  auto user = client_->CreateUser({"brand-a:patient-4"});
  ASSERT_TRUE(user.ok());
  auto request = SampleOrder(user->user_id);
  request.idempotency_key = "order-7f3a";
  auto first = client_->CreateOrder(request);
  auto second = client_->CreateOrder(request);
  ASSERT_TRUE(first.ok());
  ASSERT_TRUE(second.ok());
  EXPECT_EQ(first->order.id, second->order.id);
  auto calls = sim_->Calls("create_order");
  ASSERT_EQ(calls.size(), 2u);
  EXPECT_EQ(calls[0]["idempotency_key"], "order-7f3a");
}

TEST_F(JunctionClientTest, InvalidFieldIsAValidationErrorNamingTheField) {
  auto user = client_->CreateUser({"brand-a:patient-5"});
  ASSERT_TRUE(user.ok());
  auto request = SampleOrder(user->user_id);
  request.patient_details.email = "not-an-email";
  request.patient_address.zip = "8500";
  auto order = client_->CreateOrder(request);
  ASSERT_FALSE(order.ok());
  EXPECT_EQ(order.error().outcome, Outcome::kValidation);
  EXPECT_EQ(order.error().http_status, 422);
  std::vector<std::string> locations;
  for (const auto& field : order.error().field_errors) locations.push_back(field.location);
  EXPECT_EQ(locations,
            (std::vector<std::string>{"body.patient_address.zip", "body.patient_details.email"}));
  EXPECT_EQ(order.error().summary.find("not-an-email"), std::string::npos);
}

TEST_F(JunctionClientTest, OrderForUnknownUserIsNotFound) {
  auto order = client_->CreateOrder(SampleOrder("0d4c7f8e-1111-4a2b-9c3d-000000000000"));
  ASSERT_FALSE(order.ok());
  EXPECT_EQ(order.error().outcome, Outcome::kNotFound);
}

TEST_F(JunctionClientTest, AreaInfoTellsServedFromUnserved) {
  auto served = client_->GetAreaInfo("85004");
  ASSERT_TRUE(served.ok());
  EXPECT_TRUE(served->phlebotomy_served);
  ASSERT_EQ(served->providers.size(), 1u);
  EXPECT_EQ(served->providers[0].name, "getlabs");

  auto unserved = client_->GetAreaInfo("10001");
  ASSERT_TRUE(unserved.ok());
  EXPECT_FALSE(unserved->phlebotomy_served);
}

TEST_F(JunctionClientTest, AvailabilityCoversTwoWeeksWithBookingKeys) {
  auto availability = client_->GetAvailability(SampleAppointmentAddress(), std::nullopt);
  ASSERT_TRUE(availability.ok());
  EXPECT_EQ(availability->timezone.value_or(""), "America/Phoenix");
  // Getlabs books at least 48 hours ahead, so the first two of the 14 days have no slots.
  ASSERT_GE(availability->days.size(), 11u);
  ASSERT_LE(availability->days.size(), 13u);
  for (const auto& day : availability->days) {
    for (const auto& slot : day.slots) {
      EXPECT_TRUE(slot.booking_key.has_value());
      EXPECT_TRUE(slot.expires_at.has_value());
      EXPECT_GT(slot.num_appointments_available, 0);
    }
  }
}

TEST_F(JunctionClientTest, BookRescheduleAndCancelAnAppointment) {
  CreatedOrder created = CreateUserAndOrder(*client_, "brand-a:patient-6");
  auto availability = client_->GetAvailability(SampleAppointmentAddress(), std::nullopt);
  ASSERT_TRUE(availability.ok());
  std::string first_key = *availability->days[0].slots[0].booking_key;
  std::string second_key = *availability->days[1].slots[0].booking_key;

  junction::BookingRequest booking;
  booking.booking_key = first_key;
  booking.async_confirmation = true;
  booking.sync_confirmation_timeout_ms = 2500;
  auto booked = client_->BookAppointment(created.order_id, booking);
  ASSERT_TRUE(booked.ok()) << booked.error().summary;
  EXPECT_EQ(booked->status, "confirmed");
  EXPECT_EQ(booked->event_status, "scheduled");
  EXPECT_EQ(booked->provider, "getlabs");
  EXPECT_EQ(booked->address.zip_code, "85004");

  auto order = client_->GetOrder(created.order_id);
  ASSERT_TRUE(order.ok());
  EXPECT_EQ(order->low_level_status, "appointment_scheduled");
  EXPECT_EQ(order->appointment_id.value_or(""), booked->id);

  auto rescheduled = client_->RescheduleAppointment(created.order_id, {second_key, std::nullopt});
  ASSERT_TRUE(rescheduled.ok());
  EXPECT_EQ(rescheduled->id, booked->id);
  EXPECT_NE(rescheduled->start_at, booked->start_at);

  auto reasons = client_->ListCancellationReasons();
  ASSERT_TRUE(reasons.ok());
  ASSERT_FALSE(reasons->empty());
  auto cancelled =
      client_->CancelAppointment(created.order_id, {reasons->front().id, std::nullopt});
  ASSERT_TRUE(cancelled.ok());
  EXPECT_EQ(cancelled->status, "cancelled");
  auto fetched = client_->GetAppointment(created.order_id);
  ASSERT_TRUE(fetched.ok());
  EXPECT_EQ(fetched->status, "cancelled");
}

TEST_F(JunctionClientTest, BookingASlotSomeoneTookIsAConflict) {
  sim_->LoadScript({{"slot_capacity", 1}});
  CreatedOrder first = CreateUserAndOrder(*client_, "brand-a:patient-7");
  CreatedOrder second = CreateUserAndOrder(*client_, "brand-a:patient-8");
  std::string key = FirstBookingKey(*client_);
  ASSERT_TRUE(client_->BookAppointment(first.order_id, {key, {}, true, {}, {}, {}}).ok());
  auto taken = client_->BookAppointment(second.order_id, {key, {}, true, {}, {}, {}});
  ASSERT_FALSE(taken.ok());
  EXPECT_EQ(taken.error().outcome, Outcome::kConflict);
}

TEST_F(JunctionClientTest, PendingBookingIsConfirmedAfterPolls) {
  sim_->LoadScript(
      {{"bookings", {{{"call", 1}, {"outcome", "confirmed"}, {"resolve_after_polls", 2}}}}});
  CreatedOrder created = CreateUserAndOrder(*client_, "brand-a:patient-9");
  auto booked = client_->BookAppointment(created.order_id,
                                         {FirstBookingKey(*client_), {}, true, 2500, {}, {}});
  ASSERT_TRUE(booked.ok());
  EXPECT_EQ(booked->status, "pending");
  EXPECT_EQ(client_->GetOrder(created.order_id)->low_level_status, "appointment_pending");
  EXPECT_EQ(client_->GetAppointment(created.order_id)->status, "pending");
  EXPECT_EQ(client_->GetAppointment(created.order_id)->status, "confirmed");
  EXPECT_EQ(client_->GetOrder(created.order_id)->low_level_status, "appointment_scheduled");
}

TEST_F(JunctionClientTest, PendingBookingTheProviderRefusesEndsCancelled) {
  sim_->LoadScript({{"bookings", {{{"outcome", "cancelled"}, {"resolve_after_polls", 1}}}}});
  CreatedOrder created = CreateUserAndOrder(*client_, "brand-a:patient-10");
  auto booked =
      client_->BookAppointment(created.order_id, {FirstBookingKey(*client_), {}, true, {}, {}, {}});
  ASSERT_TRUE(booked.ok());
  EXPECT_EQ(booked->status, "pending");
  EXPECT_EQ(client_->GetAppointment(created.order_id)->status, "cancelled");
  EXPECT_EQ(client_->GetOrder(created.order_id)->low_level_status, "appointment_cancelled");
}

TEST_F(JunctionClientTest, SlowProviderBeyondTheSyncTimeoutAnswersPending) {
  sim_->LoadScript({{"bookings", {{{"provider_delay_ms", 1500}}}}});
  CreatedOrder created = CreateUserAndOrder(*client_, "brand-a:patient-11");
  auto booked = client_->BookAppointment(created.order_id,
                                         {FirstBookingKey(*client_), {}, true, 1000, {}, {}});
  ASSERT_TRUE(booked.ok());
  EXPECT_EQ(booked->status, "pending");
}

TEST_F(JunctionClientTest, SynchronousBookingTheProviderRefusesIsAServerError) {
  sim_->LoadScript({{"bookings", {{{"outcome", "cancelled"}}}}});
  CreatedOrder created = CreateUserAndOrder(*client_, "brand-a:patient-12");
  auto booked = client_->BookAppointment(created.order_id,
                                         {FirstBookingKey(*client_), {}, false, {}, {}, {}});
  ASSERT_FALSE(booked.ok());
  EXPECT_EQ(booked.error().outcome, Outcome::kServerError);
  EXPECT_EQ(booked.error().http_status, 500);
}

TEST_F(JunctionClientTest, BookingBeforeTheRequisitionIsRefused) {
  sim_->LoadScript({{"requisition", {{"mode", "manual"}}}});
  CreatedOrder created = CreateUserAndOrder(*client_, "brand-a:patient-13");
  auto booked =
      client_->BookAppointment(created.order_id, {FirstBookingKey(*client_), {}, true, {}, {}, {}});
  ASSERT_FALSE(booked.ok());
  EXPECT_EQ(booked.error().outcome, Outcome::kRejected);
  sim_->Admin("POST", "/_sim/orders/" + created.order_id + "/advance",
              {{"status", "requisition_created"}});
  EXPECT_TRUE(
      client_->BookAppointment(created.order_id, {FirstBookingKey(*client_), {}, true, {}, {}, {}})
          .ok());
}

TEST_F(JunctionClientTest, CancelOrderThenCancellingAgainIsRefused) {
  CreatedOrder created = CreateUserAndOrder(*client_, "brand-a:patient-14");
  auto cancelled = client_->CancelOrder(created.order_id);
  ASSERT_TRUE(cancelled.ok());
  EXPECT_EQ(cancelled->order.low_level_status, "cancelled");
  auto again = client_->CancelOrder(created.order_id);
  ASSERT_FALSE(again.ok());
  EXPECT_EQ(again.error().outcome, Outcome::kRejected);
}

TEST_F(JunctionClientTest, UnknownStatusesStayStrings) {
  sim_->LoadScript({{"operations",
                     {{"get_appointment",
                       {{{"status", 200},
                         {"body",
                          {{"id", "6c1f0b4e-2a3d-4e5f-8a9b-0c1d2e3f4a5b"},
                           {"user_id", "6c1f0b4e-2a3d-4e5f-8a9b-0c1d2e3f4a5c"},
                           {"order_id", "6c1f0b4e-2a3d-4e5f-8a9b-0c1d2e3f4a5d"},
                           {"address",
                            {{"first_line", "1 Main St"},
                             {"city", "Phoenix"},
                             {"state", "AZ"},
                             {"zip_code", "85004"}}},
                           {"location", {{"lng", 0.0}, {"lat", 0.0}}},
                           {"start_at", nullptr},
                           {"end_at", nullptr},
                           {"type", "phlebotomy"},
                           {"provider", "new_provider"},
                           {"status", "awaiting_courier"},
                           {"provider_id", "p-1"},
                           {"can_reschedule", false},
                           {"event_status", "awaiting_courier"},
                           {"events", nlohmann::json::array()}}}}}}}}});
  auto appointment = client_->GetAppointment("6c1f0b4e-2a3d-4e5f-8a9b-0c1d2e3f4a5d");
  ASSERT_TRUE(appointment.ok()) << appointment.error().summary;
  EXPECT_EQ(appointment->status, "awaiting_courier");
  EXPECT_EQ(appointment->provider, "new_provider");
}

TEST_F(JunctionClientTest, WrongApiKeyIsRejected) {
  SimProcess strict({"--api-key", "sk_us_right"});
  junction::HttpClientOptions options = ClientOptions(strict.base_url(), std::chrono::seconds(5));
  options.api_key = "sk_us_wrong";
  junction::HttpJunctionClient client(options);
  auto tests = client.ListLabTests();
  ASSERT_FALSE(tests.ok());
  EXPECT_EQ(tests.error().outcome, Outcome::kRejected);
  EXPECT_EQ(tests.error().http_status, 401);
}

TEST_F(JunctionClientTest, HundredSequentialCallsRideOneConnection) {
  int opened_before = sim_->Stats()["connections_opened"];
  for (int i = 0; i < 100; ++i) ASSERT_TRUE(client_->ListLabTests().ok()) << "call " << i;
  int opened_after = sim_->Stats()["connections_opened"];
  // The client's one connection, and the one the second stats request came on.
  EXPECT_EQ(opened_after - opened_before, 2);
  auto calls = sim_->Calls("list_lab_tests");
  ASSERT_EQ(calls.size(), 100u);
  for (const auto& call : calls) EXPECT_EQ(call["connection_id"], calls[0]["connection_id"]);
}

TEST_F(JunctionClientTest, OneClientServesManyThreadsAtOnce) {
  constexpr int kThreads = 8;
  constexpr int kCallsEach = 40;
  int opened_before = sim_->Stats()["connections_opened"];
  std::atomic<int> succeeded{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kCallsEach; ++i) {
        auto user = client_->CreateUser({"brand-t:" + std::to_string(t) + "-" + std::to_string(i)});
        if (user.ok() && client_->ResolveUser(user->client_user_id).ok()) ++succeeded;
      }
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(succeeded, kThreads * kCallsEach);
  // Connections are pooled: never more than one per thread (plus the stats request's own).
  int opened = sim_->Stats()["connections_opened"].get<int>() - opened_before;
  EXPECT_LE(opened, kThreads + 1);
  EXPECT_EQ(sim_->Calls("create_user").size(), size_t(kThreads * kCallsEach));
}

}  // namespace
}  // namespace lab_orders::testing
