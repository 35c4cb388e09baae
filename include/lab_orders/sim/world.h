#pragma once

// The simulated Junction team: users, orders, slots and appointments, and how they change.
// Pure logic over JSON (no sockets); thread-safe; all time from the injected Clock.

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <string>
#include <variant>
#include <vector>

#include "lab_orders/common/clock.h"
#include "lab_orders/common/ids.h"
#include "lab_orders/sim/results.h"
#include "lab_orders/sim/script.h"

namespace lab_orders::sim {

struct SimResponse {
  int status = 200;
  nlohmann::json body;
  std::map<std::string, std::string> headers;
  // Sent instead of `body` when set: bytes that are not JSON (a PDF), of the Content-Type that
  // `headers` names.
  std::optional<std::string> raw_body = std::nullopt;
};

// Junction's plain error shape: {"detail": "<message>"}.
SimResponse DetailResponse(int status, const std::string& message);

// Which of Junction's appointment APIs a call came through: a home visit's (/phlebotomy/...) or a
// patient service center's (/psc/...).
enum class Venue { kHome, kServiceCenter };

// How long a booking call must wait for the provider before World::CommitBooking.
struct BookingPlan {
  int wait_ms = 0;
  BookingRule rule;
  bool async_confirmation = false;
  bool provider_answers_in_time = true;
};

class World {
 public:
  // deliveries > 1 asks for the same message (one svix-id) to be delivered that many times.
  using EventSink = std::function<void(const nlohmann::json& event, int deliveries)>;
  using TimePoint = std::chrono::system_clock::time_point;

  // result_seed, with each order's id, decides the values of the order's lab results.
  World(const Clock& clock, IdGenerator& ids, std::vector<std::string> extra_served_zips,
        std::uint64_t result_seed = 1);

  // Called (under the world's lock, in order) with each labtest.* webhook event. listening, when
  // given, says whether anyone receives events now: when not, none is built (an order's event is
  // the order's whole Junction JSON, most of a call's cost).
  void SetEventSink(EventSink sink, std::function<bool()> listening = {});
  void LoadScript(Script script);
  // Shared, not copied: every Junction call reads it.
  std::shared_ptr<const Script> CurrentScript() const;
  void Reset();

  SimResponse CreateUser(const nlohmann::json& body);
  SimResponse ResolveUser(const std::string& client_user_id);
  SimResponse GetUser(const std::string& user_id);
  SimResponse ListLabTests();

  SimResponse CreateOrder(const nlohmann::json& body);
  // X-Idempotency-Key on POST /v3/order: a stored answer to replay, a 409 while the first
  // request with the key is still running, or nullopt when the caller should go ahead.
  std::optional<SimResponse> BeginIdempotent(const std::string& key);
  // Stores the answer (Junction stores failures too, unless X-Idempotency-Error: no-cache).
  // Validation failures are never stored.
  void FinishIdempotent(const std::string& key, const SimResponse& answer, bool cache_errors);
  void AbandonIdempotent(const std::string& key);
  SimResponse GetOrder(const std::string& order_id);
  SimResponse CancelOrder(const std::string& order_id);
  // POST /_sim/orders/{id}/advance: move an order as Junction's sandbox simulate does. Besides
  // "status", the body may set what the order's results show (interpretation, missing_results)
  // and the new event's status_detail (docs/junction-sim.md).
  SimResponse AdvanceOrder(const std::string& order_id, const nlohmann::json& body);

  // The latest report of an order's results: LabResultsRaw, LabResultsMetadata (PHI: never log
  // it), the PDF. 404 for an unknown order, and for one with no results yet.
  SimResponse GetResult(const std::string& order_id);
  SimResponse GetResultMetadata(const std::string& order_id);
  SimResponse GetResultPdf(const std::string& order_id);
  // Every report of an order, oldest first (the routes show only the last): for audits and
  // tests of what a correction kept. Empty for an unknown order.
  std::vector<ResultVersion> ReportsOf(const std::string& order_id) const;

  SimResponse AreaInfo(const std::string& zip_code);
  // GET /v3/order/psc/info: Quest's (lab 1) three service centers near every ZIP but the script's
  // psc_unserved_zips, those within radius_miles; another lab has none (world_service_centers.cpp).
  SimResponse ServiceCenters(const std::string& zip_code, int lab_id, int radius_miles);
  SimResponse Availability(const nlohmann::json& address,
                           const std::optional<std::string>& start_date);

