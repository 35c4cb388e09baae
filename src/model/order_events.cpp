#include "lab_orders/model/order_events.h"

#include <algorithm>

#include "lab_orders/model/order_json.h"

namespace lab_orders::model {
namespace {

using nlohmann::json;

// The order as the API shows it, and the brand's own ids beside it, where a receiver finds them
// whatever the event.
json Data(const model::LabOrder& after) {
  json order = model::OrderJson(after);
  json external_order_id = order.at("external_order_id");
  json metadata = order.at("metadata");
  return {{"order", std::move(order)},
          {"external_order_id", std::move(external_order_id)},
          {"metadata", std::move(metadata)}};
}

OrderEvent Event(const char* type, const model::LabOrder& after, json extra = json::object()) {
  json data = Data(after);
  data.update(extra);
  return {type, std::move(data)};
}

// How far a test kit has gone: 1 shipped, 2 delivered, 3 the sample on its way back, 4 past all
// three (at the lab, or done with); 0 before, or off the way (failed, cancelled).
int KitStage(const std::string& status) {
  if (status == "kit_shipped") return 1;
  if (status == "kit_delivered") return 2;
  if (status == "sample_in_transit") return 3;
  if (status == "sample_with_lab" || status == "completed") return 4;
  return 0;
}

OrderEvent ChannelChanged(const model::LabOrder& after) {
  const model::WorkflowState& state = after.workflow;
  return Event(kEventChannelChanged, after,
               {{"previous_collection_method", *state.channel_changed_from},
                {"collection_method", state.collection_method},
                {"reason", *state.channel_change_reason}});
}

const char* TerminalEvent(const std::string& status) {
  if (status == "completed") return kEventOrderCompleted;
  if (status == "cancelled") return kEventOrderCancelled;
  if (status == "failed") return kEventOrderFailed;
  return nullptr;
}

}  // namespace

const std::vector<std::string>& EventTypes() {
  static const std::vector<std::string> types = {
      kEventOrderCreated,           kEventChannelChanged,       kEventOrderUpdated,
      kEventAppointmentBooked,      kEventAppointmentConfirmed, kEventAppointmentCancelled,
      kEventAppointmentRescheduled, kEventKitShipped,           kEventKitDelivered,
      kEventSampleInTransit,        kEventSampleReceived,       kEventOrderCompleted,
      kEventOrderCancelled,         kEventOrderFailed,          kEventResultsReady,
      kEventResultCritical};
  return types;
}

bool IsPriorityEventType(const std::string& type) { return type == kEventResultCritical; }

bool IsEventType(const std::string& type) {
  const auto& types = EventTypes();
  return std::find(types.begin(), types.end(), type) != types.end();
}

std::vector<OrderEvent> OrderEventsFor(const std::optional<OrderBefore>& before,
                                       const model::LabOrder& after) {
  std::vector<OrderEvent> events;
  if (!before) {
    events.push_back(Event(kEventOrderCreated, after));
    // Placed on the brand's fallback channel: said once, with the order's creation.
    const model::WorkflowState& state = after.workflow;
    if (state.channel_changed_from && state.channel_change_reason) {
      events.push_back(ChannelChanged(after));
    }
    return events;
  }
  // Moved to the fallback channel after the provider's cancellations: said before the status
  // change it brings.
  if (before->collection_method != after.workflow.collection_method &&
      after.workflow.channel_changed_from && after.workflow.channel_change_reason) {
    events.push_back(ChannelChanged(after));
  }
  // The appointment's events first: they explain the status change that follows.
  const auto& was = before->appointment;
  const auto& now = after.workflow.appointment;
  if (now) {
    const bool new_booking = !was || was->id != now->id;
    const json appointment = {{"appointment_id", now->id}};
    if (new_booking) {
      events.push_back(
          Event(kEventAppointmentBooked, after,
                {{"appointment_id", now->id},
                 {"booked_by", after.workflow.booked_by.value_or(kBookedByLabOrders)}}));
    }
    const bool status_changed = new_booking || was->status != now->status;
    if (status_changed && now->status == "confirmed") {
      events.push_back(Event(kEventAppointmentConfirmed, after, appointment));
    }
    if (status_changed && now->status == "cancelled") {
      events.push_back(
          Event(kEventAppointmentCancelled, after,
                {{"appointment_id", now->id},
                 {"cancelled_by", after.workflow.appointment_cancelled_by.value_or("junction")}}));
    }
    // The same appointment at another time: its old and new times, and who moved it.
    if (!new_booking && was->start_at != now->start_at && now->status != "cancelled") {
      auto time = [](const std::optional<std::string>& at) { return at ? json(*at) : json(); };
      events.push_back(
          Event(kEventAppointmentRescheduled, after,
                {{"appointment_id", now->id},
                 {"previous_start_at", time(was->start_at)},
                 {"previous_end_at", time(was->end_at)},
                 {"start_at", time(now->start_at)},
                 {"end_at", time(now->end_at)},
                 {"rescheduled_by", after.workflow.rescheduled_by.value_or("junction")}}));
    }
  }
  const model::WorkflowState& state = after.workflow;
  // A test kit's way, each stage once and in order, also one that Junction's news skipped over.
  if (state.collection_method == model::kTestkit) {
    auto number = [](const std::optional<std::string>& value) {
      return value ? json(*value) : json(nullptr);
    };
    for (int stage = KitStage(before->status) + 1; stage <= std::min(KitStage(after.status), 3);
         ++stage) {
      if (stage == 1) {
        events.push_back(
            Event(kEventKitShipped, after, {{"tracking_number", number(state.tracking_number)}}));
      } else if (stage == 2) {
        events.push_back(Event(kEventKitDelivered, after));
      } else {
        events.push_back(Event(kEventSampleInTransit, after,
                               {{"return_tracking_number", number(state.return_tracking_number)}}));
      }
    }
  }
  if (state.sample_id && !before->sample_id) {
    events.push_back(Event(kEventSampleReceived, after, {{"sample_id", *state.sample_id}}));
  }
  if (before->status != after.status) {
    events.push_back(Event(kEventOrderUpdated, after,
                           {{"previous_status", before->status}, {"status", after.status}}));
    if (const char* terminal = TerminalEvent(after.status)) {
      events.push_back(Event(terminal, after));
    }
  }
  // Ids, statuses and the interpretation only: a result's values never go in an event.
  if (state.result && (!before->result || before->result->id != state.result->id)) {
    events.push_back(Event(kEventResultsReady, after,
                           {{"result_id", state.result->id},
                            {"result_status", state.result->status},
                            {"interpretation", state.result->interpretation}}));
  }
  if (state.critical_reported_for && state.critical_reported_for != before->critical_reported_for) {
    events.push_back(Event(kEventResultCritical, after,
                           {{"result_status", *state.critical_reported_for},
                            {"interpretation", "critical"},
                            {"sample_id", state.sample_id ? json(*state.sample_id) : json()}}));
  }
  return events;
}

json EventEnvelope(const OrderEvent& event, const std::string& timestamp) {
  return {{"type", event.type}, {"timestamp", timestamp}, {"data", event.data}};
}

}  // namespace lab_orders::model
