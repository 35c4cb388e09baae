#include "lab_orders/workflow/order_workflow.h"

#include <spdlog/spdlog.h>

#include <algorithm>

#include "lab_orders/common/time_zone.h"
#include "lab_orders/workflow/junction_event.h"
#include "lab_orders/workflow/result_mapping.h"
#include "lab_orders/workflow/state.h"
#include "workflow/appointment_calls.h"

namespace lab_orders::workflow {
namespace {

using std::chrono::milliseconds;
using TimePoint = std::chrono::system_clock::time_point;

// A refusal Junction will repeat (a 4xx that is not a taken slot): after this many in a row
// (counted on the order, whatever else was retried between) the order fails instead of asking
// forever.
constexpr int kMaxRefusals = 5;

// Looks at a result Junction serves behind its own status (results_poll, doubling to 10 min:
// about two and a half hours) before taking it as it is.
constexpr int kMaxResultWaits = 20;

// The earliest slot that can be booked, starts at or after earliest_start and suits the order.
std::optional<junction::TimeSlot> EarliestSlot(const junction::Availability& availability,
                                               TimePoint earliest_start,
                                               const model::WorkflowState& state,
                                               int fasting_latest_hour) {
  std::optional<junction::TimeSlot> best;
  TimePoint best_start;
  for (const junction::DaySlots& day : availability.days) {
    for (const junction::TimeSlot& slot : day.slots) {
      TimePoint start;
      if (!slot.booking_key || !ParseRfc3339(slot.start, &start) || start < earliest_start) {
        continue;
      }
      if (slot.num_appointments_available <= 0) continue;
      if (!SlotSuits(state, availability.timezone, slot.start, fasting_latest_hour)) continue;
      if (!best || start < best_start) {
        best = slot;
        best_start = start;
      }
    }
  }
  return best;
}

// Whether the brand would see a difference: the order's status, appointment or failure reason.
// The workflow's own bookkeeping (the last Junction event applied, booking attempts) is not.
bool BrandVisibleChange(const model::LabOrder& order, const model::WorkflowState& before,
                        const std::string& status_before) {
  const model::WorkflowState& now = order.workflow;
  return order.status != status_before || now.appointment != before.appointment ||
         now.failure_reason != before.failure_reason || now.sample_id != before.sample_id ||
         now.result != before.result || now.critical_reported_for != before.critical_reported_for ||
         now.tracking_number != before.tracking_number ||
         now.return_tracking_number != before.return_tracking_number;
}

// Fills in the order's derived status and times; writes the order only when something changed,
// but always checks it against the version the run read. `updated_at` moves only with a change
// the brand can see, so an order read twice with nothing new in between reads the same.
void AttachOrder(store::JobOutcome& outcome, model::LabOrder& order,
                 const model::WorkflowState& before, const std::string& status_before,
                 TimePoint now) {
  outcome.expected_order_version = order.version;
  order.status = DeriveStatus(order.workflow, order.status);
  if (order.workflow == before && order.status == status_before) return;
  if (BrandVisibleChange(order, before, status_before)) {
    order.updated_at = FormatRfc3339(now);
    // Junction's time of completion when it gave one; else the time we learnt of it.
    if (order.status == "completed" && !order.completed_at) {
      order.completed_at = order.workflow.completed_at.value_or(order.updated_at);
    }
  }
  outcome.order_update = order;
  if (order.status != status_before) {
    spdlog::info("order {} is now {} (was {})", order.id, order.status, status_before);
  }
}

}  // namespace

junction::USAddress AppointmentAddressFor(const model::LabOrder& order) {
  // The order's address calls it "zip"; the appointment's "zip_code" (docs/junction.md: Endpoints).
  return {order.address.line1, order.address.line2, order.address.city,
          order.address.state, order.address.zip,   std::nullopt};
}

bool SlotSuits(const model::WorkflowState& state, const std::optional<std::string>& timezone,
               const std::string& start, int latest_hour) {
  if (!state.fasting) return true;
  TimePoint at;
  if (!timezone || !ParseRfc3339(start, &at)) return false;
  const std::optional<int> hour = SystemTimeZones().LocalHour(*timezone, at);
  return hour && *hour < latest_hour;
}

OrderWorkflow::OrderWorkflow(store::JobStore& store, junction::JunctionClient& junction,
                             const Clock& clock, IdGenerator& ids, WorkflowSettings settings,
                             JitterSource jitter)
    : store_(store),
      junction_(junction),
      clock_(clock),
      ids_(ids),
      settings_(std::move(settings)),
      jitter_(std::move(jitter)) {}

std::optional<std::string> OrderWorkflow::NextStepFor(const model::LabOrder& order) const {
  const model::WorkflowState& state = order.workflow;
  // Results come after the draw, and after completion too (a correction): fetched first.
  if (state.results_pending) return std::string(store::kJobFetchResults);
  std::string status = DeriveStatus(state, order.status);
  if (IsFinalStatus(status)) return std::nullopt;
  if (state.channel_switch_to) return std::string(store::kJobSwitchChannel);
  if (state.appointment && state.appointment->status != "cancelled") {
    return IsPendingAppointmentStatus(state.appointment->status)
               ? std::string(store::kJobAwaitConfirmation)
               : std::string(store::kJobReconcile);
  }
  // No appointment yet, or the provider cancelled it.
  if (status == "draw_completed" || status == "sample_with_lab") return store::kJobReconcile;
  // The brand cancelled it: the brand books again (the API), or the patient walks in; meanwhile
  // the order is looked at for what Junction says of it.
  if (BrandCancelledAppointment(state) && !state.booking_sent) return store::kJobReconcile;
  // A walk-in order is not booked for the patient, who may walk in, nor a test kit, which the
  // patient mails back: once the requisition is ready, the order is looked at for the draw (the
  // kit's way there and back) and the results (webhooks say it sooner).
  // Nor a home visit the brand or the patient books (auto_book false), first or after a
  // provider's cancellation.
  if ((state.collection_method != model::kAtHome || !state.auto_book) && !state.booking_sent) {
    return RequisitionReady(state) ? store::kJobReconcile : store::kJobAwaitRequisition;
  }
  if (RequisitionReady(state) || state.booking_sent) return store::kJobBookAppointment;
  return store::kJobAwaitRequisition;
}

void OrderWorkflow::UseMetrics(metrics::Registry& registry) {
  critical_results_ = &registry.Counter(
      "lab_orders_critical_results_total",
      "Critical results Junction reported (labtest.result.critical), once per order and result "
      "status (partial, final), by that status.",
      {{"result_status", {"partial", "final", "other"}}});
}

store::JobOutcome OrderWorkflow::Run(const store::Job& job) {
  if (job.kind == store::kJobJunctionEvent) return ApplyEvent(job);
  std::optional<model::LabOrder> order = store_.GetOrderById(job.order_id);
  if (!order) {
    spdlog::error("job {} ({}): order {} does not exist; dropped", job.id, job.kind, job.order_id);
    store::JobOutcome done;
    done.done = true;
    return done;
  }
  // Cancelled through the API, or failed, or completed: nothing to do but fetch a result, which
  // this step hands on to the results step.
  if (IsFinalStatus(order->status) && job.kind != store::kJobFetchResults) {
    // Checked against the order as read: an event that lands meanwhile (a correction) runs this
    // again on the new state rather than ending the workflow under it.
    store::JobOutcome outcome;
    if (NextStepFor(*order)) {
      outcome = Advance(job, *order, {}, "");
    } else {
      outcome.done = true;
    }
    outcome.expected_order_version = order->version;
    return outcome;
  }
  if (!order->junction_order_id) {
    throw std::logic_error("order " + order->id + " has a workflow job but no Junction order");
  }
  const model::LabOrder read = *order;
  ExpireRescheduleMark(order->workflow, clock_.Now(), settings_.booking_settle);
  store::JobOutcome outcome;
  if (job.kind == store::kJobAwaitRequisition) {
    outcome = AwaitRequisition(job, *order);
  } else if (job.kind == store::kJobBookAppointment) {
    outcome = BookAppointment(job, *order);
  } else if (job.kind == store::kJobAwaitConfirmation) {
    outcome = AwaitConfirmation(job, *order);
  } else if (job.kind == store::kJobReconcile) {
    outcome = Reconcile(job, *order);
  } else if (job.kind == store::kJobFetchResults) {
    outcome = FetchResults(job, *order);
  } else if (job.kind == store::kJobSwitchChannel) {
    outcome = SwitchChannel(job, *order);
  } else {
    throw std::logic_error("unknown job kind " + job.kind);
  }
  AttachOrder(outcome, *order, read.workflow, read.status, clock_.Now());
  return outcome;
}

store::JobOutcome OrderWorkflow::ContinueAfterAction(const store::Job& job, model::LabOrder& order,
                                                     const model::LabOrder& read) {
  // The step the order is in now starts afresh, with its first wait.
  store::JobOutcome outcome = Advance(job, order, FirstWait(job.kind), "");
  outcome.attempts = 0;
  outcome.last_error.reset();
  AttachOrder(outcome, order, read.workflow, read.status, clock_.Now());
  return outcome;
}

store::JobOutcome OrderWorkflow::Advance(const store::Job& job, const model::LabOrder& order,
                                         milliseconds poll_delay, const std::string& why) {
  std::optional<std::string> next = NextStepFor(order);
  if (next == job.kind) return Retry(job, poll_delay, why);
  store::JobOutcome outcome;
  outcome.done = true;
  if (next) {
    outcome.enqueue.push_back(
        {ids_.NewUuid(), *next, order.id, "", clock_.Now() + FirstWait(*next)});
  }
  return outcome;
}

milliseconds OrderWorkflow::FirstWait(const std::string& kind) {
  // Waiting steps start with their wait: a booking just made is not checked at once, and a
  // confirmed one is left alone until the slow reconciliation.
  if (kind == store::kJobAwaitConfirmation) {
    return BackoffDelay(settings_.confirmation_poll, 1, jitter_);
  }
  if (kind == store::kJobReconcile) return settings_.reconcile_interval;
  return milliseconds(0);
}

store::JobOutcome OrderWorkflow::Retry(const store::Job& job, milliseconds delay,
                                       const std::string& why) {
  store::JobOutcome outcome;
  outcome.done = false;
  outcome.retry_at = clock_.Now() + delay;
  outcome.attempts = job.attempts + 1;
  outcome.last_error = why;
  return outcome;
}

store::JobOutcome OrderWorkflow::RetryAfterFailure(const store::Job& job,
                                                   const model::LabOrder& order,
                                                   const junction::CallError& error) {
  milliseconds delay =
      BackoffDelay(settings_.upstream_retry, job.attempts + 1, jitter_, error.retry_after_seconds);
  spdlog::warn("order {}: {} failed ({}), retry in {} ms", order.id, error.operation, error.summary,
               delay.count());
  return Retry(job, delay, error.operation + ": " + error.summary);
}

void OrderWorkflow::NoteCancellation(model::LabOrder& order) {
  if (CheckRebookLimit(order.workflow, settings_.max_provider_cancellations)) {
    spdlog::warn("order {}: {}", order.id, *order.workflow.failure_reason);
  }
}

// ---- the steps ---------------------------------------------------------------------------------

store::JobOutcome OrderWorkflow::AwaitRequisition(const store::Job& job, model::LabOrder& order) {
  if (NextStepFor(order) != job.kind) return Advance(job, order, {}, "");  // a webhook said so
  auto fetched = junction_.GetOrder(*order.junction_order_id);
  if (!fetched.ok()) return RetryAfterFailure(job, order, fetched.error());
  ApplyJunctionOrder(order.workflow, *fetched);
  return Advance(job, order, BackoffDelay(settings_.requisition_poll, job.attempts + 1, jitter_),
                 "waiting for the requisition");
}

store::JobOutcome OrderWorkflow::BookAppointment(const store::Job& job, model::LabOrder& order) {
  const std::string& junction_order_id = *order.junction_order_id;
  model::WorkflowState& state = order.workflow;
  if (state.booking_sent) {
    // A book call went out and its answer was lost: Junction's active appointment says whether
    // it was made (the book endpoint cannot be deduplicated, so never just send it again). Not
    // before Junction is done with the call: asked while it still books, it shows none.
    const auto settled = BookingSettledAt(state, settings_.booking_settle);
    if (clock_.Now() < settled) {
      spdlog::info("order {}: a booking sent before is still in Junction's hands; looked up later",
                   order.id);
      return Retry(job, std::chrono::ceil<milliseconds>(settled - clock_.Now()),
                   "waiting for the booking sent before to settle");
    }
    auto active = AppointmentCalls(junction_, state).Get(junction_order_id);
    if (active.ok()) {
      model::AppointmentView view = AppointmentViewFrom(*active);
      bool known = (state.appointment && state.appointment->id == view.id) ||
                   std::find(state.past_appointment_ids.begin(), state.past_appointment_ids.end(),
                             view.id) != state.past_appointment_ids.end();
      if (!known) {
        spdlog::info("order {}: adopting appointment {} from a booking whose answer was lost",
                     order.id, view.id);
        state.lost_booking_adopted_for = state.booking_sent_by;
        AdoptAppointment(state, view, state.booking_sent_for);  // none: the workflow's own call
        if (view.status == "cancelled") NoteCancellation(order);
        return Advance(job, order, {}, "");
      }
    } else if (active.outcome() != junction::Outcome::kNotFound) {
      return RetryAfterFailure(job, order, active.error());
    }
    ClearBookingSent(state);  // nothing new was booked
  }
  if (NextStepFor(order) != job.kind) return Advance(job, order, {}, "");

  auto availability = junction_.GetAvailability(AppointmentAddressFor(order), std::nullopt);
  if (!availability.ok()) return RetryAfterFailure(job, order, availability.error());
  auto now = clock_.Now();
  std::optional<junction::TimeSlot> slot = EarliestSlot(*availability, now + settings_.booking_lead,
                                                        state, settings_.fasting_latest_hour);
  if (!slot) {
    const char* why = state.fasting ? "no bookable morning slot (fasting)" : "no bookable slot";
    spdlog::info("order {}: {} yet", order.id, why);
    return Retry(job, settings_.no_slot_retry, why);
  }

  // Recorded before the call: if its answer is lost, the next run asks Junction first.
  MarkBookingSent(state, now, std::nullopt);
  store_.CheckpointOrder(job, order, order.version);
  ++order.version;

  junction::BookingRequest request;
  request.booking_key = *slot->booking_key;
  request.async_confirmation = true;
  request.sync_confirmation_timeout_ms = settings_.sync_confirmation_timeout_ms;
  request.async_confirmation_timeout_ms = settings_.async_confirmation_timeout_ms;
  auto booked = junction_.BookAppointment(junction_order_id, request);
  if (!booked.ok()) {
    const junction::CallError& error = booked.error();
    // Refused (a 4xx): Junction is done with the call, and made nothing. A 5xx may come from a
    // gateway while the booking goes on behind it: that waits for the call's deadline too.
    if (junction::RefusedWithA4xx(error)) state.booking_sent_at.reset();
    if (error.outcome == junction::Outcome::kConflict) {
      // The slot went to someone else meanwhile: fresh availability and another try, soon.
      return Retry(job, settings_.upstream_retry.initial, "the slot was taken");
    }
    if (IsRefusal(error.outcome) && ++state.booking_refusals >= kMaxRefusals) {
      state.failure_reason = "Junction refused the booking " + std::to_string(kMaxRefusals) +
                             " times (" + junction::OutcomeName(error.outcome) + ")";
      return Advance(job, order, {}, "");
    }
    store::JobOutcome retry = RetryAfterFailure(job, order, error);
    // Unanswered: Junction may still be booking; asked before then, it would show none.
    retry.retry_at = std::max(retry.retry_at, BookingSettledAt(state, settings_.booking_settle));
    return retry;
  }
  model::AppointmentView view = AppointmentViewFrom(*booked);
  AdoptAppointment(state, view);
  spdlog::info("order {}: booked appointment {} ({})", order.id, view.id, view.status);
  if (view.status == "cancelled") NoteCancellation(order);
  return Advance(job, order, {}, "");
}

store::JobOutcome OrderWorkflow::AwaitConfirmation(const store::Job& job, model::LabOrder& order) {
  if (NextStepFor(order) != job.kind) return Advance(job, order, {}, "");
  auto fetched = AppointmentCalls(junction_, order.workflow).Get(*order.junction_order_id);
  if (!fetched.ok()) return RetryAfterFailure(job, order, fetched.error());
  model::AppointmentView view = AppointmentViewFrom(*fetched);
  if (ApplyAppointment(order.workflow, view) == AppointmentUpdate::kUnknown) {
    // Junction's active appointment is another one (rebooked elsewhere): it is the truth.
    AdoptAppointment(order.workflow, view, "junction");
  }
  SettleCancelMark(order.workflow, clock_.Now(), settings_.booking_settle);
  if (order.workflow.appointment->status == "cancelled") NoteCancellation(order);
  return Advance(job, order, BackoffDelay(settings_.confirmation_poll, job.attempts + 1, jitter_),
                 "waiting for the provider to confirm");
}

store::JobOutcome OrderWorkflow::Reconcile(const store::Job& job, model::LabOrder& order) {
  if (NextStepFor(order) != job.kind) return Advance(job, order, {}, "");  // a webhook said so
  auto fetched = junction_.GetOrder(*order.junction_order_id);
  if (!fetched.ok()) return RetryAfterFailure(job, order, fetched.error());
  ApplyJunctionOrder(order.workflow, *fetched);
  if (order.workflow.appointment && !IsFinalStatus(DeriveStatus(order.workflow, order.status))) {
    auto appointment = AppointmentCalls(junction_, order.workflow).Get(*order.junction_order_id);
    // After the brand's cancel Junction may have no active appointment to show: nothing new. (One
    // it shows that we do not know, the patient booked at Junction: followed from now on.)
    const bool none_after_brand_cancel = !appointment.ok() &&
                                         appointment.outcome() == junction::Outcome::kNotFound &&
                                         BrandCancelledAppointment(order.workflow);
    if (!appointment.ok() && !none_after_brand_cancel) {
      return RetryAfterFailure(job, order, appointment.error());
    }
    if (appointment.ok()) {
      model::AppointmentView view = AppointmentViewFrom(*appointment);
      if (ApplyAppointment(order.workflow, view) == AppointmentUpdate::kUnknown) {
        AdoptAppointment(order.workflow, view, "junction");
      }
      SettleCancelMark(order.workflow, clock_.Now(), settings_.booking_settle);
      if (order.workflow.appointment->status == "cancelled") NoteCancellation(order);
    }
  }
  std::optional<std::string> next = NextStepFor(order);
  if (next == job.kind) {
    store::JobOutcome outcome = Retry(job, settings_.reconcile_interval, "reconciling");
    outcome.attempts = 0;  // a healthy slow poll is not a failure
    outcome.last_error.reset();
    return outcome;
  }
  return Advance(job, order, {}, "");
}

store::JobOutcome OrderWorkflow::FetchResults(const store::Job& job, model::LabOrder& order) {
  if (NextStepFor(order) != job.kind) return Advance(job, order, {}, "");
  auto fetched = junction_.GetResult(*order.junction_order_id);
  if (!fetched.ok()) {
    if (fetched.outcome() == junction::Outcome::kNotFound) {
      // Junction's status can run ahead of its result (docs/junction.md: Results): ask again.
      return Retry(job, BackoffDelay(settings_.results_poll, job.attempts + 1, jitter_),
                   "the result is not ready at Junction");
    }
    return RetryAfterFailure(job, order, fetched.error());
  }
  model::WorkflowState& state = order.workflow;
  model::OrderResult result = ToOrderResult(*fetched, order.id);
  // A correction is told by Junction's order status; a partial one by the result's own.
  const bool completed = DeriveStatus(state, order.status) == "completed";
  const bool correction = LowLevelStatus(state.junction_status) == "corrected";
  if (correction) {
    result.status = "corrected";
  } else {
    result.status = fetched->status == "partial" ? "partial" : "final";
  }
  // Compared with the version kept (opened in memory, never logged): no digest of a result is
  // kept in the clear beside the order.
  std::optional<model::OrderResult> kept =
      state.result ? store_.LatestResultOfOrder(order.id) : std::nullopt;
  // Junction's status can run ahead of its result: a completed order still served its partial
  // result, a correction still served the report it corrects. Asked again, for a while (then
  // what Junction serves is taken as it is).
  const bool behind = (completed && result.status == "partial") ||
                      (correction && kept && model::SameLabValues(*kept, result));
  if (behind && job.attempts + 1 < kMaxResultWaits) {
    return Retry(job, BackoffDelay(settings_.results_poll, job.attempts + 1, jitter_),
                 "Junction serves an older result than its status says");
  }
  if (behind) {
    spdlog::warn("order {}: Junction still serves an older result after {} looks; taken as it is",
                 order.id, job.attempts + 1);
  }
  state.results_pending = false;
  if (!state.sample_id && result.sample_id) state.sample_id = result.sample_id;
  if (kept && model::SameReport(*kept, result)) {
    // The same report again (a critical notice, then the completion, say): no new version.
    spdlog::info("order {}: result unchanged (version {})", order.id, state.result->version);
    return Advance(job, order, {}, "");
  }
  result.id = ids_.NewUuid();
  result.version = state.result ? state.result->version + 1 : 1;
  result.received_at = FormatRfc3339(clock_.Now());
  state.result =
      model::ResultSummary{result.id, result.version, result.status, result.interpretation};
  // Ids, version and status: the interpretation is a health fact, for the brand's event only.
  spdlog::info("order {}: result {} version {} ({})", order.id, result.id, result.version,
               result.status);
  store::JobOutcome outcome = Advance(job, order, {}, "");
  outcome.new_result = std::move(result);
  return outcome;
}

store::JobOutcome OrderWorkflow::ApplyEvent(const store::Job& job) {
  JunctionEvent event = JunctionEventFromJson(nlohmann::json::parse(job.payload));
  store::JobOutcome outcome;
  outcome.done = true;
  std::optional<model::LabOrder> order = store_.GetOrderById(job.order_id);
  if (!order) return outcome;
  // About a Junction order this one no longer follows (the home visit's, cancelled when the order
  // moved to its fallback channel): its news is not the order's.
  if (!event.junction_order_id.empty() && order->junction_order_id &&
      event.junction_order_id != *order->junction_order_id) {
    spdlog::info("order {}: event about Junction order {}, which it no longer follows; ignored",
                 order->id, event.junction_order_id);
    return outcome;
  }
  // Moving to the fallback channel, the home visit's Junction order is cancelled by the move
  // itself (switch_channel): Junction's news of that is not the order's cancellation.
  if (order->workflow.switched_junction_order_id && event.order_status &&
      (event.order_status->rfind("cancelled.", 0) == 0 ||
       LowLevelStatus(*event.order_status) == "cancelled")) {
    spdlog::info("order {}: Junction order {} cancelled by the move to {}; not the order's end",
                 order->id, event.junction_order_id, *order->workflow.channel_switch_to);
    return outcome;
  }
  const model::LabOrder read = *order;
  if (event.order_status) {
    ApplyJunctionOrder(
        order->workflow,
        JunctionOrderNews{*event.order_status, event.order_event_id, event.order_status_at,
                          event.status_detail, event.sample_id, event.outbound_tracking_number,
                          event.inbound_tracking_number});
  }
  if (event.critical_result_status) {
    // The brand hears at once (lab_order.result_critical, ahead of its other events); the result
    // itself is fetched by the results step.
    model::WorkflowState& state = order->workflow;
    const std::string& result_status = *event.critical_result_status;
    if (critical_results_ && state.critical_reported_for != result_status) {
      const bool known = result_status == "partial" || result_status == "final";
      outcome.after_commit = [counter = critical_results_,
                              label = known ? result_status : "other"] { counter->Inc({label}); };
    }
    state.critical_reported_for = result_status;
    state.results_pending = true;
    if (!state.sample_id && event.sample_id) state.sample_id = event.sample_id;
    // The notice's kind stays out of the log (a health fact): the brand's event and the metric
    // carry it.
    spdlog::info("order {}: Junction's result notice applied ({} result)", order->id,
                 *event.critical_result_status);
  }
  bool unknown_appointment = false;
  ExpireRescheduleMark(order->workflow, clock_.Now(), settings_.booking_settle);
  // A home visit's or a service center's appointment (an order has the one its channel books);
  // a test kit has none.
  if (event.appointment && order->workflow.collection_method != model::kTestkit) {
    AppointmentUpdate update = ApplyAppointment(order->workflow, *event.appointment);
    if (update == AppointmentUpdate::kUnknown &&
        (order->workflow.collection_method == model::kWalkIn || !order->workflow.auto_book) &&
        !order->workflow.booking_sent) {
      // A service center's booking made at Junction or with the lab (the patient's, say), or a
      // home visit the patient booked at Junction for an order we do not book, with none of ours
      // out: followed from now on.
      AdoptAppointment(order->workflow, *event.appointment, "junction");
      update = AppointmentUpdate::kApplied;
    }
    // One we do not know yet (booked, answer not recorded): the step will ask Junction.
    unknown_appointment = update == AppointmentUpdate::kUnknown;
    // Junction has made an appointment we do not know: a booking call out is done with, and the
    // step may look it up without waiting for the call's deadline.
    if (unknown_appointment) order->workflow.booking_sent_at.reset();
    if (update == AppointmentUpdate::kApplied && event.appointment->status == "cancelled") {
      NoteCancellation(*order);
    }
  }
  // The order's step runs now only when the event calls for another step (a requisition, a
  // confirmation, a cancellation to rebook); a later status alone is recorded and that is all.
  const std::optional<std::string> next = NextStepFor(*order);
  outcome.wake_order_step = unknown_appointment || next != NextStepFor(read);
  // A step the order had no more (its workflow had ended at completion): queued again.
  if (next && next != NextStepFor(read)) {
    outcome.order_step_if_none = store::NewJob{ids_.NewUuid(), *next, order->id, "", clock_.Now()};
  }
  AttachOrder(outcome, *order, read.workflow, read.status, clock_.Now());
  return outcome;
}

}  // namespace lab_orders::workflow
