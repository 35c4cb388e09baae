#include "lab_orders/workflow/junction_event.h"

#include <algorithm>
#include <array>
#include <chrono>
#include <limits>
#include <stdexcept>
#include <string_view>

#include "lab_orders/common/clock.h"
#include "lab_orders/model/order_json.h"

namespace lab_orders::workflow {
namespace {

using nlohmann::json;

// The body is PHI-bearing: a failure names the field, never a value from it.
[[noreturn]] void Bad(std::string_view where, std::string_view field, std::string_view problem) {
  throw std::invalid_argument(std::string(where) + ": " + std::string(field) + " " +
                              std::string(problem));
}

constexpr std::string_view kWebhook = "junction webhook";
constexpr std::string_view kPayload = "junction_event payload";

const json* Find(const json& object, const char* key) {
  auto it = object.find(key);
  return it == object.end() ? nullptr : &*it;
}

std::string NonEmptyString(std::string_view where, const json& object, const char* key,
                           std::string_view field) {
  const json* value = Find(object, key);
  if (value == nullptr) Bad(where, field, "is missing");
  if (!value->is_string() || value->get_ref<const std::string&>().empty()) {
    Bad(where, field, "is not a non-empty string");
  }
  return value->get<std::string>();
}

std::string AnyString(std::string_view where, const json& object, const char* key,
                      std::string_view field) {
  const json* value = Find(object, key);
  if (value == nullptr) Bad(where, field, "is missing");
  if (!value->is_string()) Bad(where, field, "is not a string");
  return value->get<std::string>();
}

// Absent or null is nullopt; anything else must be a string.
std::optional<std::string> OptionalString(std::string_view where, const json& object,
                                          const char* key, std::string_view field) {
  const json* value = Find(object, key);
  if (value == nullptr || value->is_null()) return std::nullopt;
  if (!value->is_string()) Bad(where, field, "is not a string");
  return value->get<std::string>();
}

std::optional<std::string> OptionalTime(std::string_view where, const json& object, const char* key,
                                        std::string_view field) {
  std::optional<std::string> text = OptionalString(where, object, key, field);
  std::chrono::system_clock::time_point ignored;
  if (text && !ParseRfc3339(*text, &ignored)) Bad(where, field, "is not an RFC 3339 date-time");
  return text;
}

bool Boolean(std::string_view where, const json& object, const char* key, std::string_view field) {
  const json* value = Find(object, key);
  if (value == nullptr) Bad(where, field, "is missing");
  if (!value->is_boolean()) Bad(where, field, "is not a boolean");
  return value->get<bool>();
}

std::int64_t Integer(std::string_view where, const json& value, std::string_view field) {
  if (value.is_number_unsigned()) {
    if (value.get<std::uint64_t>() >
        static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max())) {
      Bad(where, field, "is out of range");
    }
    return static_cast<std::int64_t>(value.get<std::uint64_t>());
  }
  if (!value.is_number_integer()) Bad(where, field, "is not an integer");
  return value.get<std::int64_t>();
}

const json& Object(std::string_view where, const json& object, const char* key,
                   std::string_view field) {
  const json* value = Find(object, key);
  if (value == nullptr) Bad(where, field, "is missing");
  if (!value->is_object()) Bad(where, field, "is not an object");
  return *value;
}

const json& Array(std::string_view where, const json& object, const char* key,
                  std::string_view field) {
  const json* value = Find(object, key);
  if (value == nullptr) Bad(where, field, "is missing");
  if (!value->is_array()) Bad(where, field, "is not an array");
  return *value;
}

constexpr std::string_view kCriticalResult = "labtest.result.critical";

constexpr std::array<std::string_view, 5> kHandledTypes = {
    "labtest.order.created", "labtest.order.updated", "labtest.appointment.created",
    "labtest.appointment.updated", kCriticalResult};

bool IsOrderEventType(const std::string& event_type) {
  return event_type.rfind("labtest.order.", 0) == 0;
}

// data is a ClientFacingOrder: its id, last_event status and highest event id, nothing else.
void ReadOrder(const json& data, JunctionEvent* event) {
  event->junction_order_id = NonEmptyString(kWebhook, data, "id", "data.id");
  const json& events = Array(kWebhook, data, "events", "data.events");
  std::int64_t highest = 0;
  for (const json& entry : events) {
    if (!entry.is_object()) Bad(kWebhook, "data.events[]", "is not an object");
    const json* id = Find(entry, "id");
    if (id == nullptr) Bad(kWebhook, "data.events[].id", "is missing");
    highest = std::max(highest, Integer(kWebhook, *id, "data.events[].id"));
  }
  const json* last_event = Find(data, "last_event");
  if (last_event != nullptr && !last_event->is_null()) {
    if (!last_event->is_object()) Bad(kWebhook, "data.last_event", "is not an object");
    event->order_status = NonEmptyString(kWebhook, *last_event, "status", "data.last_event.status");
    if (const json* id = Find(*last_event, "id"); id != nullptr && !id->is_null()) {
      highest = std::max(highest, Integer(kWebhook, *id, "data.last_event.id"));
    }
    // Only for the order's completed_at: a time in a form we do not read is left out, never a
    // reason to drop the event (ApplyJunctionOrder takes only an RFC 3339 one). Likewise a
    // status_detail that is not text.
    auto text_or_none = [&](const char* key) -> std::optional<std::string> {
      const json* value = Find(*last_event, key);
      return value != nullptr && value->is_string() ? std::optional(value->get<std::string>())
                                                    : std::nullopt;
    };
    event->order_status_at = text_or_none("created_at");
    event->status_detail = text_or_none("status_detail");
  } else if (!events.empty()) {
    const json& last = events.back();
    event->order_status = NonEmptyString(kWebhook, last, "status", "data.events[].status");
  } else {
    Bad(kWebhook, "data.last_event", "is missing and data.events is empty");
  }
  event->order_event_id = highest;
  event->sample_id = OptionalString(kWebhook, data, "sample_id", "data.sample_id");
  // A test kit's tracking numbers. The rest of details is left: a shape Junction changes there
  // never costs the status.
  const json* details = Find(data, "details");
  const json* details_data = details && details->is_object() ? Find(*details, "data") : nullptr;
  const json* shipment =
      details_data && details_data->is_object() ? Find(*details_data, "shipment") : nullptr;
  if (shipment && shipment->is_object()) {
    auto text_or_none = [&](const char* key) -> std::optional<std::string> {
      const json* value = Find(*shipment, key);
      return value != nullptr && value->is_string() && !value->get<std::string>().empty()
                 ? std::optional(value->get<std::string>())
                 : std::nullopt;
    };
    event->outbound_tracking_number = text_or_none("outbound_tracking_number");
    event->inbound_tracking_number = text_or_none("inbound_tracking_number");
  }
}

// data is a ClientFacingCriticalResult: ids, the result's status and its interpretation. No value.
void ReadCriticalResult(const json& data, JunctionEvent* event) {
  event->junction_order_id = NonEmptyString(kWebhook, data, "order_id", "data.order_id");
  event->critical_result_status = NonEmptyString(kWebhook, data, "status", "data.status");
  event->sample_id = OptionalString(kWebhook, data, "sample_id", "data.sample_id");
}

// data is a ClientFacingAppointment: a home visit's address, location and notes are PHI and are
// not read; a service center's address is the center's (a business's), kept for the patient's
// booking page.
void ReadAppointment(const json& data, JunctionEvent* event) {
  event->junction_order_id = NonEmptyString(kWebhook, data, "order_id", "data.order_id");
  model::AppointmentView view;
  view.id = NonEmptyString(kWebhook, data, "id", "data.id");
  view.status = NonEmptyString(kWebhook, data, "status", "data.status");
  view.start_at = OptionalTime(kWebhook, data, "start_at", "data.start_at");
  view.end_at = OptionalTime(kWebhook, data, "end_at", "data.end_at");
  view.timezone = OptionalString(kWebhook, data, "iana_timezone", "data.iana_timezone");
  view.provider = AnyString(kWebhook, data, "provider", "data.provider");
  view.can_reschedule = Boolean(kWebhook, data, "can_reschedule", "data.can_reschedule");
  if (OptionalString(kWebhook, data, "type", "data.type") == "patient_service_center") {
    view.confirmation_code = OptionalString(kWebhook, data, "external_id", "data.external_id");
    const json* site = Find(data, "address");
    if (site != nullptr && site->is_object()) {
      // Only for the page: a part that is not text is left out, never a reason to refuse the event.
      auto text = [&](const char* key) {
        const json* part = Find(*site, key);
        return part != nullptr && part->is_string() ? part->get<std::string>() : std::string();
      };
      view.site_address = model::SiteAddressLine(text("first_line"), text("second_line"),
                                                 text("city"), text("state"), text("zip_code"));
    }
  }
  const json& events = Array(kWebhook, data, "events", "data.events");
  if (events.size() > static_cast<std::size_t>(std::numeric_limits<int>::max())) {
    Bad(kWebhook, "data.events", "is too long");
  }
  view.event_count = static_cast<int>(events.size());
  event->appointment = std::move(view);
}

}  // namespace

