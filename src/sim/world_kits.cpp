// The simulated Junction's test kits (docs/junction.md: Test kits): a kit ships once its
// requisition is made, reaches the patient, is mailed back and reaches the lab, each move after
// the script's kit timings (or by hand, POST /_sim/orders/{id}/advance), and its shipment gets a
// courier's tracking number each way.

#include "lab_orders/sim/world.h"
#include "sim/world_status.h"

namespace lab_orders::sim {
namespace {

using nlohmann::json;

// A courier's tracking number of the USPS form (22 digits), from the order id and the way the
// kit goes: the same order gets the same numbers in every run.
std::string TrackingNumber(const std::string& prefix, const std::string& order_id) {
  std::string number = prefix;
  for (char c : order_id) {
    if (number.size() == 22) break;
    if (std::isxdigit(static_cast<unsigned char>(c))) number += char('0' + (c % 10));
  }
  number.resize(22, '0');
  return number;
}

std::string TrackingUrl(const std::string& number) {
  return "https://tools.usps.com/go/TrackConfirmAction?tLabels=" + number;
}

}  // namespace

void World::OnKitStatusLocked(Order& order) {
  const KitRule& rule = script_->kit;
  order.kit_next_at.reset();
  auto next = [&](const char* status, const std::optional<int>& after_ms) {
    if (!after_ms) return;  // only by hand
    order.kit_next_status = status;
    order.kit_next_at = clock_.Now() + std::chrono::milliseconds(*after_ms);
    ScheduleLocked(order, *order.kit_next_at);
  };
  const std::string& low = order.low_status;
  // Any move past the requisition (a hand's too) means the kit has shipped.
  const bool shipped = low != "ordered" && low != "requisition_created" &&
                       low != "requisition_bypassed" && low != "awaiting_registration" &&
                       low != "cancelled" && low != "do_not_process";
  if (shipped && !order.shipment.is_object()) {
    const std::string outbound = TrackingNumber("9400", order.id);
    order.shipment = {{"id", ids_.NewUuid()},
                      {"outbound_tracking_number", outbound},
                      {"outbound_tracking_url", TrackingUrl(outbound)},
                      {"outbound_courier", "usps"},
                      {"inbound_tracking_number", nullptr},
                      {"inbound_tracking_url", nullptr},
                      {"inbound_courier", nullptr},
                      {"notes", nullptr}};
  }
  // On its way back (or past it): its return tracking number.
  const bool returning = low == "transit_lab" || low == "problem_in_transit_lab" ||
                         low == "delivered_to_lab" || low == "lab_processing_blocked";
  if (returning && order.shipment.is_object() &&
      order.shipment["inbound_tracking_number"].is_null()) {
    const std::string inbound = TrackingNumber("9202", order.id);
    order.shipment["inbound_tracking_number"] = inbound;
    order.shipment["inbound_tracking_url"] = TrackingUrl(inbound);
    order.shipment["inbound_courier"] = "usps";
  }
  if (low == "requisition_created") {
    next("transit_customer", rule.shipped_after_ms);
  } else if (low == "transit_customer" || low == "out_for_delivery") {
    next("with_customer", rule.delivered_after_ms);
  } else if (low == "with_customer") {
    next("transit_lab", rule.returned_after_ms);
  } else if (low == "transit_lab") {
    next("delivered_to_lab", rule.at_lab_after_ms);
  }
}

}  // namespace lab_orders::sim
