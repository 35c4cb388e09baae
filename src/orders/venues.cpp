#include "lab_orders/orders/venues.h"

#include <algorithm>
#include <vector>

#include "lab_orders/junction/junction_failure.h"
#include "lab_orders/model/order_json.h"

namespace lab_orders::orders {
namespace {

using nlohmann::json;

constexpr const char* kRetryHint = "retry later.";
// Only these sites take bookings made through Junction (docs/junction.md: PSC).
constexpr const char* kBooksThroughJunction = "appointment_scheduling_via_junction";

json VenueJson(const std::string& lab, const junction::ServiceCenter& center) {
  json hours = nullptr;
  if (center.hours_json) hours = json::parse(*center.hours_json, nullptr, false);
  if (hours.is_discarded()) hours = nullptr;
  const bool books = std::find(center.capabilities.begin(), center.capabilities.end(),
                               kBooksThroughJunction) != center.capabilities.end();
  return {{"site_code", center.site_code},
          {"lab", lab},
          {"name", center.name},
          {"address", model::SiteAddressJson(center.first_line, center.second_line, center.city,
                                             center.state, center.zip_code)},
          {"phone", model::OptionalJson(center.phone_number)},
          {"distance_miles", center.distance_miles},
          {"hours", hours},
          {"capabilities", center.capabilities},
          {"books_through_junction", books}};
}

}  // namespace

bool Venues::IsAllowedRadius(int miles) {
  return miles == 10 || miles == 20 || miles == 25 || miles == 50 || miles == 100;
}

json Venues::Near(const std::string& zip, int radius_miles) {
  auto area = junction_.GetAreaInfo(zip);
  if (!area.ok()) throw junction::JunctionFailure(area.error(), kRetryHint);
  std::vector<std::pair<std::string, junction::ServiceCenter>> found;
  for (const auto& [lab, lab_id] : area->service_center_lab_ids) {
    auto centers = junction_.GetServiceCenters(zip, lab_id, radius_miles);
    if (!centers.ok()) throw junction::JunctionFailure(centers.error(), kRetryHint);
    for (const junction::ServiceCenter& center : centers->centers) found.emplace_back(lab, center);
  }
  std::stable_sort(found.begin(), found.end(), [](const auto& a, const auto& b) {
    return a.second.distance_miles < b.second.distance_miles;
  });
  json venues = json::array();
  for (const auto& [lab, center] : found) venues.push_back(VenueJson(lab, center));
  return {{"zip", zip}, {"radius_miles", radius_miles}, {"venues", std::move(venues)}};
}

}  // namespace lab_orders::orders
