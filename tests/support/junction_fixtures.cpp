#include "support/junction_fixtures.h"

#include <gtest/gtest.h>

#include "support/shared_sim_test.h"

namespace lab_orders::testing {

junction::HttpClientOptions ClientOptions(const std::string& base_url,
                                          std::chrono::milliseconds timeout) {
  junction::HttpClientOptions options;
  options.base_url = base_url;
  options.api_key = "sk_us_test";
  options.timeout = timeout;
  return options;
}

junction::CreateOrderRequest SampleOrder(const std::string& user_id, const std::string& zip) {
  junction::CreateOrderRequest request;
  request.user_id = user_id;
  request.patient_details = {"Ana",    "Lopez",        "1988-04-12",
                             "female", "+16025550123", "ana.lopez@example.com"};
  request.patient_address = {
      "1 West Lincoln Street", std::nullopt, "Phoenix", "AZ", zip, "US", std::nullopt};
  request.lab_test_ids = {kPcosLabTestId};
  return request;
}

junction::USAddress SampleAppointmentAddress(const std::string& zip_code) {
  return {"1 West Lincoln Street", std::nullopt, "Phoenix", "AZ", zip_code, std::nullopt};
}

CreatedOrder CreateUserAndOrder(junction::JunctionClient& client,
                                const std::string& client_user_id) {
  auto user = client.CreateUser({client_user_id});
  EXPECT_TRUE(user.ok()) << (user.ok() ? "" : user.error().summary);
  if (!user.ok()) return {};
  auto order = client.CreateOrder(SampleOrder(user->user_id));
  EXPECT_TRUE(order.ok()) << (order.ok() ? "" : order.error().summary);
  if (!order.ok()) return {user->user_id, ""};
  return {user->user_id, order->order.id};
}

std::string FirstBookingKey(junction::JunctionClient& client) {
  auto availability = client.GetAvailability(SampleAppointmentAddress(), std::nullopt);
  EXPECT_TRUE(availability.ok());
  if (!availability.ok() || availability->days.empty() || availability->days[0].slots.empty()) {
    ADD_FAILURE() << "no slots";
    return "";
  }
  return availability->days[0].slots[0].booking_key.value_or("");
}

}  // namespace lab_orders::testing
