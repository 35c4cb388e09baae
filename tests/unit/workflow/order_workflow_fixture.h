#pragma once

// The appointment workflow's unit-test fixture (order_workflow_test.cpp,
// order_workflow_after_booking_test.cpp): a real SqliteStore, Junction mocked, time faked,
// and the order as a POST leaves it. Each test file derives its own fixture class from
// OrderWorkflowTest (gtest wants one fixture class per suite name across the binary).

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "lab_orders/common/clock.h"
#include "lab_orders/common/encoding.h"
#include "lab_orders/model/order_json.h"
#include "lab_orders/store/sqlite_store.h"
#include "lab_orders/workflow/junction_event.h"
#include "lab_orders/workflow/order_workflow.h"
#include "lab_orders/workflow/state.h"
#include "mocks/mock_junction_client.h"
#include "support/fakes.h"
#include "support/junction_fixtures.h"
#include "support/store_fixtures.h"

namespace lab_orders::workflow {
namespace {

using namespace std::chrono_literals;
using lab_orders::testing::CallFailure;
using lab_orders::testing::CountingIdGenerator;
using lab_orders::testing::FakeClock;
using lab_orders::testing::MockJunctionClient;
using store::Job;
using store::JobOutcome;
using store::TimePoint;
using ::testing::_;
using ::testing::DoAll;
using ::testing::InSequence;
using ::testing::Return;
using ::testing::SaveArg;
using ::testing::StrictMock;
using Counts = std::vector<std::pair<std::string, int>>;

const TimePoint kT0 = std::chrono::sys_days{std::chrono::year{2024} / 5 / 1} + 12h;
constexpr char kOrderId[] = "order-1";
constexpr char kJunctionOrderId[] = "jo-1";

constexpr char kOrdered[] = "received.at_home_phlebotomy.ordered";
constexpr char kRequisitionCreated[] = "received.at_home_phlebotomy.requisition_created";
constexpr char kAppointmentCancelled[] =
    "collecting_sample.at_home_phlebotomy.appointment_cancelled";
constexpr char kAppointmentScheduled[] =
    "collecting_sample.at_home_phlebotomy.appointment_scheduled";
constexpr char kCompleted[] = "completed.at_home_phlebotomy.completed";
constexpr char kCancelled[] = "cancelled.at_home_phlebotomy.cancelled";

// ---- Junction answers
// ----------------------------------------------------------------------------

inline junction::Order JunctionOrder(const std::string& status, std::int64_t last_event_id) {
  junction::Order order;
  order.id = kJunctionOrderId;
  order.user_id = "ju-1";
  order.status = status;
  for (std::int64_t id = 1; id <= last_event_id; ++id) {
    order.events.push_back({id, FormatRfc3339(kT0), id == last_event_id ? status : kOrdered});
  }
  return order;
}

inline junction::Appointment Appointment(const std::string& id, const std::string& status,
                                         int event_count) {
  junction::Appointment appointment;
  appointment.id = id;
  appointment.order_id = kJunctionOrderId;
  appointment.status = status;
  appointment.start_at = FormatRfc3339(kT0 + 3h);
  appointment.end_at = FormatRfc3339(kT0 + 3h + 30min);
  appointment.iana_timezone = "America/Los_Angeles";
  appointment.provider = "getlabs";
  appointment.type = "phlebotomy";
  appointment.can_reschedule = status == "confirmed";
  for (int i = 0; i < event_count; ++i) appointment.events.push_back({FormatRfc3339(kT0), status});
  return appointment;
}

inline junction::TimeSlot Slot(std::optional<std::string> booking_key, TimePoint start,
                               int available = 1) {
  junction::TimeSlot slot;
  slot.booking_key = std::move(booking_key);
  slot.start = FormatRfc3339(start);
  slot.end = FormatRfc3339(start + 1h);
  slot.expires_at = FormatRfc3339(start - 30min);
  slot.price = 0;
  slot.num_appointments_available = available;
  return slot;
}

// A home visit's availability: each day's date and slots (no service center's location).
inline junction::Availability Availability(
    std::vector<std::pair<std::string, std::vector<junction::TimeSlot>>> days) {
  junction::Availability availability;
  availability.timezone = "America/Los_Angeles";
  for (auto& [date, slots] : days) {
    availability.days.push_back({std::move(date), std::move(slots), std::nullopt});
  }
  return availability;
}

// One bookable slot, well after the booking lead from kT0 and from any time a test reaches.
inline junction::Availability OneSlot(const std::string& key = "k-slot") {
  return Availability({{"2024-05-03", {Slot(key, kT0 + 48h)}}});
}

inline std::string EventPayload(const JunctionEvent& event) {
  return JunctionEventToJson(event).dump();
}

inline model::AppointmentView View(const std::string& id, const std::string& status,
                                   int event_count) {
  model::AppointmentView view;
  view.id = id;
  view.status = status;
  view.start_at = FormatRfc3339(kT0 + 3h);
  view.end_at = FormatRfc3339(kT0 + 3h + 30min);
  view.timezone = "America/Los_Angeles";
  view.provider = "getlabs";
  view.can_reschedule = status == "confirmed";
  view.event_count = event_count;
  return view;
}

inline WorkflowSettings SmallSettings() {
  WorkflowSettings settings;
  settings.requisition_poll = {100ms, 1000ms, 2.0};
  settings.confirmation_poll = {200ms, 2000ms, 2.0};
  settings.upstream_retry = {1000ms, 60000ms, 2.0};
  settings.no_slot_retry = 15min;
  settings.booking_lead = 120min;
  settings.max_provider_cancellations = 3;
  settings.reconcile_interval = 6h;
  settings.lab_test_ids["metabolic-basic"] = {"lt-1", "lt-2"};  // ExampleOrder's panel
  return settings;
}

class OrderWorkflowTest : public ::testing::Test {
 protected:
  OrderWorkflowTest()
      : store_(":memory:", store::PhiCipher(RandomBytes(32))),
        clock_(kT0),
        workflow_(store_, junction_, clock_, ids_, SmallSettings(), [] { return 0.0; }) {
    store_.Migrate();
    AddOrder();
  }

