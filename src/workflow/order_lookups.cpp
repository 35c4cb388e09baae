// OrderActions' lookups: an order's slots (a home visit's, or a patient service center's for a
// walk-in order) and Junction's cancellation reasons. The actions are in order_actions.cpp.

#include <algorithm>

#include "lab_orders/junction/junction_failure.h"
#include "lab_orders/model/order_json.h"
#include "lab_orders/workflow/order_actions.h"
#include "lab_orders/workflow/state.h"
#include "workflow/action_support.h"
#include "workflow/appointment_calls.h"

namespace lab_orders::workflow {
namespace {

using nlohmann::json;

// Junction books the service centers of these labs (docs/junction.md: PSC), Sonora Quest's in
// Arizona.
constexpr const char* kBookableLabs[] = {"quest", "sonora_quest"};
// The service centers a walk-in order's slots come from when no site is named: within 25 miles.
constexpr int kServiceCenterRadiusMiles = 25;

json SlotJson(const junction::TimeSlot& slot) {
  return {{"booking_key", *slot.booking_key},
          {"start_at", slot.start},
          {"end_at", slot.end},
          {"expires_at", slot.expires_at ? json(*slot.expires_at) : json(nullptr)},
          {"price", slot.price},
          {"is_priority", slot.is_priority}};
}

// A site's public details (a business's address, not PHI), as GET /v1/labs/venues shows them.
json ServiceCenterJson(const junction::SlotLocation& site) {
  return {{"site_code", site.code},
          {"name", site.name},
          {"address",
           model::SiteAddressJson(site.address.first_line, site.address.second_line,
                                  site.address.city, site.address.state, site.address.zip_code)},
          {"distance_miles", site.distance_miles ? json(*site.distance_miles) : json(nullptr)},
          {"timezone", model::OptionalJson(site.iana_timezone)}};
}

}  // namespace

json OrderActions::Availability(const auth::Principal& principal, const std::string& order_id,
                                const std::optional<std::string>& site_code) {
  model::LabOrder order = ReadOrder(store_, principal, order_id);
  if (IsFinalStatus(order.status)) {
    throw AppError(ErrorCode::kOrderNotBookable, "The order is " + order.status + ".");
  }
  RefuseBookingFor(order);
  if (order.workflow.collection_method == model::kWalkIn) {
    return ServiceCenterAvailability(order, site_code);
  }
  if (site_code) {
    throw AppError(ErrorCode::kValidationError, "The query is not valid.", "",
                   {{"/site_code", "is for a walk_in order's service-center slots only"}});
  }
  auto availability = junction_.GetAvailability(AppointmentAddressFor(order), std::nullopt);
  if (!availability.ok()) throw junction::JunctionFailure(availability.error(), kRetryHint);
  std::vector<junction::TimeSlot> slots;
  const int latest_hour = workflow_.settings().fasting_latest_hour;
  for (const junction::DaySlots& day : availability->days) {
    for (const junction::TimeSlot& slot : day.slots) {
      // A fasting panel's patient is offered the morning only, as the workflow books.
      if (slot.booking_key && slot.num_appointments_available > 0 &&
          SlotSuits(order.workflow, availability->timezone, slot.start, latest_hour)) {
        slots.push_back(slot);
      }
    }
  }
  // RFC 3339 UTC text of one form sorts as time.
  std::stable_sort(slots.begin(), slots.end(),
                   [](const auto& a, const auto& b) { return a.start < b.start; });
  json listed = json::array();
  for (const junction::TimeSlot& slot : slots) listed.push_back(SlotJson(slot));
  return {{"order_id", order.id},
          {"timezone", availability->timezone ? json(*availability->timezone) : json(nullptr)},
          {"fasting", order.workflow.fasting},
          {"slots", listed}};
}

json OrderActions::ServiceCenterAvailability(const model::LabOrder& order,
                                             const std::optional<std::string>& site_code) {
  const std::string zip = order.address.zip.substr(0, 5);
  auto area = junction_.GetAreaInfo(zip);
  if (!area.ok()) throw junction::JunctionFailure(area.error(), kRetryHint);
  const std::vector<std::string>& labs = area->labs_with_service_centers;
  const char* const* lab =
      std::find_if(std::begin(kBookableLabs), std::end(kBookableLabs), [&](const char* candidate) {
        return std::find(labs.begin(), labs.end(), candidate) != labs.end();
      });
  if (lab == std::end(kBookableLabs)) {
    throw AppError(ErrorCode::kOrderNotBookable,
                   "No patient service center near the patient's ZIP code takes bookings through "
                   "Junction; the patient may walk in (GET /v1/labs/venues).");
  }
  junction::ServiceCenterSlotsQuery query;
  query.lab = *lab;
  if (site_code) {
    query.site_codes = {*site_code};
  } else {
    query.zip_code = zip;
    query.radius_miles = kServiceCenterRadiusMiles;
  }
  auto availability = junction_.GetServiceCenterAvailability(query);
  // None at the sites asked about is Junction's 404: no slot, not a failure.
  if (!availability.ok() && availability.outcome() != junction::Outcome::kNotFound) {
    throw junction::JunctionFailure(availability.error(), kRetryHint);
  }
  struct SiteSlot {
    const junction::TimeSlot* slot;
    const junction::SlotLocation* site;
  };
  std::vector<SiteSlot> slots;
  const int latest_hour = workflow_.settings().fasting_latest_hour;
  if (availability.ok()) {
    for (const junction::DaySlots& day : availability->days) {
      if (!day.location) continue;  // a service center's day names its site
      const std::optional<std::string>& timezone =
          day.location->iana_timezone ? day.location->iana_timezone : availability->timezone;
      for (const junction::TimeSlot& slot : day.slots) {
        if (slot.booking_key && slot.num_appointments_available > 0 &&
            SlotSuits(order.workflow, timezone, slot.start, latest_hour)) {
          slots.push_back({&slot, &*day.location});
        }
      }
    }
  }
  // Earliest first, then nearest (RFC 3339 UTC text of one form sorts as time).
  std::stable_sort(slots.begin(), slots.end(), [](const SiteSlot& a, const SiteSlot& b) {
    if (a.slot->start != b.slot->start) return a.slot->start < b.slot->start;
    return a.site->distance_miles.value_or(0) < b.site->distance_miles.value_or(0);
  });
  json listed = json::array();
  for (const SiteSlot& entry : slots) {
    json slot = SlotJson(*entry.slot);
    slot["service_center"] = ServiceCenterJson(*entry.site);
    listed.push_back(std::move(slot));
  }
  const std::optional<std::string> timezone =
      availability.ok() ? availability->timezone : std::nullopt;
  return {{"order_id", order.id},
          {"timezone", model::OptionalJson(timezone)},
          {"fasting", order.workflow.fasting},
          {"slots", std::move(listed)}};
}

json OrderActions::CancellationReasons(const std::string& collection_method) {
  // An hour: Junction's reasons change with its releases, not from one request to the next.
  constexpr std::chrono::hours kKeep{1};
  const auto now = clock_.Now();
  AppointmentCalls calls(junction_, collection_method);
  KeptReasons& kept = calls.at_service_center() ? service_center_reasons_ : home_visit_reasons_;
  std::vector<junction::CancellationReason> reasons;
  {
    std::lock_guard lock(reasons_mutex_);
    if (now < kept.until) reasons = kept.reasons;
  }
  if (reasons.empty()) {
    auto fetched = calls.CancellationReasons();
    if (!fetched.ok()) throw junction::JunctionFailure(fetched.error(), kRetryHint);
    reasons = *fetched;
    std::lock_guard lock(reasons_mutex_);
    kept.reasons = reasons;
    kept.until = now + kKeep;
  }
  json listed = json::array();
  for (const junction::CancellationReason& reason : reasons) {
    listed.push_back(
        {{"id", reason.id}, {"name", reason.name}, {"is_refundable", reason.is_refundable}});
  }
  return {{"reasons", std::move(listed)}};
}

}  // namespace lab_orders::workflow
