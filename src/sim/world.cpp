// The simulated Junction team's users and orders, and time: order statuses and the webhook
// events they send, idempotent order creation, and the timed transitions that fall due.
// Availability and appointments are in world_appointments.cpp, test kits in world_kits.cpp.

#include "lab_orders/sim/world.h"

#include <algorithm>
#include <set>

#include "lab_orders/sim/catalog.h"
#include "sim/world_status.h"

namespace lab_orders::sim {
namespace {

using nlohmann::json;
using std::chrono::hours;
using std::chrono::milliseconds;

const auto kIdempotencyRetention = hours(24);
// Expired keys are swept this often; one met earlier is dropped when met.
const auto kIdempotencySweepInterval = hours(1);

// The top-level part of an at-home or walk-in order status, from its low-level part.
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
      // A test kit's (docs/junction.md: Test kits).
      {"awaiting_registration", "received"},
      {"registered", "received"},
      {"transit_customer", "collecting_sample"},
      {"out_for_delivery", "collecting_sample"},
      {"with_customer", "collecting_sample"},
      {"transit_lab", "collecting_sample"},
      {"problem_in_transit_customer", "collecting_sample"},
      {"problem_in_transit_lab", "collecting_sample"},
      {"delivered_to_lab", "sample_with_lab"},
      {"lab_processing_blocked", "sample_with_lab"},
      {"failure_to_deliver_to_customer", "failed"},
      {"failure_to_deliver_to_lab", "failed"},
      {"lost", "failed"},
      {"do_not_process", "cancelled"},
  };
  auto it = kTop.find(low);
  return it == kTop.end() ? nullptr : it->second;
}

}  // namespace

SimResponse FieldDetail(const json& loc, const std::string& message) {
  return SimResponse{
      422,
      json{{"detail", json::array({{{"loc", loc}, {"msg", message}, {"type", "value_error"}}})}},
      {}};
}

std::string FullStatus(const std::string& modality, const std::string& low) {
  return std::string(TopLevelFor(low)) + "." + modality + "." + low;
}

bool IsFinal(const std::string& low) {
  return low == "cancelled" || low == "completed" || low == "corrected" ||
         low == "partial_results" || low == "sample_error" ||
         low == "failure_to_deliver_to_customer" || low == "failure_to_deliver_to_lab" ||
         low == "lost" || low == "do_not_process";
}

bool IsKitStatus(const std::string& low) {
  static const std::set<std::string> kKit = {"awaiting_registration",
                                             "registered",
                                             "transit_customer",
                                             "out_for_delivery",
                                             "with_customer",
                                             "transit_lab",
                                             "problem_in_transit_customer",
                                             "problem_in_transit_lab",
                                             "delivered_to_lab",
                                             "lab_processing_blocked",
                                             "failure_to_deliver_to_customer",
                                             "failure_to_deliver_to_lab",
                                             "lost",
                                             "do_not_process"};
  return kKit.contains(low);
}

bool IsActiveAppointment(const std::string& status) {
  return status != "cancelled" && status != "completed";
}

std::string EventStatusFor(const std::string& appointment_status) {
  return appointment_status == "confirmed" ? "scheduled" : appointment_status;
}

namespace {

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

}  // namespace

SimResponse DetailResponse(int status, const std::string& message) {
  return SimResponse{status, json{{"detail", message}}, {}};
}

World::World(const Clock& clock, IdGenerator& ids, std::vector<std::string> extra_served_zips,
             std::uint64_t result_seed)
    : clock_(clock),
      ids_(ids),
      extra_served_zips_(std::move(extra_served_zips)),
      result_seed_(result_seed) {}

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

void World::SetOrderStatus(Order& order, const std::string& low_status,
                           const std::optional<std::string>& status_detail) {
  if (order.low_status == low_status) return;
  order.low_status = low_status;
  order.updated_at = clock_.Now();
  // Before the event: it carries the kit's shipment as it is now.
  if (order.modality == kTestkit) OnKitStatusLocked(order);
  json event = {{"id", next_event_id_++},
                {"created_at", FormatRfc3339(order.updated_at)},
                {"status", FullStatus(order.modality, low_status)}};
  if (status_detail) event["status_detail"] = *status_detail;
  order.events.push_back(std::move(event));
  // Before the event is sent: it carries the order's sample id and interpretation.
  bool critical = RecordResultsLocked(order);
  EmitOrderEvent(order,
                 order.events.size() == 1 ? "labtest.order.created" : "labtest.order.updated");
  // Right after the status change that brought the critical report, as one advance's events.
  if (critical) EmitCriticalResultEvent(order);
}

