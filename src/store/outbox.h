#pragma once

// The brand webhooks' outbox, written in the same transaction as the change it announces.

#include <optional>
#include <string>

#include "lab_orders/model/order.h"
#include "lab_orders/model/order_events.h"
#include "lab_orders/store/phi_cipher.h"
#include "store/sql_session.h"

namespace lab_orders::store {

// The order's state before a change, as model::OrderEventsFor compares it.
model::OrderBefore ReadOrderBefore(SqlSession& connection, const std::string& order_id);

// Writes the events of a change into the outbox, each with a delivery per enabled endpoint of
// the brand that takes its type. The caller holds the order's row, so sequences do not collide.
void InsertOrderEvents(SqlSession& connection, const PhiCipher& cipher,
                       const std::optional<model::OrderBefore>& before,
                       const model::LabOrder& after);

}  // namespace lab_orders::store
