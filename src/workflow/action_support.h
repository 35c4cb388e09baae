#pragma once

// What OrderActions' files share (order_actions.cpp: the actions; order_lookups.cpp: the slots and
// the cancellation reasons). Private to src/workflow/.

#include <optional>
#include <string>

#include "lab_orders/auth/jwt.h"
#include "lab_orders/common/error.h"
#include "lab_orders/model/order.h"
#include "lab_orders/store/job_store.h"

namespace lab_orders::workflow {

// What a 502 from Junction tells the client to do.
inline constexpr const char* kRetryHint = "retry.";

// The brand's order, as it stands; another brand's is as unknown as one that does not exist.
inline model::LabOrder ReadOrder(store::JobStore& store, const auth::Principal& principal,
                                 const std::string& order_id) {
  std::optional<model::LabOrder> order = store.GetOrderById(order_id);
  if (!order || order->brand_id != principal.brand_id) {
    throw AppError(ErrorCode::kNotFound, "No such order.");
  }
  return std::move(*order);
}

// Appointments are booked for at-home orders (a home visit) and walk-in orders (a patient service
// center); a test kit comes by mail.
inline void RefuseBookingFor(const model::LabOrder& order) {
  if (order.workflow.collection_method == model::kTestkit) {
    throw AppError(ErrorCode::kOrderNotBookable,
                   "The order is a testkit order: the kit is mailed to the patient, and no "
                   "appointment is booked for it.");
  }
  // Moving to its fallback channel (switch_channel): booked there once it has moved.
  if (order.workflow.channel_switch_to) {
    throw AppError(ErrorCode::kOrderNotBookable,
                   "The order is moving to " + *order.workflow.channel_switch_to +
                       " after the provider's cancellations; book once it has (retry).");
  }
}

}  // namespace lab_orders::workflow
