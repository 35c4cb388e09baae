// The simulated Junction's patient service centers (GET /v3/order/psc/info): Quest's three sites
// near any ZIP, as ClientFacingLabLocation (a business's public address and hours: not PHI), the
// first two taking bookings through Junction, the third only the lab's own
// (service_center_sites.h). Their slots and appointments are in world_service_center_slots.cpp.

#include "lab_orders/sim/world.h"
#include "sim/service_center_sites.h"

namespace lab_orders::sim {

using nlohmann::json;

SimResponse World::ServiceCenters(const std::string& zip_code, int lab_id, int radius_miles) {
  std::lock_guard lock(mutex_);
  json centers = json::array();
  if (lab_id == kQuestLabId && HasServiceCenters(zip_code)) {
    for (const SiteTemplate& site : kSites) {
      if (site.distance_miles > radius_miles) continue;
      const json hours = {{"mon", "07:00-15:00"}, {"tue", "07:00-15:00"}, {"wed", "07:00-15:00"},
                          {"thu", "07:00-15:00"}, {"fri", "07:00-15:00"}, {"sat", "08:00-12:00"},
                          {"sun", nullptr}};
      json capabilities = json::array();
      capabilities.push_back(site.books_through_junction ? "appointment_scheduling_via_junction"
                                                         : "appointment_scheduling_with_lab");
      centers.push_back(
          {{"site_code", SiteCode(zip_code, site)},
           {"distance", site.distance_miles},
           {"capabilities", capabilities},
           {"supported_bill_types", {"client_bill"}},
           {"location", {{"lng", SiteLongitude(site)}, {"lat", kSiteLatitude}}},
           {"metadata",
            {{"name", site.name},
             {"first_line", site.street},
             {"second_line", nullptr},
             {"city", kSiteCity},
             {"state", kSiteState},
             {"zip_code", zip_code},
             {"phone_number", "+16025550" + std::to_string(100 + site.distance_miles)},
             {"fax_number", nullptr},
             {"hours", hours},
             {"website", "https://www.questdiagnostics.com/locations"}}}});
    }
  }
  return SimResponse{200,
                     json{{"lab_id", lab_id},
                          {"slug", lab_id == kQuestLabId ? "quest" : "labcorp"},
                          {"patient_service_centers", centers}},
                     {}};
}

}  // namespace lab_orders::sim
