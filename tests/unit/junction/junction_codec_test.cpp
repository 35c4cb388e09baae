#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <chrono>
#include <functional>
#include <nlohmann/json.hpp>
#include <string>
#include <variant>
#include <vector>

#include "junction/codec.h"
#include "lab_orders/common/clock.h"
#include "lab_orders/common/ids.h"
#include "lab_orders/sim/catalog.h"
#include "lab_orders/sim/junction_spec.h"
#include "lab_orders/sim/openapi_validator.h"
#include "lab_orders/sim/world.h"
#include "support/fakes.h"

namespace lab_orders::junction {
namespace {

using lab_orders::testing::CountingIdGenerator;
using lab_orders::testing::FakeClock;

using namespace std::chrono_literals;
using nlohmann::json;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Not;
using TimePoint = std::chrono::system_clock::time_point;

const TimePoint kStart = std::chrono::sys_days{std::chrono::year{2030} / 1 / 7} + 15h;

const sim::OpenApiValidator& JunctionValidator() {
  static const sim::OpenApiValidator validator(json::parse(sim::JunctionSpecText()));
  return validator;
}

// Violations of an operation's request body schema; compare with json::array() so failures
// print them.
json RequestViolations(const std::string& method, const std::string& path, const json& body) {
  const json* schema = JunctionValidator().RequestBodySchema(method, path);
  if (schema == nullptr) return {{"no request schema for", method + " " + path}};
  json all = json::array();
  for (const auto& violation : JunctionValidator().Validate(*schema, body, json::array({"body"}))) {
    all.push_back(violation.ToJson());
  }
  return all;
}

std::vector<std::string> Keys(const json& object) {
  std::vector<std::string> keys;
  for (const auto& [key, value] : object.items()) keys.push_back(key);
  return keys;  // nlohmann::json keeps object keys sorted
}

CreateOrderRequest SampleOrder(const std::string& user_id) {
  CreateOrderRequest request;
  request.user_id = user_id;
  request.patient_details = {"Ada",    "Lovelace",     "1990-02-28",
                             "female", "+16025550100", "ada@example.com"};
  request.patient_address.first_line = "123 West Lincoln Street";
  request.patient_address.city = "Phoenix";
  request.patient_address.state = "AZ";
  request.patient_address.zip = "85004";
  request.patient_address.country = "US";
  request.lab_test_ids = {sim::Catalog().front().id};
  request.idempotency_key = "7f1d3c1a-0000-4000-8000-000000000001";
  return request;
}

USAddress SampleUSAddress() {
  USAddress address;
  address.first_line = "123 West Lincoln Street";
  address.city = "Phoenix";
  address.state = "AZ";
  address.zip_code = "85004";
  return address;
}

// ---- encoders -----------------------------------------------------------------------------------

TEST(JunctionEncodeTest, CreateUserCarriesOnlyTheClientUserId) {
  json body = EncodeCreateUser({"patient-0001"});
  EXPECT_EQ(body, json({{"client_user_id", "patient-0001"}}));
  EXPECT_EQ(RequestViolations("POST", "/v2/user", body), json::array());
}

TEST(JunctionEncodeTest, CreateOrderUsesTheSpecsFieldNames) {
  json body = EncodeCreateOrder(SampleOrder("63661a2b-2bb3-4125-bb1a-b590f64f057f"));

  EXPECT_THAT(Keys(body), ElementsAre("collection_method", "order_set", "patient_address",
                                      "patient_details", "user_id"));
  EXPECT_EQ(body["user_id"], "63661a2b-2bb3-4125-bb1a-b590f64f057f");
  EXPECT_EQ(body["collection_method"], "at_home_phlebotomy");
  EXPECT_EQ(body["order_set"], json({{"lab_test_ids", {sim::Catalog().front().id}}}));
  EXPECT_EQ(body["patient_details"], json({{"first_name", "Ada"},
                                           {"last_name", "Lovelace"},
                                           {"dob", "1990-02-28"},
                                           {"gender", "female"},
                                           {"phone_number", "+16025550100"},
                                           {"email", "ada@example.com"}}));
  // PatientAddressWithValidation calls the postal code "zip" (USAddress says "zip_code").
  EXPECT_EQ(body["patient_address"], json({{"first_line", "123 West Lincoln Street"},
                                           {"city", "Phoenix"},
                                           {"state", "AZ"},
                                           {"zip", "85004"},
                                           {"country", "US"}}));
  EXPECT_EQ(RequestViolations("POST", "/v3/order", body), json::array());
}

TEST(JunctionEncodeTest, CreateOrderIncludesOptionalAddressLinesWhenSet) {
  CreateOrderRequest request = SampleOrder("63661a2b-2bb3-4125-bb1a-b590f64f057f");
  request.patient_address.second_line = "Apt 4";
  request.patient_address.access_notes = "Gate code 42";

  json body = EncodeCreateOrder(request);

  EXPECT_EQ(body["patient_address"]["second_line"], "Apt 4");
  EXPECT_EQ(body["patient_address"]["access_notes"], "Gate code 42");
  EXPECT_FALSE(body["patient_address"].contains("zip_code"));
  EXPECT_EQ(RequestViolations("POST", "/v3/order", body), json::array());
}

TEST(JunctionEncodeTest, CreateOrderLeavesTheIdempotencyKeyToTheHeader) {
  json body = EncodeCreateOrder(SampleOrder("63661a2b-2bb3-4125-bb1a-b590f64f057f"));
  EXPECT_THAT(body.dump(), Not(HasSubstr("7f1d3c1a")));
}

TEST(JunctionEncodeTest, USAddressUsesZipCode) {
  json body = EncodeUSAddress(SampleUSAddress());

  EXPECT_EQ(body, json({{"first_line", "123 West Lincoln Street"},
                        {"city", "Phoenix"},
                        {"state", "AZ"},
                        {"zip_code", "85004"}}));
  EXPECT_EQ(RequestViolations("POST", "/v3/order/phlebotomy/appointment/availability", body),
            json::array());

  USAddress full = SampleUSAddress();
  full.second_line = "Apt 4";
  full.access_notes = "Dog in the yard";
  json full_body = EncodeUSAddress(full);
  EXPECT_EQ(full_body["second_line"], "Apt 4");
  EXPECT_EQ(full_body["access_notes"], "Dog in the yard");
  EXPECT_FALSE(full_body.contains("zip"));
  EXPECT_EQ(RequestViolations("POST", "/v3/order/phlebotomy/appointment/availability", full_body),
            json::array());
}

TEST(JunctionEncodeTest, BookingOmitsUnsetOptionalFields) {
  BookingRequest request;
  request.booking_key = "bk_123";

  json body = EncodeBooking(request);

  EXPECT_EQ(body, json({{"booking_key", "bk_123"}, {"async_confirmation", false}}));
  EXPECT_EQ(RequestViolations("POST", "/v3/order/{order_id}/phlebotomy/appointment/book", body),
            json::array());
}

TEST(JunctionEncodeTest, BookingCarriesEveryFieldWhenSet) {
  BookingRequest request;
  request.booking_key = "bk_123";
  request.appointment_notes = "Ring twice";
  request.async_confirmation = true;
  request.sync_confirmation_timeout_ms = 2000;
  request.async_confirmation_timeout_ms = 900000;

  json body = EncodeBooking(request);

  EXPECT_EQ(body, json({{"booking_key", "bk_123"},
                        {"appointment_notes", "Ring twice"},
                        {"async_confirmation", true},
                        {"sync_confirmation_timeout_millisecond", 2000},
                        {"async_confirmation_timeout_millisecond", 900000}}));
  EXPECT_EQ(RequestViolations("POST", "/v3/order/{order_id}/phlebotomy/appointment/book", body),
            json::array());
}

TEST(JunctionEncodeTest, RescheduleBody) {
  json minimal = EncodeReschedule({"bk_456", std::nullopt});
  EXPECT_EQ(minimal, json({{"booking_key", "bk_456"}}));
  json full = EncodeReschedule({"bk_456", "Back door"});
  EXPECT_EQ(full, json({{"booking_key", "bk_456"}, {"appointment_notes", "Back door"}}));
  for (const json& body : {minimal, full}) {
    EXPECT_EQ(
        RequestViolations("PATCH", "/v3/order/{order_id}/phlebotomy/appointment/reschedule", body),
        json::array());
  }
}

TEST(JunctionEncodeTest, CancelAppointmentBodyIsSnakeCase) {
  const std::string reason = "0b1cbd44-7c2b-4b1e-9c55-4a0f3e2d1a01";
  json minimal = EncodeCancelAppointment({reason, std::nullopt});
  EXPECT_EQ(minimal, json({{"cancellation_reason_id", reason}}));
  json full = EncodeCancelAppointment({reason, "moving house"});
  EXPECT_EQ(full, json({{"cancellation_reason_id", reason}, {"notes", "moving house"}}));
  for (const json& body : {minimal, full}) {
    EXPECT_EQ(
        RequestViolations("PATCH", "/v3/order/{order_id}/phlebotomy/appointment/cancel", body),
        json::array());
  }
}

// ---- decoders, fed by the simulator ------------------------------------------------------------

class JunctionDecodeTest : public ::testing::Test {
 protected:
  JunctionDecodeTest() : world_(clock_, ids_, {}) {}

