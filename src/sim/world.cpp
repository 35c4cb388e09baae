#include "lab_orders/sim/world.h"

#include <algorithm>

#include "lab_orders/common/encoding.h"
#include "lab_orders/sim/catalog.h"

namespace lab_orders::sim {
namespace {

using nlohmann::json;
using std::chrono::hours;
using std::chrono::milliseconds;
using std::chrono::minutes;

constexpr const char* kModality = "at_home_phlebotomy";
constexpr int kAvailabilityDays = 14;
constexpr int kFirstSlotHour = 7;  // local time
constexpr int kLastSlotHour = 17;
const auto kBookingKeyLifetime = minutes(15);
const auto kIdempotencyRetention = hours(24);
// Expired keys are swept this often; one met earlier is dropped when met.
const auto kIdempotencySweepInterval = hours(1);

SimResponse FieldDetail(const json& loc, const std::string& message) {
  return SimResponse{
      422,
      json{{"detail", json::array({{{"loc", loc}, {"msg", message}, {"type", "value_error"}}})}},
      {}};
}

// The top-level part of an at-home order status, from its low-level part.
const char* TopLevelFor(const std::string& low) {
  static const std::map<std::string, const char*> kTop = {
      {"ordered", "received"},
      {"requisition_created", "received"},
      {"requisition_bypassed", "received"},
      {"appointment_pending", "collecting_sample"},
      {"appointment_scheduled", "collecting_sample"},
      {"draw_completed", "collecting_sample"},
      {"appointment_cancelled", "collecting_sample"},
      {"partial_results", "sample_with_lab"},
      {"completed", "completed"},
      {"corrected", "completed"},
      {"cancelled", "cancelled"},
      {"sample_error", "failed"},
  };
  auto it = kTop.find(low);
  return it == kTop.end() ? nullptr : it->second;
}

std::string FullStatus(const std::string& low) {
  return std::string(TopLevelFor(low)) + "." + kModality + "." + low;
}

bool IsFinal(const std::string& low) {
  return low == "cancelled" || low == "completed" || low == "corrected" ||
         low == "partial_results" || low == "sample_error";
}

bool IsActiveAppointment(const std::string& status) {
  return status != "cancelled" && status != "completed";
}

std::string EventStatusFor(const std::string& appointment_status) {
  return appointment_status == "confirmed" ? "scheduled" : appointment_status;
}

std::string OrderStatusForAppointment(const std::string& appointment_status) {
  if (appointment_status == "confirmed" || appointment_status == "in_progress") {
    return "appointment_scheduled";
  }
  if (appointment_status == "cancelled") return "appointment_cancelled";
  if (appointment_status == "completed") return "draw_completed";
  return "appointment_pending";
}

// Names the lab can print: ASCII letters, digits, spaces and -.,'
bool IsPrintableName(const std::string& name) {
  return std::all_of(name.begin(), name.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == ' ' ||
           c == '-' || c == '.' || c == ',' || c == '\'';
  });
}

struct ZipArea {
  const char* timezone;
  int utc_offset_hours;  // fixed offsets: the simulator ignores daylight saving
  double lng;
  double lat;
};

ZipArea AreaFor(const std::string& zip_code) {
  if (zip_code.rfind("85004", 0) == 0) return {"America/Phoenix", -7, -112.0772235, 33.4421912};
  if (zip_code.rfind("54650", 0) == 0) return {"America/Chicago", -6, -91.2396, 43.9105};
  return {"America/New_York", -5, -73.9857, 40.7484};
}

}  // namespace

SimResponse DetailResponse(int status, const std::string& message) {
  return SimResponse{status, json{{"detail", message}}, {}};
}

World::World(const Clock& clock, IdGenerator& ids, std::vector<std::string> extra_served_zips)
    : clock_(clock), ids_(ids), extra_served_zips_(std::move(extra_served_zips)) {}

void World::SetEventSink(EventSink sink, std::function<bool()> listening) {
  std::lock_guard lock(mutex_);
  sink_ = std::move(sink);
  listening_ = std::move(listening);
}

void World::LoadScript(Script script) {
  std::lock_guard lock(mutex_);
  script_ = std::make_shared<const Script>(std::move(script));
}