  // The order as a POST leaves it: recorded, its Junction user and order made, the first step
  // (await_requisition) due now.
  void AddOrder() {
    const std::string key = "key-1";
    model::LabOrder order = testing::ExampleOrder(kOrderId, "brand-1", kT0);
    order.address.line2 = "Apt 2";
    ASSERT_EQ(store_.ClaimKey("brand-1", key, {"fp"}, kT0, kT0 + 30s, order).result,
              store::ClaimResult::kNew);
    store_.SaveJunctionUser("brand-1", key, kOrderId, "brand-1:user-1", "ju-1", kT0);
    ++order.version;  // as the user phase left it
    const model::LabOrder ordered =
        testing::OrderedAtJunction(order, "ju-1", kJunctionOrderId, kT0);
    store_.SaveJunctionOrder(key, ordered,
                             {"step-1", store::kJobAwaitRequisition, kOrderId, "", kT0}, 201,
                             model::OrderJson(ordered).dump());
  }

  // Claims the one job due now; it must be of kind.
  std::optional<Job> Claim(const std::string& kind) {
    std::vector<Job> jobs = store_.ClaimDueJobs(clock_.Now(), clock_.Now() + 2min, "worker", 1);
    EXPECT_EQ(jobs.size(), 1u) << "no job due at +" << SinceStart() << " ms (expected " << kind
                               << ")";
    if (jobs.empty()) return std::nullopt;
    EXPECT_EQ(jobs[0].kind, kind);
    return jobs[0];
  }

  // Claims the job due now, runs the workflow on it and commits the outcome, as a worker does.
  JobOutcome RunNext(const std::string& kind) {
    std::optional<Job> job = Claim(kind);
    if (!job) return {};
    JobOutcome outcome = workflow_.Run(*job);
    store_.CompleteJob(*job, outcome);
    return outcome;
  }

