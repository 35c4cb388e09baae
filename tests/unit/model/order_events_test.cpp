#include "lab_orders/model/order_events.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "support/store_fixtures.h"

namespace lab_orders::model {
namespace {

using nlohmann::json;
using ::testing::ElementsAre;

const auto kT0 = std::chrono::system_clock::time_point(std::chrono::seconds(1'714'564'800));

model::LabOrder Order(const std::string& status) {
  model::LabOrder order = testing::ExampleOrder("order-1", "brand-1", kT0);
  order.status = status;
  order.external_order_id = "acme-7";
  order.metadata = {{"campaign", "spring"}};
  return order;
}

model::AppointmentView Appointment(const std::string& id, const std::string& status) {
  model::AppointmentView view;
  view.id = id;
  view.status = status;
  view.provider = "getlabs";
  return view;
}

std::vector<std::string> Types(const std::vector<OrderEvent>& events) {
  std::vector<std::string> types;
  for (const OrderEvent& event : events) types.push_back(event.type);
  return types;
}

TEST(OrderEventsTest, CreationIsOneCreatedEventEchoingTheBrandsIds) {
  std::vector<OrderEvent> events = OrderEventsFor(std::nullopt, Order("ordered"));
  ASSERT_THAT(Types(events), ElementsAre("lab_order.created"));
  EXPECT_EQ(events[0].data["external_order_id"], "acme-7");
  EXPECT_EQ(events[0].data["metadata"], json({{"campaign", "spring"}}));
  EXPECT_EQ(events[0].data["order"]["id"], "order-1");
  EXPECT_EQ(events[0].data["order"]["status"], "ordered");
  // No patient data in an event.
  EXPECT_EQ(events[0].data.dump().find("Example"), std::string::npos);
  EXPECT_EQ(events[0].data.dump().find("97405"), std::string::npos);
}

// Placed on the brand's fallback channel: said once, right after the creation.
TEST(OrderEventsTest, AnOrderPlacedOnItsFallbackChannelSaysSoAfterItsCreation) {
  model::LabOrder order = Order("ordered");
  order.workflow.collection_method = model::kWalkIn;
  order.workflow.channel_changed_from = model::kAtHome;
  order.workflow.channel_change_reason = "area_not_served";
  std::vector<OrderEvent> events = OrderEventsFor(std::nullopt, order);
  ASSERT_EQ(events.size(), 2u);
  EXPECT_EQ(events[0].type, kEventOrderCreated);
  EXPECT_EQ(events[1].type, kEventChannelChanged);
  EXPECT_EQ(events[1].data["previous_collection_method"], "at_home_phlebotomy");
  EXPECT_EQ(events[1].data["collection_method"], "walk_in");
  EXPECT_EQ(events[1].data["reason"], "area_not_served");
  EXPECT_EQ(events[1].data["order"]["collection_method"], "walk_in");
  // Later changes of the order do not say it again.
  OrderBefore before{"ordered", std::nullopt};
  before.collection_method = model::kWalkIn;
  EXPECT_TRUE(OrderEventsFor(before, order).empty());
}

// Moved to the fallback channel after the provider's cancellations: said once, before the status
// change the move brings.
TEST(OrderEventsTest, AnOrderMovedToItsFallbackChannelSaysSoBeforeItsStatusChange) {
  model::LabOrder order = Order("ordered");
  order.workflow.collection_method = model::kWalkIn;
  order.workflow.channel_changed_from = model::kAtHome;
  order.workflow.channel_change_reason = "provider_cancelled";
  OrderBefore before{"appointment_cancelled", std::nullopt};
  before.collection_method = model::kAtHome;
  std::vector<OrderEvent> events = OrderEventsFor(before, order);
  ASSERT_EQ(events.size(), 2u);
  EXPECT_EQ(events[0].type, kEventChannelChanged);
  EXPECT_EQ(events[0].data["previous_collection_method"], "at_home_phlebotomy");
  EXPECT_EQ(events[0].data["reason"], "provider_cancelled");
  EXPECT_EQ(events[1].type, kEventOrderUpdated);
  EXPECT_EQ(events[1].data["status"], "ordered");
}

TEST(OrderEventsTest, AStatusChangeSaysThePreviousAndTheNewStatus) {
  std::vector<OrderEvent> events =
      OrderEventsFor(OrderBefore{"ordered", std::nullopt}, Order("appointment_pending"));
  ASSERT_THAT(Types(events), ElementsAre("lab_order.updated"));
  EXPECT_EQ(events[0].data["previous_status"], "ordered");
  EXPECT_EQ(events[0].data["status"], "appointment_pending");
  EXPECT_EQ(events[0].data["external_order_id"], "acme-7");
}

TEST(OrderEventsTest, NoVisibleChangeIsNoEvent) {
  model::LabOrder after = Order("ordered");
  after.workflow.junction_event_id = 9;
  EXPECT_TRUE(OrderEventsFor(OrderBefore{"ordered", std::nullopt}, after).empty());
}

TEST(OrderEventsTest, AppointmentEventsComeBeforeTheStatusChangeTheyCause) {
  model::LabOrder booked = Order("appointment_pending");
  booked.workflow.appointment = Appointment("appt-1", "pending");
  EXPECT_THAT(Types(OrderEventsFor(OrderBefore{"ordered", std::nullopt}, booked)),
              ElementsAre("appointment.booked", "lab_order.updated"));

  model::LabOrder confirmed = Order("appointment_scheduled");
  confirmed.workflow.appointment = Appointment("appt-1", "confirmed");
  std::vector<OrderEvent> events = OrderEventsFor(
      OrderBefore{"appointment_pending", Appointment("appt-1", "pending")}, confirmed);
  ASSERT_THAT(Types(events), ElementsAre("appointment.confirmed", "lab_order.updated"));
  EXPECT_EQ(events[0].data["appointment_id"], "appt-1");

  model::LabOrder cancelled = Order("appointment_cancelled");
  cancelled.workflow.appointment = Appointment("appt-1", "cancelled");
  EXPECT_THAT(
      Types(OrderEventsFor(OrderBefore{"appointment_scheduled", Appointment("appt-1", "confirmed")},
                           cancelled)),
      ElementsAre("appointment.cancelled", "lab_order.updated"));
  // Who cancelled it: Junction (the provider or the patient) unless the brand did.
  const OrderBefore confirmed_before{"appointment_scheduled", Appointment("appt-1", "confirmed")};
  EXPECT_EQ(OrderEventsFor(confirmed_before, cancelled)[0].data["cancelled_by"], "junction");
  cancelled.workflow.appointment_cancelled_by = "brand";
  EXPECT_EQ(OrderEventsFor(confirmed_before, cancelled)[0].data["cancelled_by"], "brand");
  EXPECT_EQ(
      OrderEventsFor(confirmed_before, cancelled)[0].data["order"]["appointment"]["cancelled_by"],
      "brand");

  model::LabOrder rebooked = Order("appointment_scheduled");
  rebooked.workflow.appointment = Appointment("appt-2", "confirmed");
  EXPECT_THAT(
      Types(OrderEventsFor(OrderBefore{"appointment_cancelled", Appointment("appt-1", "cancelled")},
                           rebooked)),
      ElementsAre("appointment.booked", "appointment.confirmed", "lab_order.updated"));
}

// A test kit's way: each stage once and in order, with its tracking number, also when Junction's
// news skipped one; none for an order of another channel.
// appointment.booked says who booked: the workflow (lab_orders) unless someone else did.
TEST(OrderEventsTest, ABookingSaysWhoMadeIt) {
  model::LabOrder booked = Order("appointment_pending");
  booked.workflow.appointment = Appointment("appt-1", "pending");
  std::vector<OrderEvent> events = OrderEventsFor(OrderBefore{"ordered", std::nullopt}, booked);
  ASSERT_EQ(events[0].type, "appointment.booked");
  EXPECT_EQ(events[0].data["appointment_id"], "appt-1");
  EXPECT_EQ(events[0].data["booked_by"], "lab_orders");
  for (const char* who : {"patient", "brand", "junction"}) {
    booked.workflow.booked_by = who;
    events = OrderEventsFor(OrderBefore{"ordered", std::nullopt}, booked);
    EXPECT_EQ(events[0].data["booked_by"], who);
  }
}

TEST(OrderEventsTest, AKitsWayIsToldStageByStage) {
  model::LabOrder shipped = Order("kit_shipped");
  shipped.workflow.collection_method = model::kTestkit;
  shipped.workflow.tracking_number = "9400111202555842761234";
  std::vector<OrderEvent> events = OrderEventsFor(OrderBefore{"ordered", std::nullopt}, shipped);
  ASSERT_THAT(Types(events), ElementsAre("lab_order.kit_shipped", "lab_order.updated"));
  EXPECT_EQ(events[0].data["tracking_number"], "9400111202555842761234");
  EXPECT_EQ(events[0].data["order"]["tracking_number"], "9400111202555842761234");

  model::LabOrder in_transit = shipped;
  in_transit.status = "sample_in_transit";
  in_transit.workflow.return_tracking_number = "9202111202555842765678";
  events = OrderEventsFor(OrderBefore{"kit_shipped", std::nullopt}, in_transit);
  ASSERT_THAT(Types(events), ElementsAre("lab_order.kit_delivered", "lab_order.sample_in_transit",
                                         "lab_order.updated"));
  EXPECT_EQ(events[1].data["return_tracking_number"], "9202111202555842765678");

  model::LabOrder at_lab = in_transit;
  at_lab.status = "sample_with_lab";
  EXPECT_THAT(Types(OrderEventsFor(OrderBefore{"sample_in_transit", std::nullopt}, at_lab)),
              ElementsAre("lab_order.updated"));
  EXPECT_THAT(Types(OrderEventsFor(OrderBefore{"ordered", std::nullopt}, at_lab)),
              ElementsAre("lab_order.kit_shipped", "lab_order.kit_delivered",
                          "lab_order.sample_in_transit", "lab_order.updated"));
  // Lost on the way: nothing said of stages it never reached.
  model::LabOrder lost = shipped;
  lost.status = "failed";
  EXPECT_THAT(Types(OrderEventsFor(OrderBefore{"kit_shipped", std::nullopt}, lost)),
              ElementsAre("lab_order.updated", "lab_order.failed"));

  model::LabOrder at_home = Order("sample_with_lab");
  EXPECT_THAT(Types(OrderEventsFor(OrderBefore{"draw_completed", std::nullopt}, at_home)),
              ElementsAre("lab_order.updated"));
}

TEST(OrderEventsTest, TerminalStatusesHaveTheirOwnEventAfterTheUpdate) {
  for (const auto& [status, type] :
       std::vector<std::pair<std::string, std::string>>{{"completed", "lab_order.completed"},
                                                        {"cancelled", "lab_order.cancelled"},
                                                        {"failed", "lab_order.failed"}}) {
    EXPECT_THAT(Types(OrderEventsFor(OrderBefore{"ordered", std::nullopt}, Order(status))),
                ElementsAre("lab_order.updated", type));
  }
}

TEST(OrderEventsTest, TheSameAppointmentAtAnotherTimeIsRescheduledSayingWhoMovedIt) {
  model::AppointmentView was = Appointment("appt-1", "confirmed");
  was.start_at = "2024-05-08T16:00:00+00:00";
  was.end_at = "2024-05-08T16:30:00+00:00";
  model::LabOrder moved = Order("appointment_scheduled");
  moved.workflow.appointment = was;
  moved.workflow.appointment->start_at = "2024-05-09T16:00:00+00:00";
  moved.workflow.appointment->end_at = "2024-05-09T16:30:00+00:00";
  std::vector<OrderEvent> events = OrderEventsFor(OrderBefore{"appointment_scheduled", was}, moved);
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].type, "appointment.rescheduled");
  EXPECT_EQ(events[0].data["appointment_id"], "appt-1");
  EXPECT_EQ(events[0].data["previous_start_at"], *was.start_at);
  EXPECT_EQ(events[0].data["start_at"], "2024-05-09T16:00:00+00:00");
  EXPECT_EQ(events[0].data["end_at"], "2024-05-09T16:30:00+00:00");
  EXPECT_EQ(events[0].data["rescheduled_by"], "junction");  // unless the brand did
  moved.workflow.rescheduled_by = "brand";
  EXPECT_EQ(
      OrderEventsFor(OrderBefore{"appointment_scheduled", was}, moved)[0].data["rescheduled_by"],
      "brand");
  // Nothing moved: nothing to tell.
  model::LabOrder same = Order("appointment_scheduled");
  same.workflow.appointment = was;
  EXPECT_TRUE(OrderEventsFor(OrderBefore{"appointment_scheduled", was}, same).empty());
}

TEST(OrderEventsTest, EnvelopeHasTypeTimestampAndData) {
  OrderEvent event = OrderEventsFor(std::nullopt, Order("ordered"))[0];
  json envelope = EventEnvelope(event, "2024-05-01T12:00:00Z");
  EXPECT_EQ(envelope["type"], "lab_order.created");
  EXPECT_EQ(envelope["timestamp"], "2024-05-01T12:00:00Z");
  EXPECT_EQ(envelope["data"], event.data);
  EXPECT_TRUE(IsEventType("appointment.booked"));
  EXPECT_FALSE(IsEventType("job.created"));
  EXPECT_EQ(EventTypes().size(), 16u);
  EXPECT_TRUE(IsPriorityEventType(kEventResultCritical));
  EXPECT_FALSE(IsPriorityEventType(kEventResultsReady));
}

}  // namespace
}  // namespace lab_orders::model