std::shared_ptr<const Script> World::CurrentScript() const {
  std::lock_guard lock(mutex_);
  return script_;
}

void World::Reset() {
  std::lock_guard lock(mutex_);
  ClearLocked();
  script_ = std::make_shared<const Script>();
}

void World::ClearLocked() {
  users_.clear();
  users_by_client_id_.clear();
  orders_.clear();
  slots_.clear();
  idempotency_.clear();
  due_.clear();
}

// ---- users -------------------------------------------------------------------------------

json World::UserJson(const User& user) const {
  return {{"user_id", user.id},
          {"team_id", kTeamId},
          {"client_user_id", user.client_user_id},
          {"created_on", FormatRfc3339(user.created_on)},
          {"connected_sources", json::array()},
          {"fallback_time_zone", nullptr},
          {"fallback_birth_date", nullptr},
          {"ingestion_start", nullptr},
          {"ingestion_end", nullptr}};
}

const World::User* World::FindUserById(const std::string& id) const {
  auto it = users_.find(id);
  return it == users_.end() ? nullptr : &it->second;
}

SimResponse World::CreateUser(const json& body) {
  std::lock_guard lock(mutex_);
  std::string client_user_id = body.at("client_user_id").get<std::string>();
  auto existing = users_by_client_id_.find(client_user_id);
  if (existing != users_by_client_id_.end()) {
    const User& user = users_.at(existing->second);
    return SimResponse{400,
                       json{{"detail",
                             {{"error_type", "INVALID_REQUEST"},
                              {"error_message", "Client user id already exists."},
                              {"user_id", user.id},
                              {"created_on", FormatRfc3339(user.created_on)}}}},
                       {}};
  }
  User user{ids_.NewUuid(), client_user_id, clock_.Now()};
  users_by_client_id_[client_user_id] = user.id;
  users_[user.id] = user;
  return SimResponse{200, UserJson(user), {}};
}

SimResponse World::ResolveUser(const std::string& client_user_id) {
  std::lock_guard lock(mutex_);
  auto it = users_by_client_id_.find(client_user_id);
  if (it == users_by_client_id_.end()) return DetailResponse(404, "User not found");
  return SimResponse{200, UserJson(users_.at(it->second)), {}};
}

SimResponse World::GetUser(const std::string& user_id) {
  std::lock_guard lock(mutex_);
  const User* user = FindUserById(user_id);
  if (!user) return DetailResponse(404, "User not found");
  return SimResponse{200, UserJson(*user), {}};
}

SimResponse World::ListLabTests() {
  json tests = json::array();
  for (const CatalogEntry& entry : Catalog()) tests.push_back(LabTestJson(entry));
  return SimResponse{200, tests, {}};
}

// ---- orders ------------------------------------------------------------------------------

World::Order* World::FindOrder(const std::string& id) {
  auto it = orders_.find(id);
  return it == orders_.end() ? nullptr : &it->second;
}

World::Appointment* World::ActiveAppointment(Order& order) {
  return order.appointments.empty() ? nullptr : &order.appointments.back();
}

void World::SetOrderStatus(Order& order, const std::string& low_status) {
  if (order.low_status == low_status) return;
  order.low_status = low_status;
  order.updated_at = clock_.Now();
  order.events.push_back({{"id", next_event_id_++},
                          {"created_at", FormatRfc3339(order.updated_at)},
                          {"status", FullStatus(low_status)}});
  EmitOrderEvent(order,
                 order.events.size() == 1 ? "labtest.order.created" : "labtest.order.updated");
}

void World::SetAppointmentStatus(Order& order, Appointment& appointment,
                                 const std::string& status) {
  bool created = appointment.events.empty();
  if (!created && appointment.status == status) return;
  appointment.status = status;
  appointment.events.push_back(
      {{"created_at", FormatRfc3339(clock_.Now())}, {"status", EventStatusFor(status)}});
  EmitAppointmentEvent(order, appointment,
                       created ? "labtest.appointment.created" : "labtest.appointment.updated");
  if (!IsFinal(order.low_status) && order.low_status != "draw_completed") {
    SetOrderStatus(order, OrderStatusForAppointment(status));
  }
}

