#pragma once

// Orders for store-backed unit tests: what a POST would have recorded, with made-up patient data.

#include <chrono>
#include <string>

#include "lab_orders/common/clock.h"
#include "lab_orders/orders/types.h"

namespace lab_orders::testing {

inline orders::LabOrder ExampleOrder(const std::string& id, const std::string& brand_id,
                                     std::chrono::system_clock::time_point created_at) {
  orders::LabOrder order;
  order.id = id;
  order.brand_id = brand_id;
  order.user_id = "user-1";
  order.panel_slug = "metabolic-basic";
  order.status = "received";
  order.created_at = order.updated_at = FormatRfc3339(created_at);
  order.patient = {"Ann", "Example", "1980-01-01", "ann@example.org", std::nullopt, std::nullopt};
  order.address = {"1 Main St", std::nullopt, "Eugene", "OR", "97405", "US"};
  return order;
}

}  // namespace lab_orders::testing
