#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "lab_orders/junction/client.h"

namespace lab_orders::testing {

// The lab test id the simulator's catalog gives the PCOS panel.
inline constexpr const char* kPcosLabTestId = "5b2c1f6e-8f0a-4b4e-9d41-0a6f3c1e0001";

// POST /v3/order's body, as Junction's own JSON, for an at-home draw of one lab test in Phoenix.
inline nlohmann::json SampleOrderJson(const nlohmann::json& user_id,
                                      const std::string& lab_test_id) {
  return {{"user_id", user_id},
          {"patient_details",
           {{"first_name", "Ada"},
            {"last_name", "Lovelace"},
            {"dob", "1990-02-28"},
            {"gender", "female"},
            {"phone_number", "+16025550100"},
            {"email", "ada@example.com"}}},
          {"patient_address",
           {{"first_line", "123 West Lincoln Street"},
            {"city", "Phoenix"},
            {"state", "AZ"},
            {"zip", "85004"},
            {"country", "US"}}},
          {"order_set", {{"lab_test_ids", {lab_test_id}}}},
          {"collection_method", "at_home_phlebotomy"}};
}

junction::CreateOrderRequest SampleOrder(const std::string& user_id,
                                         const std::string& zip = "85004");
junction::USAddress SampleAppointmentAddress(const std::string& zip_code = "85004");

// Creates a user and an order through the client; fails the test when either fails.
struct CreatedOrder {
  std::string user_id;
  std::string order_id;
};
CreatedOrder CreateUserAndOrder(junction::JunctionClient& client,
                                const std::string& client_user_id);

// The first bookable slot's key.
std::string FirstBookingKey(junction::JunctionClient& client);

// A failed call as the client reports it, for mocks to return. summary is what a log may read
// (never a client); empty: the outcome's name.
// Junction's area info for a ZIP: served at home, with a patient service center near, or not.
inline junction::AreaInfo AreaServed(bool at_home = true, bool walk_in = true) {
  junction::AreaInfo info;
  info.zip_code = "85004";
  info.phlebotomy_served = at_home;
  if (walk_in) {
    info.labs_with_service_centers = {"quest"};
    info.service_center_lab_ids = {{"quest", 1}};
  }
  return info;
}

inline junction::CallError CallFailure(junction::Outcome outcome, const std::string& operation,
                                       int http_status = 0,
                                       std::optional<int> retry_after = std::nullopt,
                                       const std::string& summary = "") {
  junction::CallError error;
  error.outcome = outcome;
  error.operation = operation;
  error.http_status = http_status;
  error.retry_after_seconds = retry_after;
  error.may_have_reached_junction = true;
  error.summary = summary.empty() ? std::string(junction::OutcomeName(outcome)) : summary;
  return error;
}

}  // namespace lab_orders::testing