void World::EmitOrderEvent(const Order& order, const char* event_type) {
  if (!Listened()) return;
  const User* user = FindUserById(order.user_id);
  json event = {{"event_type", event_type},
                {"user_id", order.user_id},
                {"client_user_id", user ? user->client_user_id : ""},
                {"team_id", kTeamId},
                {"data", OrderJson(order)}};
  sink_(event, script_->duplicate_webhooks ? 2 : 1);
}

void World::EmitAppointmentEvent(const Order& order, const Appointment& appointment,
                                 const char* event_type) {
  if (!Listened()) return;
  const User* user = FindUserById(order.user_id);
  json event = {{"event_type", event_type},
                {"user_id", order.user_id},
                {"client_user_id", user ? user->client_user_id : ""},
                {"team_id", kTeamId},
                {"data", AppointmentJson(order, appointment)}};
  sink_(event, script_->duplicate_webhooks ? 2 : 1);
}

json World::OrderJson(const Order& order) const {
  const CatalogEntry* test = FindLabTest(order.lab_test_id);
  json details = order.patient_details;
  details["dob"] = details.value("dob", std::string()) + "T00:00:00+00:00";
  json address = order.patient_address;
  if (!address.contains("receiver_name")) address["receiver_name"] = "";
  std::optional<std::string> appointment_id;
  if (!order.appointments.empty()) appointment_id = order.appointments.back().id;
  std::string created = FormatRfc3339(order.created_at);
  std::string updated = FormatRfc3339(order.updated_at);
  return {
      {"id", order.id},
      {"user_id", order.user_id},
      {"team_id", kTeamId},
      {"patient_details", details},
      {"patient_address", address},
      {"lab_test", LabTestJson(*test)},
      {"details",
       {{"type", kModality},
        {"data",
         {{"id", order.details_id},
          {"appointment_id", appointment_id ? json(*appointment_id) : json(nullptr)},
          {"created_at", created},
          {"updated_at", updated}}}}},
      {"sample_id", nullptr},
      {"notes", nullptr},
      {"clinical_notes", nullptr},
      {"created_at", created},
      {"updated_at", updated},
      {"events", order.events},
      {"status", TopLevelFor(order.low_status)},
      {"last_event", order.events.back()},
      {"physician", nullptr},
      {"health_insurance_id", nullptr},
      {"requisition_form_url", nullptr},
      {"priority", false},
      {"shipping_details", nullptr},
      {"activate_by", nullptr},
      {"passthrough", nullptr},
      {"billing_type", "client_bill"},
      {"icd_codes", nullptr},
      {"has_abn", false},
      {"interpretation", nullptr},
      {"has_missing_results", nullptr},
      {"expected_result_by_date", nullptr},
      {"worst_case_result_by_date", nullptr},
      {"origin", "initial"},
      {"order_transaction",
       {{"id", order.transaction_id},
        {"status", IsFinal(order.low_status)
                       ? (order.low_status == "cancelled" ? "cancelled" : "completed")
                       : "active"},
        {"orders", json::array({{{"id", order.id},
                                 {"low_level_status", order.low_status},
                                 {"low_level_status_created_at", order.events.back()["created_at"]},
                                 {"origin", "initial"},
                                 {"parent_id", nullptr},
                                 {"created_at", created},
                                 {"updated_at", updated}}})}}},
  };
}

std::optional<SimResponse> World::BeginIdempotent(const std::string& key) {
  std::lock_guard lock(mutex_);
  auto now = clock_.Now();
  auto expired = [&](const IdempotentAnswer& entry) {
    return !entry.in_flight && now - entry.stored_at > kIdempotencyRetention;
  };
  // Sweeping every key on every call made order creation O(keys).
  if (now - last_idempotency_sweep_ >= kIdempotencySweepInterval) {
    std::erase_if(idempotency_, [&](const auto& entry) { return expired(entry.second); });
    last_idempotency_sweep_ = now;
  }
  auto it = idempotency_.find(key);
  if (it != idempotency_.end() && expired(it->second)) {
    idempotency_.erase(it);
    it = idempotency_.end();
  }
  if (it == idempotency_.end()) {
    idempotency_[key] = IdempotentAnswer{true, {}, now};
    return std::nullopt;
  }
  if (it->second.in_flight) {
    return DetailResponse(409, "A request with this idempotency key is already being processed.");
  }
  return it->second.answer;
}

