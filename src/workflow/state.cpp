#include "lab_orders/workflow/state.h"

#include <algorithm>

namespace lab_orders::workflow {
namespace {

std::string HighLevelStatus(const std::string& full_status) {
  return full_status.substr(0, full_status.find('.'));
}

bool Contains(const std::vector<std::string>& ids, const std::string& id) {
  return std::find(ids.begin(), ids.end(), id) != ids.end();
}

// Cancelled appointments are the provider's doing: the service only cancels with the order.
int CountCancelled(const orders::WorkflowState& state) {
  bool current_cancelled = state.appointment && state.appointment->status == "cancelled";
  return int(state.past_appointment_ids.size()) + (current_cancelled ? 1 : 0);
}

}  // namespace

std::string LowLevelStatus(const std::string& full_status) {
  size_t dot = full_status.rfind('.');
  return dot == std::string::npos ? full_status : full_status.substr(dot + 1);
}

bool RequisitionReady(const orders::WorkflowState& state) {
  static const char* const kReady[] = {"requisition_created", "requisition_bypassed",
                                       "appointment_pending", "appointment_scheduled",
                                       "appointment_cancelled"};
  std::string low = LowLevelStatus(state.junction_status);
  return std::any_of(std::begin(kReady), std::end(kReady),
                     [&](const char* ready) { return low == ready; });
}

bool IsFinalStatus(const std::string& status) {
  return status == "cancelled" || status == "completed" || status == "failed";
}

orders::AppointmentView AppointmentViewFrom(const junction::Appointment& appointment) {
  orders::AppointmentView view;
  view.id = appointment.id;
  view.status = appointment.status;
  view.start_at = appointment.start_at;
  view.end_at = appointment.end_at;
  view.timezone = appointment.iana_timezone;
  view.provider = appointment.provider;
  view.can_reschedule = appointment.can_reschedule;
  view.event_count = int(appointment.events.size());
  return view;
}

bool IsActiveAppointmentStatus(const std::string& status) {
  return status != "cancelled" && status != "completed";
}

bool IsPendingAppointmentStatus(const std::string& status) {
  return status == "pending" || status == "reserved";
}

bool ApplyJunctionOrder(orders::WorkflowState& state, const std::string& full_status,
                        std::int64_t event_id) {
  if (full_status.empty()) return false;
  // Event ids grow with every change at Junction: a lower one is an older view.
  bool newer = event_id > state.junction_event_id || state.junction_status.empty();
  if (!newer) return false;
  bool changed = full_status != state.junction_status || event_id != state.junction_event_id;
  state.junction_status = full_status;
  state.junction_event_id = event_id;
  return changed;
}

bool ApplyJunctionOrder(orders::WorkflowState& state, const junction::Order& order) {
  std::int64_t highest = 0;
  for (const junction::OrderEvent& event : order.events) highest = std::max(highest, event.id);
  return ApplyJunctionOrder(state, order.status, highest);
}

AppointmentUpdate ApplyAppointment(orders::WorkflowState& state,
                                   const orders::AppointmentView& view) {
  if (Contains(state.past_appointment_ids, view.id)) return AppointmentUpdate::kStale;
  if (!state.appointment || state.appointment->id != view.id) return AppointmentUpdate::kUnknown;
  orders::AppointmentView& current = *state.appointment;
  if (view.event_count < current.event_count) return AppointmentUpdate::kStale;
  if (view == current) return AppointmentUpdate::kUnchanged;
  // The same number of events with other details (a reschedule adds none): the later read wins.
  current = view;
  state.provider_cancellations = CountCancelled(state);
  return AppointmentUpdate::kApplied;
}

void AdoptAppointment(orders::WorkflowState& state, const orders::AppointmentView& view) {
  if (state.appointment && state.appointment->id != view.id &&
      !Contains(state.past_appointment_ids, state.appointment->id)) {
    state.past_appointment_ids.push_back(state.appointment->id);
  }
  state.appointment = view;
  state.booking_sent = false;
  state.provider_cancellations = CountCancelled(state);
}

bool CheckRebookLimit(orders::WorkflowState& state, int max_provider_cancellations) {
  if (state.failure_reason || !state.appointment || state.appointment->status != "cancelled") {
    return false;
  }
  if (state.provider_cancellations < max_provider_cancellations) return false;
  state.failure_reason = "the provider cancelled " + std::to_string(state.provider_cancellations) +
                         " bookings; no more rebooking";
  return true;
}

std::string DeriveStatus(const orders::WorkflowState& state, const std::string& current_status) {
  if (IsFinalStatus(current_status)) return current_status;
  if (state.failure_reason) return "failed";
  std::string high = HighLevelStatus(state.junction_status);
  std::string low = LowLevelStatus(state.junction_status);
  if (high == "cancelled" || low == "cancelled") return "cancelled";
  if (high == "completed") return "completed";
  if (high == "failed" || low == "sample_error") return "failed";
  if (high == "sample_with_lab" || low == "partial_results") return "sample_with_lab";
  if (low == "draw_completed") return "draw_completed";
  if (state.appointment) {
    const std::string& status = state.appointment->status;
    if (status == "confirmed" || status == "in_progress") return "appointment_scheduled";
    if (status == "completed") return "draw_completed";
    if (status == "cancelled") return "appointment_cancelled";
    // pending, reserved, or a status Junction added since: not booked until confirmed.
    return "appointment_pending";
  }
  return state.junction_status.empty() ? current_status : "ordered";
}

}  // namespace lab_orders::workflow