bool IsHandledJunctionEventType(const std::string& event_type) {
  for (std::string_view handled : kHandledTypes) {
    if (event_type == handled) return true;
  }
  return false;
}

std::optional<JunctionEvent> ParseJunctionWebhook(const json& body) {
  if (!body.is_object()) Bad(kWebhook, "body", "is not an object");
  const json* type = Find(body, "event_type");
  // A message without a type (a Svix test message, say) is not one the workflow acts on.
  if (type == nullptr || type->is_null()) return std::nullopt;
  if (!type->is_string()) Bad(kWebhook, "event_type", "is not a string");
  const std::string& event_type = type->get_ref<const std::string&>();
  if (!IsHandledJunctionEventType(event_type)) return std::nullopt;

  JunctionEvent event;
  event.event_type = event_type;
  const json& data = Object(kWebhook, body, "data", "data");
  if (IsOrderEventType(event_type)) {
    ReadOrder(data, &event);
  } else if (event_type == kCriticalResult) {
    ReadCriticalResult(data, &event);
  } else {
    ReadAppointment(data, &event);
  }
  return event;
}

json JunctionEventToJson(const JunctionEvent& event) {
  json out = {{"event_type", event.event_type},
              {"junction_order_id", event.junction_order_id},
              {"order_status", event.order_status ? json(*event.order_status) : json(nullptr)},
              {"order_event_id", event.order_event_id},
              {"appointment", nullptr}};
  auto optional = [](const std::optional<std::string>& value) {
    return value ? json(*value) : json(nullptr);
  };
  out["order_status_at"] = optional(event.order_status_at);
  out["status_detail"] = optional(event.status_detail);
  out["sample_id"] = optional(event.sample_id);
  out["outbound_tracking_number"] = optional(event.outbound_tracking_number);
  out["inbound_tracking_number"] = optional(event.inbound_tracking_number);
  out["critical_result_status"] = optional(event.critical_result_status);
  if (event.appointment) {
    const model::AppointmentView& view = *event.appointment;
    out["appointment"] = {{"id", view.id},
                          {"status", view.status},
                          {"start_at", optional(view.start_at)},
                          {"end_at", optional(view.end_at)},
                          {"timezone", optional(view.timezone)},
                          {"provider", view.provider},
                          {"can_reschedule", view.can_reschedule},
                          {"confirmation_code", optional(view.confirmation_code)},
                          {"site_address", optional(view.site_address)},
                          {"event_count", view.event_count}};
  }
  return out;
}