void World::FinishIdempotent(const std::string& key, const SimResponse& answer, bool cache_errors) {
  std::lock_guard lock(mutex_);
  bool failed = answer.status >= 400;
  if (answer.status == 422 || (failed && !cache_errors)) {
    idempotency_.erase(key);
    return;
  }
  idempotency_[key] = IdempotentAnswer{false, answer, clock_.Now()};
}

void World::AbandonIdempotent(const std::string& key) {
  std::lock_guard lock(mutex_);
  auto it = idempotency_.find(key);
  if (it != idempotency_.end() && it->second.in_flight) idempotency_.erase(it);
}

SimResponse World::CreateOrder(const json& body) {
  std::lock_guard lock(mutex_);
  std::string user_id = body.at("user_id").get<std::string>();
  if (!FindUserById(user_id)) return DetailResponse(404, "User " + user_id + " not found.");

  std::string lab_test_id;
  if (body.contains("order_set") && body["order_set"].is_object() &&
      body["order_set"].contains("lab_test_ids") && body["order_set"]["lab_test_ids"].is_array() &&
      !body["order_set"]["lab_test_ids"].empty()) {
    if (body["order_set"]["lab_test_ids"].size() > 1) {
      return DetailResponse(400, "The simulator orders one lab test per order.");
    }
    lab_test_id = body["order_set"]["lab_test_ids"][0].get<std::string>();
  } else if (body.contains("lab_test_id") && body["lab_test_id"].is_string()) {
    lab_test_id = body["lab_test_id"].get<std::string>();
  } else {
    return DetailResponse(400, "Either order_set or lab_test_id must be provided.");
  }
  if (!FindLabTest(lab_test_id))
    return DetailResponse(400, "Lab test " + lab_test_id + " not found.");
  if (body.contains("collection_method") && body["collection_method"].is_string() &&
      body["collection_method"] != kModality) {
    return DetailResponse(400, "The lab test does not support collection method " +
                                   body["collection_method"].get<std::string>() + ".");
  }

  const json& patient = body["patient_details"];
  for (const char* field : {"first_name", "last_name"}) {
    if (!IsPrintableName(patient[field].get<std::string>())) {
      return FieldDetail(json::array({"body", "patient_details", field}),
                         "Value error, name may hold only ASCII letters, digits, spaces and "
                         "-.,' characters");
    }
  }
  std::chrono::system_clock::time_point dob;
  if (!ParseDate(patient["dob"].get<std::string>(), &dob)) {
    return FieldDetail(json::array({"body", "patient_details", "dob"}),
                       "Input should be a valid date");
  }
  auto eighteenth = std::chrono::year_month_day{std::chrono::floor<std::chrono::days>(dob)} +
                    std::chrono::years{18};
  if (std::chrono::sys_days{eighteenth} > clock_.Now()) {
    return DetailResponse(400, "Patients must be at least 18 years old for at-home phlebotomy.");
  }

  Order order;
  order.id = ids_.NewUuid();
  order.user_id = user_id;
  order.details_id = ids_.NewUuid();
  order.transaction_id = ids_.NewUuid();
  order.lab_test_id = lab_test_id;
  order.patient_details = patient;
  order.patient_address = body["patient_address"];
  order.created_at = order.updated_at = clock_.Now();
  Order& stored = orders_[order.id] = std::move(order);
  SetOrderStatus(stored, "ordered");
  switch (script_->requisition.mode) {
    case RequisitionRule::Mode::kImmediate:
      SetOrderStatus(stored, "requisition_created");
      break;
    case RequisitionRule::Mode::kAfterMs:
      stored.requisition_at = stored.created_at + milliseconds(script_->requisition.ms);
      ScheduleLocked(stored, *stored.requisition_at);
      break;
    case RequisitionRule::Mode::kAfterPolls:
    case RequisitionRule::Mode::kManual:
      break;
  }
  return SimResponse{200,
                     json{{"order", OrderJson(stored)},
                          {"status", "success"},
                          {"message", "Order created successfully"}},
                     {}};
}

