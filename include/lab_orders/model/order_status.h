#pragma once

// Every status an order can have (the contract: the order's life).

#include <algorithm>
#include <array>
#include <string_view>

namespace lab_orders::model {

// In the order of an order's life; the last three are final.
inline constexpr std::array<std::string_view, 10> kOrderStatuses = {"received",
                                                                    "ordered",
                                                                    "appointment_pending",
                                                                    "appointment_scheduled",
                                                                    "appointment_cancelled",
                                                                    "draw_completed",
                                                                    "sample_with_lab",
                                                                    "completed",
                                                                    "cancelled",
                                                                    "failed"};

inline bool IsOrderStatus(std::string_view status) {
  return std::find(kOrderStatuses.begin(), kOrderStatuses.end(), status) != kOrderStatuses.end();
}

}  // namespace lab_orders::model