void World::SetAppointmentStatus(Order& order, Appointment& appointment, const std::string& status,
                                 const std::optional<std::string>& order_status_detail) {
  bool created = appointment.events.empty();
  if (!created && appointment.status == status) return;
  appointment.status = status;
  appointment.events.push_back(
      {{"created_at", FormatRfc3339(clock_.Now())}, {"status", EventStatusFor(status)}});
  EmitAppointmentEvent(order, appointment,
                       created ? "labtest.appointment.created" : "labtest.appointment.updated");
  if (!IsFinal(order.low_status) && order.low_status != "draw_completed") {
    SetOrderStatus(order, OrderStatusForAppointment(status), order_status_detail);
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
       {{"type", order.modality},
        {"data",
         order.modality == kTestkit
             ? json{{"id", order.details_id},
                    {"shipment", order.shipment},
                    {"created_at", created},
                    {"updated_at", updated}}
             : json{{"id", order.details_id},
                    {"appointment_id", appointment_id ? json(*appointment_id) : json(nullptr)},
                    {"created_at", created},
                    {"updated_at", updated}}}}},
      {"sample_id", order.sample_id ? json(*order.sample_id) : json(nullptr)},
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
      // Both null until the first report, then the latest report's.
      {"interpretation",
       order.reports.empty() ? json(nullptr) : json(order.reports.back().interpretation)},
      {"has_missing_results",
       order.reports.empty() ? json(nullptr) : json(!order.reports.back().missing_results.empty())},
      {"expected_result_by_date", nullptr},
      {"worst_case_result_by_date", nullptr},
      {"origin", "initial"},
      {"order_transaction", OrderTransactionJson(order)},
  };
}

json World::OrderTransactionJson(const Order& order) const {
  return {
      {"id", order.transaction_id},
      {"status", IsFinal(order.low_status)
                     ? (order.low_status == "cancelled" ? "cancelled" : "completed")
                     : "active"},
      {"orders", json::array({{{"id", order.id},
                               {"low_level_status", order.low_status},
                               {"low_level_status_created_at", order.events.back()["created_at"]},
                               {"origin", "initial"},
                               {"parent_id", nullptr},
                               {"created_at", FormatRfc3339(order.created_at)},
                               {"updated_at", FormatRfc3339(order.updated_at)}}})}};
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
  std::string modality = kAtHome;
  if (body.contains("collection_method") && body["collection_method"].is_string()) {
    modality = body["collection_method"].get<std::string>();
    if (modality != kAtHome && modality != kWalkIn && modality != kTestkit) {
      return DetailResponse(400,
                            "The lab test does not support collection method " + modality + ".");
    }
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
  if (modality == kAtHome && std::chrono::sys_days{eighteenth} > clock_.Now()) {
    return DetailResponse(400, "Patients must be at least 18 years old for at-home phlebotomy.");
  }

  Order order;
  order.id = ids_.NewUuid();
  order.user_id = user_id;
  order.details_id = ids_.NewUuid();
  order.transaction_id = ids_.NewUuid();
  order.lab_test_id = lab_test_id;
  order.modality = modality;
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
  // A kit is cancelled only before it ships (docs/junction.md: Test kits).
  if (IsFinal(order->low_status) || (order->modality == kTestkit && order->shipment.is_object())) {
    return DetailResponse(400, "Order cannot be cancelled in status " +
                                   FullStatus(order->modality, order->low_status) + ".");
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
  if (!TopLevelFor(status)) return DetailResponse(400, "Unknown order status " + status + ".");
  // A kit's statuses for a kit only; an appointment's and a draw's for a draw only.
  const bool kit = order->modality == kTestkit;
  const bool draw_status = status.rfind("appointment_", 0) == 0 || status == "draw_completed";
  if ((IsKitStatus(status) && !kit) || (draw_status && kit)) {
    return DetailResponse(400,
                          "Status " + status + " is not one of a " + order->modality + " order.");
  }
  ResultPlan plan = order->result_plan;
  std::optional<std::string> status_detail;
  if (auto refused =
          ReadResultOptions(body, *order, status != order->low_status, &plan, &status_detail)) {
    return *refused;
  }
  // Kept for the order's later reports too, as the sandbox's simulation flags are.
  order->result_plan = plan;
  Appointment* appointment = ActiveAppointment(*order);
  if (appointment && IsActiveAppointment(appointment->status)) {
    if (status == "draw_completed" || status == "completed" || status == "partial_results") {
      // Completing the appointment is what moves the order to draw_completed: an advance to
      // draw_completed puts its status_detail on that event.
      SetAppointmentStatus(*order, *appointment, "completed",
                           status == "draw_completed" ? status_detail : std::nullopt);
    } else if (status == "cancelled") {
      SetAppointmentStatus(*order, *appointment, "cancelled");
    }
  }
  SetOrderStatus(*order, status, status_detail);
  return SimResponse{200, OrderJson(*order), {}};
}

// ---- time --------------------------------------------------------------------------------

void World::ScheduleLocked(const Order& order, TimePoint at) { due_.emplace(at, order.id); }

bool World::StillDue(const Order& order, TimePoint at) const {
  if (order.requisition_at == at || order.kit_next_at == at) return true;
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
    if (order->kit_next_at && *order->kit_next_at <= now && !IsFinal(order->low_status)) {
      order->kit_next_at.reset();
      const std::string next = order->kit_next_status;  // the move sets the one after
      SetOrderStatus(*order, next);
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
