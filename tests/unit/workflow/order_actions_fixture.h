#pragma once

// The fixture of the OrderActions tests (order_actions_test.cpp, appointment_cancel_test.cpp): a
// mocked store and Junction, a fake clock, and the orders, appointments and slots they act on.

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cctype>
#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "lab_orders/common/change_notifier.h"
#include "lab_orders/common/error.h"
#include "lab_orders/workflow/order_actions.h"
#include "mocks/mock_job_store.h"
#include "mocks/mock_junction_client.h"
#include "support/app_errors.h"
#include "support/fakes.h"
#include "support/junction_fixtures.h"
#include "support/store_fixtures.h"

namespace lab_orders::workflow {
namespace {

using lab_orders::testing::ErrorFrom;
using namespace std::chrono_literals;
using lab_orders::testing::CountingIdGenerator;
using lab_orders::testing::FakeClock;
using lab_orders::testing::MockJobStore;
using lab_orders::testing::MockJunctionClient;
using nlohmann::json;
using store::Job;
using store::JobOutcome;
using store::OrderJobClaim;
using store::TimePoint;
using ::testing::_;
using ::testing::AllOf;
using ::testing::AtLeast;
using ::testing::DoAll;
using ::testing::EndsWith;
using ::testing::Field;
using ::testing::HasSubstr;
using ::testing::InSequence;
using ::testing::InvokeWithoutArgs;
using ::testing::Not;
using ::testing::NotNull;
using ::testing::Return;
using ::testing::SaveArg;
using ::testing::SetArgPointee;
using ::testing::StartsWith;
using ::testing::StrictMock;
using ::testing::Throw;

const TimePoint kT0 = std::chrono::sys_days{std::chrono::year{2025} / 6 / 15} + 10h;
constexpr char kBrand[] = "brand-1";
constexpr char kOrderId[] = "order-1";
constexpr char kJunctionOrderId[] = "jo-1";
constexpr char kStepJobId[] = "step-1";
// The action's lease owner: "api-" and the first id CountingIdGenerator hands out.
constexpr char kOwner[] = "api-00000000-0000-4000-8000-000000000001";
constexpr char kSecondUuid[] = "00000000-0000-4000-8000-000000000002";
constexpr char kUpstreamSummary[] = "upstream-summary-7f3a";

constexpr char kOrdered[] = "received.at_home_phlebotomy.ordered";
constexpr char kRequisitionCreated[] = "received.at_home_phlebotomy.requisition_created";
constexpr char kCancelled[] = "cancelled.at_home_phlebotomy.cancelled";

[[maybe_unused]] auth::Principal Caller() { return {"user-1", kBrand, {"orders:write"}}; }

[[maybe_unused]] WorkflowSettings Settings() {
  WorkflowSettings settings;
  settings.confirmation_poll = {200ms, 2000ms, 2.0};  // first wait 100 ms with no jitter
  settings.reconcile_interval = 6h;
  settings.max_provider_cancellations = 3;
  settings.sync_confirmation_timeout_ms = 3000;
  settings.async_confirmation_timeout_ms = 600000;
  return settings;
}

// An order placed at Junction whose requisition is ready: it can be booked.
[[maybe_unused]] model::LabOrder ReadyOrder(std::int64_t version = 4) {
  model::LabOrder order = lab_orders::testing::ExampleOrder(kOrderId, kBrand, kT0 - 1h);
  order.junction_user_id = "ju-1";
  order.junction_order_id = kJunctionOrderId;
  order.status = "ordered";
  order.workflow.junction_status = kRequisitionCreated;
  order.workflow.junction_event_id = 2;
  order.version = version;
  return order;
}

[[maybe_unused]] model::AppointmentView View(const std::string& id, const std::string& status,
                                             bool can_reschedule, int event_count) {
  model::AppointmentView view;
  view.id = id;
  view.status = status;
  view.start_at = FormatRfc3339(kT0 + 24h);
  view.end_at = FormatRfc3339(kT0 + 24h + 30min);
  view.timezone = "America/Phoenix";
  view.provider = "getlabs";
  view.can_reschedule = can_reschedule;
  view.event_count = event_count;
  return view;
}

// A ready order with a confirmed appointment (its step job is reconcile).
[[maybe_unused]] model::LabOrder ScheduledOrder(bool can_reschedule, std::int64_t version = 6) {
  model::LabOrder order = ReadyOrder(version);
  order.status = "appointment_scheduled";
  order.workflow.appointment = View("appt-1", "confirmed", can_reschedule, 2);
  return order;
}

[[maybe_unused]] junction::Appointment JunctionAppointment(const std::string& id,
                                                           const std::string& status,
                                                           TimePoint start, int event_count) {
  junction::Appointment appointment;
  appointment.id = id;
  appointment.order_id = kJunctionOrderId;
  appointment.status = status;
  appointment.start_at = FormatRfc3339(start);
  appointment.end_at = FormatRfc3339(start + 30min);
  appointment.iana_timezone = "America/Phoenix";
  appointment.provider = "getlabs";
  appointment.can_reschedule = status == "confirmed";
  for (int i = 0; i < event_count; ++i) appointment.events.push_back({FormatRfc3339(kT0), status});
  return appointment;
}

[[maybe_unused]] junction::TimeSlot Slot(std::optional<std::string> booking_key, TimePoint start,
                                         int available = 1) {
  junction::TimeSlot slot;
  slot.booking_key = std::move(booking_key);
  slot.start = FormatRfc3339(start);
  slot.end = FormatRfc3339(start + 1h);
  slot.expires_at = FormatRfc3339(start - 30min);
  slot.num_appointments_available = available;
  return slot;
}

[[maybe_unused]] junction::CallError Failure(junction::Outcome outcome,
                                             const std::string& operation, int http_status,
                                             std::optional<int> retry_after = std::nullopt) {
  return lab_orders::testing::CallFailure(outcome, operation, http_status, retry_after,
                                          kUpstreamSummary);
}

[[maybe_unused]] Job StepJob(const std::string& kind) {
  Job job;
  job.id = kStepJobId;
  job.kind = kind;
  job.order_id = kOrderId;
  job.due_at = kT0;
  job.created_at = kT0 - 1h;
  job.lease_owner = kOwner;
  return job;
}

[[maybe_unused]] auto IsStepJob() { return Field(&Job::id, kStepJobId); }

[[maybe_unused]] json BookBody(const std::string& key) { return {{"booking_key", key}}; }

class OrderActionsTest : public ::testing::Test {
 protected:
  OrderActionsTest()
      : clock_(kT0),
        workflow_(store_, junction_, clock_, ids_, Settings(), [] { return 0.0; }),
        actions_(store_, junction_, workflow_, clock_, ids_, changes_, [this] { ++wakes_; }) {}

