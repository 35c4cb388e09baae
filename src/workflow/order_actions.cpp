#include "lab_orders/workflow/order_actions.h"

#include <spdlog/spdlog.h>

#include <algorithm>

#include "lab_orders/common/error.h"
#include "lab_orders/junction/junction_failure.h"
#include "lab_orders/model/order_json.h"
#include "lab_orders/workflow/state.h"
#include "workflow/action_support.h"
#include "workflow/appointment_calls.h"

namespace lab_orders::workflow {
namespace {

using nlohmann::json;

// An action's Junction calls are a few seconds at most; the lease outlives them.
constexpr std::chrono::seconds kActionLease{60};
// A worker's run on the order is short: an action waits this long for it before answering 409.
constexpr std::chrono::milliseconds kWaitForWorker{3000};

// Junction surely made nothing of the call: it was never sent, or it was refused with a 4xx.
bool Answered4xxOrUnsent(const junction::CallError& failure) {
  return !failure.may_have_reached_junction || junction::RefusedWithA4xx(failure);
}

// The appointment's booked_by for a booking made through this action.
std::string BookedByName(Booker booker) { return booker == Booker::kPatient ? "patient" : "brand"; }

AppError Busy() {
  AppError busy(ErrorCode::kOrderBusy,
                "The order is being worked on (its booking is being checked); retry shortly.");
  busy.retry_after_seconds = 1;
  return busy;
}

// Writes the order with the mark made before a call: mark(order) makes it on the order as it
// stands, and says whether that order still calls for the call. A webhook that wrote the order
// since it was read (Junction sends several for one change) has it read again and the mark made
// again, a few times; past that, or when the order no longer calls for the call, the action is
// busy (409: retry), with nothing sent.
void CheckpointMark(store::JobStore& store, const store::Job& job, model::LabOrder& order,
                    const std::function<bool(model::LabOrder&)>& mark) {
  constexpr int kAttempts = 8;
  for (int attempt = 1;; ++attempt) {
    if (!mark(order)) throw Busy();
    try {
      store.CheckpointOrder(job, order, order.version);
      ++order.version;
      return;
    } catch (const store::VersionConflict&) {
      std::optional<model::LabOrder> fresh = store.GetOrderById(order.id);
      if (attempt == kAttempts || !fresh) throw Busy();
      order = std::move(*fresh);
    }
  }
}

// Takes back (clear) a mark made before a call Junction refused: on the order as it stands, again
// if a webhook wrote it meanwhile. Past a few such races, or with the store gone, the mark stays:
// it is then settled as after a crash (a booking looked up, a move's mark lapsing, a cancel's
// settled by the workflow's next look at the appointment).
void TakeBackMark(store::JobStore& store, const store::Job& job, model::LabOrder order,
                  const std::function<void(model::WorkflowState&)>& clear) {
  constexpr int kAttempts = 8;
  for (int attempt = 1; attempt <= kAttempts; ++attempt) {
    clear(order.workflow);
    try {
      store.CheckpointOrder(job, order, order.version);
      return;
    } catch (const store::VersionConflict&) {
      std::optional<model::LabOrder> fresh = store.GetOrderById(order.id);
      if (!fresh) return;
      order = std::move(*fresh);
    } catch (const store::StoreUnavailable& e) {
      spdlog::warn("order {}: a refused call's mark stays: {}", order.id, e.what());
      return;
    }
  }
  spdlog::info("order {}: changed during a refused call; its mark stays", order.id);
}

// A booking_key the client chose that Junction would not take is the client's to fix (409);
// anything else is Junction failing (502).
AppError BookingFailure(const junction::CallError& error) {
  using junction::Outcome;
  if (error.outcome == Outcome::kConflict || error.outcome == Outcome::kRejected ||
      error.outcome == Outcome::kValidation || error.outcome == Outcome::kNotFound) {
    return AppError(ErrorCode::kSlotUnavailable,
                    "That slot cannot be booked any more; fetch availability again.",
                    error.summary);
  }
  return junction::JunctionFailure(error, kRetryHint);
}

std::string BookingKeyFrom(const json& body) {
  auto found = body.is_object() ? body.find("booking_key") : body.end();
  bool valid = body.is_object() && found != body.end() && found->is_string() &&
               !found->get<std::string>().empty() && found->get<std::string>().size() <= 512;
  if (!valid) {
    throw AppError(ErrorCode::kValidationError, "The request body is not valid.", "",
                   {{"/booking_key", "is required: a booking_key from the availability answer"}});
  }
  return found->get<std::string>();
}

struct AppointmentCancelRequest {
  std::string reason_id;
  std::optional<std::string> note;
};

// {"reason_id": uuid, "note"?: at most 1000 characters}; nothing else.
AppointmentCancelRequest AppointmentCancelFrom(const json& body) {
  std::vector<FieldViolation> violations;
  AppointmentCancelRequest request;
  if (!body.is_object()) {
    violations.push_back({"", "must be an object"});
  } else {
    auto reason = body.find("reason_id");
    if (reason == body.end() || !reason->is_string() || !IsUuid(reason->get<std::string>())) {
      violations.push_back(
          {"/reason_id", "is required: an id from GET /v1/labs/cancellation-reasons"});
    } else {
      request.reason_id = reason->get<std::string>();
    }
    auto note = body.find("note");
    if (note != body.end() && !note->is_null()) {
      if (!note->is_string() || note->get<std::string>().size() > 1000) {
        violations.push_back({"/note", "must be a string of at most 1000 characters"});
      } else {
        request.note = note->get<std::string>();
      }
    }
    for (const auto& [name, value] : body.items()) {
      if (name != "reason_id" && name != "note") {
        violations.push_back({"/" + name, "is not a known field"});
      }
    }
  }
  if (!violations.empty()) {
    throw AppError(ErrorCode::kValidationError, "The request body is not valid.", "",
                   std::move(violations));
  }
  return request;
}

// What a booking under an Idempotency-Key records on the key: the request's attempt id (the same
// on every attempt: the order's booking_sent_by names it), and, once Junction has answered, the
// appointment its call made. Ids and times only.
std::string BookingCheckpoint(const std::string& attempt,
                              const model::AppointmentView* made = nullptr) {
  json text = {{"attempt", attempt}};
  if (made) {
    text["made_id"] = made->id;
    text["made_start_at"] = made->start_at ? json(*made->start_at) : json(nullptr);
  }
  return text.dump();
}

}  // namespace

class OrderActions::OrderLock {
 public:
  // Tries again each time a worker commits (its run on the order may be the one that ended).
  OrderLock(store::JobStore& store, const std::string& order_id, const Clock& clock,
            ChangeNotifier& changes, const std::string& owner)
      : store_(store) {
    changes.WaitUntil(
        [&] {
          auto now = clock.Now();
          claim_ = store_.ClaimOrderStep(order_id, now, now + kActionLease, owner, &job_);
          return claim_ != store::OrderJobClaim::kBusy;
        },
        std::chrono::steady_clock::now() + kWaitForWorker);
  }
  ~OrderLock() {
    if (claim_ != store::OrderJobClaim::kClaimed || committed_) return;
    try {
      store_.ReleaseJob(job_);
    } catch (const std::exception& e) {
      // Not fatal: the lease runs out and a worker takes the job again.
      spdlog::warn("could not give back job {}: {}", job_.id, e.what());
    }
  }
  OrderLock(const OrderLock&) = delete;
  OrderLock& operator=(const OrderLock&) = delete;

