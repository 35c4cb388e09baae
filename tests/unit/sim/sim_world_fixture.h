#pragma once

// junction-sim's World unit-test fixture (sim_world_test.cpp, sim_world_appointments_test.cpp):
// a World on a fake clock, its webhook events collected, and the spec's validator. Each test file
// derives its own fixture class from WorldTest (gtest wants one fixture class per suite name).

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <variant>
#include <vector>

#include "lab_orders/common/clock.h"
#include "lab_orders/common/ids.h"
#include "lab_orders/sim/catalog.h"
#include "lab_orders/sim/junction_spec.h"
#include "lab_orders/sim/openapi_validator.h"
#include "lab_orders/sim/script.h"
#include "lab_orders/sim/world.h"
#include "support/fakes.h"

namespace lab_orders::sim {
namespace {

using lab_orders::testing::CountingIdGenerator;
using lab_orders::testing::FakeClock;

using namespace std::chrono_literals;
using nlohmann::json;
using ::testing::HasSubstr;
using TimePoint = std::chrono::system_clock::time_point;

// Monday 2030-01-07 15:00 UTC (08:00 in Phoenix).
const TimePoint kStart = std::chrono::sys_days{std::chrono::year{2030} / 1 / 7} + 15h;

constexpr const char* kPhoenixZip = "85004";
constexpr const char* kRequisitionCreated = "received.at_home_phlebotomy.requisition_created";
constexpr const char* kOrdered = "received.at_home_phlebotomy.ordered";
constexpr const char* kAppointmentPending =
    "collecting_sample.at_home_phlebotomy.appointment_pending";
constexpr const char* kAppointmentScheduled =
    "collecting_sample.at_home_phlebotomy.appointment_scheduled";
constexpr const char* kAppointmentCancelled =
    "collecting_sample.at_home_phlebotomy.appointment_cancelled";
constexpr const char* kOrderCancelled = "cancelled.at_home_phlebotomy.cancelled";
constexpr const char* kPatientRequested = "0b1cbd44-7c2b-4b1e-9c55-4a0f3e2d1a01";

inline const OpenApiValidator& JunctionValidator() {
  static const OpenApiValidator validator(json::parse(JunctionSpecText()));
  return validator;
}

inline json AsJson(const std::vector<SchemaViolation>& violations) {
  json all = json::array();
  for (const SchemaViolation& violation : violations) all.push_back(violation.ToJson());
  return all;
}

// Violations of one documented response; compare with json::array() so failures print them.
inline json ResponseViolations(const std::string& method, const std::string& path, int status,
                               const json& body) {
  const json* schema = JunctionValidator().ResponseSchema(method, path, status);
  if (schema == nullptr) return {{"no schema for", method + " " + path}};
  return AsJson(JunctionValidator().Validate(*schema, body, json::array({"response"})));
}

inline json ComponentViolations(const std::string& component, const json& instance) {
  return AsJson(JunctionValidator().Validate({{"$ref", "#/components/schemas/" + component}},
                                             instance, json::array()));
}

inline const std::string& LabTestId() { return Catalog().front().id; }

inline json PhoenixAddress() {
  return {{"first_line", "123 West Lincoln Street"},
          {"city", "Phoenix"},
          {"state", "AZ"},
          {"zip_code", kPhoenixZip}};
}

class WorldTest : public ::testing::Test {
 protected:
  WorldTest() : world_(clock_, ids_, {"10001"}) {
    world_.SetEventSink([this](const json& event, int deliveries) {
      for (int i = 0; i < deliveries; ++i) events_.push_back(event);
    });
  }

  void Load(const json& script) { world_.LoadScript(ParseScript(script)); }

  std::string CreateUser(const std::string& client_user_id = "patient-0001") {
    SimResponse answer = world_.CreateUser({{"client_user_id", client_user_id}});
    EXPECT_EQ(answer.status, 200) << answer.body.dump();
    return answer.body.value("user_id", "");
  }