SimResponse World::GetOrder(const std::string& order_id) {
  std::lock_guard lock(mutex_);
  ApplyDueLocked();
  Order* order = FindOrder(order_id);
  if (!order) return DetailResponse(404, "Order not found.");
  ++order->polls;
  if (script_->requisition.mode == RequisitionRule::Mode::kAfterPolls &&
      order->low_status == "ordered" && order->polls >= script_->requisition.polls) {
    SetOrderStatus(*order, "requisition_created");
  }
  return SimResponse{200, OrderJson(*order), {}};
}

SimResponse World::CancelOrder(const std::string& order_id) {
  std::lock_guard lock(mutex_);
  ApplyDueLocked();
  Order* order = FindOrder(order_id);
  if (!order) return DetailResponse(404, "Order not found.");
  if (IsFinal(order->low_status)) {
    return DetailResponse(
        400, "Order cannot be cancelled in status " + FullStatus(order->low_status) + ".");
  }
  if (Appointment* appointment = ActiveAppointment(*order);
      appointment && IsActiveAppointment(appointment->status)) {
    SetAppointmentStatus(*order, *appointment, "cancelled");
  }
  SetOrderStatus(*order, "cancelled");
  return SimResponse{200,
                     json{{"order", OrderJson(*order)},
                          {"status", "success"},
                          {"message", "Order cancelled successfully"}},
                     {}};
}

SimResponse World::AdvanceOrder(const std::string& order_id, const json& body) {
  std::lock_guard lock(mutex_);
  Order* order = FindOrder(order_id);
  if (!order) return DetailResponse(404, "Order not found.");
  if (!body.is_object() || !body.contains("status") || !body["status"].is_string()) {
    return DetailResponse(400, "Give {\"status\": \"<at-home status>\"}.");
  }
  std::string status = body["status"].get<std::string>();
  if (size_t dot = status.rfind('.'); dot != std::string::npos) status = status.substr(dot + 1);
  if (!TopLevelFor(status))
    return DetailResponse(400, "Unknown at-home order status " + status + ".");
  Appointment* appointment = ActiveAppointment(*order);
  if (appointment && IsActiveAppointment(appointment->status)) {
    if (status == "draw_completed" || status == "completed" || status == "partial_results") {
      SetAppointmentStatus(*order, *appointment, "completed");
    } else if (status == "cancelled") {
      SetAppointmentStatus(*order, *appointment, "cancelled");
    }
  }
  SetOrderStatus(*order, status);
  return SimResponse{200, OrderJson(*order), {}};
}

// ---- availability and appointments -------------------------------------------------------

bool World::IsServed(const std::string& zip_code) const {
  std::string five = zip_code.substr(0, 5);
  if (five == "85004" || five == "54650") return true;
  auto served = [&](const std::vector<std::string>& zips) {
    return std::find(zips.begin(), zips.end(), five) != zips.end();
  };
  return served(extra_served_zips_) || served(script_->served_zips);
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
  return SimResponse{200,
                     json{{"zip_code", zip_code},
                          {"phlebotomy", {{"is_served", served}, {"providers", providers}}},
                          {"central_labs", json::object()}},
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
  const std::map<TimePoint, int> booked = BookingsByHour(zip_code, "");
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
      auto taken = booked.find(start);
      int available = script_->slot_capacity - (taken == booked.end() ? 0 : taken->second);
      if (available <= 0) continue;
      slots.push_back({{"booking_key", key},
                       {"start", FormatRfc3339(start)},
                       {"end", FormatRfc3339(slot.end)},
                       {"expires_at", FormatRfc3339(slot.expires_at)},
                       {"price", 0.0},
                       {"is_priority", false},
                       {"num_appointments_available", available}});
    }
    if (!slots.empty()) {
      days.push_back(
          {{"date", FormatDate(midnight_local)}, {"location", nullptr}, {"slots", slots}});
    }
  }
  return SimResponse{200, json{{"timezone", area.timezone}, {"slots", days}}, {}};
}