  // Booking happens in two steps because the provider takes time: plan (validate, decide how
  // long to wait), wait outside the lock, then commit (validate again, book).
  // A service center's booking takes a service center's booking key, for a walk-in order; a home
  // visit's a home visit's, for an at-home order.
  std::variant<BookingPlan, SimResponse> PlanBooking(const std::string& order_id,
                                                     const nlohmann::json& body, int call_number,
                                                     Venue venue = Venue::kHome);
  SimResponse CommitBooking(const std::string& order_id, const nlohmann::json& body,
                            const BookingPlan& plan, Venue venue = Venue::kHome);
  // The order's active appointment of that venue; 404 when it has none there.
  SimResponse GetAppointment(const std::string& order_id, Venue venue = Venue::kHome);
  SimResponse RescheduleAppointment(const std::string& order_id, const nlohmann::json& body,
                                    Venue venue = Venue::kHome);
  // A service center's cancel body is camelCase ({cancellationReasonId, note}), and its reasons
  // are its own.
  SimResponse CancelAppointment(const std::string& order_id, const nlohmann::json& body,
                                Venue venue = Venue::kHome);
  SimResponse CancellationReasons(Venue venue = Venue::kHome);
  // POST /v3/order/psc/appointment/availability: the slots of up to three sites (site_codes) or
  // of the sites within radius_miles of a ZIP, those booking through Junction only
  // (world_service_center_slots.cpp). 404 when none is left.
  SimResponse ServiceCenterAvailability(const std::string& lab,
                                        const std::vector<std::string>& site_codes,
                                        const std::optional<std::string>& zip_code,
                                        int radius_miles,
                                        const std::optional<std::string>& start_date);

  // Applies timed transitions that are due; returns when the next one is due, if any.
  std::optional<TimePoint> Tick();

  static constexpr const char* kTeamId = "7d5bd9a8-3c1e-4d6f-9f63-2a0c2b7d1e55";
  // Quest's lab id, in area info and PSC info.
  static constexpr int kQuestLabId = 1;

 private:
  struct User {
    std::string id;
    std::string client_user_id;
    TimePoint created_on;
  };
  struct Slot {
    std::string booking_key;
    std::string zip_code;
    TimePoint start;
    TimePoint end;
    TimePoint expires_at;
    nlohmann::json address;  // the USAddress availability was asked for, or the site's
    // A service center's slot: its site, and the site as an AppointmentLocation.
    std::string site_code;
    nlohmann::json location;
  };
  struct Appointment {
    std::string id;
    std::string order_id;
    std::string booking_key;
    std::string status;
    std::string provider;
    std::string provider_id;
    nlohmann::json address;
    TimePoint start;
    TimePoint end;
    std::optional<std::string> notes;
    std::string site_code;    // a service center's appointment: its site ("" for a home visit)
    nlohmann::json location;  // ... and the site as an AppointmentLocation
    std::string external_id;  // ... and the lab's confirmation code, for the patient
    std::vector<nlohmann::json> events;
    // A pending booking resolves to this after some polls or at some time.
    std::optional<std::string> resolves_to;
    std::optional<int> resolve_after_polls;
    std::optional<TimePoint> resolve_at;
    int polls = 0;
  };
  struct Order {
    std::string id;
    std::string user_id;
    std::string details_id;
    std::string transaction_id;
    std::string lab_test_id;
    std::string modality;  // its collection method: at_home_phlebotomy, walk_in_test or testkit
    nlohmann::json patient_details;
    nlohmann::json patient_address;
    std::string low_status;
    std::vector<nlohmann::json> events;
    TimePoint created_at;
    TimePoint updated_at;
    int polls = 0;
    std::optional<TimePoint> requisition_at;
    // A test kit's shipment (ClientFacingShipment; null until it ships), and its next move.
    nlohmann::json shipment;
    std::optional<TimePoint> kit_next_at;
    std::string kit_next_status;
    std::vector<Appointment> appointments;  // the last one is the active one
    // Results: the sample reaches the lab, then reports come, each kept (a correction does not
    // erase what was reported before); the routes serve the last.
    std::optional<std::string> sample_id;
    std::optional<TimePoint> collected_at;
    std::optional<TimePoint> received_at;
    ResultPlan result_plan;
    std::vector<ResultVersion> reports;
  };

