#pragma once

// Orders for store-backed unit tests: what a POST would have recorded, with made-up patient data.

#include <chrono>
#include <string>

#include "lab_orders/common/clock.h"
#include "lab_orders/model/order.h"
#include "lab_orders/model/order_json.h"
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

// The order as the last phase commits it (what OrderService does in memory before
// SaveJunctionOrder): made at Junction as junction_order_id for junction_user_id at `at`, one
// version up.
inline model::LabOrder OrderedAtJunction(model::LabOrder order, const std::string& junction_user_id,
                                         const std::string& junction_order_id,
                                         std::chrono::system_clock::time_point at) {
  order.junction_user_id = junction_user_id;
  order.junction_order_id = junction_order_id;
  order.status = "ordered";
  order.updated_at = FormatRfc3339(at);
  ++order.version;
  return order;
}

// An order of brand_id made at Junction at `at` through the store's phase commits, as a POST
// for a patient whose Junction user is known would: claimed with its order, then saved with its
// Junction order ("jo-<id>") and its answer. Its lab_order.created event is in the outbox, its
// first step job queued ("step-<id>"), its key ("key-<id>") finished.
inline void AddJunctionOrder(store::Store& store, const std::string& brand_id,
                             const std::string& order_id, std::chrono::system_clock::time_point at,
                             const model::LabOrder* recorded = nullptr) {
  const std::string key = "key-" + order_id;
  const model::LabOrder order = recorded ? *recorded : ExampleOrder(order_id, brand_id, at);
  store.ClaimKey(brand_id, key, {"fp"}, at, at + std::chrono::seconds(30), order);
  const model::LabOrder ordered = OrderedAtJunction(
      order, order.junction_user_id.value_or("ju-" + order_id), "jo-" + order_id, at);
  store.SaveJunctionOrder(
      key, ordered,
      store::NewJob{"step-" + order_id, store::kJobAwaitRequisition, order_id, "", at}, 201,
      model::OrderJson(ordered).dump());
}

}  // namespace lab_orders::testing
