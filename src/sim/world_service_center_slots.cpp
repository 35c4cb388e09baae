// The simulated Quest's service-center slots (POST /v3/order/psc/appointment/availability): the
// open hours of the sites that book through Junction (service_center_sites.h), an hour each,
// from two hours ahead, for 14 days. Booking, rescheduling and cancelling them share the home
// visit's code in world_appointments.cpp, by Venue.

#include <algorithm>
#include <chrono>
#include <map>
#include <vector>

#include "lab_orders/common/encoding.h"
#include "lab_orders/sim/world.h"
#include "sim/service_center_sites.h"
#include "sim/world_status.h"

namespace lab_orders::sim {
namespace {

using nlohmann::json;
using std::chrono::hours;
using std::chrono::minutes;

constexpr int kAvailabilityDays = 14;
const auto kLead = hours(2);
const auto kBookingKeyLifetime = minutes(15);

// The hours a site opens on a weekday (local start hours of its slots), as its PSC info says:
// 07:00-15:00 on weekdays, 08:00-12:00 on Saturday, closed on Sunday.
std::pair<int, int> OpenHours(std::chrono::weekday day) {
  if (day == std::chrono::Sunday) return {0, 0};
  if (day == std::chrono::Saturday) return {8, 12};
  return {7, 15};
}

// The site as an AppointmentLocation (DaySlots.location).
json SiteLocation(const SiteTemplate& site, const std::string& zip_code) {
  return {{"code", SiteCode(zip_code, site)},
          {"name", site.name},
          {"address",
           {{"first_line", site.street},
            {"second_line", nullptr},
            {"city", kSiteCity},
            {"state", kSiteState},
            {"zip_code", zip_code}}},
          {"distance", site.distance_miles},
          {"iana_timezone", AreaFor(zip_code).timezone},
          {"location", {{"lng", SiteLongitude(site)}, {"lat", kSiteLatitude}}}};
}

const char kNoSlots[] =
    "No slots found. Not all PSCs support scheduling appointments and some included in your query "
    "were filtered out because of this. Please try again with different site codes or a different "
    "zip code, or see the PSC info endpoints to see which locations support scheduling.";

}  // namespace

SimResponse World::ServiceCenterAvailability(const std::string& lab,
                                             const std::vector<std::string>& site_codes,
                                             const std::optional<std::string>& zip_code,
                                             int radius_miles,
                                             const std::optional<std::string>& start_date) {
  if (site_codes.empty() && !zip_code) {
    return FieldDetail(json::array({"query", "site_codes"}),
                       "Either site_codes or zip_code must be provided");
  }
  if (site_codes.size() > 3) {
    return FieldDetail(json::array({"query", "site_codes"}), "At most 3 site codes are allowed");
  }
  std::lock_guard lock(mutex_);
  auto now = clock_.Now();
  std::erase_if(slots_, [&](const auto& entry) { return entry.second.expires_at < now; });
  std::chrono::system_clock::time_point first_day = std::chrono::floor<std::chrono::days>(now);
  if (start_date && !ParseDate(*start_date, &first_day)) {
    return FieldDetail(json::array({"query", "start_date"}), "Input should be a valid date");
  }
  // The sites asked about that book through Junction: Quest's only (Sonora Quest's Arizona
  // sites are not modelled).
  std::vector<SiteRef> sites;
  if (lab == "quest") {
    if (!site_codes.empty()) {
      for (const std::string& code : site_codes) {
        std::optional<SiteRef> site = SiteOfCode(code);
        if (site && site->site->books_through_junction && HasServiceCenters(site->zip_code)) {
          sites.push_back(*site);
        }
      }
    } else if (HasServiceCenters(*zip_code)) {
      for (const SiteTemplate& site : kSites) {
        if (site.books_through_junction && site.distance_miles <= radius_miles) {
          sites.push_back({&site, *zip_code});
        }
      }
    }
  }
  if (sites.empty()) return DetailResponse(404, kNoSlots);
  // What each site is, and what it has booked, once: every order is scanned per site, not per day.
  struct SiteOffer {
    Slot place;  // the site, as the bookings are counted by
    ZipArea area;
    json location;
    std::map<TimePoint, int> booked;
  };
  std::vector<SiteOffer> offers;
  for (const SiteRef& site : sites) {
    SiteOffer offer{Slot{}, AreaFor(site.zip_code), SiteLocation(*site.site, site.zip_code), {}};
    offer.place.site_code = SiteCode(site.zip_code, *site.site);
    offer.place.zip_code = site.zip_code;
    offer.booked = BookingsByHour(offer.place, "");
    offers.push_back(std::move(offer));
  }
  json days = json::array();
  for (int day = 0; day < kAvailabilityDays; ++day) {
    const auto midnight_local = first_day + std::chrono::days(day);
    const auto [open, close] =
        OpenHours(std::chrono::weekday{std::chrono::floor<std::chrono::days>(midnight_local)});
    for (const SiteOffer& offer : offers) {
      json slots = json::array();
      for (int hour = open; hour < close; ++hour) {
        const auto start = midnight_local + hours(hour - offer.area.utc_offset_hours);
        if (start < now + kLead) continue;
        const std::string key =
            "psc_" +
            HexEncode(Sha256(offer.place.site_code + "|" + FormatRfc3339(start))).substr(0, 32);
        Slot& slot = slots_[key];
        if (slot.booking_key.empty()) {
          slot.booking_key = key;
          slot.zip_code = offer.place.zip_code;
          slot.start = start;
          slot.end = start + minutes(15);
          slot.site_code = offer.place.site_code;
          slot.location = offer.location;
          slot.address = offer.location["address"];
        }
        slot.expires_at = now + kBookingKeyLifetime;
        json offered = OfferedSlotJson(slot, offer.booked);
        if (!offered.is_null()) slots.push_back(std::move(offered));
      }
      if (!slots.empty()) {
        days.push_back({{"date", FormatDate(midnight_local)},
                        {"location", offer.location},
                        {"slots", std::move(slots)}});
      }
    }
  }
  if (days.empty()) return DetailResponse(404, kNoSlots);
  return SimResponse{
      200, json{{"timezone", AreaFor(sites.front().zip_code).timezone}, {"slots", days}}, {}};
}

}  // namespace lab_orders::sim
