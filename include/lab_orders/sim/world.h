#pragma once

// The simulated Junction team: users, orders, slots and appointments, and how they change.
// Pure logic over JSON (no sockets); thread-safe; all time from the injected Clock.

#include <chrono>
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
#include "lab_orders/sim/script.h"

namespace lab_orders::sim {

struct SimResponse {
  int status = 200;
  nlohmann::json body;
  std::map<std::string, std::string> headers;
};

// Junction's plain error shape: {"detail": "<message>"}.
SimResponse DetailResponse(int status, const std::string& message);

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

  World(const Clock& clock, IdGenerator& ids, std::vector<std::string> extra_served_zips);

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
  // POST /_sim/orders/{id}/advance: move an order as Junction's sandbox simulate does.
  SimResponse AdvanceOrder(const std::string& order_id, const nlohmann::json& body);

  SimResponse AreaInfo(const std::string& zip_code);
  SimResponse Availability(const nlohmann::json& address,
                           const std::optional<std::string>& start_date);

  // Booking happens in two steps because the provider takes time: plan (validate, decide how
  // long to wait), wait outside the lock, then commit (validate again, book).
  std::variant<BookingPlan, SimResponse> PlanBooking(const std::string& order_id,
                                                     const nlohmann::json& body, int call_number);
  SimResponse CommitBooking(const std::string& order_id, const nlohmann::json& body,
                            const BookingPlan& plan);
  SimResponse GetAppointment(const std::string& order_id);
  SimResponse RescheduleAppointment(const std::string& order_id, const nlohmann::json& body);
  SimResponse CancelAppointment(const std::string& order_id, const nlohmann::json& body);
  SimResponse CancellationReasons();

  // Applies timed transitions that are due; returns when the next one is due, if any.
  std::optional<TimePoint> Tick();

  static constexpr const char* kTeamId = "7d5bd9a8-3c1e-4d6f-9f63-2a0c2b7d1e55";

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
    nlohmann::json address;  // the USAddress availability was asked for
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
    nlohmann::json patient_details;
    nlohmann::json patient_address;
    std::string low_status;
    std::vector<nlohmann::json> events;
    TimePoint created_at;
    TimePoint updated_at;
    int polls = 0;
    std::optional<TimePoint> requisition_at;
    std::vector<Appointment> appointments;  // the last one is the active one
  };

  // Everything below runs with mutex_ held.
  void ClearLocked();
  Order* FindOrder(const std::string& id);
  Appointment* ActiveAppointment(Order& order);
  void SetOrderStatus(Order& order, const std::string& low_status);
  void SetAppointmentStatus(Order& order, Appointment& appointment, const std::string& status);
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
  std::string ProviderFor(const std::string& zip_code) const;
  SimResponse BookSlot(Order& order, Slot& slot, const nlohmann::json& body,
                       const BookingPlan& plan);
  std::optional<SimResponse> CheckSlot(const std::string& booking_key, const Order& order,
                                       Slot** slot);
  // Active appointments per start time in the ZIP, leaving one order's own out.
  std::map<TimePoint, int> BookingsByHour(const std::string& zip_code,
                                          const std::string& except_order_id) const;
  // Why the order cannot take a booking now, if it cannot.
  std::optional<SimResponse> RefuseBooking(const Order& order) const;
  // The order and the slot a booking body names (body's booking_key), or why it cannot be booked.
  std::optional<SimResponse> FindBookable(const std::string& order_id, const nlohmann::json& body,
                                          Order** order, Slot** slot);

  const Clock& clock_;
  IdGenerator& ids_;
  std::vector<std::string> extra_served_zips_;
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
