#include "lab_orders/junction/order_request_for.h"

#include <Poco/String.h>

namespace lab_orders::junction {

std::string JunctionGenderFor(const std::optional<std::string>& sex) {
  if (!sex) return "unknown";
  const std::string lower = Poco::toLower(*sex);
  if (lower == "female" || lower == "f") return "female";
  if (lower == "male" || lower == "m") return "male";
  if (lower == "other") return "other";
  return "unknown";
}

std::string JunctionCollectionMethod(const std::string& collection_method) {
  return collection_method == model::kWalkIn ? "walk_in_test" : collection_method;
}

CreateOrderRequest CreateOrderRequestFor(const model::LabOrder& order,
                                         const std::string& collection_method,
                                         std::vector<std::string> lab_test_ids,
                                         std::string idempotency_key) {
  CreateOrderRequest request;
  request.user_id = order.junction_user_id.value_or("");
  request.patient_details = {order.patient.first_name,
                             order.patient.last_name,
                             order.patient.dob,
                             JunctionGenderFor(order.patient.sex),
                             order.patient.phone.value_or(""),
                             order.patient.email};
  request.patient_address = {order.address.line1, order.address.line2, order.address.city,
                             order.address.state, order.address.zip,   order.address.country,
                             std::nullopt};
  request.lab_test_ids = std::move(lab_test_ids);
  request.collection_method = JunctionCollectionMethod(collection_method);
  request.idempotency_key = std::move(idempotency_key);
  return request;
}

}  // namespace lab_orders::junction