  static json OrderBody(const std::string& user_id) {
    return {{"user_id", user_id},
            {"patient_details",
             {{"first_name", "Ada"},
              {"last_name", "O'Neil-Smith"},
              {"dob", "1990-02-28"},
              {"gender", "female"},
              {"phone_number", "+16025550100"},
              {"email", "ada@example.com"}}},
            {"patient_address",
             {{"first_line", "123 West Lincoln Street"},
              {"city", "Phoenix"},
              {"state", "AZ"},
              {"zip", kPhoenixZip},
              {"country", "US"}}},
            {"order_set", {{"lab_test_ids", {LabTestId()}}}},
            {"collection_method", "at_home_phlebotomy"}};
  }

  // A new user with one order; the order's id.
  std::string CreateOrder(const std::string& client_user_id = "patient-0001") {
    SimResponse answer = world_.CreateOrder(OrderBody(CreateUser(client_user_id)));
    EXPECT_EQ(answer.status, 200) << answer.body.dump();
    return answer.body["order"].value("id", "");
  }

  json Order(const std::string& order_id) {
    SimResponse answer = world_.GetOrder(order_id);
    EXPECT_EQ(answer.status, 200) << answer.body.dump();
    EXPECT_EQ(ResponseViolations("GET", "/v3/order/{order_id}", 200, answer.body), json::array());
    return answer.body;
  }

  std::string OrderStatus(const std::string& order_id) {
    return Order(order_id)["last_event"].value("status", "");
  }

  json Slots(const std::string& zip_code = kPhoenixZip) {
    json address = PhoenixAddress();
    address["zip_code"] = zip_code;
    SimResponse answer = world_.Availability(address, std::nullopt);
    EXPECT_EQ(answer.status, 200) << answer.body.dump();
    return answer.body;
  }

  // The booking keys on offer, earliest first.
  std::vector<std::string> BookingKeys(const std::string& zip_code = kPhoenixZip) {
    std::vector<std::string> keys;
    const json availability = Slots(zip_code);
    for (const json& day : availability["slots"]) {
      for (const json& slot : day["slots"]) keys.push_back(slot["booking_key"]);
    }
    EXPECT_FALSE(keys.empty());
    return keys;
  }

  std::string FirstBookingKey() {
    std::vector<std::string> keys = BookingKeys();
    return keys.empty() ? "" : keys.front();
  }

  // Plans, waits as long as the plan says on the fake clock, then commits: what the server does.
  SimResponse Book(const std::string& order_id, const json& body, int call_number = 1) {
    auto planned = world_.PlanBooking(order_id, body, call_number);
    if (auto* refused = std::get_if<SimResponse>(&planned)) return *refused;
    const BookingPlan& plan = std::get<BookingPlan>(planned);
    clock_.Advance(std::chrono::milliseconds(plan.wait_ms));
    return world_.CommitBooking(order_id, body, plan);
  }

  SimResponse BookFirstSlot(const std::string& order_id, json body = json::object()) {
    body["booking_key"] = FirstBookingKey();
    return Book(order_id, body);
  }

  BookingPlan Plan(const std::string& order_id, const json& body, int call_number = 1) {
    auto planned = world_.PlanBooking(order_id, body, call_number);
    if (auto* refused = std::get_if<SimResponse>(&planned)) {
      ADD_FAILURE() << "booking refused: " << refused->status << " " << refused->body.dump();
      return {};
    }
    return std::get<BookingPlan>(planned);
  }

  json Appointment(const std::string& order_id) {
    SimResponse answer = world_.GetAppointment(order_id);
    EXPECT_EQ(answer.status, 200) << answer.body.dump();
    EXPECT_EQ(
        ResponseViolations("GET", "/v3/order/{order_id}/phlebotomy/appointment", 200, answer.body),
        json::array());
    return answer.body;
  }

  std::vector<std::string> EventTypes() const {
    std::vector<std::string> types;
    for (const json& event : events_) types.push_back(event["event_type"]);
    return types;
  }

  FakeClock clock_{kStart};
  CountingIdGenerator ids_;
  World world_;
  std::vector<json> events_;
};

}  // namespace
}  // namespace lab_orders::sim
