#pragma once

// Orders for store-backed unit tests: what a POST would have recorded, with made-up patient data.

#include <chrono>
#include <string>

#include "lab_orders/common/clock.h"
#include "lab_orders/model/order.h"
#include "lab_orders/store/store.h"

namespace lab_orders::testing {

inline model::LabOrder ExampleOrder(const std::string& id, const std::string& brand_id,
                                    std::chrono::system_clock::time_point created_at) {
  model::LabOrder order;
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

// An order of brand_id made at Junction at `at` through the store's phase commits, as a POST
// would: its lab_order.created event is in the outbox, its first step job queued ("step-<id>").
inline void AddJunctionOrder(store::Store& store, const std::string& brand_id,
                             const std::string& order_id, std::chrono::system_clock::time_point at,
                             const model::LabOrder* recorded = nullptr) {
  const std::string key = "key-" + order_id;
  store.ClaimKey(brand_id, key, "fp", at, at + std::chrono::seconds(30));
  store.RecordOrder(key, recorded ? *recorded : ExampleOrder(order_id, brand_id, at));
  store.SaveJunctionOrder(
      brand_id, key, order_id, "jo-" + order_id, "ordered", at,
      store::NewJob{"step-" + order_id, store::kJobAwaitRequisition, order_id, "", at});
}

}  // namespace lab_orders::testing