  // Moves the clock to the next job's due time (when that is later than now).
  void AdvanceToNextDue() {
    std::optional<TimePoint> next = store_.NextJobDue();
    ASSERT_TRUE(next.has_value()) << "no job queued";
    if (*next > clock_.Now()) {
      clock_.Advance(std::chrono::ceil<std::chrono::milliseconds>(*next - clock_.Now()));
    }
  }

  bool NothingDueNow() {
    std::optional<TimePoint> next = store_.NextJobDue();
    return !next || *next > clock_.Now();
  }

  void QueueEvent(const std::string& id, const JunctionEvent& event) {
    ASSERT_TRUE(store_.RecordJunctionWebhook(
        "svix-" + id, clock_.Now(),
        {id, store::kJobJunctionEvent, kOrderId, EventPayload(event), clock_.Now()}));
  }

  model::LabOrder Order() { return *store_.GetOrderById(kOrderId); }

  // Changes the stored order as an API action (or a process now gone) would: holding its step,
  // a checkpoint, then the step given back.
  void ChangeOrder(const std::function<void(model::LabOrder&)>& change) {
    Job held;
    ASSERT_EQ(store_.ClaimOrderStep(kOrderId, clock_.Now(), clock_.Now() + 30s, "api", &held),
              store::OrderJobClaim::kClaimed);
    model::LabOrder order = Order();
    change(order);
    store_.CheckpointOrder(held, order, order.version);
    store_.ReleaseJob(held);
  }
  long long SinceStart() const {
    return std::chrono::duration_cast<std::chrono::milliseconds>(clock_.Now() - kT0).count();
  }

  // ---- common stretches of the flow ----

  // await_requisition finds the requisition created: book_appointment is due now.
  void ReachRequisition() {
    EXPECT_CALL(junction_, GetOrder(kJunctionOrderId))
        .WillOnce(Return(JunctionOrder(kRequisitionCreated, 2)));
    JobOutcome outcome = RunNext(store::kJobAwaitRequisition);
    ASSERT_TRUE(outcome.done);
    ASSERT_EQ(store_.QueuedJobCounts(), (Counts{{store::kJobBookAppointment, 1}}));
  }

  // book_appointment books appointment id, which Junction answers pending.
  void BookPending(const std::string& id) {
    EXPECT_CALL(junction_, GetAvailability(_, _)).WillOnce(Return(OneSlot("k-" + id)));
    EXPECT_CALL(junction_, BookAppointment(kJunctionOrderId, _))
        .WillOnce(Return(Appointment(id, "pending", 1)));
    JobOutcome outcome = RunNext(store::kJobBookAppointment);
    ASSERT_TRUE(outcome.done);
    ASSERT_EQ(store_.QueuedJobCounts(), (Counts{{store::kJobAwaitConfirmation, 1}}));
    ASSERT_EQ(Order().status, "appointment_pending");
  }

  // The current appointment id is cancelled by the provider, seen by await_confirmation.
  // An order booked (appt-1, confirmed) whose brand has sent a cancel of it (its mark made).
  void ConfirmedWithTheBrandsCancelOut() {
    ReachRequisition();
    EXPECT_CALL(junction_, GetAvailability(_, _)).WillOnce(Return(OneSlot()));
    EXPECT_CALL(junction_, BookAppointment(kJunctionOrderId, _))
        .WillOnce(Return(Appointment("appt-1", "confirmed", 2)));
    RunNext(store::kJobBookAppointment);
    ChangeOrder([&](model::LabOrder& order) {
      order.workflow.appointment_cancel_sent_at = FormatRfc3339(clock_.Now());
    });
  }

  void CancelledByProvider(const std::string& id) {
    AdvanceToNextDue();
    EXPECT_CALL(junction_, GetAppointment(kJunctionOrderId))
        .WillOnce(Return(Appointment(id, "cancelled", 2)));
    RunNext(store::kJobAwaitConfirmation);
  }

  store::SqliteStore store_;
  FakeClock clock_;
  CountingIdGenerator ids_;
  StrictMock<MockJunctionClient> junction_;
  OrderWorkflow workflow_;
};

}  // namespace
}  // namespace lab_orders::workflow
