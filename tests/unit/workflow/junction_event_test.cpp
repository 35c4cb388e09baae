#include "lab_orders/workflow/junction_event.h"

#include <gtest/gtest.h>

#include <stdexcept>
#include <string>
#include <vector>

namespace lab_orders::workflow {
namespace {

using nlohmann::json;

// The patient, as Junction echoes it in every order and appointment webhook. None of these may
// ever appear in what the parser keeps or in a message it throws.
const std::vector<std::string> kPhi = {
    "Marisol",        "Quintanilla",       "marisol.q@example.org",
    "+16025550199",   "1979-11-23",        "4417 North Juniper Lane",
    "Apt 9B",         "Flagstaff",         "86001",
    "Gate code 7731", "Afraid of needles", "Dog in the yard",
    "35.1983",
};

constexpr const char* kOrderId = "7d0f4f0e-1c55-4a3f-9b4e-2d1c9a0b7e11";
constexpr const char* kAppointmentId = "a1b2c3d4-0000-4a3f-9b4e-2d1c9a0b7e22";

json PatientDetails() {
  return {{"first_name", "Marisol"},
          {"last_name", "Quintanilla"},
          {"dob", "1979-11-23T00:00:00+00:00"},
          {"gender", "female"},
          {"phone_number", "+16025550199"},
          {"email", "marisol.q@example.org"}};
}

json Envelope(const std::string& event_type, json data) {
  return {{"event_type", event_type},
          {"user_id", "5e1a1f2c-6f3b-4d8a-9c0e-0a1b2c3d4e5f"},
          {"client_user_id", "01HZX3Q6V7K8M9N0P1R2S3T4U5"},
          {"team_id", "c1d2e3f4-5a6b-4c7d-8e9f-0a1b2c3d4e5f"},
          {"data", std::move(data)}};
}

json OrderEvent(int id, const std::string& low_status, const std::string& at) {
  std::string top = low_status == "ordered" || low_status == "requisition_created"
                        ? "received"
                        : "collecting_sample";
  return {{"id", id},
          {"created_at", at},
          {"status", top + ".at_home_phlebotomy." + low_status},
          {"status_detail", nullptr}};
}

// A ClientFacingOrder as Junction sends it (the simulator's shape).
json OrderData(json events) {
  json last = events.empty() ? json(nullptr) : events.back();
  return {
      {"id", kOrderId},
      {"user_id", "5e1a1f2c-6f3b-4d8a-9c0e-0a1b2c3d4e5f"},
      {"team_id", "c1d2e3f4-5a6b-4c7d-8e9f-0a1b2c3d4e5f"},
      {"patient_details", PatientDetails()},
      {"patient_address",
       {{"receiver_name", "Marisol Quintanilla"},
        {"first_line", "4417 North Juniper Lane"},
        {"second_line", "Apt 9B"},
        {"city", "Flagstaff"},
        {"state", "AZ"},
        {"zip", "86001"},
        {"country", "US"},
        {"access_notes", "Gate code 7731"}}},
      {"lab_test", {{"id", "5b2c1f6e-8f0a-4b4e-9d41-0a6f3c1e0001"}, {"slug", "pcos"}}},
      {"details",
       {{"type", "at_home_phlebotomy"}, {"data", {{"id", "d-1"}, {"appointment_id", nullptr}}}}},
      {"sample_id", nullptr},
      {"notes", "Afraid of needles"},
      {"clinical_notes", nullptr},
      {"created_at", "2025-03-01T12:00:00+00:00"},
      {"updated_at", "2025-03-01T12:05:00+00:00"},
      {"events", events},
      {"status", "received"},
      {"last_event", last},
      {"physician", nullptr},
      {"health_insurance_id", nullptr},
      {"requisition_form_url", nullptr},
      {"priority", false},
      {"shipping_details", nullptr},
      {"billing_type", "client_bill"},
      {"has_abn", false},
      {"origin", "initial"},
  };
}

json OrderEvents() {
  return json::array({OrderEvent(1201, "ordered", "2025-03-01T12:00:00+00:00"),
                      OrderEvent(1202, "requisition_created", "2025-03-01T12:00:01+00:00"),
                      OrderEvent(1207, "appointment_pending", "2025-03-01T12:05:00+00:00")});
}

// A ClientFacingAppointment as Junction sends it.
json AppointmentData(int event_count = 2) {
  json events = json::array();
  const char* statuses[] = {"pending", "scheduled", "scheduled", "cancelled"};
  for (int i = 0; i < event_count; ++i) {
    events.push_back({{"created_at", "2025-03-01T12:0" + std::to_string(i) + ":00+00:00"},
                      {"status", statuses[i % 4]},
                      {"data", nullptr}});
  }
  return {{"id", kAppointmentId},
          {"user_id", "5e1a1f2c-6f3b-4d8a-9c0e-0a1b2c3d4e5f"},
          {"order_id", kOrderId},
          {"order_transaction_id", "t-1"},
          {"address",
           {{"first_line", "4417 North Juniper Lane"},
            {"second_line", "Apt 9B"},
            {"city", "Flagstaff"},
            {"state", "AZ"},
            {"zip_code", "86001"},
            {"access_notes", "Gate code 7731"}}},
          {"location", {{"lng", -111.6513}, {"lat", 35.1983}}},
          {"start_at", "2025-03-04T15:00:00+00:00"},
          {"end_at", "2025-03-04T16:00:00+00:00"},
          {"iana_timezone", "America/Phoenix"},
          {"type", "phlebotomy"},
          {"provider", "getlabs"},
          {"status", "confirmed"},
          {"provider_id", "gl-123"},
          {"external_id", nullptr},
          {"can_reschedule", true},
          {"appointment_notes", "Dog in the yard"},
          {"event_status", "scheduled"},
          {"event_data", nullptr},
          {"events", events}};
}

void ExpectNoPhi(const std::string& text) {
  for (const std::string& value : kPhi) {
    EXPECT_EQ(text.find(value), std::string::npos) << "PHI value \"" << value << "\" in: " << text;
  }
}

// The message of the invalid_argument the parse throws ("" when it does not throw one).
std::string ParseError(const json& body) {
  try {
    ParseJunctionWebhook(body);
  } catch (const std::invalid_argument& e) {
    return e.what();
  }
  ADD_FAILURE() << "no std::invalid_argument";
  return "";
}

TEST(JunctionEventTest, HandledTypesAreTheOrderAndAppointmentLifecycleAndCriticalResults) {
  for (const char* type :
       {"labtest.order.created", "labtest.order.updated", "labtest.appointment.created",
        "labtest.appointment.updated", "labtest.result.critical"}) {
    EXPECT_TRUE(IsHandledJunctionEventType(type)) << type;
  }
  for (const char* type : {"labtest.result.normal", "message.attempt.exhausted", "",
                           "labtest.order", "LABTEST.ORDER.UPDATED", "labtest.order.updated "}) {
    EXPECT_FALSE(IsHandledJunctionEventType(type)) << type;
  }
}

TEST(JunctionEventTest, OrderCreatedTakesTheIdStatusAndEventId) {
  json events = json::array({OrderEvent(1201, "ordered", "2025-03-01T12:00:00+00:00")});
  auto event = ParseJunctionWebhook(Envelope("labtest.order.created", OrderData(events)));
  ASSERT_TRUE(event.has_value());
  EXPECT_EQ(event->event_type, "labtest.order.created");
  EXPECT_EQ(event->junction_order_id, kOrderId);
  EXPECT_EQ(event->order_status, "received.at_home_phlebotomy.ordered");
  EXPECT_EQ(event->order_event_id, 1201);
  EXPECT_FALSE(event->appointment.has_value());
}

TEST(JunctionEventTest, OrderUpdatedTakesTheLastEventStatusAndTheHighestEventId) {
  json events = OrderEvents();
  // Junction may list events in any order: the highest id counts, not the last one.
  std::swap(events[1], events[2]);
  json data = OrderData(events);
  data["last_event"] = OrderEvent(1207, "appointment_pending", "2025-03-01T12:05:00+00:00");
  auto event = ParseJunctionWebhook(Envelope("labtest.order.updated", data));
  ASSERT_TRUE(event.has_value());
  EXPECT_EQ(event->event_type, "labtest.order.updated");
  EXPECT_EQ(event->junction_order_id, kOrderId);
  EXPECT_EQ(event->order_status, "collecting_sample.at_home_phlebotomy.appointment_pending");
  EXPECT_EQ(event->order_event_id, 1207);
  EXPECT_FALSE(event->appointment.has_value());
}

TEST(JunctionEventTest, OrderWithoutLastEventFallsBackToTheLastListedEvent) {
  for (bool present_as_null : {true, false}) {
    SCOPED_TRACE(present_as_null ? "last_event null" : "last_event absent");
    json data = OrderData(OrderEvents());
    if (present_as_null) {
      data["last_event"] = nullptr;
    } else {
      data.erase("last_event");
    }
    auto event = ParseJunctionWebhook(Envelope("labtest.order.updated", data));
    ASSERT_TRUE(event.has_value());
    EXPECT_EQ(event->order_status, "collecting_sample.at_home_phlebotomy.appointment_pending");
    EXPECT_EQ(event->order_event_id, 1207);
  }
}

TEST(JunctionEventTest, AppointmentEventsTakeTheAppointmentWithoutItsAddress) {
  for (const char* type : {"labtest.appointment.created", "labtest.appointment.updated"}) {
    SCOPED_TRACE(type);
    auto event = ParseJunctionWebhook(Envelope(type, AppointmentData(3)));
    ASSERT_TRUE(event.has_value());
    EXPECT_EQ(event->event_type, type);
    EXPECT_EQ(event->junction_order_id, kOrderId);
    EXPECT_FALSE(event->order_status.has_value());
    EXPECT_EQ(event->order_event_id, 0);
    ASSERT_TRUE(event->appointment.has_value());
    const model::AppointmentView& view = *event->appointment;
    EXPECT_EQ(view.id, kAppointmentId);
    EXPECT_EQ(view.status, "confirmed");
    EXPECT_EQ(view.start_at, "2025-03-04T15:00:00+00:00");
    EXPECT_EQ(view.end_at, "2025-03-04T16:00:00+00:00");
    EXPECT_EQ(view.timezone, "America/Phoenix");
    EXPECT_EQ(view.provider, "getlabs");
    EXPECT_TRUE(view.can_reschedule);
    EXPECT_EQ(view.event_count, 3);
    EXPECT_EQ(view.site_address, std::nullopt) << "a home visit's address is the patient's";
    ExpectNoPhi(JunctionEventToJson(*event).dump());
  }
}

// A service center's address is the center's: kept (with the lab's code) for the patient's page,
// and carried through the job's payload.
TEST(JunctionEventTest, AServiceCentersAppointmentKeepsItsCodeAndAddress) {
  json data = AppointmentData(1);
  data["type"] = "patient_service_center";
  data["external_id"] = "QC1234ABCD";
  data["address"] = {{"first_line", "1120 North Central Avenue"},
                     {"second_line", nullptr},
                     {"city", "Phoenix"},
                     {"state", "AZ"},
                     {"zip_code", 85004}};
  auto event = ParseJunctionWebhook(Envelope("labtest.appointment.updated", data));
  ASSERT_TRUE(event.has_value());
  ASSERT_TRUE(event->appointment.has_value());
  EXPECT_EQ(event->appointment->confirmation_code, "QC1234ABCD");
  // A part that is not text (the ZIP, here) is left out rather than refusing the event.
  EXPECT_EQ(event->appointment->site_address, "1120 North Central Avenue, Phoenix, AZ ");
  data["address"]["zip_code"] = "85004";
  event = ParseJunctionWebhook(Envelope("labtest.appointment.updated", data));
  EXPECT_EQ(event->appointment->site_address, "1120 North Central Avenue, Phoenix, AZ 85004");
  EXPECT_EQ(JunctionEventFromJson(JunctionEventToJson(*event)).appointment->site_address,
            "1120 North Central Avenue, Phoenix, AZ 85004");
}

TEST(JunctionEventTest, PendingAppointmentWithoutTimesHasNoTimes) {
  json data = AppointmentData(1);
  data["status"] = "pending";
  data["start_at"] = nullptr;
  data["end_at"] = nullptr;
  data.erase("iana_timezone");
  data["can_reschedule"] = false;
  auto event = ParseJunctionWebhook(Envelope("labtest.appointment.created", data));
  ASSERT_TRUE(event.has_value());
  ASSERT_TRUE(event->appointment.has_value());
  EXPECT_EQ(event->appointment->status, "pending");
  EXPECT_FALSE(event->appointment->start_at.has_value());
  EXPECT_FALSE(event->appointment->end_at.has_value());
  EXPECT_FALSE(event->appointment->timezone.has_value());
  EXPECT_FALSE(event->appointment->can_reschedule);
  EXPECT_EQ(event->appointment->event_count, 1);
}

TEST(JunctionEventTest, ACriticalResultTakesTheOrderTheResultsStatusAndTheSample) {
  json critical = Envelope("labtest.result.critical", {{"order_id", kOrderId},
                                                       {"sample_id", "s-1"},
                                                       {"status", "partial"},
                                                       {"interpretation", "critical"},
                                                       {"team_id", "t"},
                                                       {"user_id", "u"}});
  std::optional<JunctionEvent> event = ParseJunctionWebhook(critical);
  ASSERT_TRUE(event.has_value());
  EXPECT_EQ(event->junction_order_id, kOrderId);
  EXPECT_EQ(event->critical_result_status, "partial");
  EXPECT_EQ(event->sample_id, "s-1");
  EXPECT_FALSE(event->order_status.has_value());
  // It survives the job payload.
  EXPECT_EQ(JunctionEventFromJson(JunctionEventToJson(*event)).critical_result_status, "partial");
  critical["data"].erase("status");
  EXPECT_THROW(ParseJunctionWebhook(critical), std::invalid_argument);
}

TEST(JunctionEventTest, OtherTypesAreIgnored) {
  EXPECT_FALSE(ParseJunctionWebhook(Envelope("message.attempt.exhausted", json::object())));
  EXPECT_FALSE(ParseJunctionWebhook(Envelope("labtest.order.deleted", nullptr)));
  // Not even an envelope (a Svix test message): nothing the workflow acts on.
  EXPECT_FALSE(ParseJunctionWebhook(json{{"test", 2432232314}}).has_value());
  EXPECT_FALSE(ParseJunctionWebhook(json{{"event_type", nullptr}}).has_value());
}

TEST(JunctionEventTest, NonObjectBodyOrTypeIsRefused) {
  EXPECT_THROW(ParseJunctionWebhook(json::array()), std::invalid_argument);
  EXPECT_THROW(ParseJunctionWebhook(json("labtest.order.updated")), std::invalid_argument);
  EXPECT_THROW(ParseJunctionWebhook(json{{"event_type", 7}}), std::invalid_argument);
}

struct MissingField {
  const char* event_type;
  const char* pointer;  // removed from the body
  const char* named;    // what the message must name
};

TEST(JunctionEventTest, EachMissingFieldIsNamedWithoutQuotingTheBody) {
  const MissingField cases[] = {
      {"labtest.order.created", "/data", "data"},
      {"labtest.order.updated", "/data/id", "data.id"},
      {"labtest.order.updated", "/data/events", "data.events"},
      {"labtest.order.updated", "/data/events/1/id", "data.events[].id"},
      {"labtest.order.updated", "/data/last_event/status", "data.last_event.status"},
      {"labtest.appointment.created", "/data", "data"},
      {"labtest.appointment.updated", "/data/order_id", "data.order_id"},
      {"labtest.appointment.updated", "/data/id", "data.id"},
      {"labtest.appointment.updated", "/data/status", "data.status"},
      {"labtest.appointment.updated", "/data/provider", "data.provider"},
      {"labtest.appointment.updated", "/data/can_reschedule", "data.can_reschedule"},
      {"labtest.appointment.updated", "/data/events", "data.events"},
  };
  for (const MissingField& missing : cases) {
    SCOPED_TRACE(std::string(missing.event_type) + " without " + missing.pointer);
    bool order = std::string(missing.event_type).find(".order.") != std::string::npos;
    json body = Envelope(missing.event_type, order ? OrderData(OrderEvents()) : AppointmentData());
    json::json_pointer pointer(missing.pointer);
    body[pointer.parent_pointer()].erase(pointer.back());
    std::string message = ParseError(body);
    EXPECT_NE(message.find(missing.named), std::string::npos) << message;
    ExpectNoPhi(message);
  }
}

TEST(JunctionEventTest, OrderWithNeitherLastEventNorEventsIsRefused) {
  json data = OrderData(json::array());
  std::string message = ParseError(Envelope("labtest.order.updated", data));
  EXPECT_NE(message.find("data.last_event"), std::string::npos) << message;
  ExpectNoPhi(message);
}

TEST(JunctionEventTest, WrongTypesAreNamedWithoutQuotingTheValue) {
  struct WrongType {
    const char* event_type;
    const char* pointer;
    json value;
    const char* named;
  };
  const WrongType cases[] = {
      {"labtest.order.updated", "/data/id", PatientDetails(), "data.id"},
      {"labtest.order.updated", "/data/id", "", "data.id"},
      {"labtest.order.updated", "/data/last_event", "Marisol Quintanilla", "data.last_event"},
      {"labtest.order.updated", "/data/last_event/status", json::array({"Marisol"}),
       "data.last_event.status"},
      {"labtest.order.updated", "/data/events", "4417 North Juniper Lane", "data.events"},
      {"labtest.order.updated", "/data/events/0/id", "marisol.q@example.org", "data.events[].id"},
      {"labtest.order.updated", "/data/events/0/id", 1.5, "data.events[].id"},
      {"labtest.order.created", "/data", "Marisol", "data"},
      {"labtest.appointment.updated", "/data/order_id", 86001, "data.order_id"},
      {"labtest.appointment.updated", "/data/start_at", "Marisol Quintanilla", "data.start_at"},
      {"labtest.appointment.updated", "/data/end_at", "1979-11-23", "data.end_at"},
      {"labtest.appointment.updated", "/data/iana_timezone", PatientDetails(),
       "data.iana_timezone"},
      {"labtest.appointment.updated", "/data/can_reschedule", "+16025550199",
       "data.can_reschedule"},
      {"labtest.appointment.updated", "/data/events", "Dog in the yard", "data.events"},
  };
  for (const WrongType& wrong : cases) {
    SCOPED_TRACE(std::string(wrong.event_type) + " with a bad " + wrong.pointer);
    bool order = std::string(wrong.event_type).find(".order.") != std::string::npos;
    json body = Envelope(wrong.event_type, order ? OrderData(OrderEvents()) : AppointmentData());
    body[json::json_pointer(wrong.pointer)] = wrong.value;
    std::string message = ParseError(body);
    EXPECT_NE(message.find(wrong.named), std::string::npos) << message;
    ExpectNoPhi(message);
  }
}

void ExpectSameEvent(const JunctionEvent& a, const JunctionEvent& b) {
  EXPECT_EQ(a.event_type, b.event_type);
  EXPECT_EQ(a.junction_order_id, b.junction_order_id);
  EXPECT_EQ(a.order_status, b.order_status);
  EXPECT_EQ(a.order_event_id, b.order_event_id);
  EXPECT_EQ(a.outbound_tracking_number, b.outbound_tracking_number);
  EXPECT_EQ(a.inbound_tracking_number, b.inbound_tracking_number);
  ASSERT_EQ(a.appointment.has_value(), b.appointment.has_value());
  if (!a.appointment) return;
  EXPECT_EQ(a.appointment->id, b.appointment->id);
  EXPECT_EQ(a.appointment->status, b.appointment->status);
  EXPECT_EQ(a.appointment->start_at, b.appointment->start_at);
  EXPECT_EQ(a.appointment->end_at, b.appointment->end_at);
  EXPECT_EQ(a.appointment->timezone, b.appointment->timezone);
  EXPECT_EQ(a.appointment->provider, b.appointment->provider);
  EXPECT_EQ(a.appointment->can_reschedule, b.appointment->can_reschedule);
  EXPECT_EQ(a.appointment->event_count, b.appointment->event_count);
}

TEST(JunctionEventTest, PayloadRoundTripsThroughItsText) {
  JunctionEvent order_event =
      *ParseJunctionWebhook(Envelope("labtest.order.updated", OrderData(OrderEvents())));
  JunctionEvent appointment_event =
      *ParseJunctionWebhook(Envelope("labtest.appointment.updated", AppointmentData(4)));
  JunctionEvent sparse;
  sparse.event_type = "labtest.appointment.created";
  sparse.junction_order_id = kOrderId;
  sparse.appointment = model::AppointmentView{
      "ap-1", "pending", std::nullopt, std::nullopt, std::nullopt, "phlebfinders",
      false,  1,         std::nullopt};
  JunctionEvent big_id;
  big_id.event_type = "labtest.order.updated";
  big_id.junction_order_id = kOrderId;
  big_id.order_status = "completed.at_home_phlebotomy.completed";
  big_id.order_event_id = 9007199254740993LL;  // beyond a double's exact integers
  for (const JunctionEvent* event : {&order_event, &appointment_event, &sparse, &big_id}) {
    SCOPED_TRACE(event->event_type);
    std::string text = JunctionEventToJson(*event).dump();
    ExpectNoPhi(text);
    ExpectSameEvent(JunctionEventFromJson(json::parse(text)), *event);
  }
}

// A test kit's order: its shipment's tracking numbers are kept (never the shipment's notes), and
// a shipment Junction has not made yet, or one of another shape, costs nothing.
TEST(JunctionEventTest, ATestKitsTrackingNumbersAreTakenFromItsShipment) {
  json data = OrderData(OrderEvents());
  data["details"] = {{"type", "testkit"},
                     {"data",
                      {{"id", "d-1"},
                       {"shipment",
                        {{"id", "s-1"},
                         {"outbound_tracking_number", "9400111202555842761234"},
                         {"outbound_tracking_url", "https://tools.usps.com/x"},
                         {"outbound_courier", "usps"},
                         {"inbound_tracking_number", nullptr},
                         {"inbound_tracking_url", nullptr},
                         {"inbound_courier", nullptr},
                         {"notes", "Leave with Marisol Quintanilla"}}}}}};
  JunctionEvent event = *ParseJunctionWebhook(Envelope("labtest.order.updated", data));
  EXPECT_EQ(event.outbound_tracking_number, "9400111202555842761234");
  EXPECT_EQ(event.inbound_tracking_number, std::nullopt);
  std::string text = JunctionEventToJson(event).dump();
  ExpectNoPhi(text);
  ExpectSameEvent(JunctionEventFromJson(json::parse(text)), event);

  for (const json& shipment : {json(nullptr), json("s-1"), json{{"outbound_tracking_number", 7}}}) {
    data["details"]["data"]["shipment"] = shipment;
    JunctionEvent without = *ParseJunctionWebhook(Envelope("labtest.order.updated", data));
    EXPECT_EQ(without.outbound_tracking_number, std::nullopt) << shipment.dump();
    EXPECT_EQ(without.order_status, event.order_status);
  }
}

TEST(JunctionEventTest, MalformedPayloadIsRefused) {
  json good = JunctionEventToJson(
      *ParseJunctionWebhook(Envelope("labtest.appointment.updated", AppointmentData())));
  EXPECT_NO_THROW(JunctionEventFromJson(good));
  EXPECT_THROW(JunctionEventFromJson(json::array()), std::invalid_argument);
  for (const char* pointer : {"/event_type", "/junction_order_id", "/order_event_id",
                              "/appointment/id", "/appointment/status", "/appointment/provider",
                              "/appointment/can_reschedule", "/appointment/event_count"}) {
    SCOPED_TRACE(pointer);
    json broken = good;
    json::json_pointer path(pointer);
    broken[path.parent_pointer()].erase(path.back());
    EXPECT_THROW(JunctionEventFromJson(broken), std::invalid_argument);
  }
  json wrong = good;
  wrong["appointment"] = "ap-1";
  EXPECT_THROW(JunctionEventFromJson(wrong), std::invalid_argument);
  wrong = good;
  wrong["order_event_id"] = "12";
  EXPECT_THROW(JunctionEventFromJson(wrong), std::invalid_argument);
  wrong = good;
  wrong["appointment"]["event_count"] = -1;
  EXPECT_THROW(JunctionEventFromJson(wrong), std::invalid_argument);
}

}  // namespace
}  // namespace lab_orders::workflow
