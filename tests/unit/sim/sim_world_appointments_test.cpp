// junction-sim's World once an order has its requisition: booking (sync and async confirmation,
// the provider's answers), reschedule and cancel, cancelling orders, and the webhook events it
// sends. On the fixture of sim_world_fixture.h.
#include "unit/sim/sim_world_fixture.h"

namespace lab_orders::sim {
namespace {

class WorldAppointmentsTest : public WorldTest {};

// ---- booking
// --------------------------------------------------------------------------------------

TEST_F(WorldAppointmentsTest, BookingIsConfirmedAtOnceByDefault) {
  std::string order_id = CreateOrder();
  std::string key = FirstBookingKey();

  BookingPlan plan = Plan(order_id, {{"booking_key", key}});
  EXPECT_EQ(plan.wait_ms, 0);
  EXPECT_TRUE(plan.provider_answers_in_time);
  SimResponse booked = world_.CommitBooking(
      order_id, {{"booking_key", key}, {"appointment_notes", "Ring twice"}}, plan);

  ASSERT_EQ(booked.status, 200) << booked.body.dump();
  EXPECT_EQ(ResponseViolations("POST", "/v3/order/{order_id}/phlebotomy/appointment/book", 200,
                               booked.body),
            json::array());
  EXPECT_EQ(booked.body["status"], "confirmed");
  EXPECT_EQ(booked.body["event_status"], "scheduled");
  EXPECT_EQ(booked.body["provider"], "getlabs");
  EXPECT_EQ(booked.body["type"], "phlebotomy");
  EXPECT_EQ(booked.body["can_reschedule"], true);
  EXPECT_EQ(booked.body["order_id"], order_id);
  EXPECT_EQ(booked.body["address"]["zip_code"], kPhoenixZip);
  EXPECT_EQ(booked.body["start_at"], FormatRfc3339(kStart + 48h));
  EXPECT_EQ(booked.body["appointment_notes"], "Ring twice");
  EXPECT_EQ(Appointment(order_id), booked.body);

  json order = Order(order_id);
  EXPECT_EQ(order["last_event"]["status"], kAppointmentScheduled);
  EXPECT_EQ(order["details"]["data"]["appointment_id"], booked.body["id"]);
}

TEST_F(WorldAppointmentsTest, BookingBeforeRequisitionIsRefused) {
  Load({{"requisition", {{"mode", "manual"}}}});
  std::string order_id = CreateOrder();

  SimResponse refused = BookFirstSlot(order_id);

  EXPECT_EQ(refused.status, 400);
  EXPECT_EQ(world_.GetAppointment(order_id).status, 404);
}

TEST_F(WorldAppointmentsTest, BookingBeforeRequisitionIsReservedWhenTheScriptAllowsIt) {
  Load({{"requisition", {{"mode", "manual"}}}, {"allow_booking_before_requisition", true}});
  std::string order_id = CreateOrder();

  SimResponse booked = BookFirstSlot(order_id);

  ASSERT_EQ(booked.status, 200) << booked.body.dump();
  EXPECT_EQ(booked.body["status"], "reserved");
  EXPECT_EQ(booked.body["event_status"], "reserved");
  EXPECT_EQ(ResponseViolations("POST", "/v3/order/{order_id}/phlebotomy/appointment/book", 200,
                               booked.body),
            json::array());
}

TEST_F(WorldAppointmentsTest, AsyncBookingResolvesToConfirmedAfterPolls) {
  Load({{"bookings", {{{"resolve_after_polls", 2}}}}});
  std::string order_id = CreateOrder();
  json body = {{"booking_key", FirstBookingKey()}, {"async_confirmation", true}};

  BookingPlan plan = Plan(order_id, body);
  EXPECT_FALSE(plan.provider_answers_in_time);
  EXPECT_EQ(plan.wait_ms, 0);
  SimResponse booked = world_.CommitBooking(order_id, body, plan);

  ASSERT_EQ(booked.status, 200) << booked.body.dump();
  EXPECT_EQ(booked.body["status"], "pending");
  EXPECT_EQ(booked.body["event_status"], "pending");
  EXPECT_EQ(booked.body["can_reschedule"], false);
  EXPECT_EQ(ResponseViolations("POST", "/v3/order/{order_id}/phlebotomy/appointment/book", 200,
                               booked.body),
            json::array());
  EXPECT_EQ(OrderStatus(order_id), kAppointmentPending);

  EXPECT_EQ(Appointment(order_id)["status"], "pending");
  json resolved = Appointment(order_id);
  EXPECT_EQ(resolved["status"], "confirmed");
  EXPECT_EQ(resolved["event_status"], "scheduled");
  EXPECT_EQ(resolved["id"], booked.body["id"]);
  EXPECT_EQ(OrderStatus(order_id), kAppointmentScheduled);
}

TEST_F(WorldAppointmentsTest, AsyncBookingResolvesToCancelledAfterPolls) {
  Load({{"bookings", {{{"resolve_after_polls", 1}, {"outcome", "cancelled"}}}}});
  std::string order_id = CreateOrder();

  SimResponse booked = BookFirstSlot(order_id, {{"async_confirmation", true}});
  ASSERT_EQ(booked.status, 200) << booked.body.dump();
  EXPECT_EQ(booked.body["status"], "pending");

  json resolved = Appointment(order_id);
  EXPECT_EQ(resolved["status"], "cancelled");
  EXPECT_EQ(resolved["event_status"], "cancelled");
  EXPECT_EQ(OrderStatus(order_id), kAppointmentCancelled);
}

TEST_F(WorldAppointmentsTest,
       SlowProviderBeyondSyncTimeoutLeavesAPendingAppointmentResolvedByTick) {
  Load({{"bookings", {{{"provider_delay_ms", 6000}}}}});
  std::string order_id = CreateOrder();
  json body = {{"booking_key", FirstBookingKey()},
               {"async_confirmation", true},
               {"sync_confirmation_timeout_millisecond", 2000}};

  BookingPlan plan = Plan(order_id, body);
  EXPECT_EQ(plan.wait_ms, 2000);
  EXPECT_FALSE(plan.provider_answers_in_time);
  clock_.Advance(2000ms);
  SimResponse booked = world_.CommitBooking(order_id, body, plan);

  ASSERT_EQ(booked.status, 200) << booked.body.dump();
  EXPECT_EQ(booked.body["status"], "pending");
  // The provider answers 6 s after the booking call started.
  EXPECT_EQ(world_.Tick(), kStart + 6s);
  clock_.Advance(3999ms);
  EXPECT_EQ(world_.Tick(), kStart + 6s);
  EXPECT_EQ(Appointment(order_id)["status"], "pending");
  clock_.Advance(1ms);
  EXPECT_EQ(world_.Tick(), std::nullopt);
  EXPECT_EQ(Appointment(order_id)["status"], "confirmed");
  EXPECT_EQ(OrderStatus(order_id), kAppointmentScheduled);
}

TEST_F(WorldAppointmentsTest, SyncTimeoutDefaultsTo2500Ms) {
  Load({{"bookings", {{{"provider_delay_ms", 3000}}}}});
  std::string order_id = CreateOrder();

  BookingPlan plan =
      Plan(order_id, {{"booking_key", FirstBookingKey()}, {"async_confirmation", true}});

  EXPECT_EQ(plan.wait_ms, 2500);
  EXPECT_FALSE(plan.provider_answers_in_time);
}

TEST_F(WorldAppointmentsTest, AsyncBookingResolvesAfterScriptedMs) {
  Load({{"bookings", {{{"resolve_after_ms", 30000}, {"outcome", "reserved"}}}}});
  std::string order_id = CreateOrder();

  SimResponse booked = BookFirstSlot(order_id, {{"async_confirmation", true}});

  ASSERT_EQ(booked.body["status"], "pending") << booked.body.dump();
  EXPECT_EQ(world_.Tick(), kStart + 30s);
  clock_.Advance(29999ms);
  EXPECT_EQ(Appointment(order_id)["status"], "pending");
  clock_.Advance(1ms);
  EXPECT_EQ(Appointment(order_id)["status"], "reserved");
}

TEST_F(WorldAppointmentsTest, ProviderWithinSyncTimeoutConfirmsAfterItsDelay) {
  Load({{"bookings", {{{"provider_delay_ms", 1500}}}}});
  std::string order_id = CreateOrder();
  json body = {{"booking_key", FirstBookingKey()}, {"async_confirmation", true}};

  BookingPlan plan = Plan(order_id, body);
  EXPECT_EQ(plan.wait_ms, 1500);
  EXPECT_TRUE(plan.provider_answers_in_time);
  clock_.Advance(1500ms);
  EXPECT_EQ(world_.CommitBooking(order_id, body, plan).body["status"], "confirmed");
}

TEST_F(WorldAppointmentsTest, SyncBookingWaitsForTheProvider) {
  Load({{"bookings", {{{"provider_delay_ms", 6000}}}}});
  std::string order_id = CreateOrder();

  BookingPlan plan = Plan(order_id, {{"booking_key", FirstBookingKey()}});

  EXPECT_EQ(plan.wait_ms, 6000);
  EXPECT_TRUE(plan.provider_answers_in_time);
}

TEST_F(WorldAppointmentsTest, SyncBookingThatTheProviderRefusesAnswers500) {
  Load({{"bookings", {{{"outcome", "cancelled"}}}}});
  std::string order_id = CreateOrder();

  SimResponse refused = BookFirstSlot(order_id, {{"async_confirmation", false}});

  EXPECT_EQ(refused.status, 500);
  EXPECT_EQ(world_.GetAppointment(order_id).status, 404);
  EXPECT_EQ(OrderStatus(order_id), kRequisitionCreated);
}

TEST_F(WorldAppointmentsTest, BookingRulesFollowTheCallNumber) {
  Load({{"bookings", {{{"call", 1}, {"outcome", "cancelled"}}}}});
  std::string order_id = CreateOrder();
  json body = {{"booking_key", FirstBookingKey()}};

  auto first = world_.PlanBooking(order_id, body, 1);
  ASSERT_TRUE(std::holds_alternative<BookingPlan>(first));
  EXPECT_EQ(world_.CommitBooking(order_id, body, std::get<BookingPlan>(first)).status, 500);
  EXPECT_EQ(Book(order_id, body, 2).status, 200);
}

TEST_F(WorldAppointmentsTest, SecondBookingWhileOneIsActiveIsRefused) {
  std::string order_id = CreateOrder();
  std::vector<std::string> keys = BookingKeys();
  ASSERT_GE(keys.size(), 2u);
  ASSERT_EQ(Book(order_id, {{"booking_key", keys[0]}}).status, 200);

  SimResponse second = Book(order_id, {{"booking_key", keys[1]}});

  EXPECT_EQ(second.status, 400);
  EXPECT_EQ(Appointment(order_id)["start_at"], FormatRfc3339(kStart + 48h));
}

TEST_F(WorldAppointmentsTest, FullSlotIsNoLongerAvailableToAnotherOrder) {
  Load({{"slot_capacity", 1}});
  std::string first_order = CreateOrder("patient-0001");
  std::string second_order = CreateOrder("patient-0002");
  std::string key = FirstBookingKey();
  ASSERT_EQ(Book(first_order, {{"booking_key", key}}).status, 200);

  SimResponse taken = Book(second_order, {{"booking_key", key}});

  EXPECT_EQ(taken.status, 400);
  EXPECT_THAT(taken.body["detail"].get<std::string>(), HasSubstr("no longer available"));
  // Availability stops offering it.
  std::vector<std::string> keys = BookingKeys();
  EXPECT_EQ(std::find(keys.begin(), keys.end(), key), keys.end());
}

TEST_F(WorldAppointmentsTest, SlotWithCapacityLeftCountsDown) {
  Load({{"slot_capacity", 2}});
  std::string order_id = CreateOrder();
  std::string key = FirstBookingKey();
  EXPECT_EQ(Slots()["slots"][0]["slots"][0]["num_appointments_available"], 2);
  ASSERT_EQ(Book(order_id, {{"booking_key", key}}).status, 200);
  EXPECT_EQ(Slots()["slots"][0]["slots"][0]["num_appointments_available"], 1);
}

// ---- reschedule and cancel
// -----------------------------------------------------------------------

TEST_F(WorldAppointmentsTest, RescheduleMovesTheAppointment) {
  std::string order_id = CreateOrder();
  std::vector<std::string> keys = BookingKeys();
  ASSERT_GE(keys.size(), 2u);
  SimResponse booked = Book(order_id, {{"booking_key", keys[0]}});
  ASSERT_EQ(booked.status, 200);
  events_.clear();

  SimResponse moved = world_.RescheduleAppointment(
      order_id, {{"booking_key", keys[1]}, {"appointment_notes", "Gate code 42"}});

  ASSERT_EQ(moved.status, 200) << moved.body.dump();
  EXPECT_EQ(ResponseViolations("PATCH", "/v3/order/{order_id}/phlebotomy/appointment/reschedule",
                               200, moved.body),
            json::array());
  EXPECT_EQ(moved.body["id"], booked.body["id"]);
  EXPECT_EQ(moved.body["status"], "confirmed");
  EXPECT_EQ(moved.body["start_at"], FormatRfc3339(kStart + 49h));
  EXPECT_EQ(moved.body["appointment_notes"], "Gate code 42");
  EXPECT_EQ(moved.body["events"].back()["data"]["is_reschedule"], true);
  ASSERT_FALSE(events_.empty());
  EXPECT_EQ(events_.front()["event_type"], "labtest.appointment.updated");
  EXPECT_EQ(OrderStatus(order_id), kAppointmentScheduled);
}

TEST_F(WorldAppointmentsTest, RescheduleIsRefusedWithoutAnActiveAppointmentOrWhilePending) {
  Load({{"bookings", {{{"resolve_after_polls", 5}}}}});
  std::string order_id = CreateOrder();
  std::vector<std::string> keys = BookingKeys();
  ASSERT_GE(keys.size(), 2u);
  EXPECT_EQ(world_.RescheduleAppointment(order_id, {{"booking_key", keys[1]}}).status, 400);

  ASSERT_EQ(Book(order_id, {{"booking_key", keys[0]}, {"async_confirmation", true}}).body["status"],
            "pending");
  EXPECT_EQ(world_.RescheduleAppointment(order_id, {{"booking_key", keys[1]}}).status, 400);
}

TEST_F(WorldAppointmentsTest, RescheduleWithAnExpiredKeyIsRefused) {
  std::string order_id = CreateOrder();
  std::vector<std::string> keys = BookingKeys();
  ASSERT_EQ(Book(order_id, {{"booking_key", keys[0]}}).status, 200);
  clock_.Advance(16min);

  EXPECT_EQ(world_.RescheduleAppointment(order_id, {{"booking_key", keys[1]}}).status, 400);
  EXPECT_EQ(Appointment(order_id)["start_at"], FormatRfc3339(kStart + 48h));
}

TEST_F(WorldAppointmentsTest, OrderCancelledWhileTheProviderDecidesIsNotBooked) {
  std::string order_id = CreateOrder();
  json body = {{"booking_key", FirstBookingKey()}, {"async_confirmation", true}};
  BookingPlan plan = Plan(order_id, body);
  ASSERT_EQ(world_.CancelOrder(order_id).status, 200);
  SimResponse committed = world_.CommitBooking(order_id, body, plan);
  EXPECT_EQ(committed.status, 400) << committed.body.dump();
  EXPECT_EQ(world_.GetAppointment(order_id).status, 404);
}

TEST_F(WorldAppointmentsTest, CancellationReasonsAreSpecShaped) {
  SimResponse reasons = world_.CancellationReasons();
  ASSERT_EQ(reasons.status, 200);
  EXPECT_FALSE(reasons.body.empty());
  EXPECT_EQ(ResponseViolations("GET", "/v3/order/phlebotomy/appointment/cancellation-reasons", 200,
                               reasons.body),
            json::array());
}

TEST_F(WorldAppointmentsTest, CancelAppointmentNeedsAKnownReason) {
  std::string order_id = CreateOrder();
  ASSERT_EQ(BookFirstSlot(order_id).status, 200);

  SimResponse refused = world_.CancelAppointment(
      order_id, {{"cancellation_reason_id", "00000000-0000-4000-8000-999999999999"}});

  EXPECT_EQ(refused.status, 400);
  EXPECT_EQ(Appointment(order_id)["status"], "confirmed");
}

TEST_F(WorldAppointmentsTest, CancelAppointmentCancelsItAndTheOrderFollows) {
  std::string order_id = CreateOrder();
  ASSERT_EQ(BookFirstSlot(order_id).status, 200);

  SimResponse cancelled = world_.CancelAppointment(
      order_id, {{"cancellation_reason_id", kPatientRequested}, {"notes", "moving"}});

  ASSERT_EQ(cancelled.status, 200) << cancelled.body.dump();
  EXPECT_EQ(ResponseViolations("PATCH", "/v3/order/{order_id}/phlebotomy/appointment/cancel", 200,
                               cancelled.body),
            json::array());
  EXPECT_EQ(cancelled.body["status"], "cancelled");
  EXPECT_EQ(cancelled.body["event_status"], "cancelled");
  EXPECT_EQ(cancelled.body["can_reschedule"], false);
  EXPECT_EQ(OrderStatus(order_id), kAppointmentCancelled);

  // Nothing left to cancel, but the order can book again.
  EXPECT_EQ(
      world_.CancelAppointment(order_id, {{"cancellation_reason_id", kPatientRequested}}).status,
      400);
  SimResponse rebooked = BookFirstSlot(order_id);
  ASSERT_EQ(rebooked.status, 200) << rebooked.body.dump();
  EXPECT_NE(rebooked.body["id"], cancelled.body["id"]);
  EXPECT_EQ(OrderStatus(order_id), kAppointmentScheduled);
}

TEST_F(WorldAppointmentsTest, CancelledPendingAppointmentLeavesNothingDueForTick) {
  Load({{"bookings", {{{"provider_delay_ms", 6000}}}}});
  std::string order_id = CreateOrder();
  SimResponse booked = BookFirstSlot(order_id, {{"async_confirmation", true}});
  ASSERT_EQ(booked.body["status"], "pending");
  ASSERT_EQ(
      world_.CancelAppointment(order_id, {{"cancellation_reason_id", kPatientRequested}}).status,
      200);

  // The provider's late answer must neither revive the appointment nor stay due forever (a due
  // time in the past would make the server's ticker spin).
  EXPECT_EQ(world_.Tick(), std::nullopt);
  clock_.Advance(1h);
  EXPECT_EQ(world_.Tick(), std::nullopt);
  EXPECT_EQ(Appointment(order_id)["status"], "cancelled");
}

// ---- cancelling orders
// ----------------------------------------------------------------------------

TEST_F(WorldAppointmentsTest, CancelOrderIsRefusedInFinalStatuses) {
  for (const char* status :
       {"completed", "corrected", "cancelled", "sample_error", "partial_results"}) {
    std::string order_id = CreateOrder(std::string("patient-") + status);
    ASSERT_EQ(world_.AdvanceOrder(order_id, {{"status", status}}).status, 200) << status;
    std::string before = OrderStatus(order_id);

    SimResponse refused = world_.CancelOrder(order_id);

    EXPECT_EQ(refused.status, 400) << status;
    EXPECT_EQ(OrderStatus(order_id), before) << status;
  }
}

TEST_F(WorldAppointmentsTest, CancelOrderIsAllowedBeforeTheSampleReachesTheLab) {
  Load({{"requisition", {{"mode", "manual"}}}});
  for (const char* status :
       {"ordered", "requisition_created", "requisition_bypassed", "appointment_pending",
        "appointment_scheduled", "appointment_cancelled", "draw_completed"}) {
    std::string order_id = CreateOrder(std::string("patient-") + status);
    if (std::string(status) != "ordered") {
      ASSERT_EQ(world_.AdvanceOrder(order_id, {{"status", status}}).status, 200) << status;
    }

    SimResponse cancelled = world_.CancelOrder(order_id);

    ASSERT_EQ(cancelled.status, 200) << status << " " << cancelled.body.dump();
    EXPECT_EQ(ResponseViolations("POST", "/v3/order/{order_id}/cancel", 200, cancelled.body),
              json::array());
    EXPECT_EQ(cancelled.body["order"]["last_event"]["status"], kOrderCancelled) << status;
    EXPECT_EQ(cancelled.body["order"]["order_transaction"]["status"], "cancelled");
  }
}

TEST_F(WorldAppointmentsTest, CancelOrderCancelsItsAppointment) {
  std::string order_id = CreateOrder();
  ASSERT_EQ(BookFirstSlot(order_id).status, 200);

  ASSERT_EQ(world_.CancelOrder(order_id).status, 200);

  EXPECT_EQ(Appointment(order_id)["status"], "cancelled");
  EXPECT_EQ(OrderStatus(order_id), kOrderCancelled);
  EXPECT_EQ(world_.CancelOrder(order_id).status, 400);
  EXPECT_EQ(BookFirstSlot(order_id).status, 400);
}

TEST_F(WorldAppointmentsTest, CancelOrderOfAPendingBookingCancelsItForGood) {
  Load({{"bookings", {{{"provider_delay_ms", 6000}}}}});
  std::string order_id = CreateOrder();
  ASSERT_EQ(BookFirstSlot(order_id, {{"async_confirmation", true}}).body["status"], "pending");

  ASSERT_EQ(world_.CancelOrder(order_id).status, 200);
  clock_.Advance(1h);

  EXPECT_EQ(world_.Tick(), std::nullopt);
  EXPECT_EQ(Appointment(order_id)["status"], "cancelled");
  EXPECT_EQ(OrderStatus(order_id), kOrderCancelled);
}

// ---- webhook events
// ---------------------------------------------------------------------------------

TEST_F(WorldAppointmentsTest, EventsAreEmittedInOrderAsEnvelopes) {
  std::string order_id = CreateOrder("patient-0001");
  SimResponse booked = BookFirstSlot(order_id);
  ASSERT_EQ(booked.status, 200);

  EXPECT_THAT(EventTypes(),
              ::testing::ElementsAre("labtest.order.created", "labtest.order.updated",
                                     "labtest.appointment.created", "labtest.order.updated"));
  ASSERT_EQ(events_.size(), 4u);
  for (const json& event : events_) {
    EXPECT_EQ(event.size(), 5u) << event.dump();
    EXPECT_EQ(event["user_id"], booked.body["user_id"]);
    EXPECT_EQ(event["client_user_id"], "patient-0001");
    EXPECT_EQ(event["team_id"], World::kTeamId);
  }
  EXPECT_EQ(events_[0]["data"]["last_event"]["status"], kOrdered);
  EXPECT_EQ(events_[1]["data"]["last_event"]["status"], kRequisitionCreated);
  EXPECT_EQ(events_[2]["data"], booked.body);
  EXPECT_EQ(events_[3]["data"]["last_event"]["status"], kAppointmentScheduled);
}

TEST_F(WorldAppointmentsTest, DuplicateWebhooksSendsEveryEventTwice) {
  Load({{"webhooks", {{"duplicate", true}}}});
  std::string order_id = CreateOrder();
  ASSERT_EQ(BookFirstSlot(order_id).status, 200);

  ASSERT_EQ(events_.size(), 8u);
  for (size_t i = 0; i < events_.size(); i += 2) EXPECT_EQ(events_[i], events_[i + 1]) << i;
  EXPECT_EQ(events_[0]["event_type"], "labtest.order.created");
  EXPECT_EQ(events_[4]["event_type"], "labtest.appointment.created");
}

class WorldWebhookTest : public WorldTest {
 protected:
  // Every kind of state change: timed requisition, pending then confirmed booking, reschedule,
  // appointment cancellation, rebooking, order cancellation.
  void RunEveryKindOfChange(const std::string& client_user_id) {
    Load({{"requisition", {{"mode", "after_ms"}, {"ms", 1000}}},
          {"bookings", {{{"call", 1}, {"resolve_after_polls", 1}}}}});
    std::string order_id = CreateOrder(client_user_id);
    clock_.Advance(1s);
    world_.Tick();
    std::vector<std::string> keys = BookingKeys();
    ASSERT_GE(keys.size(), 3u);
    ASSERT_EQ(Book(order_id, {{"booking_key", keys[0]}, {"async_confirmation", true}}, 1).status,
              200);
    Appointment(order_id);
    ASSERT_EQ(world_.RescheduleAppointment(order_id, {{"booking_key", keys[1]}}).status, 200);
    ASSERT_EQ(
        world_.CancelAppointment(order_id, {{"cancellation_reason_id", kPatientRequested}}).status,
        200);
    ASSERT_EQ(Book(order_id, {{"booking_key", keys[2]}}, 2).status, 200);
    ASSERT_EQ(world_.CancelOrder(order_id).status, 200);

    std::vector<std::string> emitted = EventTypes();
    EXPECT_EQ(
        std::set<std::string>(emitted.begin(), emitted.end()),
        (std::set<std::string>{"labtest.order.created", "labtest.order.updated",
                               "labtest.appointment.created", "labtest.appointment.updated"}));
  }

