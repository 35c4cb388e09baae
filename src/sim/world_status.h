#pragma once

// The status vocabulary both halves of World share (world.cpp: users, orders and time;
// world_appointments.cpp: availability and appointments): an at-home order's statuses, an
// appointment's, and Junction's 422 for one field. Defined in world.cpp. Private to src/sim/.

#include <nlohmann/json.hpp>
#include <string>

#include "lab_orders/sim/world.h"

namespace lab_orders::sim {

// The collection methods the simulated lab offers (its lab's collection_methods).
inline constexpr const char* kAtHome = "at_home_phlebotomy";
inline constexpr const char* kWalkIn = "walk_in_test";
inline constexpr const char* kTestkit = "testkit";

// Junction's 422 for one field: {"detail": [{"loc": loc, "msg": message, ...}]}.
SimResponse FieldDetail(const nlohmann::json& loc, const std::string& message);
// The whole status ("received.at_home_phlebotomy.ordered") of a low-level order status, for the
// order's collection method (at_home_phlebotomy, walk_in_test or testkit).
std::string FullStatus(const std::string& modality, const std::string& low);
bool IsFinal(const std::string& low);
// A test kit's own statuses (its way to the patient and back, and how that fails).
bool IsKitStatus(const std::string& low);
bool IsActiveAppointment(const std::string& status);
std::string EventStatusFor(const std::string& appointment_status);

// Where a ZIP is, as the simulator has it (world_appointments.cpp).
struct ZipArea {
  const char* timezone;
  int utc_offset_hours;  // fixed offsets: the simulator ignores daylight saving
  double lng;
  double lat;
};
ZipArea AreaFor(const std::string& zip_code);

}  // namespace lab_orders::sim
