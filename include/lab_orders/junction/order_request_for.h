#pragma once

// The Junction order (POST /v3/order) one of our orders stands for: the same patient, address and
// tests, on a channel. Made when the order is created and again when it moves to its fallback
// channel (a new Junction order, since Junction's collection method is fixed on an order).

#include <optional>
#include <string>
#include <vector>

#include "lab_orders/junction/types.h"
#include "lab_orders/model/order.h"

namespace lab_orders::junction {

// patient.sex → Junction's gender: female, male, other, anything else unknown.
std::string JunctionGenderFor(const std::optional<std::string>& sex);

// Junction's name for one of our channels: walk_in is its walk_in_test; the others are the same.
std::string JunctionCollectionMethod(const std::string& collection_method);

// For order on collection_method (ours), under idempotency_key: a resend after a lost answer is
// the same Junction order.
CreateOrderRequest CreateOrderRequestFor(const model::LabOrder& order,
                                         const std::string& collection_method,
                                         std::vector<std::string> lab_test_ids,
                                         std::string idempotency_key);

}  // namespace lab_orders::junction