  // The order as read first, the step job held (by owner), and the order read again.
  void ExpectHeld(const model::LabOrder& first, const model::LabOrder& held,
                  const std::string& kind,
                  ::testing::Matcher<const std::string&> owner = std::string(kOwner)) {
    ::testing::Sequence reads;
    EXPECT_CALL(store_, GetOrderById(kOrderId)).InSequence(reads).WillOnce(Return(first));
    EXPECT_CALL(store_, ClaimOrderStep(kOrderId, kT0, kT0 + 60s, owner, NotNull()))
        .InSequence(reads)
        .WillOnce(DoAll(SetArgPointee<4>(StepJob(kind)), Return(OrderJobClaim::kClaimed)));
    EXPECT_CALL(store_, GetOrderById(kOrderId)).InSequence(reads).WillOnce(Return(held));
  }

  StrictMock<MockJobStore> store_;
  StrictMock<MockJunctionClient> junction_;
  FakeClock clock_;
  CountingIdGenerator ids_;
  ChangeNotifier changes_;
  int wakes_ = 0;
  OrderWorkflow workflow_;
  OrderActions actions_;
};

// Under an Idempotency-Key a booking records on the key its attempt id before the call, and the
// appointment the call made once Junction answers, so that an attempt resumed under the key can
// tell whether the call was made.
struct KeyCheckpoint {
  std::vector<std::string> saved;
  store::ActionCheckpoint checkpoint;
  explicit KeyCheckpoint(std::optional<std::string> earlier = std::nullopt)
      : checkpoint{std::move(earlier), [this](const std::string& text) { saved.push_back(text); }} {
  }
};

}  // namespace
}  // namespace lab_orders::workflow
