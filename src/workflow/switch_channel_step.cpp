// The switch_channel step: the brand asked for a fallback channel (walk_in), and the provider has
// cancelled as many home visits as the workflow rebooks. Junction's collection method is fixed on
// its order, so the order moves by a new Junction order on the new channel (under a key of its
// own: resent after a lost answer, it is the same order), recorded before the home visit's order
// is cancelled; then the order follows the new one. A crash anywhere resumes at the same point.

#include <spdlog/spdlog.h>

#include "lab_orders/junction/order_request_for.h"
#include "lab_orders/workflow/order_workflow.h"
#include "lab_orders/workflow/state.h"

namespace lab_orders::workflow {
namespace {

// The order stays where it was, failed as it would have been without the fallback.
void AbandonSwitch(model::LabOrder& order, const std::string& why) {
  model::WorkflowState& state = order.workflow;
  state.channel_switch_to.reset();
  state.switched_junction_order_id.reset();
  state.failure_reason = "the provider cancelled " + std::to_string(state.provider_cancellations) +
                         " bookings, and " + why;
  spdlog::warn("order {}: {}", order.id, *state.failure_reason);
}

// From here on the order is the new Junction order's: its appointment, status and events start
// afresh; the cancelled home visit stays among the past appointments.
void FollowNewJunctionOrder(model::LabOrder& order, const std::string& to) {
  model::WorkflowState& state = order.workflow;
  SetAppointmentAside(state);
  state.appointment_cancelled_by.reset();
  ClearBookingSent(state);
  state.booking_refusals = 0;
  state.channel_changed_from = state.collection_method;
  state.channel_change_reason = "provider_cancelled";
  state.collection_method = to;
  state.junction_status = "received." + junction::JunctionCollectionMethod(to) + ".ordered";
  state.junction_event_id = 0;
  order.junction_order_id = *state.switched_junction_order_id;
  state.channel_switch_to.reset();
  state.switched_junction_order_id.reset();
}

}  // namespace

store::JobOutcome OrderWorkflow::SwitchChannel(const store::Job& job, model::LabOrder& order) {
  model::WorkflowState& state = order.workflow;
  const std::string to = *state.channel_switch_to;
  const std::string old_junction_order = *order.junction_order_id;

  if (!state.switched_junction_order_id) {
    auto tests = settings_.lab_test_ids.find(order.panel_slug);
    if (tests == settings_.lab_test_ids.end() || !order.junction_user_id) {
      AbandonSwitch(order,
                    "no " + to + " order can be made for the " + order.panel_slug + " panel");
      return Advance(job, order, {}, "");
    }
    auto created = junction_.CreateOrder(junction::CreateOrderRequestFor(
        order, to, tests->second, "lab-orders:" + order.id + ":" + to));
    if (!created.ok()) {
      if (IsRefusal(created.outcome())) {
        AbandonSwitch(order,
                      "Junction refused a " + to + " order (" + created.error().summary + ")");
        return Advance(job, order, {}, "");
      }
      return RetryAfterFailure(job, order, created.error());
    }
    state.switched_junction_order_id = created->order.id;
    // Recorded before the home visit's order is cancelled: a crash from here on goes on with
    // this order, never makes another.
    store_.CheckpointOrder(job, order, order.version);
    ++order.version;
    spdlog::info("order {}: Junction order {} made for {}", order.id,
                 *state.switched_junction_order_id, to);
  }

  auto cancelled = junction_.CancelOrder(old_junction_order);
  if (!cancelled.ok()) {
    if (!IsCancelRefused(cancelled.outcome()))
      return RetryAfterFailure(job, order, cancelled.error());
    // Refused: cancelled already (an earlier run's answer was lost), or gone past where it can
    // be (the patient was drawn after all): then the order stays on it, and the new one goes.
    auto current = junction_.GetOrder(old_junction_order);
    if (!current.ok()) return RetryAfterFailure(job, order, current.error());
    if (current->low_level_status != "cancelled") {
      auto undone = junction_.CancelOrder(*state.switched_junction_order_id);
      if (!undone.ok() && !IsCancelRefused(undone.outcome())) {
        return RetryAfterFailure(job, order, undone.error());
      }
      spdlog::warn("order {}: Junction would not cancel order {} ({}); staying on it", order.id,
                   old_junction_order, current->low_level_status);
      state.channel_switch_to.reset();
      state.switched_junction_order_id.reset();
      ApplyJunctionOrder(state, *current);
      return Advance(job, order, {}, "");
    }
  }
  FollowNewJunctionOrder(order, to);
  spdlog::info("order {}: moved to {} after {} provider cancellations (Junction order {})",
               order.id, to, state.provider_cancellations, *order.junction_order_id);
  return Advance(job, order, {}, "");
}

}  // namespace lab_orders::workflow