json World::AppointmentJson(const Order& order, const Appointment& appointment) const {
  ZipArea area = AreaFor(appointment.address.value("zip_code", std::string()));
  bool pending_request = appointment.status == "pending";
  return {
      {"id", appointment.id},
      {"user_id", order.user_id},
      {"order_id", order.id},
      {"order_transaction_id", order.transaction_id},
      {"address", appointment.address},
      {"location", {{"lng", area.lng}, {"lat", area.lat}}},
      {"start_at", FormatRfc3339(appointment.start)},
      {"end_at", FormatRfc3339(appointment.end)},
      {"iana_timezone", area.timezone},
      {"type", "phlebotomy"},
      {"provider", appointment.provider},
      {"status", appointment.status},
      {"provider_id", appointment.provider_id},
      {"external_id", nullptr},
      {"can_reschedule", IsActiveAppointment(appointment.status) && !pending_request},
      {"appointment_notes", appointment.notes ? json(*appointment.notes) : json(nullptr)},
      {"event_status", EventStatusFor(appointment.status)},
      {"event_data", nullptr},
      {"events", appointment.events},
  };
}

std::map<World::TimePoint, int> World::BookingsByHour(const std::string& zip_code,
                                                      const std::string& except_order_id) const {
  // Appointments compete for a provider's hour across the whole ZIP, whatever the street.
  std::map<TimePoint, int> booked;
  for (const auto& [id, order] : orders_) {
    if (id == except_order_id) continue;
    for (const Appointment& appointment : order.appointments) {
      if (IsActiveAppointment(appointment.status) &&
          appointment.address.value("zip_code", std::string()).substr(0, 5) ==
              zip_code.substr(0, 5)) {
        ++booked[appointment.start];
      }
    }
  }
  return booked;
}

std::optional<SimResponse> World::CheckSlot(const std::string& booking_key, const Order& order,
                                            Slot** found) {
  auto it = slots_.find(booking_key);
  if (it == slots_.end()) return DetailResponse(400, "Invalid booking key.");
  if (clock_.Now() > it->second.expires_at) {
    return DetailResponse(400, "The booking key has expired; fetch availability again.");
  }
  const Slot& wanted = it->second;
  const std::map<TimePoint, int> by_hour = BookingsByHour(wanted.zip_code, order.id);
  auto taken = by_hour.find(wanted.start);
  int booked = taken == by_hour.end() ? 0 : taken->second;
  if (booked >= script_->slot_capacity) {
    return DetailResponse(400, "The selected slot is no longer available.");
  }
  *found = &it->second;
  return std::nullopt;
}

std::variant<BookingPlan, SimResponse> World::PlanBooking(const std::string& order_id,
                                                          const json& body, int call_number) {
  std::lock_guard lock(mutex_);
  ApplyDueLocked();
  Order* order = FindOrder(order_id);
  if (!order) return DetailResponse(404, "Order not found.");
  if (auto refused = RefuseBooking(*order)) return *refused;
  Slot* slot = nullptr;
  if (auto refused = CheckSlot(body.at("booking_key").get<std::string>(), *order, &slot)) {
    return *refused;
  }
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
                                 const BookingPlan& plan) {
  std::lock_guard lock(mutex_);
  Order* order = FindOrder(order_id);
  if (!order) return DetailResponse(404, "Order not found.");
  // The order may have changed while the provider was deciding (cancelled, say).
  if (auto refused = RefuseBooking(*order)) return *refused;
  Slot* slot = nullptr;
  if (auto refused = CheckSlot(body.at("booking_key").get<std::string>(), *order, &slot)) {
    return *refused;
  }
  return BookSlot(*order, *slot, body, plan);
}

