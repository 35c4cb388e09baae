#pragma once

// The order as the API shows it (the seed's 201 shape plus "appointment"): the one rendering,
// shared by the answers, the idempotent replays and the brand events.

#include <nlohmann/json.hpp>

#include "lab_orders/model/order.h"

namespace lab_orders::model {

nlohmann::json OrderJson(const LabOrder& order);

}  // namespace lab_orders::model