JunctionEvent JunctionEventFromJson(const json& in) {
  if (!in.is_object()) Bad(kPayload, "payload", "is not an object");
  JunctionEvent event;
  event.event_type = NonEmptyString(kPayload, in, "event_type", "event_type");
  event.junction_order_id = NonEmptyString(kPayload, in, "junction_order_id", "junction_order_id");
  event.order_status = OptionalString(kPayload, in, "order_status", "order_status");
  const json* event_id = Find(in, "order_event_id");
  if (event_id == nullptr) Bad(kPayload, "order_event_id", "is missing");
  event.order_event_id = Integer(kPayload, *event_id, "order_event_id");
  // Absent from payloads queued by older versions.
  event.order_status_at = OptionalString(kPayload, in, "order_status_at", "order_status_at");
  event.status_detail = OptionalString(kPayload, in, "status_detail", "status_detail");
  event.sample_id = OptionalString(kPayload, in, "sample_id", "sample_id");
  event.outbound_tracking_number =
      OptionalString(kPayload, in, "outbound_tracking_number", "outbound_tracking_number");
  event.inbound_tracking_number =
      OptionalString(kPayload, in, "inbound_tracking_number", "inbound_tracking_number");
  event.critical_result_status =
      OptionalString(kPayload, in, "critical_result_status", "critical_result_status");
  const json* appointment = Find(in, "appointment");
  if (appointment != nullptr && !appointment->is_null()) {
    if (!appointment->is_object()) Bad(kPayload, "appointment", "is not an object");
    const json& a = *appointment;
    model::AppointmentView view;
    view.id = NonEmptyString(kPayload, a, "id", "appointment.id");
    view.status = NonEmptyString(kPayload, a, "status", "appointment.status");
    view.start_at = OptionalString(kPayload, a, "start_at", "appointment.start_at");
    view.end_at = OptionalString(kPayload, a, "end_at", "appointment.end_at");
    view.timezone = OptionalString(kPayload, a, "timezone", "appointment.timezone");
    view.provider = AnyString(kPayload, a, "provider", "appointment.provider");
    view.can_reschedule = Boolean(kPayload, a, "can_reschedule", "appointment.can_reschedule");
    view.confirmation_code =
        OptionalString(kPayload, a, "confirmation_code", "appointment.confirmation_code");
    // Absent from payloads queued by older versions.
    view.site_address = OptionalString(kPayload, a, "site_address", "appointment.site_address");
    const json* count = Find(a, "event_count");
    if (count == nullptr) Bad(kPayload, "appointment.event_count", "is missing");
    std::int64_t events = Integer(kPayload, *count, "appointment.event_count");
    if (events < 0 || events > std::numeric_limits<int>::max()) {
      Bad(kPayload, "appointment.event_count", "is out of range");
    }
    view.event_count = static_cast<int>(events);
    event.appointment = std::move(view);
  }
  return event;
}

}  // namespace lab_orders::workflow