  store::OrderJobClaim claim() const { return claim_; }
  const store::Job& job() const { return job_; }

  // Commits what an action learnt from Junction. A webhook may have written the order while the
  // action ran: then apply runs again on the order as it stands, so neither is lost. Junction
  // sends several webhooks for one change (a cancel's order and appointment events), each a
  // write, so a few conflicts in a row are normal; past kCommitAttempts the order is busy (409,
  // retry), never a 500. apply(order) changes the order and returns the outcome to commit.
  static constexpr int kCommitAttempts = 8;
  template <typename Apply>
  model::LabOrder Commit(const std::string& brand_id, model::LabOrder order, Apply&& apply) {
    for (int attempt = 1;; ++attempt) {
      store::JobOutcome outcome = apply(order);
      try {
        store_.CompleteJob(job_, outcome);
        committed_ = true;
        return order;
      } catch (const store::VersionConflict&) {
        if (attempt == kCommitAttempts) throw Busy();
        std::optional<model::LabOrder> fresh = store_.GetOrderById(order.id);
        if (!fresh || fresh->brand_id != brand_id) throw;
        order = std::move(*fresh);
      }
    }
  }

 private:
  store::JobStore& store_;
  store::Job job_;
  store::OrderJobClaim claim_;
  bool committed_ = false;
};

OrderActions::OrderActions(store::JobStore& store, junction::JunctionClient& junction,
                           OrderWorkflow& workflow, const Clock& clock, IdGenerator& ids,
                           ChangeNotifier& changes, std::function<void()> wake)
    : store_(store),
      junction_(junction),
      workflow_(workflow),
      clock_(clock),
      ids_(ids),
      changes_(changes),
      wake_(std::move(wake)) {}

json OrderActions::Book(const auth::Principal& principal, const std::string& order_id,
                        const json& body, store::ActionCheckpoint* key, Booker booker) {
  std::string booking_key = BookingKeyFrom(body);
  model::LabOrder order = ReadOrder(store_, principal, order_id);
  if (IsFinalStatus(order.status) || !order.junction_order_id) {
    throw AppError(ErrorCode::kOrderNotBookable,
                   order.junction_order_id ? "The order is " + order.status + "."
                                           : "The order is still being placed; retry shortly.");
  }
  RefuseBookingFor(order);
  OrderLock lock(store_, order.id, clock_, changes_, "api-" + ids_.NewUuid());
  if (lock.claim() == store::OrderJobClaim::kBusy) throw Busy();
  if (lock.claim() == store::OrderJobClaim::kNone) {
    throw AppError(ErrorCode::kOrderNotBookable, "The order's workflow has ended.");
  }
  order = ReadOrder(store_, principal, order_id);  // as it stands now that it is held
  model::WorkflowState& state = order.workflow;
  AppointmentCalls calls(junction_, state);
  // Under an Idempotency-Key: this request's attempt id, kept on the key by its first attempt.
  std::optional<std::string> attempt;
  if (key) attempt = SavedField(key, "attempt").value_or(ids_.NewUuid());
  // A service center's booking carries Junction's idempotency key (the attempt id): the same
  // request's booking, sent before and unanswered, is sent again under it, and Junction answers
  // with what the first made. Any other booking out must first be learnt by the workflow.
  const bool resend_under_key = calls.at_service_center() && attempt && state.booking_sent &&
                                state.booking_sent_by == attempt;
  if (state.booking_sent && !resend_under_key) throw Busy();

  const std::string junction_order_id = *order.junction_order_id;
  model::AppointmentView view;
  bool made_before = false;
  if (key && key->saved) {
    // An earlier attempt under the key: whether its call booked or moved the appointment.
    if (const std::optional<std::string> made_id = SavedField(key, "made_id")) {
      // Junction answered it; its commit may have been lost. Nothing is sent again.
      if (state.appointment && state.appointment->id == *made_id &&
          state.appointment->start_at == SavedField(key, "made_start_at")) {
        return model::OrderJson(order);
      }
      auto current = calls.Get(junction_order_id);
      if (!current.ok()) throw junction::JunctionFailure(current.error(), kRetryHint);
      view = AppointmentViewFrom(*current);
      made_before = true;
      spdlog::info("order {}: appointment {} was booked or moved by an earlier attempt", order.id,
                   view.id);
    } else if (state.lost_booking_adopted_for == attempt) {
      return model::OrderJson(order);  // its lost booking was found made at Junction, and adopted
    }
    // Otherwise its call made nothing known: this attempt acts as the request asks, now. (A move
    // whose answer was lost cannot be told from another's: it is sent again, to the same slot.)
  }
  const bool active = state.appointment && IsActiveAppointmentStatus(state.appointment->status);
  if (made_before) {
    // view is what Junction shows of the earlier attempt's booking: committed below.
  } else if (active && booker == Booker::kPatient) {
    throw AppError(ErrorCode::kOrderNotBookable, "The order already has an appointment.");
  } else if (active) {
    if (!state.appointment->can_reschedule) {
      throw AppError(ErrorCode::kAppointmentNotReschedulable,
                     "Junction does not allow this appointment to be rescheduled.");
    }
    if (key) key->save(BookingCheckpoint(*attempt));
    // Recorded before the call: Junction's webhook of the move may be applied before its answer.
    const std::string moving = state.appointment->id;
    CheckpointMark(store_, lock.job(), order, [&](model::LabOrder& marked) {
      const auto& appointment = marked.workflow.appointment;
      if (!appointment || appointment->id != moving || !appointment->can_reschedule ||
          !IsActiveAppointmentStatus(appointment->status)) {
        return false;
      }
      marked.workflow.reschedule_sent_at = FormatRfc3339(clock_.Now());
      return true;
    });
    auto moved = calls.Reschedule(junction_order_id, {booking_key, std::nullopt});
    if (!moved.ok()) {
      // Unsent, or refused with a 4xx: nothing moved, and the mark goes at once. Otherwise (a 5xx
      // or silence may have moved it) it lapses after the call's deadline.
      if (!Answered4xxOrUnsent(moved.error())) throw BookingFailure(moved.error());
      TakeBackMark(store_, lock.job(), order,
                   [](auto& marked) { marked.reschedule_sent_at.reset(); });
      throw BookingFailure(moved.error());
    }
    view = AppointmentViewFrom(*moved);
    if (key) key->save(BookingCheckpoint(*attempt, &view));
    spdlog::info("order {}: appointment {} rescheduled through the API", order.id, view.id);
  } else {
    if (!RequisitionReady(state)) {
      throw AppError(ErrorCode::kOrderNotBookable,
                     "The order's requisition is not ready yet; retry later.");
    }
    if (key) key->save(BookingCheckpoint(*attempt));
    // Recorded before the call, as the workflow does: a lost answer is looked up (or, for a
    // service center, sent again under the same key), never sent afresh.
    if (!resend_under_key) {
      CheckpointMark(store_, lock.job(), order, [&](model::LabOrder& marked) {
        const auto& appointment = marked.workflow.appointment;
        if (marked.workflow.booking_sent ||
            (appointment && IsActiveAppointmentStatus(appointment->status))) {
          return false;
        }
        MarkBookingSent(marked.workflow, clock_.Now(), attempt, BookedByName(booker));
        return true;
      });
    }
    junction::BookingRequest request;
    request.booking_key = booking_key;
    if (calls.at_service_center()) request.idempotency_key = attempt.value_or(ids_.NewUuid());
    request.async_confirmation = true;
    request.sync_confirmation_timeout_ms = workflow_.settings().sync_confirmation_timeout_ms;
    request.async_confirmation_timeout_ms = workflow_.settings().async_confirmation_timeout_ms;
    auto booked = calls.Book(junction_order_id, request);
    if (!booked.ok()) {
      // Refused (or never sent): nothing was booked, and the workflow need not look it up.
      if (!Answered4xxOrUnsent(booked.error())) throw BookingFailure(booked.error());
      TakeBackMark(store_, lock.job(), order, [](auto& marked) { ClearBookingSent(marked); });
      throw BookingFailure(booked.error());
    }
    view = AppointmentViewFrom(*booked);
    if (key) key->save(BookingCheckpoint(*attempt, &view));
    spdlog::info("order {}: appointment {} booked through the API ({})", order.id, view.id,
                 view.status);
  }
  int max_cancellations = workflow_.settings().max_provider_cancellations;
  order = lock.Commit(principal.brand_id, std::move(order), [&](model::LabOrder& current) {
    model::LabOrder before = current;
    if (ApplyAppointment(current.workflow, view) == AppointmentUpdate::kUnknown) {
      AdoptAppointment(current.workflow, view, BookedByName(booker));
    }
    // The brand moved it (appointment.rescheduled says so).
    const auto& was = before.workflow.appointment;
    if (was && was->id == view.id && was->start_at != view.start_at) {
      current.workflow.rescheduled_by = "brand";
    }
    ClearBookingSent(current.workflow);
    current.workflow.reschedule_sent_at.reset();
    CheckRebookLimit(current.workflow, max_cancellations);
    return workflow_.ContinueAfterAction(lock.job(), current, before);
  });
  if (wake_) wake_();
  return model::OrderJson(order);
}

json OrderActions::Cancel(const auth::Principal& principal, const std::string& order_id,
                          store::ActionCheckpoint* key) {
  model::LabOrder order = ReadOrder(store_, principal, order_id);
  // Cancelling a cancelled order is what the caller wanted: the retry of a cancel whose answer
  // was lost gets the order, not an error.
  if (order.status == "cancelled") return model::OrderJson(order);
  if (IsFinalStatus(order.status)) {
    throw AppError(ErrorCode::kOrderNotCancellable, "The order is already " + order.status + ".");
  }
  if (!order.junction_order_id) {
    throw AppError(ErrorCode::kOrderNotCancellable,
                   "The order is still being placed; retry shortly.");
  }
  OrderLock lock(store_, order.id, clock_, changes_, "api-" + ids_.NewUuid());
  if (lock.claim() == store::OrderJobClaim::kBusy) throw Busy();
  if (lock.claim() == store::OrderJobClaim::kNone) {
    // The workflow ended meanwhile: by a cancel that came first, or otherwise.
    order = ReadOrder(store_, principal, order_id);
    if (order.status == "cancelled") return model::OrderJson(order);
    throw AppError(ErrorCode::kOrderNotCancellable, "The order can no longer be cancelled.");
  }
  order = ReadOrder(store_, principal, order_id);
  // Under an Idempotency-Key, recorded before the call: the key is then never freed for another
  // request after a refusal, since this one may have cancelled at Junction.
  if (key) key->save(json{{"cancel_sent", true}}.dump());
  // Its appointment goes with it: Junction's webhook of that, landing before this answer is
  // committed, is the brand's doing, not the provider's (which would count towards failing it).
  const bool with_appointment =
      order.workflow.appointment && IsActiveAppointmentStatus(order.workflow.appointment->status);
  bool marked_appointment = false;
  if (with_appointment) {
    CheckpointMark(store_, lock.job(), order, [&](model::LabOrder& marked) {
      const auto& appointment = marked.workflow.appointment;
      marked_appointment = appointment && IsActiveAppointmentStatus(appointment->status);
      if (marked_appointment) {
        marked.workflow.appointment_cancel_sent_at = FormatRfc3339(clock_.Now());
      }
      return true;
    });
  }
  junction::Order at_junction;
  auto cancelled = junction_.CancelOrder(*order.junction_order_id);
  if (cancelled.ok()) {
    at_junction = cancelled->order;
  } else {
    junction::Outcome outcome = cancelled.error().outcome;
    if (!IsCancelRefused(outcome)) {
      throw junction::JunctionFailure(cancelled.error(), kRetryHint);
    }
    // Refused: perhaps because an earlier cancel, whose answer or commit was lost, was done.
    auto current = junction_.GetOrder(*order.junction_order_id);
    if (!current.ok()) throw junction::JunctionFailure(current.error(), kRetryHint);
    if (current->low_level_status != "cancelled") {
      if (marked_appointment) {
        TakeBackMark(store_, lock.job(), order,
                     [](auto& marked) { marked.appointment_cancel_sent_at.reset(); });
      }
      throw AppError(ErrorCode::kOrderNotCancellable,
                     "Junction refuses to cancel the order in its current state.",
                     cancelled.error().summary);
    }
    spdlog::info("order {}: Junction had cancelled it already", order.id);
    at_junction = *current;
  }
  // The order was moving to its fallback channel: the Junction order made for that goes too.
  if (const auto& switched = order.workflow.switched_junction_order_id) {
    auto also = junction_.CancelOrder(*switched);
    if (!also.ok() && !IsCancelRefused(also.outcome())) {
      throw junction::JunctionFailure(also.error(), kRetryHint);
    }
  }
  order = lock.Commit(principal.brand_id, std::move(order), [&](model::LabOrder& current) {
    ApplyJunctionOrder(current.workflow, at_junction);
    // Cancelling an at-home order cancels its appointment too (docs/junction.md: Endpoints).
    auto& appointment = current.workflow.appointment;
    if (appointment && IsActiveAppointmentStatus(appointment->status)) {
      appointment->status = "cancelled";
      appointment->can_reschedule = false;
      current.workflow.appointment_cancelled_by = "brand";
    }
    current.workflow.appointment_cancel_sent_at.reset();
    current.workflow.channel_switch_to.reset();
    current.workflow.switched_junction_order_id.reset();
    store::JobOutcome outcome;
    outcome.expected_order_version = current.version;
    current.status = "cancelled";
    current.updated_at = FormatRfc3339(clock_.Now());
    outcome.order_update = current;
    outcome.done = true;
    return outcome;
  });
  spdlog::info("order {} cancelled through the API", order.id);
  if (wake_) wake_();
  return model::OrderJson(order);
}

json OrderActions::CancelAppointment(const auth::Principal& principal, const std::string& order_id,
                                     const json& body, store::ActionCheckpoint* key) {
  const AppointmentCancelRequest request = AppointmentCancelFrom(body);
  model::LabOrder order = ReadOrder(store_, principal, order_id);
  auto not_cancellable = [](const std::string& why, const std::string& summary = "") {
    return AppError(ErrorCode::kAppointmentNotCancellable, why, summary);
  };
  if (IsFinalStatus(order.status)) throw not_cancellable("The order is " + order.status + ".");
  if (!order.junction_order_id) {
    throw not_cancellable("The order is still being placed; it has no appointment yet.");
  }
  // A reason Junction does not list is the client's to fix, said at its field.
  const json reasons = CancellationReasons(order.workflow.collection_method).at("reasons");
  if (std::none_of(reasons.begin(), reasons.end(),
                   [&](const json& reason) { return reason.at("id") == request.reason_id; })) {
    throw AppError(ErrorCode::kValidationError, "The request body is not valid.", "",
                   {{"/reason_id", "is not one of GET /v1/labs/cancellation-reasons"}});
  }
  OrderLock lock(store_, order.id, clock_, changes_, "api-" + ids_.NewUuid());
  if (lock.claim() == store::OrderJobClaim::kBusy) throw Busy();
  if (lock.claim() == store::OrderJobClaim::kNone) {
    throw not_cancellable("The order's workflow has ended.");
  }
  order = ReadOrder(store_, principal, order_id);  // as it stands now that it is held
  model::WorkflowState& state = order.workflow;
  if (state.booking_sent) throw Busy();  // the workflow must first learn what its booking did
  const std::string junction_order_id = *order.junction_order_id;
  AppointmentCalls calls(junction_, state);

  // Commits Junction's view of the cancelled appointment as the brand's cancellation.
  auto commit = [&](const model::AppointmentView& view) {
    order = lock.Commit(principal.brand_id, std::move(order), [&](model::LabOrder& current) {
      model::LabOrder before = current;
      model::WorkflowState& now = current.workflow;
      const bool same = now.appointment && now.appointment->id == view.id;
      // Taken from Junction's news as the provider's (its mark gone, as after a crash): it was the
      // brand's, and counts for no rebook limit.
      if (same && now.appointment->status == "cancelled" &&
          now.appointment_cancelled_by == "junction") {
        now.provider_cancellations = std::max(0, now.provider_cancellations - 1);
      }
      now.appointment_cancel_sent_at = FormatRfc3339(clock_.Now());  // the brand's, whatever came
      ApplyAppointment(now, view);
      if (same && now.appointment->status == "cancelled") now.appointment_cancelled_by = "brand";
      now.appointment_cancel_sent_at.reset();
      return workflow_.ContinueAfterAction(lock.job(), current, before);
    });
    if (wake_) wake_();
    spdlog::info("order {}: appointment {} cancelled through the API", order.id, view.id);
    return model::OrderJson(order);
  };
  // Junction's active appointment, when it is `id` and cancelled: an earlier call's work.
  auto cancelled_at_junction = [&](const std::string& id) -> std::optional<model::AppointmentView> {
    auto current = calls.Get(junction_order_id);
    if (!current.ok() && current.outcome() != junction::Outcome::kNotFound) {
      throw junction::JunctionFailure(current.error(), kRetryHint);
    }
    if (!current.ok() || current->id != id || current->status != "cancelled") return std::nullopt;
    return AppointmentViewFrom(*current);
  };

  if (const std::optional<std::string> sent =
          key ? SavedField(key, "appointment_id") : std::nullopt) {
    // An earlier attempt under the key sent the cancel: done if it took effect. When the order has
    // another appointment now, the one the request cancelled is gone: the order is the answer (a
    // new appointment is cancelled only by a new request).
    if (!state.appointment || state.appointment->id != *sent) return model::OrderJson(order);
    if (state.appointment->status == "cancelled") {
      if (state.appointment_cancelled_by == "brand") return model::OrderJson(order);
      return commit(*state.appointment);
    }
    if (auto view = cancelled_at_junction(*sent)) return commit(*view);
  }
  if (!state.appointment || !IsActiveAppointmentStatus(state.appointment->status)) {
    throw not_cancellable("The order has no active appointment to cancel.");
  }
  const std::string appointment_id = state.appointment->id;
  if (key) key->save(json{{"appointment_id", appointment_id}}.dump());
  // Recorded before the call: Junction's webhook of the cancellation may be applied before its
  // answer, and must not be taken for the provider's (which would rebook).
  CheckpointMark(store_, lock.job(), order, [&](model::LabOrder& marked) {
    const auto& appointment = marked.workflow.appointment;
    if (!appointment || appointment->id != appointment_id ||
        !IsActiveAppointmentStatus(appointment->status) || marked.workflow.booking_sent) {
      return false;
    }
    marked.workflow.appointment_cancel_sent_at = FormatRfc3339(clock_.Now());
    return true;
  });
  auto cancelled = calls.Cancel(junction_order_id, {request.reason_id, request.note});
  if (!cancelled.ok()) {
    const junction::CallError& failure = cancelled.error();
    // A 5xx or silence may have cancelled it, however late: the mark stays until the workflow
    // sees the appointment still active after the call's deadline (SettleCancelMark).
    if (!Answered4xxOrUnsent(failure)) throw junction::JunctionFailure(failure, kRetryHint);
    TakeBackMark(store_, lock.job(), order,
                 [](auto& marked) { marked.appointment_cancel_sent_at.reset(); });
    if (!junction::RefusedWithA4xx(failure)) throw junction::JunctionFailure(failure, kRetryHint);
    // Refused: perhaps because an earlier cancel, whose answer was lost, was done.
    if (auto view = cancelled_at_junction(appointment_id)) return commit(*view);
    throw not_cancellable("Junction refuses to cancel the appointment in its current state.",
                          failure.summary);
  }
  return commit(AppointmentViewFrom(*cancelled));
}

}  // namespace lab_orders::workflow
