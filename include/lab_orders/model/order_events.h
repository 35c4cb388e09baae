#pragma once

// The brand events an order change causes (issue 8). Pure: the store calls it inside the
// transaction that writes the change, so each event commits with its cause (a transactional
// outbox). Events carry ids, statuses, times and the brand's own external_order_id and metadata;
// never patient data.

#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "lab_orders/model/order.h"

namespace lab_orders::model {

inline constexpr const char* kEventOrderCreated = "lab_order.created";
inline constexpr const char* kEventOrderUpdated = "lab_order.updated";
inline constexpr const char* kEventAppointmentBooked = "appointment.booked";
inline constexpr const char* kEventAppointmentConfirmed = "appointment.confirmed";
inline constexpr const char* kEventAppointmentCancelled = "appointment.cancelled";
inline constexpr const char* kEventAppointmentRescheduled = "appointment.rescheduled";
inline constexpr const char* kEventOrderCompleted = "lab_order.completed";
inline constexpr const char* kEventOrderCancelled = "lab_order.cancelled";
inline constexpr const char* kEventOrderFailed = "lab_order.failed";
// The order went on another channel than the one asked for (the brand's fallback).
inline constexpr const char* kEventChannelChanged = "lab_order.channel_changed";
// A test kit's way: mailed to the patient (with its tracking number), delivered, and the sample
// mailed back to the lab (with its return tracking number).
inline constexpr const char* kEventKitShipped = "lab_order.kit_shipped";
inline constexpr const char* kEventKitDelivered = "lab_order.kit_delivered";
inline constexpr const char* kEventSampleInTransit = "lab_order.sample_in_transit";
inline constexpr const char* kEventSampleReceived = "lab_order.sample_received";
inline constexpr const char* kEventResultsReady = "lab_order.results_ready";
// Delivered ahead of the brand's other pending events (store: webhook deliveries' priority).
inline constexpr const char* kEventResultCritical = "lab_order.result_critical";

// Whether an event type goes ahead of a brand's other pending events.
bool IsPriorityEventType(const std::string& type);

// Every event type, in the order a brand reads about an order's life.
const std::vector<std::string>& EventTypes();
bool IsEventType(const std::string& type);

// What an event needs of the order before the change.
struct OrderBefore {
  std::string status;
  std::optional<model::AppointmentView> appointment;
  std::optional<std::string> sample_id = std::nullopt;
  std::optional<model::ResultSummary> result = std::nullopt;
  std::optional<std::string> critical_reported_for = std::nullopt;
  // The channel it was on: a switch after the provider's cancellations says channel_changed.
  std::string collection_method = kAtHome;
};

struct OrderEvent {
  std::string type;
  nlohmann::json data;  // {"order", "external_order_id", "metadata", ...}
};

// The events of a change from before to after, in the order they happened; before is nullopt for
// the order's creation (lab_order.created). No change a brand sees: no events.
std::vector<OrderEvent> OrderEventsFor(const std::optional<OrderBefore>& before,
                                       const model::LabOrder& after);

// The envelope sent: {"type", "timestamp" (RFC 3339 UTC), "data"}.
nlohmann::json EventEnvelope(const OrderEvent& event, const std::string& timestamp);

}  // namespace lab_orders::model
