#include "lab_orders/workflow/state.h"

#include <algorithm>
#include <utility>

#include "lab_orders/common/clock.h"
#include "lab_orders/model/order_json.h"
#include "lab_orders/model/order_status.h"

namespace lab_orders::workflow {
namespace {

std::string HighLevelStatus(const std::string& full_status) {
  return full_status.substr(0, full_status.find('.'));
}

bool Contains(const std::vector<std::string>& ids, const std::string& id) {
  return std::find(ids.begin(), ids.end(), id) != ids.end();
}

// How far along the order is: a later stage never goes back to an earlier one, whatever a late
// or unknown Junction status says (a registrable kit's goes back to received at Junction). The
// appointment stages move among themselves.
int StageOf(const std::string& status) {
  if (status == "received") return 0;
  if (status == "ordered") return 1;
  if (status == "kit_shipped") return 3;
  if (status == "kit_delivered") return 4;
  if (status == "draw_completed" || status == "sample_in_transit") return 5;
  if (status == "sample_with_lab") return 6;
  if (IsFinalStatus(status)) return 7;
  return 2;  // appointment_pending, appointment_scheduled, appointment_cancelled
}

// A test kit's statuses on its way to the patient and back (docs/junction.md: Test kits), as the
// API names them; nullopt for another status.
std::optional<std::string> KitStatusFor(const std::string& low) {
  if (low == "transit_customer" || low == "out_for_delivery" ||
      low == "problem_in_transit_customer") {
    return "kit_shipped";
  }
  if (low == "with_customer") return "kit_delivered";
  if (low == "transit_lab" || low == "problem_in_transit_lab") return "sample_in_transit";
  return std::nullopt;
}

// The at-home statuses (docs/junction.md: Statuses) that come before the draw.
bool IsEarlyJunctionStatus(const std::string& low) {
  static const char* const kEarly[] = {"ordered",
                                       "requisition_created",
                                       "requisition_bypassed",
                                       "appointment_pending",
                                       "appointment_scheduled",
                                       "appointment_cancelled"};
  return std::any_of(std::begin(kEarly), std::end(kEarly),
                     [&](const char* early) { return low == early; });
}

}  // namespace

std::string LowLevelStatus(const std::string& full_status) {
  size_t dot = full_status.rfind('.');
  return dot == std::string::npos ? full_status : full_status.substr(dot + 1);
}

bool IsRefusal(junction::Outcome outcome) {
  return outcome == junction::Outcome::kValidation || outcome == junction::Outcome::kRejected ||
         outcome == junction::Outcome::kNotFound;
}

bool IsCancelRefused(junction::Outcome outcome) {
  return outcome == junction::Outcome::kRejected || outcome == junction::Outcome::kConflict;
}

bool RequisitionReady(const model::WorkflowState& state) {
  // A kit past its requisition is on its way, at the patient's or back at the lab; registered
  // (a registrable kit's high-level status goes back to received then) or shipped before, too.
  if (state.collection_method == model::kTestkit && !state.junction_status.empty()) {
    const std::string low = LowLevelStatus(state.junction_status);
    if (HighLevelStatus(state.junction_status) != "received" || low == "registered" ||
        state.tracking_number) {
      return true;
    }
  }
  static const char* const kReady[] = {"requisition_created", "requisition_bypassed",
                                       "appointment_pending", "appointment_scheduled",
                                       "appointment_cancelled"};
  std::string low = LowLevelStatus(state.junction_status);
  return std::any_of(std::begin(kReady), std::end(kReady),
                     [&](const char* ready) { return low == ready; });
}

bool BookableNow(const model::LabOrder& order) {
  const model::WorkflowState& state = order.workflow;
  return order.junction_order_id && !state.channel_switch_to && !state.booking_sent &&
         RequisitionReady(state);
}

bool IsFinalStatus(const std::string& status) { return model::IsFinalOrderStatus(status); }

model::AppointmentView AppointmentViewFrom(const junction::Appointment& appointment) {
  model::AppointmentView view;
  view.id = appointment.id;
  view.status = appointment.status;
  view.start_at = appointment.start_at;
  view.end_at = appointment.end_at;
  view.timezone = appointment.iana_timezone;
  view.provider = appointment.provider;
  view.can_reschedule = appointment.can_reschedule;
  if (appointment.type == "patient_service_center") {
    view.confirmation_code = appointment.external_id;
    const junction::USAddress& site = appointment.address;
    view.site_address = model::SiteAddressLine(site.first_line, site.second_line, site.city,
                                               site.state, site.zip_code);
  }
  view.event_count = int(appointment.events.size());
  return view;
}

bool IsActiveAppointmentStatus(const std::string& status) {
  return status != "cancelled" && status != "completed";
}

bool IsPendingAppointmentStatus(const std::string& status) {
  return status == "pending" || status == "reserved";
}

bool ApplyJunctionOrder(model::WorkflowState& state, const JunctionOrderNews& news) {
  if (news.full_status.empty()) return false;
  bool changed = false;
  // The lab's specimen number, whenever it first appears (it never changes).
  if (news.sample_id && !news.sample_id->empty() && !state.sample_id) {
    state.sample_id = news.sample_id;
    changed = true;
  }
  // A kit's tracking numbers: from news as new as what is known (a kit sent again has new ones).
  if (news.event_id >= state.junction_event_id) {
    for (auto [given, kept] :
         {std::pair{&news.outbound_tracking_number, &state.tracking_number},
          std::pair{&news.inbound_tracking_number, &state.return_tracking_number}}) {
      if (*given && !(*given)->empty() && *given != *kept) {
        *kept = *given;
        changed = true;
      }
    }
  }
  // Event ids grow with every change at Junction: a lower one is an older view.
  bool newer = news.event_id > state.junction_event_id || state.junction_status.empty();
  if (!newer) return changed;
  changed = changed || news.full_status != state.junction_status ||
            news.event_id != state.junction_event_id;
  state.junction_status = news.full_status;
  state.junction_event_id = news.event_id;
  state.status_detail = news.status_detail;
  const std::string high = HighLevelStatus(news.full_status);
  const std::string low = LowLevelStatus(news.full_status);
  // Results exist, or changed: fetched by the results step (docs/junction.md: Results).
  if (low == "partial_results" || high == "completed") state.results_pending = true;
  if (high == "completed" && !state.completed_at && news.status_at) {
    std::chrono::system_clock::time_point at;
    if (ParseRfc3339(*news.status_at, &at)) state.completed_at = FormatRfc3339(at);
  }
  if ((high == "failed" || low == "sample_error") && !state.failure_reason) {
    state.failure_reason = KitFailureReasonFor(low).value_or(FailureReasonFor(news.status_detail));
  }
  return changed;
}

bool ApplyJunctionOrder(model::WorkflowState& state, const std::string& full_status,
                        std::int64_t event_id) {
  return ApplyJunctionOrder(state, JunctionOrderNews{full_status, event_id, {}, {}, {}});
}

bool ApplyJunctionOrder(model::WorkflowState& state, const junction::Order& order) {
  JunctionOrderNews news{order.status,
                         0,
                         {},
                         order.status_detail,
                         order.sample_id,
                         order.outbound_tracking_number,
                         order.inbound_tracking_number};
  for (const junction::OrderEvent& event : order.events) {
    if (event.id >= news.event_id) {
      news.event_id = event.id;
      news.status_at = event.created_at;
    }
  }
  return ApplyJunctionOrder(state, news);
}

std::string FailureReasonFor(const std::optional<std::string>& status_detail) {
  // OrderStatusDetail's values (docs/junction.md: Statuses); the list is open.
  static const std::pair<const char*, const char*> kReasons[] = {
      {"sample_quantity_not_sufficient",
       "The lab could not test the sample: there was not enough blood. Order a new draw."},
      {"sample_contaminated",
       "The lab could not test the sample: it was contaminated. Order a "
       "new draw."},
      {"sample_stability_exceeded",
       "The sample reached the lab too late to be tested. Order a new draw."},
      {"sample_hemolyzed",
       "The lab could not test the sample: it was hemolyzed (damaged in collection or transit). "
       "Order a new draw."},
      {"sample_improper_collection",
       "The lab could not test the sample: it was not collected as the test requires. Order a "
       "new draw."},
      {"date_of_collection_unspecified",
       "The lab could not process the sample: its collection date was missing."},
      {"demographic_information_unspecified",
       "The lab could not process the sample: patient details were missing from it."},
      {"demographic_information_mismatch",
       "The lab could not process the sample: the patient details on it did not match the "
       "order."},
      {"fulfillment_error", "Junction could not fulfil the order."},
  };
  if (status_detail) {
    for (const auto& [code, reason] : kReasons) {
      if (*status_detail == code) return reason;
    }
    return "The lab could not test the sample (Junction's reason: " + *status_detail + ").";
  }
  return "The lab could not test the sample; Junction gave no reason.";
}

std::optional<std::string> KitFailureReasonFor(const std::string& low_status) {
  if (low_status == "failure_to_deliver_to_customer") {
    return "The kit could not be delivered to the patient. Order a new kit.";
  }
  if (low_status == "failure_to_deliver_to_lab") {
    return "The sample could not be delivered to the lab. Order a new kit.";
  }
  if (low_status == "lost") return "The kit was lost in transit. Order a new kit.";
  return std::nullopt;
}

AppointmentUpdate ApplyAppointment(model::WorkflowState& state,
                                   const model::AppointmentView& view) {
  if (Contains(state.past_appointment_ids, view.id)) return AppointmentUpdate::kStale;
  if (!state.appointment || state.appointment->id != view.id) return AppointmentUpdate::kUnknown;
  model::AppointmentView& current = *state.appointment;
  if (view.event_count < current.event_count) return AppointmentUpdate::kStale;
  if (view == current) return AppointmentUpdate::kUnchanged;
  // The same number of events with other details (a reschedule adds none): the later read wins.
  // A cancellation is the provider's (or the patient's, at Junction) unless the brand's own cancel
  // call is out (its webhook can land before the call's answer is committed).
  if (view.status == "cancelled" && current.status != "cancelled") {
    if (state.appointment_cancel_sent_at) {
      state.appointment_cancelled_by = "brand";
    } else {
      state.appointment_cancelled_by = "junction";
      ++state.provider_cancellations;
    }
  }
  // Moved at Junction: by the patient or the provider, unless the brand's own call is out (its
  // webhook can land before the call's answer is committed).
  if (view.start_at != current.start_at) {
    state.rescheduled_by = state.reschedule_sent_at ? "brand" : "junction";
  }
  current = view;
  return AppointmentUpdate::kApplied;
}

void SetAppointmentAside(model::WorkflowState& state) {
  if (state.appointment && !Contains(state.past_appointment_ids, state.appointment->id)) {
    state.past_appointment_ids.push_back(state.appointment->id);
  }
  state.appointment.reset();
}

void AdoptAppointment(model::WorkflowState& state, const model::AppointmentView& view,
                      std::optional<std::string> booked_by) {
  // Another appointment: whoever booked the last did not book this one.
  if (!state.appointment || state.appointment->id != view.id)
    state.booked_by = std::move(booked_by);
  if (state.appointment && state.appointment->id != view.id) SetAppointmentAside(state);
  state.appointment = view;
  ClearBookingSent(state);
  state.booking_refusals = 0;
  state.appointment_cancelled_by.reset();
  if (view.status == "cancelled") {
    state.appointment_cancelled_by = "junction";
    ++state.provider_cancellations;
  }
}

void MarkBookingSent(model::WorkflowState& state, std::chrono::system_clock::time_point now,
                     std::optional<std::string> by, std::optional<std::string> booked_for) {
  state.booking_sent = true;
  state.booking_sent_by = std::move(by);
  state.booking_sent_for = std::move(booked_for);
  state.booking_sent_at = FormatRfc3339(now);
}

void ClearBookingSent(model::WorkflowState& state) {
  state.booking_sent = false;
  state.booking_sent_by.reset();
  state.booking_sent_for.reset();
  state.booking_sent_at.reset();
}

namespace {

// When a call marked as sent at `sent` (RFC 3339) is surely over: deadline after it went out. The
// mark keeps whole seconds, so the call went out up to a second after it says. No mark, or one
// that cannot be read: the epoch (over already).
std::chrono::system_clock::time_point CallOverAt(const std::optional<std::string>& sent,
                                                 std::chrono::milliseconds deadline) {
  std::chrono::system_clock::time_point at;
  if (!sent || !ParseRfc3339(*sent, &at)) return {};
  return at + std::chrono::seconds(1) + deadline;
}

}  // namespace

std::chrono::system_clock::time_point BookingSettledAt(const model::WorkflowState& state,
                                                       std::chrono::milliseconds settle) {
  return CallOverAt(state.booking_sent_at, settle);
}

void ExpireRescheduleMark(model::WorkflowState& state, std::chrono::system_clock::time_point now,
                          std::chrono::milliseconds deadline) {
  if (state.reschedule_sent_at && now >= CallOverAt(state.reschedule_sent_at, deadline)) {
    state.reschedule_sent_at.reset();
  }
}

void SettleCancelMark(model::WorkflowState& state, std::chrono::system_clock::time_point now,
                      std::chrono::milliseconds deadline) {
  if (state.appointment_cancel_sent_at &&
      now >= CallOverAt(state.appointment_cancel_sent_at, deadline) && state.appointment &&
      IsActiveAppointmentStatus(state.appointment->status)) {
    state.appointment_cancel_sent_at.reset();
  }
}

bool BrandCancelledAppointment(const model::WorkflowState& state) {
  return state.appointment && state.appointment->status == "cancelled" &&
         state.appointment_cancelled_by == "brand";
}

bool CheckRebookLimit(model::WorkflowState& state, int max_provider_cancellations) {
  // Only a home visit is rebooked by the workflow: a walk-in order whose service-center booking
  // the lab cancelled still takes a patient who walks in, and the brand may book again.
  if (state.failure_reason || !state.appointment || state.appointment->status != "cancelled" ||
      BrandCancelledAppointment(state) || state.collection_method != model::kAtHome) {
    return false;
  }
  if (state.provider_cancellations < max_provider_cancellations) return false;
  // The brand asked for a fallback: the order moves there rather than failing.
  if (state.fallback == model::kWalkIn) {
    state.channel_switch_to = state.fallback;
    return false;
  }
  state.failure_reason = "the provider cancelled " + std::to_string(state.provider_cancellations) +
                         " bookings; no more rebooking";
  return true;
}

std::string DeriveStatus(const model::WorkflowState& state, const std::string& current_status) {
  if (IsFinalStatus(current_status)) return current_status;
  if (state.failure_reason) return "failed";
  std::string high = HighLevelStatus(state.junction_status);
  std::string low = LowLevelStatus(state.junction_status);
  if (high == "cancelled" || low == "cancelled") return "cancelled";
  if (high == "completed") return "completed";
  if (high == "failed" || low == "sample_error") return "failed";
  std::string derived;
  if (high == "sample_with_lab" || low == "partial_results") {
    derived = "sample_with_lab";
  } else if (std::optional<std::string> kit = KitStatusFor(low)) {
    derived = *kit;
  } else if (low == "draw_completed") {
    derived = "draw_completed";
  } else if (!state.junction_status.empty() && !IsEarlyJunctionStatus(low)) {
    // A status Junction added since: it tells us nothing we can name, so nothing changes.
    return current_status == "received" ? "ordered" : current_status;
  } else if (state.appointment) {
    const std::string& status = state.appointment->status;
    if (status == "confirmed" || status == "in_progress") {
      derived = "appointment_scheduled";
    } else if (status == "completed") {
      derived = "draw_completed";
    } else if (status == "cancelled") {
      derived = "appointment_cancelled";
    } else {
      // pending, reserved, or a status Junction added since: not booked until confirmed.
      derived = "appointment_pending";
    }
  } else {
    derived = state.junction_status.empty() ? current_status : "ordered";
  }
  return StageOf(derived) < StageOf(current_status) && StageOf(current_status) >= 3 ? current_status
                                                                                    : derived;
}

}  // namespace lab_orders::workflow