std::optional<SimResponse> World::RefuseBooking(const Order& order) const {
  if (IsFinal(order.low_status) || order.low_status == "draw_completed") {
    return DetailResponse(
        400, "Order in status " + FullStatus(order.low_status) + " cannot book an appointment.");
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
  appointment.provider = ProviderFor(slot.zip_code);
  appointment.provider_id = ids_.NewUuid();
  appointment.address = slot.address;
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

SimResponse World::GetAppointment(const std::string& order_id) {
  std::lock_guard lock(mutex_);
  ApplyDueLocked();
  Order* order = FindOrder(order_id);
  if (!order) return DetailResponse(404, "Order not found.");
  Appointment* appointment = ActiveAppointment(*order);
  if (!appointment) return DetailResponse(404, "The order has no appointment.");
  ++appointment->polls;
  if (appointment->status == "pending" && appointment->resolves_to &&
      appointment->resolve_after_polls && appointment->polls >= *appointment->resolve_after_polls) {
    ResolvePending(*order, *appointment);
  }
  return SimResponse{200, AppointmentJson(*order, *appointment), {}};
}

SimResponse World::RescheduleAppointment(const std::string& order_id, const json& body) {
  std::lock_guard lock(mutex_);
  ApplyDueLocked();
  Order* order = FindOrder(order_id);
  if (!order) return DetailResponse(404, "Order not found.");
  Appointment* appointment = ActiveAppointment(*order);
  if (!appointment || !IsActiveAppointment(appointment->status)) {
    return DetailResponse(400, "The order has no active appointment to reschedule.");
  }
  if (appointment->status == "pending") {
    return DetailResponse(400, "This appointment cannot be rescheduled while it is pending.");
  }
  Slot* slot = nullptr;
  if (auto refused = CheckSlot(body.at("booking_key").get<std::string>(), *order, &slot)) {
    return *refused;
  }
  appointment->booking_key = slot->booking_key;
  appointment->start = slot->start;
  appointment->end = slot->end;
  appointment->address = slot->address;
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

SimResponse World::CancellationReasons() {
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

SimResponse World::CancelAppointment(const std::string& order_id, const json& body) {
  std::string reason = body.at("cancellation_reason_id").get<std::string>();
  const json reasons = CancellationReasons().body;
  bool known = std::any_of(reasons.begin(), reasons.end(),
                           [&](const json& entry) { return entry["id"] == reason; });
  std::lock_guard lock(mutex_);
  ApplyDueLocked();
  Order* order = FindOrder(order_id);
  if (!order) return DetailResponse(404, "Order not found.");
  if (!known) return DetailResponse(400, "Unknown cancellation reason.");
  Appointment* appointment = ActiveAppointment(*order);
  if (!appointment || !IsActiveAppointment(appointment->status)) {
    return DetailResponse(400, "The order has no active appointment to cancel.");
  }
  appointment->resolves_to.reset();
  SetAppointmentStatus(*order, *appointment, "cancelled");
  return SimResponse{200, AppointmentJson(*order, *appointment), {}};
}

// ---- time --------------------------------------------------------------------------------

void World::ScheduleLocked(const Order& order, TimePoint at) { due_.emplace(at, order.id); }

bool World::StillDue(const Order& order, TimePoint at) const {
  if (order.requisition_at == at) return true;
  // Only a pending appointment can still resolve; a cancelled one keeps a stale resolve_at.
  return !order.appointments.empty() && order.appointments.back().status == "pending" &&
         order.appointments.back().resolve_at == at;
}

void World::ApplyDueLocked() {
  auto now = clock_.Now();
  while (!due_.empty() && due_.begin()->first <= now) {
    std::string order_id = std::move(due_.begin()->second);
    due_.erase(due_.begin());
    Order* order = FindOrder(order_id);
    if (!order) continue;
    if (order->requisition_at && *order->requisition_at <= now) {
      order->requisition_at.reset();
      if (order->low_status == "ordered") SetOrderStatus(*order, "requisition_created");
    }
    Appointment* appointment = ActiveAppointment(*order);
    if (appointment && appointment->status == "pending" && appointment->resolve_at &&
        *appointment->resolve_at <= now) {
      ResolvePending(*order, *appointment);
    }
  }
}

std::optional<World::TimePoint> World::Tick() {
  std::lock_guard lock(mutex_);
  ApplyDueLocked();
  // Stale entries at the front would make callers waiting for the next due time wake for
  // nothing: they go now.
  while (!due_.empty()) {
    const Order* order = FindOrder(due_.begin()->second);
    if (order && StillDue(*order, due_.begin()->first)) return due_.begin()->first;
    due_.erase(due_.begin());
  }
  return std::nullopt;
}

}  // namespace lab_orders::sim
