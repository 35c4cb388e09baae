#pragma once

// The service's own order model. Patient and address fields are PHI: they never reach a log,
// an error message or a metric, and they are encrypted at rest.

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace lab_orders::model {

struct Patient {
  std::string first_name;
  std::string last_name;
  std::string dob;  // YYYY-MM-DD
  std::string email;
  std::optional<std::string> phone;
  std::optional<std::string> sex;
};

struct Address {
  std::string line1;
  std::optional<std::string> line2;
  std::string city;
  std::string state;
  std::string zip;
  std::string country;
};

// A validated POST /v1/labs/orders body.
// How the blood is drawn: a phlebotomist at the patient's home (Junction's at_home_phlebotomy),
// at a patient service center (walk_in; Junction's walk_in_test), or by the patient with a kit
// sent by mail and mailed back to the lab (testkit).
inline constexpr const char* kAtHome = "at_home_phlebotomy";
inline constexpr const char* kWalkIn = "walk_in";
inline constexpr const char* kTestkit = "testkit";

struct OrderRequest {
  std::string panel_slug;
  std::string collection_method = kAtHome;
  // The channel the order goes on instead when the one asked for does not serve the patient's
  // area (only walk_in, for at_home_phlebotomy).
  std::optional<std::string> fallback;
  // false: the workflow books no appointment; the brand books through the API, or the patient
  // through a booking link (POST /v1/labs/orders/{id}/booking-url).
  bool auto_book = true;
  Patient patient;
  Address address;
  std::optional<std::int64_t> total_cents;
  std::optional<std::string> currency;
  std::optional<std::string> patient_id;
  // The brand's own correlation data: not PHI, but never logged (ids only reach the logs).
  std::optional<std::string> external_order_id;
  std::map<std::string, std::string> metadata;
};

// The appointment as the API shows it (the contract: the order's life). Junction's appointment
// address is PHI and is never kept: the order's own address is the one that counts.
struct AppointmentView {
  std::string id;
  std::string status;  // Junction's: pending | reserved | confirmed | in_progress | completed | ...
  std::optional<std::string> start_at;  // RFC 3339 UTC
  std::optional<std::string> end_at;
  std::optional<std::string> timezone;  // IANA
  std::string provider;
  bool can_reschedule = false;
  // How many events Junction had recorded on it when this view was taken: a view built from
  // fewer events is older and never replaces this one.
  int event_count = 0;
  // A service center's booking: the lab's confirmation code (Junction's external_id), which the
  // patient shows at the desk. Not PHI.
  std::optional<std::string> confirmation_code;
  // A service center's booking: where it is, one line (a business's address, not PHI), for the
  // patient's booking page. A home visit's address is the patient's, and is never kept here.
  std::optional<std::string> site_address = std::nullopt;

  bool operator==(const AppointmentView&) const = default;
};

// The result an order shows: its latest version, without a marker value (those are sealed apart,
// in the order's result versions).
struct ResultSummary {
  std::string id;
  int version = 0;
  std::string status;          // partial | final | corrected
  std::string interpretation;  // normal | abnormal | critical | unknown

  bool operator==(const ResultSummary&) const = default;
};

// What the workflow knows of the order at Junction. No PHI: only ids, statuses and times.
struct WorkflowState {
  std::string junction_status;         // the full last_event status, "" before the first look
  std::int64_t junction_event_id = 0;  // the highest Junction order event id applied
  std::optional<AppointmentView> appointment;     // the current (last booked) appointment
  std::vector<std::string> past_appointment_ids;  // appointments replaced by a later booking
  int provider_cancellations = 0;                 // bookings the provider cancelled
  int booking_refusals = 0;  // book calls Junction refused in a row (not a taken slot)
  // A book call went out and its answer was never recorded: ask Junction before booking again
  // (the book endpoint has no idempotency key).
  bool booking_sent = false;
  // The API request (its Idempotency-Key's attempt id) whose book call set booking_sent; none
  // when the workflow's own call did.
  std::optional<std::string> booking_sent_by;
  // Whom that API request booked for: "brand" or "patient" (the appointment's booked_by, should
  // its answer be lost and the booking found at Junction).
  std::optional<std::string> booking_sent_for = std::nullopt;
  // When that book call went out (RFC 3339): Junction may still be making the booking for a
  // while after a crash, so it is looked up only once Junction's time for the call has passed.
  std::optional<std::string> booking_sent_at;
  // The API request whose lost book call the workflow found made at Junction and adopted: a retry
  // of that request under its key answers with the booking instead of making another.
  std::optional<std::string> lost_booking_adopted_for;
  std::optional<std::string> failure_reason;
  // Junction's status_detail of its last event (why a sample failed, say): its code.
  std::optional<std::string> status_detail;
  // The lab's specimen number, from when the sample reached the lab.
  std::optional<std::string> sample_id;
  // Junction's time of the order's completion (the event's, not when we learnt of it).
  std::optional<std::string> completed_at;
  // Junction said a result exists or changed (partial_results, completed, corrected, a critical
  // result) that is not fetched yet.
  bool results_pending = false;
  std::optional<ResultSummary> result;
  // Who moved the current appointment last: "brand" (through the API) or "junction" (the
  // patient or the provider, at Junction). Said in appointment.rescheduled.
  std::optional<std::string> rescheduled_by;
  // When the brand's reschedule call went out (RFC 3339; set before it is sent, cleared once its
  // answer is committed): a move Junction reports meanwhile is the brand's. A mark older than
  // the call's deadline is stale (ExpireRescheduleMark): the call is over.
  std::optional<std::string> reschedule_sent_at;
  // Who cancelled the current appointment, once it is cancelled: "brand" (through the API; the
  // order then waits for the brand to book again) or "junction" (the provider or the patient; a
  // rebook follows). Said in appointment.cancelled.
  std::optional<std::string> appointment_cancelled_by;
  // When the brand's appointment cancel call went out (RFC 3339; set before it is sent, cleared
  // once its answer is committed): a cancellation Junction reports meanwhile is the brand's, not
  // the provider's. Lapses with the call's deadline, as the reschedule mark does.
  std::optional<std::string> appointment_cancel_sent_at;
  // The result status (partial | final) Junction's critical notice was about: a brand hears of a
  // critical result once for each.
  std::optional<std::string> critical_reported_for;
  // A test kit's shipment: the courier's tracking number of the kit on its way to the patient,
  // and of the sample on its way back to the lab (Junction's shipment; not PHI, never logged).
  std::optional<std::string> tracking_number;
  std::optional<std::string> return_tracking_number;
  // The panel is drawn fasting: a home visit is booked only into a slot that starts before the
  // configured local hour (the morning).
  bool fasting = false;
  // The order's channel (kAtHome, kWalkIn or kTestkit). Changed from channel_changed_from, for
  // channel_change_reason, when the brand asked for a fallback (lab_order.channel_changed).
  std::string collection_method = kAtHome;
  std::optional<std::string> channel_changed_from;
  std::optional<std::string> channel_change_reason;
  // The channel the brand asked to fall back to (walk_in) for a home visit: also taken after the
  // provider's last allowed cancellation, instead of failing the order.
  std::optional<std::string> fallback;
  // The order is moving to this channel (the workflow's switch_channel step): a new Junction order
  // for it (switched_junction_order_id, once made), the home visit's Junction order cancelled,
  // then the order follows the new one.
  std::optional<std::string> channel_switch_to;
  std::optional<std::string> switched_junction_order_id;
  // The workflow books the appointment (and books again after a provider's cancellation). false:
  // the brand (the API) or the patient (a booking link) books it, and again after a cancellation.
  bool auto_book = true;
  // Who made the current appointment: "brand" (the API), "patient" (a booking link) or
  // "junction" (booked there, with the lab, or by the patient at Junction); unset for the
  // workflow's own booking. Said in appointment.booked.
  std::optional<std::string> booked_by;

  bool operator==(const WorkflowState&) const = default;
};

// Who made the current appointment when WorkflowState::booked_by is unset: the workflow itself.
// Shown as the appointment's booked_by, on the order and in appointment.booked.
inline constexpr const char* kBookedByLabOrders = "lab_orders";

struct LabOrder {
  std::string id;
  std::string brand_id;
  std::string user_id;  // the token's sub
  std::optional<std::string> patient_id;
  std::string panel_slug;
  std::string
      status;  // received | ordered | appointment_pending | ... (the contract: the order's life)
  std::optional<std::int64_t> total_cents;
  std::optional<std::string> currency;
  std::optional<std::string> junction_user_id;
  std::optional<std::string> junction_order_id;
  std::string created_at;  // RFC 3339 UTC
  std::string updated_at;
  std::optional<std::string> completed_at;
  std::optional<std::string> external_order_id;  // as the brand sent it; never logged
  std::map<std::string, std::string> metadata;   // as the brand sent it; never logged
  WorkflowState workflow;
  std::int64_t version = 0;  // bumped by every write after the order is recorded
  Patient patient;           // PHI
  Address address;           // PHI
};

}  // namespace lab_orders::model