  static json EnvelopeViolations(const json& event) {
    std::string type = event["event_type"];
    return ComponentViolations(type.rfind("labtest.order.", 0) == 0
                                   ? "ClientFacingOrderChanged"
                                   : "ClientFacingAppointmentChanged",
                               event);
  }
};

TEST_F(WorldWebhookTest, EnvelopesMatchTheSpec) {
  ASSERT_NO_FATAL_FAILURE(RunEveryKindOfChange("3f0c6f2e-5b7a-4d1e-8c9b-0a1b2c3d4e5f"));

  ASSERT_GE(events_.size(), 10u);
  for (const json& event : events_) {
    EXPECT_EQ(EnvelopeViolations(event), json::array()) << event.dump();
  }
}

TEST_F(WorldWebhookTest, EnvelopesMatchTheSpecExceptClientUserIdFormat) {
  // The spec says client_user_id is a UUID; it is whatever the team chose (docs/junction.md:
  // Webhooks).
  ASSERT_NO_FATAL_FAILURE(RunEveryKindOfChange("patient-0001"));

  ASSERT_GE(events_.size(), 10u);
  for (const json& event : events_) {
    for (const json& violation : EnvelopeViolations(event)) {
      EXPECT_EQ(violation["loc"], json({"client_user_id"})) << violation.dump() << "\n"
                                                            << event.dump();
    }
  }
}

}  // namespace
}  // namespace lab_orders::sim
