#pragma once

// Junction's labtest.* webhooks, reduced to what the workflow needs: ids, statuses and times.
// Everything else in them (patient details, addresses) is PHI and is dropped on arrival.

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "lab_orders/model/order.h"

namespace lab_orders::workflow {

struct JunctionEvent {
  std::string event_type;         // "labtest.order.updated", "labtest.appointment.updated", ...
  std::string junction_order_id;  // data.id for order events, data.order_id for appointments
  // labtest.order.*: the order's last_event status (full form) and its highest event id.
  std::optional<std::string> order_status;
  std::int64_t order_event_id = 0;
  std::optional<std::string> order_status_at;  // last_event.created_at
  std::optional<std::string> status_detail;    // last_event.status_detail: a code, not PHI
  std::optional<std::string> sample_id;        // the lab's specimen number, once it has one
  // A test kit's shipment (data.details.data.shipment): the courier's tracking numbers.
  std::optional<std::string> outbound_tracking_number;
  std::optional<std::string> inbound_tracking_number;
  // labtest.result.critical: the result's status (partial | final) the notice is about.
  std::optional<std::string> critical_result_status;
  // labtest.appointment.*: the appointment, without its address.
  std::optional<model::AppointmentView> appointment;
};

// The webhook types the workflow acts on; others are acknowledged and ignored.
bool IsHandledJunctionEventType(const std::string& event_type);

// Parses a verified webhook body. nullopt for a type the workflow does not handle. Throws
// std::invalid_argument, with a message naming the field but never quoting a value, when a
// handled type lacks what the workflow needs.
std::optional<JunctionEvent> ParseJunctionWebhook(const nlohmann::json& body);

// The job payload form, and back (throws std::invalid_argument on a malformed payload).
nlohmann::json JunctionEventToJson(const JunctionEvent& event);
JunctionEvent JunctionEventFromJson(const nlohmann::json& json);

}  // namespace lab_orders::workflow