  std::string CreateUser() {
    sim::SimResponse answer = world_.CreateUser(EncodeCreateUser({"patient-0001"}));
    EXPECT_EQ(answer.status, 200) << answer.body.dump();
    return answer.body.value("user_id", "");
  }

  json CreateOrder() {
    sim::SimResponse answer = world_.CreateOrder(EncodeCreateOrder(SampleOrder(CreateUser())));
    EXPECT_EQ(answer.status, 200) << answer.body.dump();
    return answer.body;
  }

  json Book(const std::string& order_id) {
    json availability = world_.Availability(EncodeUSAddress(SampleUSAddress()), std::nullopt).body;
    BookingRequest request;
    request.booking_key = availability["slots"][0]["slots"][0]["booking_key"];
    request.appointment_notes = "Ring twice";
    json body = EncodeBooking(request);
    auto plan = world_.PlanBooking(order_id, body, 1);
    EXPECT_TRUE(std::holds_alternative<sim::BookingPlan>(plan));
    if (!std::holds_alternative<sim::BookingPlan>(plan))
      return std::get<sim::SimResponse>(plan).body;
    sim::SimResponse answer =
        world_.CommitBooking(order_id, body, std::get<sim::BookingPlan>(plan));
    EXPECT_EQ(answer.status, 200) << answer.body.dump();
    return answer.body;
  }