  // Everything below runs with mutex_ held.
  void ClearLocked();
  Order* FindOrder(const std::string& id);
  Appointment* ActiveAppointment(Order& order);
  // status_detail, when given, goes on the new event (ClientFacingOrderEvent.status_detail).
  void SetOrderStatus(Order& order, const std::string& low_status,
                      const std::optional<std::string>& status_detail = std::nullopt);
  // What a new status means for the order's results (world_results.cpp): the sample id, the
  // collection time, a new report. True when the new report is critical.
  bool RecordResultsLocked(Order& order);
  void EmitCriticalResultEvent(const Order& order);
  // The advance body's result fields, checked, into *plan and *status_detail; or why not.
  static std::optional<SimResponse> ReadResultOptions(const nlohmann::json& body,
                                                      const Order& order, bool status_changes,
                                                      ResultPlan* plan,
                                                      std::optional<std::string>* status_detail);
  // The order's latest report, or the 404 that says why there is none.
  std::variant<const Order*, SimResponse> FindReportedOrder(const std::string& order_id);
  nlohmann::json LabResultsJson(const Order& order) const;
  nlohmann::json ResultMetadataJson(const Order& order) const;
  nlohmann::json OrderTransactionJson(const Order& order) const;
  // order_status_detail goes on the order event that the appointment's change may cause.
  void SetAppointmentStatus(Order& order, Appointment& appointment, const std::string& status,
                            const std::optional<std::string>& order_status_detail = std::nullopt);
  // A test kit's status just set (world_kits.cpp): its shipment's tracking numbers, and its next
  // move as the script's kit timings say.
  void OnKitStatusLocked(Order& order);
  void EmitOrderEvent(const Order& order, const char* event_type);
  void EmitAppointmentEvent(const Order& order, const Appointment& appointment,
                            const char* event_type);
  void ResolvePending(Order& order, Appointment& appointment);
  // Puts the order in due_ for a requisition or a pending booking's answer at `at`.
  void ScheduleLocked(const Order& order, TimePoint at);
  // Whether the order still has something due at `at` (due_ keeps entries gone stale).
  bool StillDue(const Order& order, TimePoint at) const;
  void ApplyDueLocked();
  nlohmann::json OrderJson(const Order& order) const;
  nlohmann::json AppointmentJson(const Order& order, const Appointment& appointment) const;
  nlohmann::json UserJson(const User& user) const;
  const User* FindUserById(const std::string& id) const;
  bool IsServed(const std::string& zip_code) const;
  bool HasServiceCenters(const std::string& zip_code) const;
  std::string ProviderFor(const std::string& zip_code) const;
  SimResponse BookSlot(Order& order, Slot& slot, const nlohmann::json& body,
                       const BookingPlan& plan);
  std::optional<SimResponse> CheckSlot(const std::string& booking_key, const Order& order,
                                       Venue venue, Slot** slot);
  // Active appointments per start time at a slot's place (a home visit's ZIP, or its service
  // center), leaving one order's own out.
  std::map<TimePoint, int> BookingsByHour(const Slot& place,
                                          const std::string& except_order_id) const;
  // A slot as availability offers it (TimeSlot), with what its hour has left after `booked`; null
  // when nothing is left.
  nlohmann::json OfferedSlotJson(const Slot& slot, const std::map<TimePoint, int>& booked) const;
  // Why the order cannot take a booking through that venue now, if it cannot.
  std::optional<SimResponse> RefuseBooking(const Order& order, Venue venue) const;
  // The order and the slot a booking body names (body's booking_key), or why it cannot be booked.
  std::optional<SimResponse> FindBookable(const std::string& order_id, const nlohmann::json& body,
                                          Venue venue, Order** order, Slot** slot);
  // The order's active appointment when it is of that venue, else nullptr.
  Appointment* ActiveAppointmentAt(Order& order, Venue venue);

  const Clock& clock_;
  IdGenerator& ids_;
  std::vector<std::string> extra_served_zips_;
  std::uint64_t result_seed_;
  mutable std::mutex mutex_;
  EventSink sink_;
  std::function<bool()> listening_;
  bool Listened() const { return sink_ && (!listening_ || listening_()); }
  std::shared_ptr<const Script> script_ = std::make_shared<const Script>();
  std::map<std::string, User> users_;  // by user id
  std::map<std::string, std::string> users_by_client_id_;
  std::map<std::string, Order> orders_;
  std::map<std::string, Slot> slots_;  // by booking key
  struct IdempotentAnswer {
    bool in_flight = true;
    SimResponse answer;
    TimePoint stored_at;
  };
  std::map<std::string, IdempotentAnswer> idempotency_;
  TimePoint last_idempotency_sweep_{};
  // Order ids by the time something is due for them, earliest first: applying what is due and
  // finding the next due time look at the front only, never at every order (a benchmark's
  // simulator holds tens of thousands).
  std::multimap<TimePoint, std::string> due_;
  std::int64_t next_event_id_ = 1;
};

}  // namespace lab_orders::sim
