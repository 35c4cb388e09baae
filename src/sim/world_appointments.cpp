// The simulated Junction team's availability and appointments: the areas served, the slots
// offered and their booking keys, booking (planned, then committed once the provider answers),
// rescheduling and cancelling. Users, orders and time are in world.cpp.

#include <algorithm>
#include <map>
#include <optional>
#include <string>
#include <variant>

#include "lab_orders/common/encoding.h"
#include "lab_orders/sim/world.h"
#include "sim/world_status.h"

namespace lab_orders::sim {
namespace {

using nlohmann::json;
using std::chrono::hours;
using std::chrono::milliseconds;
using std::chrono::minutes;

constexpr int kAvailabilityDays = 14;
constexpr int kFirstSlotHour = 7;  // local time
constexpr int kLastSlotHour = 17;
const auto kBookingKeyLifetime = minutes(15);

}  // namespace

ZipArea AreaFor(const std::string& zip_code) {
  if (zip_code.rfind("85004", 0) == 0) return {"America/Phoenix", -7, -112.0772235, 33.4421912};
  if (zip_code.rfind("54650", 0) == 0) return {"America/Chicago", -6, -91.2396, 43.9105};
  return {"America/New_York", -5, -73.9857, 40.7484};
}

bool World::IsServed(const std::string& zip_code) const {
  std::string five = zip_code.substr(0, 5);
  if (five == "85004" || five == "54650") return true;
  auto served = [&](const std::vector<std::string>& zips) {
    return std::find(zips.begin(), zips.end(), five) != zips.end();
  };
  return served(extra_served_zips_) || served(script_->served_zips);
}

bool World::HasServiceCenters(const std::string& zip_code) const {
  const std::vector<std::string>& unserved = script_->psc_unserved_zips;
  return std::find(unserved.begin(), unserved.end(), zip_code.substr(0, 5)) == unserved.end();
}

std::string World::ProviderFor(const std::string& zip_code) const {
  return zip_code.rfind("54650", 0) == 0 ? "phlebfinders" : "getlabs";
}

SimResponse World::AreaInfo(const std::string& zip_code) {
  std::lock_guard lock(mutex_);
  json providers = json::array();
  bool served = IsServed(zip_code);
  if (served) {
    std::string provider = ProviderFor(zip_code);
    providers.push_back(
        {{"name", provider},
         {"service_types", {provider == "getlabs" ? "appointment-ready" : "appointment-request"}}});
  }
  // Quest's service centers: within 25 miles of every ZIP but the script's psc_unserved_zips.
  json central_labs = json::object();
  if (HasServiceCenters(zip_code)) {
    central_labs["quest"] = {{"patient_service_centers",
                              {{"appointment_with_vital", true},
                               {"within_radius", 3},
                               {"radius", "25"},
                               {"capabilities", {"appointment_scheduling_via_junction"}}}},
                             {"supported_bill_types", {"client_bill"}},
                             {"lab_id", kQuestLabId}};
  }
  return SimResponse{200,
                     json{{"zip_code", zip_code},
                          {"phlebotomy", {{"is_served", served}, {"providers", providers}}},
                          {"central_labs", central_labs}},
                     {}};
}

SimResponse World::Availability(const json& address, const std::optional<std::string>& start_date) {
  std::lock_guard lock(mutex_);
  std::string zip_code = address.at("zip_code").get<std::string>();
  auto now = clock_.Now();
  // Expired keys can never book again; forgetting them keeps memory bounded.
  std::erase_if(slots_, [&](const auto& entry) { return entry.second.expires_at < now; });
  if (!IsServed(zip_code)) {
    return SimResponse{200, json{{"timezone", nullptr}, {"slots", json::array()}}, {}};
  }
  std::chrono::system_clock::time_point first_day = std::chrono::floor<std::chrono::days>(now);
  if (start_date && !ParseDate(*start_date, &first_day)) {
    return FieldDetail(json::array({"query", "start_date"}), "Input should be a valid date");
  }
  ZipArea area = AreaFor(zip_code);
  // Getlabs books at least 48 hours ahead; PhlebFinders a day ahead.
  auto lead = ProviderFor(zip_code) == "getlabs" ? hours(48) : hours(24);
  Slot place;
  place.zip_code = zip_code;
  const std::map<TimePoint, int> booked = BookingsByHour(place, "");
  json days = json::array();
  for (int day = 0; day < kAvailabilityDays; ++day) {
    auto midnight_local = first_day + std::chrono::days(day);
    json slots = json::array();
    for (int hour = kFirstSlotHour; hour <= kLastSlotHour; ++hour) {
      auto start = midnight_local + hours(hour - area.utc_offset_hours);
      if (start < now + lead) continue;
      // The key holds the address too: it books the address availability was asked for.
      std::string key =
          "bk_" + HexEncode(Sha256(zip_code + "|" + FormatRfc3339(start) + "|" + address.dump()))
                      .substr(0, 32);
      Slot& slot = slots_[key];
      if (slot.booking_key.empty()) {
        slot.booking_key = key;
        slot.zip_code = zip_code;
        slot.start = start;
        slot.end = start + hours(1);
      }
      slot.expires_at = now + kBookingKeyLifetime;
      slot.address = address;
      json offered = OfferedSlotJson(slot, booked);
      if (!offered.is_null()) slots.push_back(std::move(offered));
    }
    if (!slots.empty()) {
      days.push_back(
          {{"date", FormatDate(midnight_local)}, {"location", nullptr}, {"slots", slots}});
    }
  }
  return SimResponse{200, json{{"timezone", area.timezone}, {"slots", days}}, {}};
}

json World::OfferedSlotJson(const Slot& slot, const std::map<TimePoint, int>& booked) const {
  auto taken = booked.find(slot.start);
  const int available = script_->slot_capacity - (taken == booked.end() ? 0 : taken->second);
  if (available <= 0) return nullptr;
  return {{"booking_key", slot.booking_key},
          {"start", FormatRfc3339(slot.start)},
          {"end", FormatRfc3339(slot.end)},
          {"expires_at", FormatRfc3339(slot.expires_at)},
          {"price", 0.0},
          {"is_priority", false},
          {"num_appointments_available", available}};
}

json World::AppointmentJson(const Order& order, const Appointment& appointment) const {
  ZipArea area = AreaFor(appointment.address.value("zip_code", std::string()));
  bool pending_request = appointment.status == "pending";
  const bool at_site = !appointment.site_code.empty();
  return {
      {"id", appointment.id},
      {"user_id", order.user_id},
      {"order_id", order.id},
      {"order_transaction_id", order.transaction_id},
      {"address", appointment.address},
      {"location",
       at_site ? appointment.location["location"] : json{{"lng", area.lng}, {"lat", area.lat}}},
      {"start_at", FormatRfc3339(appointment.start)},
      {"end_at", FormatRfc3339(appointment.end)},
      {"iana_timezone", area.timezone},
      {"type", at_site ? "patient_service_center" : "phlebotomy"},
      {"provider", appointment.provider},
      {"status", appointment.status},
      {"provider_id", appointment.provider_id},
      {"external_id", at_site ? json(appointment.external_id) : json(nullptr)},
      {"can_reschedule", IsActiveAppointment(appointment.status) && !pending_request},
      {"appointment_notes", appointment.notes ? json(*appointment.notes) : json(nullptr)},
      {"event_status", EventStatusFor(appointment.status)},
      {"event_data", nullptr},
      {"events", appointment.events},
  };
}

std::map<World::TimePoint, int> World::BookingsByHour(const Slot& place,
                                                      const std::string& except_order_id) const {
  // Home visits compete for a provider's hour across the whole ZIP, whatever the street; a
  // service center's appointments for the site's hour.
  std::map<TimePoint, int> booked;
  for (const auto& [id, order] : orders_) {
    if (id == except_order_id) continue;
    for (const Appointment& appointment : order.appointments) {
      if (!IsActiveAppointment(appointment.status) || appointment.site_code != place.site_code) {
        continue;
      }
      if (!place.site_code.empty() ||
          appointment.address.value("zip_code", std::string()).substr(0, 5) ==
              place.zip_code.substr(0, 5)) {
        ++booked[appointment.start];
      }
    }
  }
  return booked;
}

std::optional<SimResponse> World::CheckSlot(const std::string& booking_key, const Order& order,
                                            Venue venue, Slot** found) {
  auto it = slots_.find(booking_key);
  // A home visit's key at a service center's booking, or the other way round, books nothing.
  if (it == slots_.end() || it->second.site_code.empty() != (venue == Venue::kHome)) {
    return DetailResponse(400, "Invalid booking key.");
  }
  if (clock_.Now() > it->second.expires_at) {
    return DetailResponse(400, "The booking key has expired; fetch availability again.");
  }
  const Slot& wanted = it->second;
  const std::map<TimePoint, int> by_hour = BookingsByHour(wanted, order.id);
  auto taken = by_hour.find(wanted.start);
  int booked = taken == by_hour.end() ? 0 : taken->second;
  if (booked >= script_->slot_capacity) {
    return DetailResponse(400, "The selected slot is no longer available.");
  }
  *found = &it->second;
  return std::nullopt;
}

std::variant<BookingPlan, SimResponse> World::PlanBooking(const std::string& order_id,
                                                          const json& body, int call_number,
                                                          Venue venue) {
  std::lock_guard lock(mutex_);
  ApplyDueLocked();
  Order* order = nullptr;
  Slot* slot = nullptr;
  if (auto refused = FindBookable(order_id, body, venue, &order, &slot)) return *refused;
  BookingPlan plan;
  plan.rule = script_->BookingFor(call_number);
  plan.async_confirmation = body.value("async_confirmation", false);
  int sync_timeout = body.contains("sync_confirmation_timeout_millisecond") &&
                             body["sync_confirmation_timeout_millisecond"].is_number_integer()
                         ? body["sync_confirmation_timeout_millisecond"].get<int>()
                         : 2500;
  if (plan.rule.resolve_after_polls || plan.rule.resolve_after_ms) {
    plan.provider_answers_in_time = false;  // scripted in polls or ms: answer at once
  } else if (plan.async_confirmation && plan.rule.provider_delay_ms > sync_timeout) {
    plan.provider_answers_in_time = false;
    plan.wait_ms = sync_timeout;
  } else {
    plan.wait_ms = plan.rule.provider_delay_ms;
  }
  return plan;
}

SimResponse World::CommitBooking(const std::string& order_id, const json& body,
                                 const BookingPlan& plan, Venue venue) {
  std::lock_guard lock(mutex_);
  // The order may have changed while the provider was deciding (cancelled, say).
  Order* order = nullptr;
  Slot* slot = nullptr;
  if (auto refused = FindBookable(order_id, body, venue, &order, &slot)) return *refused;
  return BookSlot(*order, *slot, body, plan);
}

std::optional<SimResponse> World::FindBookable(const std::string& order_id, const json& body,
                                               Venue venue, Order** order, Slot** slot) {
  *order = FindOrder(order_id);
  if (!*order) return DetailResponse(404, "Order not found.");
  if (auto refused = RefuseBooking(**order, venue)) return refused;
  return CheckSlot(body.at("booking_key").get<std::string>(), **order, venue, slot);
}

std::optional<SimResponse> World::RefuseBooking(const Order& order, Venue venue) const {
  if (venue == Venue::kHome && order.modality != kAtHome) {
    return DetailResponse(400, "The order is not an at-home phlebotomy order.");
  }
  if (venue == Venue::kServiceCenter && order.modality != kWalkIn) {
    return DetailResponse(400, "The order is not a walk-in (patient service center) order.");
  }
  if (IsFinal(order.low_status) || order.low_status == "draw_completed") {
    return DetailResponse(400, "Order in status " + FullStatus(order.modality, order.low_status) +
                                   " cannot book an appointment.");
  }
  if (order.low_status == "ordered" && !script_->allow_booking_before_requisition) {
    return DetailResponse(400, "The order's requisition has not been created yet.");
  }
  if (!order.appointments.empty() && IsActiveAppointment(order.appointments.back().status)) {
    return DetailResponse(400,
                          "The order already has an active appointment; reschedule it instead.");
  }
  return std::nullopt;
}

SimResponse World::BookSlot(Order& order, Slot& slot, const json& body, const BookingPlan& plan) {
  const BookingRule& rule = plan.rule;
  bool provider_refuses = rule.outcome == BookingOutcome::kCancelled;
  if (!plan.async_confirmation && (!plan.provider_answers_in_time || provider_refuses)) {
    return DetailResponse(500, "The provider could not confirm the appointment.");
  }
  Appointment appointment;
  appointment.id = ids_.NewUuid();
  appointment.order_id = order.id;
  appointment.booking_key = slot.booking_key;
  appointment.provider = slot.site_code.empty() ? ProviderFor(slot.zip_code) : "quest";
  appointment.provider_id = ids_.NewUuid();
  appointment.address = slot.address;
  appointment.site_code = slot.site_code;
  appointment.location = slot.location;
  if (!slot.site_code.empty()) {
    // Quest's confirmation code, which the patient shows at the desk.
    appointment.external_id = "QC" + HexEncode(Sha256(appointment.id)).substr(0, 8);
  }
  appointment.start = slot.start;
  appointment.end = slot.end;
  if (body.contains("appointment_notes") && body["appointment_notes"].is_string()) {
    appointment.notes = body["appointment_notes"].get<std::string>();
  }
  std::string outcome = rule.outcome == BookingOutcome::kConfirmed  ? "confirmed"
                        : rule.outcome == BookingOutcome::kReserved ? "reserved"
                                                                    : "cancelled";
  // Booked before the requisition exists (a beta feature): held as reserved.
  if (outcome == "confirmed" && order.low_status == "ordered") outcome = "reserved";
  std::string status = outcome;
  if (!plan.provider_answers_in_time) {
    status = "pending";
    appointment.resolves_to = outcome;
    appointment.resolve_after_polls = rule.resolve_after_polls;
    if (rule.resolve_after_ms) {
      appointment.resolve_at = clock_.Now() + milliseconds(*rule.resolve_after_ms);
    } else if (!rule.resolve_after_polls) {
      appointment.resolve_at = clock_.Now() + milliseconds(rule.provider_delay_ms - plan.wait_ms);
    }
  }
  order.appointments.push_back(std::move(appointment));
  Appointment& stored = order.appointments.back();
  if (stored.resolve_at) ScheduleLocked(order, *stored.resolve_at);
  SetAppointmentStatus(order, stored, status);
  return SimResponse{200, AppointmentJson(order, stored), {}};
}

void World::ResolvePending(Order& order, Appointment& appointment) {
  std::string outcome = *appointment.resolves_to;
  appointment.resolves_to.reset();
  appointment.resolve_after_polls.reset();
  appointment.resolve_at.reset();
  SetAppointmentStatus(order, appointment, outcome);
}

World::Appointment* World::ActiveAppointmentAt(Order& order, Venue venue) {
  Appointment* appointment = ActiveAppointment(order);
  if (!appointment || appointment->site_code.empty() != (venue == Venue::kHome)) return nullptr;
  return appointment;
}

SimResponse World::GetAppointment(const std::string& order_id, Venue venue) {
  std::lock_guard lock(mutex_);
  ApplyDueLocked();
  Order* order = FindOrder(order_id);
  if (!order) return DetailResponse(404, "Order not found.");
  Appointment* appointment = ActiveAppointmentAt(*order, venue);
  if (!appointment) return DetailResponse(404, "The order has no appointment.");
  ++appointment->polls;
  if (appointment->status == "pending" && appointment->resolves_to &&
      appointment->resolve_after_polls && appointment->polls >= *appointment->resolve_after_polls) {
    ResolvePending(*order, *appointment);
  }
  return SimResponse{200, AppointmentJson(*order, *appointment), {}};
}

SimResponse World::RescheduleAppointment(const std::string& order_id, const json& body,
                                         Venue venue) {
  std::lock_guard lock(mutex_);
  ApplyDueLocked();
  Order* order = FindOrder(order_id);
  if (!order) return DetailResponse(404, "Order not found.");
  Appointment* appointment = ActiveAppointmentAt(*order, venue);
  if (!appointment || !IsActiveAppointment(appointment->status)) {
    return DetailResponse(400, "The order has no active appointment to reschedule.");
  }
  if (appointment->status == "pending") {
    return DetailResponse(400, "This appointment cannot be rescheduled while it is pending.");
  }
  Slot* slot = nullptr;
  if (auto refused = CheckSlot(body.at("booking_key").get<std::string>(), *order, venue, &slot)) {
    return *refused;
  }
  appointment->booking_key = slot->booking_key;
  appointment->start = slot->start;
  appointment->end = slot->end;
  appointment->address = slot->address;
  appointment->site_code = slot->site_code;
  appointment->location = slot->location;
  if (body.contains("appointment_notes") && body["appointment_notes"].is_string()) {
    appointment->notes = body["appointment_notes"].get<std::string>();
  }
  appointment->status = "confirmed";
  appointment->events.push_back({{"created_at", FormatRfc3339(clock_.Now())},
                                 {"status", "scheduled"},
                                 {"data", {{"origin", "api"}, {"is_reschedule", true}}}});
  EmitAppointmentEvent(*order, *appointment, "labtest.appointment.updated");
  SetOrderStatus(*order, "appointment_scheduled");
  return SimResponse{200, AppointmentJson(*order, *appointment), {}};
}

SimResponse World::CancellationReasons(Venue venue) {
  if (venue == Venue::kServiceCenter) {
    return SimResponse{200,
                       json::array({{{"id", "5f0c7a52-91d4-4c2e-8a3b-6d2e1f4b7c01"},
                                     {"name", "Patient cannot make it"},
                                     {"is_refundable", true}},
                                    {{"id", "5f0c7a52-91d4-4c2e-8a3b-6d2e1f4b7c02"},
                                     {"name", "Patient will walk in instead"},
                                     {"is_refundable", true}},
                                    {{"id", "5f0c7a52-91d4-4c2e-8a3b-6d2e1f4b7c03"},
                                     {"name", "Booked in error"},
                                     {"is_refundable", false}}}),
                       {}};
  }
  return SimResponse{200,
                     json::array({{{"id", "0b1cbd44-7c2b-4b1e-9c55-4a0f3e2d1a01"},
                                   {"name", "Patient requested cancellation"},
                                   {"is_refundable", true}},
                                  {{"id", "0b1cbd44-7c2b-4b1e-9c55-4a0f3e2d1a02"},
                                   {"name", "Order cancelled by the ordering team"},
                                   {"is_refundable", true}},
                                  {{"id", "0b1cbd44-7c2b-4b1e-9c55-4a0f3e2d1a03"},
                                   {"name", "Patient was not available"},
                                   {"is_refundable", false}}}),
                     {}};
}

SimResponse World::CancelAppointment(const std::string& order_id, const json& body, Venue venue) {
  // Checked against the spec first: a service center's body is camelCase.
  std::string reason =
      body.at(venue == Venue::kHome ? "cancellation_reason_id" : "cancellationReasonId")
          .get<std::string>();
  const json reasons = CancellationReasons(venue).body;
  bool known = std::any_of(reasons.begin(), reasons.end(),
                           [&](const json& entry) { return entry["id"] == reason; });
  std::lock_guard lock(mutex_);
  ApplyDueLocked();
  Order* order = FindOrder(order_id);
  if (!order) return DetailResponse(404, "Order not found.");
  if (!known) return DetailResponse(400, "Unknown cancellation reason.");
  Appointment* appointment = ActiveAppointmentAt(*order, venue);
  if (!appointment || !IsActiveAppointment(appointment->status)) {
    return DetailResponse(400, "The order has no active appointment to cancel.");
  }
  appointment->resolves_to.reset();
  SetAppointmentStatus(*order, *appointment, "cancelled");
  return SimResponse{200, AppointmentJson(*order, *appointment), {}};
}

}  // namespace lab_orders::sim