  FakeClock clock_{kStart};
  CountingIdGenerator ids_;
  sim::World world_;
};

TEST_F(JunctionDecodeTest, User) {
  json body = world_.CreateUser(EncodeCreateUser({"patient-0001"})).body;

  User user = DecodeUser(body);

  EXPECT_EQ(user.user_id, body["user_id"]);
  EXPECT_EQ(user.team_id, sim::World::kTeamId);
  EXPECT_EQ(user.client_user_id, "patient-0001");
  EXPECT_EQ(user.created_on, FormatRfc3339(kStart));
}

TEST_F(JunctionDecodeTest, LabTests) {
  std::vector<LabTest> tests = DecodeLabTests(world_.ListLabTests().body);

  ASSERT_EQ(tests.size(), sim::Catalog().size());
  for (size_t i = 0; i < tests.size(); ++i) {
    const sim::CatalogEntry& entry = sim::Catalog()[i];
    EXPECT_EQ(tests[i].id, entry.id);
    EXPECT_EQ(tests[i].slug, entry.slug);
    EXPECT_EQ(tests[i].name, entry.name);
    EXPECT_EQ(tests[i].fasting, entry.fasting);
    EXPECT_EQ(tests[i].method, "at_home_phlebotomy");
    EXPECT_EQ(tests[i].status, "active");
    EXPECT_EQ(tests[i].sample_type, "serum");
  }
}

TEST_F(JunctionDecodeTest, OrderResponse) {
  json body = CreateOrder();

  OrderResponse response = DecodeOrderResponse(body);

  EXPECT_EQ(response.status, "success");
  EXPECT_FALSE(response.message.empty());
  const Order& order = response.order;
  EXPECT_EQ(order.id, body["order"]["id"]);
  EXPECT_EQ(order.user_id, body["order"]["user_id"]);
  EXPECT_EQ(order.team_id, sim::World::kTeamId);
  EXPECT_EQ(order.status, "received.at_home_phlebotomy.requisition_created");
  EXPECT_EQ(order.low_level_status, "requisition_created");
  ASSERT_EQ(order.events.size(), 2u);
  EXPECT_EQ(order.events[0].status, "received.at_home_phlebotomy.ordered");
  EXPECT_EQ(order.events[0].created_at, FormatRfc3339(kStart));
  EXPECT_LT(order.events[0].id, order.events[1].id);
  EXPECT_EQ(order.appointment_id, std::nullopt);
  EXPECT_EQ(order.order_transaction_id, body["order"]["order_transaction"]["id"]);
  EXPECT_EQ(order.created_at, FormatRfc3339(kStart));
  EXPECT_EQ(order.updated_at, FormatRfc3339(kStart));
}

TEST_F(JunctionDecodeTest, OrderWithAppointment) {
  std::string order_id = CreateOrder()["order"]["id"];
  json appointment = Book(order_id);

  Order order = DecodeOrder(world_.GetOrder(order_id).body);

  EXPECT_EQ(order.id, order_id);
  EXPECT_EQ(order.appointment_id, appointment["id"]);
  EXPECT_EQ(order.low_level_status, "appointment_scheduled");
  EXPECT_EQ(order.events.size(), 3u);
}

TEST_F(JunctionDecodeTest, ServiceCentersAndTheLabsIdsTheAreaInfoGives) {
  EXPECT_EQ(DecodeAreaInfo(world_.AreaInfo("85004").body).service_center_lab_ids.at("quest"), 1);
  sim::SimResponse near = world_.ServiceCenters("85004", 1, 10);
  ServiceCenters centers = DecodeServiceCenters(near.body);
  EXPECT_EQ(centers.lab_id, 1);
  EXPECT_EQ(centers.lab, "quest");
  ASSERT_EQ(centers.centers.size(), 2u) << "those within 10 miles";
  EXPECT_EQ(centers.centers[0].site_code, "Q85004A");
  EXPECT_EQ(centers.centers[0].distance_miles, 2);
  EXPECT_EQ(centers.centers[0].zip_code, "85004");
  EXPECT_TRUE(centers.centers[0].hours_json.has_value());
  EXPECT_THAT(centers.centers[0].capabilities, ElementsAre("appointment_scheduling_via_junction"));
  EXPECT_EQ(DecodeServiceCenters(world_.ServiceCenters("85004", 1, 25).body).centers.size(), 3u);
  EXPECT_TRUE(DecodeServiceCenters(world_.ServiceCenters("85004", 2, 25).body).centers.empty());
  json broken = near.body;
  broken["patient_service_centers"][0]["distance"] = "far";
  EXPECT_THROW(DecodeServiceCenters(broken), MalformedJunctionJson);
}

TEST_F(JunctionDecodeTest, TestKitOrderWithItsShipment) {
  json body = CreateOrder()["order"];
  body["details"] = {{"type", "testkit"},
                     {"data",
                      {{"id", "d-1"},
                       {"shipment",
                        {{"id", "s-1"},
                         {"outbound_tracking_number", "9400111202555842761234"},
                         {"outbound_tracking_url", nullptr},
                         {"outbound_courier", "usps"},
                         {"inbound_tracking_number", nullptr},
                         {"inbound_tracking_url", nullptr},
                         {"inbound_courier", nullptr},
                         {"notes", nullptr}}},
                       {"created_at", "2025-03-01T12:00:00+00:00"},
                       {"updated_at", "2025-03-01T12:00:00+00:00"}}}};
  Order order = DecodeOrder(body);
  EXPECT_EQ(order.outbound_tracking_number, "9400111202555842761234");
  EXPECT_EQ(order.inbound_tracking_number, std::nullopt);
  body["details"]["data"]["shipment"] = nullptr;
  EXPECT_EQ(DecodeOrder(body).outbound_tracking_number, std::nullopt);
}

TEST_F(JunctionDecodeTest, AreaInfo) {
  auto served = DecodeAreaInfo(world_.AreaInfo("85004").body);
  EXPECT_EQ(served.zip_code, "85004");
  EXPECT_TRUE(served.phlebotomy_served);
  ASSERT_EQ(served.providers.size(), 1u);
  EXPECT_EQ(served.providers[0].name, "getlabs");
  EXPECT_THAT(served.providers[0].service_types, ElementsAre("appointment-ready"));

  auto unserved = DecodeAreaInfo(world_.AreaInfo("60601").body);
  EXPECT_FALSE(unserved.phlebotomy_served);
  EXPECT_TRUE(unserved.providers.empty());
  // A lab counts for walk-in draws when it has service centers within the radius.
  EXPECT_THAT(unserved.labs_with_service_centers, ElementsAre("quest"));
  json far = world_.AreaInfo("60601").body;
  far["central_labs"]["quest"]["patient_service_centers"]["within_radius"] = 0;
  far["central_labs"]["labcorp"] = far["central_labs"]["quest"];
  far["central_labs"]["labcorp"]["patient_service_centers"]["within_radius"] = 2;
  EXPECT_THAT(DecodeAreaInfo(far).labs_with_service_centers, ElementsAre("labcorp"));
}

TEST_F(JunctionDecodeTest, Availability) {
  json body = world_.Availability(EncodeUSAddress(SampleUSAddress()), std::nullopt).body;

  Availability availability = DecodeAvailability(body);

  EXPECT_EQ(availability.timezone, "America/Phoenix");
  ASSERT_EQ(availability.days.size(), body["slots"].size());
  ASSERT_FALSE(availability.days.empty());
  const DaySlots& first_day = availability.days.front();
  EXPECT_EQ(first_day.date, body["slots"][0]["date"]);
  ASSERT_FALSE(first_day.slots.empty());
  const TimeSlot& slot = first_day.slots.front();
  const json& raw = body["slots"][0]["slots"][0];
  EXPECT_EQ(slot.booking_key, raw["booking_key"]);
  EXPECT_EQ(slot.start, raw["start"]);
  EXPECT_EQ(slot.end, raw["end"]);
  EXPECT_EQ(slot.expires_at, FormatRfc3339(kStart + 15min));
  EXPECT_EQ(slot.price, 0.0);
  EXPECT_FALSE(slot.is_priority);
  EXPECT_EQ(slot.num_appointments_available, 10);

  USAddress elsewhere = SampleUSAddress();
  elsewhere.zip_code = "60601";
  Availability none =
      DecodeAvailability(world_.Availability(EncodeUSAddress(elsewhere), std::nullopt).body);
  EXPECT_EQ(none.timezone, std::nullopt);
  EXPECT_TRUE(none.days.empty());
}

TEST_F(JunctionDecodeTest, Appointment) {
  std::string order_id = CreateOrder()["order"]["id"];
  json body = Book(order_id);

  Appointment appointment = DecodeAppointment(body);

  EXPECT_EQ(appointment.id, body["id"]);
  EXPECT_EQ(appointment.order_id, order_id);
  EXPECT_EQ(appointment.user_id, body["user_id"]);
  EXPECT_EQ(appointment.address.zip_code, "85004");
  EXPECT_EQ(appointment.address.first_line, "123 West Lincoln Street");
  EXPECT_EQ(appointment.address.second_line, std::nullopt);
  EXPECT_EQ(appointment.start_at, FormatRfc3339(kStart + 48h));
  EXPECT_EQ(appointment.end_at, FormatRfc3339(kStart + 49h));
  EXPECT_EQ(appointment.iana_timezone, "America/Phoenix");
  EXPECT_EQ(appointment.type, "phlebotomy");
  EXPECT_EQ(appointment.provider, "getlabs");
  EXPECT_EQ(appointment.status, "confirmed");
  EXPECT_EQ(appointment.event_status, "scheduled");
  EXPECT_EQ(appointment.provider_id, body["provider_id"]);
  EXPECT_TRUE(appointment.can_reschedule);
  ASSERT_EQ(appointment.events.size(), 1u);
  EXPECT_EQ(appointment.events[0].status, "scheduled");
  EXPECT_EQ(appointment.external_id, std::nullopt);

  EXPECT_EQ(DecodeAppointment(world_.GetAppointment(order_id).body).id, appointment.id);
}

TEST_F(JunctionDecodeTest, CancellationReasons) {
  json body = world_.CancellationReasons().body;

  std::vector<CancellationReason> reasons = DecodeCancellationReasons(body);

  ASSERT_EQ(reasons.size(), body.size());
  ASSERT_FALSE(reasons.empty());
  EXPECT_EQ(reasons[0].id, body[0]["id"]);
  EXPECT_EQ(reasons[0].name, body[0]["name"]);
  EXPECT_EQ(reasons[0].is_refundable, body[0]["is_refundable"]);
}

TEST_F(JunctionDecodeTest, UnknownEnumValuesAreKeptAsStrings) {
  std::string order_id = CreateOrder()["order"]["id"];
  json appointment = Book(order_id);
  appointment["status"] = "rescheduling_hold";
  appointment["event_status"] = "rescheduling_hold";
  appointment["type"] = "mobile_van";
  appointment["provider"] = "newco";
  appointment["events"][0]["status"] = "rescheduling_hold";

  Appointment decoded = DecodeAppointment(appointment);

  EXPECT_EQ(decoded.status, "rescheduling_hold");
  EXPECT_EQ(decoded.event_status, "rescheduling_hold");
  EXPECT_EQ(decoded.type, "mobile_van");
  EXPECT_EQ(decoded.provider, "newco");
  EXPECT_EQ(decoded.events[0].status, "rescheduling_hold");

  json order = world_.GetOrder(order_id).body;
  order["last_event"]["status"] = "collecting_sample.at_home_phlebotomy.courier_lost";
  EXPECT_EQ(DecodeOrder(order).low_level_status, "courier_lost");
  EXPECT_EQ(DecodeOrder(order).status, "collecting_sample.at_home_phlebotomy.courier_lost");

  json tests = world_.ListLabTests().body;
  tests[0]["method"] = "drone_delivery";
  tests[0]["status"] = "sunset";
  EXPECT_EQ(DecodeLabTests(tests)[0].method, "drone_delivery");
  EXPECT_EQ(DecodeLabTests(tests)[0].status, "sunset");

  json area = world_.AreaInfo("85004").body;
  area["phlebotomy"]["providers"][0]["service_types"] = {"appointment-teleport"};
  EXPECT_THAT(DecodeAreaInfo(area).providers[0].service_types, ElementsAre("appointment-teleport"));
}

// ---- malformed JSON
// ---------------------------------------------------------------------------------

// A value that must never appear in an error message: it stands for patient data.
constexpr const char* kSecretValue = "jane.doe@example.com";

struct MalformedCase {
  std::string what;
  std::function<void(json&)> damage;
  std::string field;  // the error message names it
};

// The MalformedJunctionJson message from decoding, or a note of what else happened.
std::string DecodeError(const std::function<void(const json&)>& decode, const json& in) {
  try {
    decode(in);
  } catch (const MalformedJunctionJson& error) {
    return error.what();
  } catch (const std::exception& error) {
    return std::string("not MalformedJunctionJson: ") + error.what();
  }
  return "no exception";
}

void ExpectMalformed(const std::function<void(const json&)>& decode, const json& valid,
                     const std::vector<MalformedCase>& cases) {
  ASSERT_EQ(DecodeError(decode, valid), "no exception");
  for (const MalformedCase& malformed : cases) {
    json damaged = valid;
    malformed.damage(damaged);
    std::string error = DecodeError(decode, damaged);
    EXPECT_NE(error, "no exception") << malformed.what;
    EXPECT_THAT(error, HasSubstr(malformed.field)) << malformed.what;
    EXPECT_THAT(error, Not(HasSubstr("jane"))) << malformed.what;
    EXPECT_THAT(error, Not(HasSubstr("987654321"))) << malformed.what;
    EXPECT_THAT(error, Not(HasSubstr("not MalformedJunctionJson"))) << malformed.what;
  }
}

auto Remove(const std::string& key) {
  return [key](json& in) { in.erase(key); };
}
auto Set(const std::string& key, json value) {
  return [key, value](json& in) { in[key] = value; };
}

TEST_F(JunctionDecodeTest, MalformedUserNamesTheField) {
  ExpectMalformed([](const json& in) { DecodeUser(in); },
                  world_.CreateUser({{"client_user_id", "x"}}).body,
                  {{"missing user_id", Remove("user_id"), "user_id"},
                   {"numeric user_id", Set("user_id", 987654321), "user_id"},
                   {"missing team_id", Remove("team_id"), "team_id"},
                   {"null client_user_id", Set("client_user_id", nullptr), "client_user_id"},
                   {"array created_on", Set("created_on", {kSecretValue}), "created_on"},
                   {"not an object", [](json& in) { in = kSecretValue; }, "user_id"}});
}

TEST_F(JunctionDecodeTest, MalformedOrderNamesTheField) {
  std::string order_id = CreateOrder()["order"]["id"];
  ExpectMalformed(
      [](const json& in) { DecodeOrder(in); }, world_.GetOrder(order_id).body,
      {{"missing id", Remove("id"), "id"},
       {"numeric user_id", Set("user_id", 987654321), "user_id"},
       {"missing events", Remove("events"), "events"},
       {"events not an array", Set("events", kSecretValue), "events"},
       {"event id a string", [](json& in) { in["events"][0]["id"] = kSecretValue; }, "id"},
       {"event without status", [](json& in) { in["events"][1].erase("status"); }, "status"},
       {"missing last_event", Remove("last_event"), "last_event"},
       {"last_event status a number", [](json& in) { in["last_event"]["status"] = 987654321; },
        "status"},
       {"appointment_id a number",
        [](json& in) { in["details"]["data"]["appointment_id"] = 987654321; }, "appointment_id"},
       {"missing created_at", Remove("created_at"), "created_at"},
       {"updated_at an email-like object", Set("updated_at", {{"email", kSecretValue}}),
        "updated_at"}});
}

TEST_F(JunctionDecodeTest, MalformedOrderResponseNamesTheField) {
  ExpectMalformed([](const json& in) { DecodeOrderResponse(in); }, CreateOrder(),
                  {{"missing order", Remove("order"), "order"},
                   {"order id missing", [](json& in) { in["order"].erase("id"); }, "id"},
                   {"numeric status", Set("status", 987654321), "status"},
                   {"missing message", Remove("message"), "message"}});
}

TEST_F(JunctionDecodeTest, MalformedAppointmentNamesTheField) {
  std::string order_id = CreateOrder()["order"]["id"];
  ExpectMalformed(
      [](const json& in) { DecodeAppointment(in); }, Book(order_id),
      {{"missing id", Remove("id"), "id"},
       {"missing address", Remove("address"), "address"},
       {"address with zip instead of zip_code",
        [](json& in) {
          in["address"]["zip"] = in["address"]["zip_code"];
          in["address"].erase("zip_code");
        },
        "zip_code"},
       {"numeric first_line", [](json& in) { in["address"]["first_line"] = 987654321; },
        "first_line"},
       {"start_at a number", Set("start_at", 987654321), "start_at"},
       {"status missing", Remove("status"), "status"},
       {"can_reschedule a string", Set("can_reschedule", kSecretValue), "can_reschedule"},
       {"events not an array", Set("events", {{"status", kSecretValue}}), "events"},
       {"event status a number", [](json& in) { in["events"][0]["status"] = 987654321; }, "status"},
       {"external_id an array", Set("external_id", {kSecretValue}), "external_id"}});
}

TEST_F(JunctionDecodeTest, MalformedAvailabilityNamesTheField) {
  json body = world_.Availability(EncodeUSAddress(SampleUSAddress()), std::nullopt).body;
  ExpectMalformed(
      [](const json& in) { DecodeAvailability(in); }, body,
      {{"missing slots", Remove("slots"), "slots"},
       {"timezone a number", Set("timezone", 987654321), "timezone"},
       {"day without date", [](json& in) { in["slots"][0].erase("date"); }, "date"},
       {"price a string", [](json& in) { in["slots"][0]["slots"][0]["price"] = kSecretValue; },
        "price"},
       {"is_priority missing", [](json& in) { in["slots"][0]["slots"][0].erase("is_priority"); },
        "is_priority"},
       {"num_appointments_available fractional",
        [](json& in) { in["slots"][0]["slots"][0]["num_appointments_available"] = 1.5; },
        "num_appointments_available"},
       {"booking_key a number",
        [](json& in) { in["slots"][0]["slots"][0]["booking_key"] = 987654321; }, "booking_key"}});
}

TEST_F(JunctionDecodeTest, MalformedListsNameTheField) {
  ExpectMalformed(
      [](const json& in) { DecodeLabTests(in); }, world_.ListLabTests().body,
      {{"not a list",
        [](json& in) {
          in = {{"data", kSecretValue}};
        },
        "lab test"},
       {"test without slug", [](json& in) { in[0].erase("slug"); }, "slug"},
       {"fasting a string", [](json& in) { in[0]["fasting"] = kSecretValue; }, "fasting"}});
  ExpectMalformed(
      [](const json& in) { DecodeCancellationReasons(in); }, world_.CancellationReasons().body,
      {{"not a list", [](json& in) { in = kSecretValue; }, "cancellation reasons"},
       {"is_refundable missing", [](json& in) { in[0].erase("is_refundable"); }, "is_refundable"},
       {"name a number", [](json& in) { in[0]["name"] = 987654321; }, "name"}});
  ExpectMalformed([](const json& in) { DecodeAreaInfo(in); }, world_.AreaInfo("85004").body,
                  {{"missing phlebotomy", Remove("phlebotomy"), "phlebotomy"},
                   {"is_served a string",
                    [](json& in) { in["phlebotomy"]["is_served"] = kSecretValue; }, "is_served"},
                   {"providers not a list",
                    [](json& in) { in["phlebotomy"]["providers"] = kSecretValue; }, "providers"},
                   {"provider without name",
                    [](json& in) { in["phlebotomy"]["providers"][0].erase("name"); }, "name"}});
}

}  // namespace
}  // namespace lab_orders::junction
