#pragma once

// The order's life (the contract: the order's life) as pure functions over WorkflowState: what
// Junction told us, from a GET or a webhook, in whatever order it arrives, and the status the API
// shows for it.

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>

#include "lab_orders/junction/result.h"
#include "lab_orders/junction/types.h"
#include "lab_orders/model/order.h"

namespace lab_orders::workflow {

// "received.at_home_phlebotomy.requisition_created" -> "requisition_created".
std::string LowLevelStatus(const std::string& full_status);
bool RequisitionReady(const model::WorkflowState& state);
// Whether a booking of the order could go to Junction now, as OrderActions::Book checks it: its
// Junction order made, its requisition ready, no booking or channel move under way.
bool BookableNow(const model::LabOrder& order);
// cancelled, completed and failed: nothing moves the order any more.
bool IsFinalStatus(const std::string& status);

// Junction refused the call (a 4xx it will repeat, not a passing 409 or 429): sending it again
// as it is changes nothing.
bool IsRefusal(junction::Outcome outcome);
// Junction refused to cancel an order: perhaps already cancelled (an earlier call whose answer was
// lost), perhaps gone too far; its order says which.
bool IsCancelRefused(junction::Outcome outcome);

model::AppointmentView AppointmentViewFrom(const junction::Appointment& appointment);
bool IsActiveAppointmentStatus(const std::string& status);   // not cancelled, not completed
bool IsPendingAppointmentStatus(const std::string& status);  // pending or reserved

// What Junction said of the order at one moment (a GET, or a webhook): ids, codes and times.
struct JunctionOrderNews {
  std::string full_status;  // last_event.status
  std::int64_t event_id = 0;
  std::optional<std::string> status_at;      // last_event.created_at
  std::optional<std::string> status_detail;  // last_event.status_detail
  std::optional<std::string> sample_id;
  // A test kit's tracking numbers, to the patient and back to the lab.
  std::optional<std::string> outbound_tracking_number = std::nullopt;
  std::optional<std::string> inbound_tracking_number = std::nullopt;
};

// Takes the Junction order's status if it is newer than what is known (by highest event id;
// Junction's event ids grow): a status that brings results (partial_results, completed,
// corrected) marks them to be fetched; completion keeps Junction's time; a failed sample keeps
// its reason. The sample id is taken whenever it first appears, a kit's tracking numbers whenever
// they are given with news no older than what is known. Returns whether anything changed.
bool ApplyJunctionOrder(model::WorkflowState& state, const JunctionOrderNews& news);
bool ApplyJunctionOrder(model::WorkflowState& state, const std::string& full_status,
                        std::int64_t event_id);
bool ApplyJunctionOrder(model::WorkflowState& state, const junction::Order& order);

// A failed sample's reason, from Junction's status_detail code, in words a brand can act on.
std::string FailureReasonFor(const std::optional<std::string>& status_detail);
// Why a test kit failed, from Junction's low-level status (lost, failure_to_deliver_to_*), in
// words a brand can act on; nullopt for another status.
std::optional<std::string> KitFailureReasonFor(const std::string& low_status);

enum class AppointmentUpdate {
  kApplied,    // it is the current appointment, and newer: taken
  kUnchanged,  // the current appointment, nothing newer
  kStale,      // an older view, or an appointment left behind: changes nothing
  kUnknown,    // not the current one and not a past one (or none is current): changes nothing
};
AppointmentUpdate ApplyAppointment(model::WorkflowState& state, const model::AppointmentView& view);
// Makes view the current appointment, moving a cancelled current one to the past ones. booked_by:
// who made it when it is another appointment than the current one ("brand", "patient",
// "junction"; none: the workflow's own book call); the current one keeps its booker.
void AdoptAppointment(model::WorkflowState& state, const model::AppointmentView& view,
                      std::optional<std::string> booked_by = std::nullopt);

// A book call is about to go out (by the API request attempt by, booking for the brand or the
// patient, or the workflow when none): recorded before the call, so a lost answer is looked up,
// never just sent again.
void MarkBookingSent(model::WorkflowState& state, std::chrono::system_clock::time_point now,
                     std::optional<std::string> by,
                     std::optional<std::string> booked_for = std::nullopt);
// What that call did is known (its answer, or Junction's appointment after it).
void ClearBookingSent(model::WorkflowState& state);
// The current appointment goes among the past ones (its news is stale from then on); none left.
void SetAppointmentAside(model::WorkflowState& state);
// When Junction is surely done with the book call marked sent: settle (Junction's time for the
// call) after it went out, rounded up to the second the mark keeps. The epoch for a mark written
// before its time was kept: looked up at once, as then.
std::chrono::system_clock::time_point BookingSettledAt(const model::WorkflowState& state,
                                                       std::chrono::milliseconds settle);

// Forgets the brand's reschedule mark once its call's deadline has passed (a call that failed
// without an answer, or a crash): a later move is Junction's.
void ExpireRescheduleMark(model::WorkflowState& state, std::chrono::system_clock::time_point now,
                          std::chrono::milliseconds deadline);
// The brand's appointment cancel mark does not lapse by time: Junction may finish a cancel whose
// answer was lost however late, and taken for the provider's it would be rebooked. It goes when
// Junction's own view of the appointment (a GET, applied to state), taken once the call's
// deadline has passed, shows it still active: the call cancelled nothing.
void SettleCancelMark(model::WorkflowState& state, std::chrono::system_clock::time_point now,
                      std::chrono::milliseconds deadline);

// Once the provider has cancelled max bookings, the order fails with the reason kept. Returns
// whether it failed now.
bool CheckRebookLimit(model::WorkflowState& state, int max_provider_cancellations);

// The brand cancelled the current appointment (through the API): no rebook follows; the order
// waits for the brand to book again.
bool BrandCancelledAppointment(const model::WorkflowState& state);

// The status the API shows, from what is known. A final status never changes.
std::string DeriveStatus(const model::WorkflowState& state, const std::string& current_status);

}  // namespace lab_orders::workflow
