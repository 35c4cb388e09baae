#pragma once

// Every status an order can have (the contract: the order's life).

#include <algorithm>
#include <array>
#include <string_view>

namespace lab_orders::model {

// In the order of an order's life (a home visit's appointment statuses and draw, a test kit's
// shipment there and back); the last three are final.
inline constexpr std::array<std::string_view, 13> kOrderStatuses = {"received",
                                                                    "ordered",
                                                                    "appointment_pending",
                                                                    "appointment_scheduled",
                                                                    "appointment_cancelled",
                                                                    "draw_completed",
                                                                    "kit_shipped",
                                                                    "kit_delivered",
                                                                    "sample_in_transit",
                                                                    "sample_with_lab",
                                                                    "completed",
                                                                    "cancelled",
                                                                    "failed"};

// An order that has ended: nothing more is booked or done for it (a correction of its result
// aside).
inline bool IsFinalOrderStatus(std::string_view status) {
  return status == "cancelled" || status == "completed" || status == "failed";
}

inline bool IsOrderStatus(std::string_view status) {
  return std::find(kOrderStatuses.begin(), kOrderStatuses.end(), status) != kOrderStatuses.end();
}

}  // namespace lab_orders::model
