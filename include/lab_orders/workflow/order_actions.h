#pragma once

// What a brand can do to an order's appointment through the API (the contract (HTTP surface)): see
// the slots, book or reschedule a chosen one, cancel the appointment, cancel the order. An action
// holds the order's step job while it calls Junction, so it never runs beside a worker acting on
// the same order.

#include <chrono>
#include <functional>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "lab_orders/auth/jwt.h"
#include "lab_orders/common/change_notifier.h"
#include "lab_orders/common/clock.h"
#include "lab_orders/common/ids.h"
#include "lab_orders/junction/client.h"
#include "lab_orders/store/action_key_store.h"
#include "lab_orders/store/job_store.h"
#include "lab_orders/workflow/order_workflow.h"

namespace lab_orders::workflow {

// Who books through OrderActions::Book: the brand (the API), which may also move the active
// appointment, or the patient (a booking link's page), who only books when there is none.
enum class Booker { kBrand, kPatient };

class OrderActions {
 public:
  // wake: tells the job runner a step was queued. changes: told when a worker commits, so an
  // action waiting for the order's step job re-tries at once.
  OrderActions(store::JobStore& store, junction::JunctionClient& junction, OrderWorkflow& workflow,
               const Clock& clock, IdGenerator& ids, ChangeNotifier& changes,
               std::function<void()> wake);

  // {"order_id", "timezone", "fasting", "slots": [{"booking_key", "start_at", "end_at",
  // "expires_at", "price", "is_priority"}]}, earliest first: home visits for an at-home order;
  // for a walk-in order the slots of the patient service centers near the patient that book
  // through Junction (or of the one site_code names), each with its "service_center". Throws
  // AppError.
  nlohmann::json Availability(const auth::Principal& principal, const std::string& order_id,
                              const std::optional<std::string>& site_code = std::nullopt);
  // body {"booking_key": "..."}: books it, or reschedules the active appointment to it. Returns
  // the order as the API shows it. Throws AppError. key: the request's Idempotency-Key, or
  // nullptr; an attempt resumed under it that finds the booking or the move the attempt before
  // made (recorded on the key, or adopted by the workflow) answers with the order and sends no
  // other. booker: said in appointment.booked (booked_by); a patient's booking of an order that
  // has an active appointment is 409 order_not_bookable, never a move.
  nlohmann::json Book(const auth::Principal& principal, const std::string& order_id,
                      const nlohmann::json& body, store::ActionCheckpoint* key = nullptr,
                      Booker booker = Booker::kBrand);
  // Cancels the order at Junction (its appointment with it). Returns the order. Throws AppError.
  // Repeatable: a cancelled order is answered as it is, and a refusal from Junction of an order
  // it has cancelled already (an earlier cancel's answer lost) is taken as the cancel.
  // key: the request's Idempotency-Key, or nullptr; the call is recorded on it before it is made.
  nlohmann::json Cancel(const auth::Principal& principal, const std::string& order_id,
                        store::ActionCheckpoint* key = nullptr);
  // body {"reason_id" (one of CancellationReasons()), "note"?}: cancels the order's active
  // appointment only. The order goes on without one: no rebook follows (the brand books again,
  // or the patient walks in). Returns the order. Throws AppError. key: the request's
  // Idempotency-Key, or nullptr; the appointment is recorded on it before the call, and a resumed
  // attempt whose call cancelled it (its answer lost) answers with the order.
  nlohmann::json CancelAppointment(const auth::Principal& principal, const std::string& order_id,
                                   const nlohmann::json& body,
                                   store::ActionCheckpoint* key = nullptr);
  // Junction's reasons for cancelling an appointment of that channel (a home visit's, or a
  // service center's for walk_in): {"reasons": [{"id", "name", "is_refundable"}]}, kept for an
  // hour (they change with Junction's releases). Throws AppError.
  nlohmann::json CancellationReasons(const std::string& collection_method = model::kAtHome);

 private:
  // Holds the order's step job for one action; gives it back untouched unless committed.
  class OrderLock;

  store::JobStore& store_;
  junction::JunctionClient& junction_;
  OrderWorkflow& workflow_;
  const Clock& clock_;
  IdGenerator& ids_;
  ChangeNotifier& changes_;
  std::function<void()> wake_;

  // A walk-in order's slots: Junction's patient service center availability.
  nlohmann::json ServiceCenterAvailability(const model::LabOrder& order,
                                           const std::optional<std::string>& site_code);

  // Junction's cancellation reasons of each channel, as last fetched, and until when kept.
  struct KeptReasons {
    std::vector<junction::CancellationReason> reasons;
    std::chrono::system_clock::time_point until;
  };
  std::mutex reasons_mutex_;
  KeptReasons home_visit_reasons_;
  KeptReasons service_center_reasons_;
};

}  // namespace lab_orders::workflow
