// The appointment workflow's steps (the contract: the order's life; docs/junction.md:
// Async confirmation, End to end, Statuses, Webhooks) on a real SqliteStore, with Junction mocked
// and time faked. Each test drives the jobs the way a worker does: claim the due job, Run it,
// commit its outcome, and looks at what the store holds afterwards.

#include "lab_orders/workflow/order_workflow.h"

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

junction::Order JunctionOrder(const std::string& status, std::int64_t last_event_id) {
  junction::Order order;
  order.id = kJunctionOrderId;
  order.user_id = "ju-1";
  order.status = status;
  for (std::int64_t id = 1; id <= last_event_id; ++id) {
    order.events.push_back({id, FormatRfc3339(kT0), id == last_event_id ? status : kOrdered});
  }
  return order;
}

junction::Appointment Appointment(const std::string& id, const std::string& status,
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

junction::TimeSlot Slot(std::optional<std::string> booking_key, TimePoint start,
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
junction::Availability Availability(
    std::vector<std::pair<std::string, std::vector<junction::TimeSlot>>> days) {
  junction::Availability availability;
  availability.timezone = "America/Los_Angeles";
  for (auto& [date, slots] : days) {
    availability.days.push_back({std::move(date), std::move(slots), std::nullopt});
  }
  return availability;
}

// One bookable slot, well after the booking lead from kT0 and from any time a test reaches.
junction::Availability OneSlot(const std::string& key = "k-slot") {
  return Availability({{"2024-05-03", {Slot(key, kT0 + 48h)}}});
}

std::string EventPayload(const JunctionEvent& event) { return JunctionEventToJson(event).dump(); }

model::AppointmentView View(const std::string& id, const std::string& status, int event_count) {
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

WorkflowSettings SmallSettings() {
  WorkflowSettings settings;
  settings.requisition_poll = {100ms, 1000ms, 2.0};
  settings.confirmation_poll = {200ms, 2000ms, 2.0};
  settings.upstream_retry = {1000ms, 60000ms, 2.0};
  settings.no_slot_retry = 15min;
  settings.booking_lead = 120min;
  settings.max_provider_cancellations = 3;
  settings.reconcile_interval = 6h;
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

// ---- await_requisition
// ---------------------------------------------------------------------------

TEST_F(OrderWorkflowTest, RequisitionNotReadyPollsAgainWithGrowingDelay) {
  EXPECT_CALL(junction_, GetOrder(kJunctionOrderId))
      .Times(2)
      .WillRepeatedly(Return(JunctionOrder(kOrdered, 1)));

  JobOutcome first = RunNext(store::kJobAwaitRequisition);
  EXPECT_FALSE(first.done);
  EXPECT_EQ(first.attempts, 1);
  EXPECT_EQ(first.retry_at, kT0 + 50ms);  // 100 ms, first attempt, jitter 0
  EXPECT_EQ(store_.QueuedJobCounts(), (Counts{{store::kJobAwaitRequisition, 1}}));
  EXPECT_EQ(store_.NextJobDue(), kT0 + 50ms);
  model::LabOrder order = Order();
  EXPECT_EQ(order.status, "ordered");
  EXPECT_EQ(order.workflow.junction_status, kOrdered);
  EXPECT_EQ(order.workflow.junction_event_id, 1);

  clock_.Advance(49ms);
  EXPECT_TRUE(NothingDueNow());
  clock_.Advance(1ms);
  JobOutcome second = RunNext(store::kJobAwaitRequisition);
  EXPECT_FALSE(second.done);
  EXPECT_EQ(second.attempts, 2);
  EXPECT_EQ(second.retry_at, kT0 + 50ms + 100ms);
  EXPECT_FALSE(second.order_update.has_value());  // nothing new learnt: nothing written
}

TEST_F(OrderWorkflowTest, RequisitionCreatedQueuesBookingAtOnce) {
  EXPECT_CALL(junction_, GetOrder(kJunctionOrderId))
      .WillOnce(Return(JunctionOrder(kRequisitionCreated, 2)));
  JobOutcome outcome = RunNext(store::kJobAwaitRequisition);
  EXPECT_TRUE(outcome.done);
  ASSERT_EQ(outcome.enqueue.size(), 1u);
  EXPECT_EQ(outcome.enqueue[0].kind, store::kJobBookAppointment);
  EXPECT_EQ(outcome.enqueue[0].due_at, kT0);
  EXPECT_EQ(store_.QueuedJobCounts(), (Counts{{store::kJobBookAppointment, 1}}));
  EXPECT_EQ(Order().status, "ordered");
  EXPECT_EQ(Order().workflow.junction_status, kRequisitionCreated);
}

TEST_F(OrderWorkflowTest, UpdatedAtMovesOnlyWithAChangeTheBrandCanSee) {
  const std::string created_at = Order().updated_at;
  clock_.Advance(1s);
  // Junction's requisition is new to the workflow, but the order the brand reads is the same.
  EXPECT_CALL(junction_, GetOrder(kJunctionOrderId))
      .WillOnce(Return(JunctionOrder(kRequisitionCreated, 2)));
  JobOutcome requisition = RunNext(store::kJobAwaitRequisition);
  ASSERT_TRUE(requisition.order_update.has_value());  // the bookkeeping is still written
  EXPECT_EQ(Order().workflow.junction_status, kRequisitionCreated);
  EXPECT_EQ(Order().updated_at, created_at);

  clock_.Advance(1s);
  EXPECT_CALL(junction_, GetAvailability(_, _)).WillOnce(Return(OneSlot()));
  EXPECT_CALL(junction_, BookAppointment(kJunctionOrderId, _))
      .WillOnce(Return(Appointment("appt-1", "confirmed", 2)));
  RunNext(store::kJobBookAppointment);
  EXPECT_EQ(Order().status, "appointment_scheduled");
  EXPECT_EQ(Order().updated_at, FormatRfc3339(clock_.Now()));
}

TEST_F(OrderWorkflowTest, RateLimitedCallIsRetriedNoSoonerThanRetryAfter) {
  EXPECT_CALL(junction_, GetOrder(kJunctionOrderId))
      .WillOnce(Return(CallFailure(junction::Outcome::kRateLimited, "get_order", 429, 30)));
  JobOutcome outcome = RunNext(store::kJobAwaitRequisition);
  EXPECT_FALSE(outcome.done);
  EXPECT_GE(outcome.retry_at, kT0 + 30s);
  EXPECT_EQ(outcome.attempts, 1);
  ASSERT_TRUE(outcome.last_error.has_value());
  EXPECT_NE(outcome.last_error->find("get_order"), std::string::npos);
  ASSERT_TRUE(store_.NextJobDue().has_value());
  EXPECT_GE(*store_.NextJobDue(), kT0 + 30s);
  EXPECT_EQ(store_.QueuedJobCounts(), (Counts{{store::kJobAwaitRequisition, 1}}));
}

TEST_F(OrderWorkflowTest, ServerErrorIsRetriedWithUpstreamBackoff) {
  EXPECT_CALL(junction_, GetOrder(kJunctionOrderId))
      .WillOnce(Return(CallFailure(junction::Outcome::kServerError, "get_order", 503)))
      .WillOnce(Return(CallFailure(junction::Outcome::kServerError, "get_order", 503)));
  JobOutcome first = RunNext(store::kJobAwaitRequisition);
  EXPECT_EQ(first.retry_at, kT0 + 500ms);
  clock_.Advance(500ms);
  JobOutcome second = RunNext(store::kJobAwaitRequisition);
  EXPECT_EQ(second.retry_at, kT0 + 500ms + 1000ms);
  EXPECT_EQ(second.attempts, 2);
}

// ---- book_appointment
// ----------------------------------------------------------------------------

TEST_F(OrderWorkflowTest, BooksTheEarliestBookableSlotAfterTheLeadWithAsyncConfirmation) {
  ReachRequisition();
  // Listed out of order; the lead is two hours from kT0.
  junction::Availability availability = Availability({
      {"2024-05-01",
       {Slot("k-too-soon", kT0 + 1h), Slot("k-just-too-soon", kT0 + 2h - 1min),
        Slot(std::nullopt, kT0 + 2h + 10min), Slot("k-full", kT0 + 2h + 20min, 0)}},
      {"2024-05-02", {Slot("k-later", kT0 + 26h), Slot("k-best", kT0 + 2h + 30min)}},
  });
  junction::USAddress address;
  junction::BookingRequest request;
  {
    InSequence in_order;
    EXPECT_CALL(junction_, GetAvailability(_, std::optional<std::string>()))
        .WillOnce(DoAll(SaveArg<0>(&address), Return(availability)));
    EXPECT_CALL(junction_, BookAppointment(kJunctionOrderId, _))
        .WillOnce(DoAll(SaveArg<1>(&request), Return(Appointment("appt-1", "pending", 1))));
  }
  JobOutcome outcome = RunNext(store::kJobBookAppointment);

  EXPECT_EQ(request.booking_key, "k-best");
  EXPECT_TRUE(request.async_confirmation);
  EXPECT_EQ(request.sync_confirmation_timeout_ms, 2500);
  EXPECT_EQ(request.async_confirmation_timeout_ms, 15 * 60 * 1000);
  // The order's address, with the appointment's "zip_code".
  EXPECT_EQ(address.first_line, "1 Main St");
  EXPECT_EQ(address.second_line, "Apt 2");
  EXPECT_EQ(address.city, "Eugene");
  EXPECT_EQ(address.state, "OR");
  EXPECT_EQ(address.zip_code, "97405");

  EXPECT_TRUE(outcome.done);
  model::LabOrder order = Order();
  EXPECT_EQ(order.status, "appointment_pending");  // pending is never shown as booked
  ASSERT_TRUE(order.workflow.appointment.has_value());
  EXPECT_EQ(order.workflow.appointment->id, "appt-1");
  EXPECT_EQ(order.workflow.appointment->status, "pending");
  EXPECT_FALSE(order.workflow.booking_sent);
  EXPECT_EQ(store_.QueuedJobCounts(), (Counts{{store::kJobAwaitConfirmation, 1}}));
  EXPECT_EQ(store_.NextJobDue(), kT0 + 100ms);  // the first confirmation poll
}

// A fasting panel: only a slot that starts before 10:00 on the availability's clocks
// (Los Angeles, PDT in May: UTC-7) is booked; one whose local time cannot be told is not.
TEST_F(OrderWorkflowTest, AFastingPanelIsBookedIntoTheFirstMorningSlot) {
  ChangeOrder([&](model::LabOrder& order) { order.workflow.fasting = true; });
  ReachRequisition();
  junction::Availability availability = Availability({
      {"2024-05-01",
       {Slot("k-ten", kT0 + 5h),                    // 10:00 local: too late
        Slot("k-noon", kT0 + 7h)}},                 // 12:00
      {"2024-05-02", {Slot("k-nine", kT0 + 28h)}},  // 09:00 the next day
  });
  junction::Availability unknown_zone = availability;
  unknown_zone.timezone.reset();
  junction::BookingRequest request;
  {
    InSequence in_order;
    EXPECT_CALL(junction_, GetAvailability(_, _)).WillOnce(Return(unknown_zone));
    EXPECT_CALL(junction_, GetAvailability(_, _)).WillOnce(Return(availability));
    EXPECT_CALL(junction_, BookAppointment(kJunctionOrderId, _))
        .WillOnce(DoAll(SaveArg<1>(&request), Return(Appointment("appt-1", "pending", 1))));
  }
  JobOutcome waiting = RunNext(store::kJobBookAppointment);
  EXPECT_FALSE(waiting.done);
  EXPECT_EQ(waiting.last_error, "no bookable morning slot (fasting)");

  AdvanceToNextDue();
  RunNext(store::kJobBookAppointment);
  EXPECT_EQ(request.booking_key, "k-nine");
  EXPECT_TRUE(Order().workflow.fasting);
}

TEST_F(OrderWorkflowTest, SlotStartingExactlyAtTheLeadIsBookable) {
  ReachRequisition();
  EXPECT_CALL(junction_, GetAvailability(_, _))
      .WillOnce(Return(Availability({{"2024-05-01", {Slot("k-at-lead", kT0 + 2h)}}})));
  junction::BookingRequest request;
  EXPECT_CALL(junction_, BookAppointment(kJunctionOrderId, _))
      .WillOnce(DoAll(SaveArg<1>(&request), Return(Appointment("appt-1", "pending", 1))));
  RunNext(store::kJobBookAppointment);
  EXPECT_EQ(request.booking_key, "k-at-lead");
}

TEST_F(OrderWorkflowTest, NoBookableSlotLooksAgainAfterNoSlotRetry) {
  ReachRequisition();
  EXPECT_CALL(junction_, GetAvailability(_, _))
      .WillOnce(Return(Availability({{"2024-05-01",
                                      {Slot("k-too-soon", kT0 + 1h), Slot(std::nullopt, kT0 + 5h),
                                       Slot("k-full", kT0 + 6h, 0)}}})))
      .WillOnce(Return(OneSlot("k-good")));
  JobOutcome outcome = RunNext(store::kJobBookAppointment);
  EXPECT_FALSE(outcome.done);
  EXPECT_EQ(outcome.retry_at, kT0 + 15min);
  EXPECT_EQ(store_.QueuedJobCounts(), (Counts{{store::kJobBookAppointment, 1}}));
  EXPECT_EQ(store_.NextJobDue(), kT0 + 15min);
  EXPECT_FALSE(Order().workflow.booking_sent);
  EXPECT_EQ(Order().status, "ordered");

  clock_.Advance(15min);
  EXPECT_CALL(junction_, BookAppointment(kJunctionOrderId, _))
      .WillOnce(Return(Appointment("appt-1", "pending", 1)));
  EXPECT_TRUE(RunNext(store::kJobBookAppointment).done);
  EXPECT_EQ(Order().status, "appointment_pending");
}

// The patient walks in to a service center: the workflow books nothing (strict mocks: no
// availability, no book call); once its requisition is ready the order is looked at for the draw,
// and stays ordered until then. A service center's appointment booked elsewhere is followed.
TEST_F(OrderWorkflowTest, AWalkInOrderIsNeverBookedAndWaitsForTheDraw) {
  ChangeOrder([&](model::LabOrder& order) { order.workflow.collection_method = model::kWalkIn; });

  EXPECT_CALL(junction_, GetOrder(kJunctionOrderId))
      .WillOnce(Return(JunctionOrder(kRequisitionCreated, 2)));
  EXPECT_TRUE(RunNext(store::kJobAwaitRequisition).done);
  EXPECT_EQ(Order().status, "ordered");
  EXPECT_EQ(store_.QueuedJobCounts(), (Counts{{store::kJobReconcile, 1}}));

  // A service center's appointment the patient booked at Junction: followed (adopted from the
  // webhook, none of ours being out), and looked at through Junction's PSC appointment.
  JunctionEvent event;
  event.event_type = "labtest.appointment.created";
  event.junction_order_id = kJunctionOrderId;
  event.appointment = View("psc-1", "confirmed", 1);
  QueueEvent("event-1", event);
  JobOutcome applied = RunNext(store::kJobJunctionEvent);
  EXPECT_FALSE(applied.wake_order_step);
  ASSERT_TRUE(Order().workflow.appointment.has_value());
  EXPECT_EQ(Order().workflow.appointment->id, "psc-1");
  EXPECT_EQ(Order().status, "appointment_scheduled");

  clock_.Advance(6h);
  EXPECT_CALL(junction_, GetOrder(kJunctionOrderId))
      .WillOnce(Return(JunctionOrder(kRequisitionCreated, 2)));
  junction::Appointment at_site = Appointment("psc-1", "confirmed", 2);
  at_site.type = "patient_service_center";
  at_site.external_id = "QC1234ABCD";
  EXPECT_CALL(junction_, GetServiceCenterAppointment(kJunctionOrderId)).WillOnce(Return(at_site));
  RunNext(store::kJobReconcile);
  EXPECT_EQ(Order().workflow.appointment->confirmation_code, "QC1234ABCD");
  EXPECT_EQ(Order().status, "appointment_scheduled");
}

// A test kit is never booked: its order follows Junction's webhooks of the kit's way, the
// tracking numbers with it, and the brand sees each stage.
TEST_F(OrderWorkflowTest, ATestKitIsNeverBookedAndFollowsItsShipment) {
  ChangeOrder([&](model::LabOrder& order) { order.workflow.collection_method = model::kTestkit; });
  junction::Order shipped = JunctionOrder("collecting_sample.testkit.transit_customer", 3);
  shipped.outbound_tracking_number = "9400111202555842761234";
  EXPECT_CALL(junction_, GetOrder(kJunctionOrderId)).WillOnce(Return(shipped));
  EXPECT_TRUE(RunNext(store::kJobAwaitRequisition).done);
  model::LabOrder order = Order();
  EXPECT_EQ(order.status, "kit_shipped");
  EXPECT_EQ(order.workflow.tracking_number, "9400111202555842761234");
  EXPECT_EQ(store_.QueuedJobCounts(), (Counts{{store::kJobReconcile, 1}}));

  JunctionEvent back;
  back.event_type = "labtest.order.updated";
  back.junction_order_id = kJunctionOrderId;
  back.order_status = "collecting_sample.testkit.transit_lab";
  back.order_event_id = 5;
  back.outbound_tracking_number = "9400111202555842761234";
  back.inbound_tracking_number = "9202111202555842765678";
  QueueEvent("event-1", back);
  RunNext(store::kJobJunctionEvent);
  order = Order();
  EXPECT_EQ(order.status, "sample_in_transit");
  EXPECT_EQ(order.workflow.return_tracking_number, "9202111202555842765678");
  EXPECT_EQ(order.updated_at, FormatRfc3339(clock_.Now()));
  // Nothing was booked or looked for (strict mock: no availability or book call).
  EXPECT_EQ(store_.QueuedJobCounts(), (Counts{{store::kJobReconcile, 1}}));
}

TEST_F(OrderWorkflowTest, BookingSentIsCommittedBeforeTheBookCall) {
  ReachRequisition();
  EXPECT_CALL(junction_, GetAvailability(_, _)).WillOnce(Return(OneSlot()));
  bool sent_before_call = false;
  EXPECT_CALL(junction_, BookAppointment(kJunctionOrderId, _))
      .WillOnce([&](const std::string&, const junction::BookingRequest&) {
        sent_before_call = Order().workflow.booking_sent;
        return junction::Result<junction::Appointment>(Appointment("appt-1", "pending", 1));
      });
  RunNext(store::kJobBookAppointment);
  EXPECT_TRUE(sent_before_call);
  EXPECT_FALSE(Order().workflow.booking_sent);
}

TEST_F(OrderWorkflowTest, BookTimeoutLeavesBookingSentAndTheNextRunAdoptsWhatJunctionHas) {
  ReachRequisition();
  EXPECT_CALL(junction_, GetAvailability(_, _)).WillOnce(Return(OneSlot()));
  EXPECT_CALL(junction_, BookAppointment(kJunctionOrderId, _))
      .WillOnce(Return(CallFailure(junction::Outcome::kTimeout, "book_appointment", 0)));
  JobOutcome failed = RunNext(store::kJobBookAppointment);
  EXPECT_FALSE(failed.done);
  // Not the backoff's 500 ms: Junction may be booking until the call's deadline (10 s) from when
  // the call went out (kT0, a mark of whole seconds, so 1 s more).
  EXPECT_EQ(failed.retry_at, kT0 + 11s);
  model::LabOrder order = Order();
  EXPECT_TRUE(order.workflow.booking_sent);
  EXPECT_FALSE(order.workflow.appointment.has_value());
  EXPECT_EQ(store_.QueuedJobCounts(), (Counts{{store::kJobBookAppointment, 1}}));

  // The book did reach Junction: the next run asks first and never books again (StrictMock: no
  // second GetAvailability or BookAppointment is expected).
  AdvanceToNextDue();
  EXPECT_CALL(junction_, GetAppointment(kJunctionOrderId))
      .WillOnce(Return(Appointment("appt-7", "pending", 1)));
  JobOutcome adopted = RunNext(store::kJobBookAppointment);
  EXPECT_TRUE(adopted.done);
  order = Order();
  EXPECT_FALSE(order.workflow.booking_sent);
  ASSERT_TRUE(order.workflow.appointment.has_value());
  EXPECT_EQ(order.workflow.appointment->id, "appt-7");
  EXPECT_EQ(order.workflow.lost_booking_adopted_for, std::nullopt) << "the workflow's own call";
  EXPECT_EQ(order.status, "appointment_pending");
  EXPECT_EQ(store_.QueuedJobCounts(), (Counts{{store::kJobAwaitConfirmation, 1}}));
}

// The API's book call (under an Idempotency-Key) got no answer: the workflow finds the booking at
// Junction, adopts it and names the request it was for, so a retry of that request answers with
// it; a booking found for the workflow's own lost call names none.
TEST_F(OrderWorkflowTest, ABookingAdoptedForALostApiCallNamesTheRequest) {
  ReachRequisition();
  ChangeOrder([&](model::LabOrder& order) {
    order.workflow.booking_sent = true;
    order.workflow.booking_sent_by = "attempt-1";
  });
  EXPECT_EQ(Order().workflow.booking_sent_by, "attempt-1") << "kept by the store";

  EXPECT_CALL(junction_, GetAppointment(kJunctionOrderId))
      .WillOnce(Return(Appointment("appt-7", "pending", 1)));
  EXPECT_TRUE(RunNext(store::kJobBookAppointment).done);
  const model::LabOrder order = Order();
  EXPECT_EQ(order.workflow.appointment->id, "appt-7");
  EXPECT_EQ(order.workflow.lost_booking_adopted_for, "attempt-1");
  EXPECT_FALSE(order.workflow.booking_sent);
  EXPECT_EQ(order.workflow.booking_sent_by, std::nullopt);
}

// Killed while its book call was out, the service restarts at once; Junction is still booking.
// Asked now, Junction would show no appointment and the booking would go out twice: the step
// waits until the call's deadline has passed since it went out (strict mocks: no call before).
TEST_F(OrderWorkflowTest, ABookingSentBeforeACrashIsLookedUpOnlyOnceJunctionIsDoneWithIt) {
  ReachRequisition();
  // Released as a restart's start-up frees the dead process's leases.
  ChangeOrder(
      [&](model::LabOrder& order) { MarkBookingSent(order.workflow, clock_.Now(), std::nullopt); });
  const TimePoint sent = clock_.Now();

  clock_.Advance(300ms);
  JobOutcome waited = RunNext(store::kJobBookAppointment);
  EXPECT_FALSE(waited.done);
  EXPECT_EQ(waited.retry_at, std::chrono::floor<std::chrono::seconds>(sent) + 11s);
  EXPECT_TRUE(Order().workflow.booking_sent);

  AdvanceToNextDue();
  EXPECT_CALL(junction_, GetAppointment(kJunctionOrderId))
      .WillOnce(Return(Appointment("appt-3", "pending", 1)));
  EXPECT_TRUE(RunNext(store::kJobBookAppointment).done);
  EXPECT_EQ(Order().workflow.appointment->id, "appt-3");
  EXPECT_FALSE(Order().workflow.booking_sent);
  EXPECT_EQ(Order().workflow.booking_sent_at, std::nullopt);
}

// A book call Junction refused (a 4xx) is over: what it made, if anything, is asked for after the
// usual backoff, not the call's deadline. A 5xx may come from a gateway in front of a booking
// still going on: that waits for the deadline.
TEST_F(OrderWorkflowTest, ARefusedBookIsLookedUpAfterTheBackoffAlone) {
  ReachRequisition();
  EXPECT_CALL(junction_, GetAvailability(_, _)).WillOnce(Return(OneSlot()));
  EXPECT_CALL(junction_, BookAppointment(kJunctionOrderId, _))
      .WillOnce(Return(CallFailure(junction::Outcome::kValidation, "book_appointment", 422)));
  JobOutcome failed = RunNext(store::kJobBookAppointment);
  EXPECT_EQ(failed.retry_at, kT0 + 500ms);
  EXPECT_TRUE(Order().workflow.booking_sent);
  EXPECT_EQ(Order().workflow.booking_sent_at, std::nullopt);
  AdvanceToNextDue();
  EXPECT_CALL(junction_, GetAppointment(kJunctionOrderId))
      .WillOnce(Return(Appointment("appt-4", "pending", 1)));
  EXPECT_TRUE(RunNext(store::kJobBookAppointment).done);
  EXPECT_EQ(Order().workflow.appointment->id, "appt-4");
}

TEST_F(OrderWorkflowTest, ABookAnsweredWithA5xxWaitsForTheCallsDeadline) {
  ReachRequisition();
  EXPECT_CALL(junction_, GetAvailability(_, _)).WillOnce(Return(OneSlot()));
  EXPECT_CALL(junction_, BookAppointment(kJunctionOrderId, _))
      .WillOnce(Return(CallFailure(junction::Outcome::kServerError, "book_appointment", 504)));
  JobOutcome failed = RunNext(store::kJobBookAppointment);
  EXPECT_EQ(failed.retry_at, kT0 + 11s);
  EXPECT_TRUE(Order().workflow.booking_sent_at.has_value());
}

TEST_F(OrderWorkflowTest, BookTimeoutThenNoAppointmentAtJunctionBooksAgain) {
  ReachRequisition();
  {
    InSequence in_order;
    EXPECT_CALL(junction_, GetAvailability(_, _)).WillOnce(Return(OneSlot("k-1")));
    EXPECT_CALL(junction_, BookAppointment(kJunctionOrderId, _))
        .WillOnce(Return(CallFailure(junction::Outcome::kTimeout, "book_appointment", 0)));
    EXPECT_CALL(junction_, GetAppointment(kJunctionOrderId))
        .WillOnce(Return(CallFailure(junction::Outcome::kNotFound, "get_appointment", 404)));
    EXPECT_CALL(junction_, GetAvailability(_, _)).WillOnce(Return(OneSlot("k-2")));
    EXPECT_CALL(junction_, BookAppointment(kJunctionOrderId, _))
        .WillOnce(Return(Appointment("appt-2", "pending", 1)));
  }
  RunNext(store::kJobBookAppointment);
  AdvanceToNextDue();
  EXPECT_TRUE(RunNext(store::kJobBookAppointment).done);
  model::LabOrder order = Order();
  EXPECT_EQ(order.workflow.appointment->id, "appt-2");
  EXPECT_FALSE(order.workflow.booking_sent);
  EXPECT_EQ(order.status, "appointment_pending");
}

TEST_F(OrderWorkflowTest, BookingSentAndJunctionUnreachableRetriesWithoutBooking) {
  ReachRequisition();
  EXPECT_CALL(junction_, GetAvailability(_, _)).WillOnce(Return(OneSlot()));
  EXPECT_CALL(junction_, BookAppointment(kJunctionOrderId, _))
      .WillOnce(Return(CallFailure(junction::Outcome::kTimeout, "book_appointment", 0)));
  RunNext(store::kJobBookAppointment);
  AdvanceToNextDue();
  EXPECT_CALL(junction_, GetAppointment(kJunctionOrderId))
      .WillOnce(Return(CallFailure(junction::Outcome::kServerError, "get_appointment", 502)));
  JobOutcome outcome = RunNext(store::kJobBookAppointment);
  EXPECT_FALSE(outcome.done);
  EXPECT_TRUE(Order().workflow.booking_sent);  // still unknown: still ask first next time
}

TEST_F(OrderWorkflowTest, TakenSlotIsRetriedSoonAskingJunctionFirst) {
  ReachRequisition();
  {
    InSequence in_order;
    EXPECT_CALL(junction_, GetAvailability(_, _)).WillOnce(Return(OneSlot("k-1")));
    EXPECT_CALL(junction_, BookAppointment(kJunctionOrderId, _))
        .WillOnce(Return(CallFailure(junction::Outcome::kConflict, "book_appointment", 409)));
    EXPECT_CALL(junction_, GetAppointment(kJunctionOrderId))
        .WillOnce(Return(CallFailure(junction::Outcome::kNotFound, "get_appointment", 404)));
    EXPECT_CALL(junction_, GetAvailability(_, _)).WillOnce(Return(OneSlot("k-2")));
    EXPECT_CALL(junction_, BookAppointment(kJunctionOrderId, _))
        .WillOnce(Return(Appointment("appt-1", "pending", 1)));
  }
  JobOutcome taken = RunNext(store::kJobBookAppointment);
  EXPECT_FALSE(taken.done);
  EXPECT_EQ(taken.retry_at, kT0 + 1000ms);
  AdvanceToNextDue();
  EXPECT_TRUE(RunNext(store::kJobBookAppointment).done);
  EXPECT_EQ(Order().workflow.appointment->id, "appt-1");
}

TEST_F(OrderWorkflowTest, FiveRefusalsInARowFailTheOrder) {
  ReachRequisition();
  // A refused book leaves booking_sent set, so each later run asks Junction first.
  EXPECT_CALL(junction_, GetAppointment(kJunctionOrderId))
      .Times(4)
      .WillRepeatedly(Return(CallFailure(junction::Outcome::kNotFound, "get_appointment", 404)));
  EXPECT_CALL(junction_, GetAvailability(_, _)).Times(5).WillRepeatedly(Return(OneSlot()));
  EXPECT_CALL(junction_, BookAppointment(kJunctionOrderId, _))
      .Times(5)
      .WillRepeatedly(Return(CallFailure(junction::Outcome::kValidation, "book_appointment", 422)));
  for (int run = 1; run <= 4; ++run) {
    JobOutcome outcome = RunNext(store::kJobBookAppointment);
    EXPECT_FALSE(outcome.done) << run;
    EXPECT_EQ(Order().status, "ordered") << run;
    AdvanceToNextDue();
  }
  EXPECT_TRUE(RunNext(store::kJobBookAppointment).done);
  model::LabOrder order = Order();
  EXPECT_EQ(order.status, "failed");
  ASSERT_TRUE(order.workflow.failure_reason.has_value());
  EXPECT_NE(order.workflow.failure_reason->find("5"), std::string::npos);
  EXPECT_TRUE(store_.QueuedJobCounts().empty());
}

TEST_F(OrderWorkflowTest, OneRefusalAfterSlotlessRetriesDoesNotFailTheOrder) {
  ReachRequisition();
  junction::Availability none = Availability({{"2024-05-01", {Slot("k-too-soon", kT0 + 1h)}}});
  EXPECT_CALL(junction_, GetAvailability(_, _))
      .WillOnce(Return(none))
      .WillOnce(Return(none))
      .WillOnce(Return(none))
      .WillOnce(Return(none))
      .WillOnce(Return(Availability({{"2024-05-02", {Slot("k-1", kT0 + 48h)}}})));
  EXPECT_CALL(junction_, BookAppointment(kJunctionOrderId, _))
      .WillOnce(Return(CallFailure(junction::Outcome::kValidation, "book_appointment", 422)));
  for (int run = 1; run <= 4; ++run) {
    ASSERT_FALSE(RunNext(store::kJobBookAppointment).done) << run;
    AdvanceToNextDue();
  }
  JobOutcome refused = RunNext(store::kJobBookAppointment);  // Junction refused once
  EXPECT_FALSE(refused.done);
  EXPECT_NE(Order().status, "failed");
  EXPECT_FALSE(Order().workflow.failure_reason.has_value());
  EXPECT_EQ(store_.QueuedJobCounts(), (Counts{{store::kJobBookAppointment, 1}}));
}

TEST_F(OrderWorkflowTest, WebhookCommittedDuringTheBookCallLosesNoBooking) {
  JobRunnerSettings runner_settings;
  runner_settings.lease = 2min;
  JobRunner runner(store_, workflow_, clock_, runner_settings, [] { return 0.0; });
  EXPECT_CALL(junction_, GetOrder(kJunctionOrderId))
      .WillOnce(Return(JunctionOrder(kRequisitionCreated, 2)));
  EXPECT_CALL(junction_, GetAvailability(_, _)).WillOnce(Return(OneSlot()));
  EXPECT_CALL(junction_, BookAppointment(kJunctionOrderId, _))
      .WillOnce([&](const std::string&, const junction::BookingRequest&) {
        // While the book call is out, a webhook moves the order: the run's outcome will conflict.
        JunctionEvent event;
        event.event_type = "labtest.order.updated";
        event.junction_order_id = kJunctionOrderId;
        event.order_status = "collecting_sample.at_home_phlebotomy.appointment_pending";
        event.order_event_id = 3;
        QueueEvent("event-1", event);
        std::vector<Job> jobs =
            store_.ClaimDueJobs(clock_.Now(), clock_.Now() + 2min, "webhook-worker", 1);
        EXPECT_EQ(jobs.size(), 1u);
        if (!jobs.empty()) store_.CompleteJob(jobs[0], workflow_.Run(jobs[0]));
        return junction::Result<junction::Appointment>(Appointment("appt-1", "pending", 1));
      });
  EXPECT_EQ(runner.RunDueJobs(), 2);  // the requisition, then the book, whose commit conflicted
  model::LabOrder order = Order();
  EXPECT_TRUE(order.workflow.booking_sent);  // checkpointed before the call
  EXPECT_FALSE(order.workflow.appointment.has_value());
  EXPECT_EQ(order.workflow.junction_event_id, 3);

  // The rerun does not know the call's answer: it waits until Junction is surely done with the
  // call (strict mocks: no call now), then asks Junction and adopts the booking instead of
  // booking again.
  clock_.Advance(50ms);
  EXPECT_EQ(runner.RunDueJobs(), 1);
  EXPECT_TRUE(Order().workflow.booking_sent);
  clock_.Advance(11s);
  EXPECT_CALL(junction_, GetAppointment(kJunctionOrderId))
      .WillOnce(Return(Appointment("appt-1", "pending", 1)));
  EXPECT_EQ(runner.RunDueJobs(), 1);
  order = Order();
  EXPECT_FALSE(order.workflow.booking_sent);
  ASSERT_TRUE(order.workflow.appointment.has_value());
  EXPECT_EQ(order.workflow.appointment->id, "appt-1");
  EXPECT_EQ(order.status, "appointment_pending");
  EXPECT_EQ(store_.QueuedJobCounts(), (Counts{{store::kJobAwaitConfirmation, 1}}));
}

// ---- await_confirmation, confirmation and reconcile
// -----------------------------------------------

TEST_F(OrderWorkflowTest, PendingIsPolledUntilConfirmedThenReconciledSlowly) {
  ReachRequisition();
  BookPending("appt-1");
  {
    InSequence in_order;
    EXPECT_CALL(junction_, GetAppointment(kJunctionOrderId))
        .WillOnce(Return(Appointment("appt-1", "pending", 1)));
    EXPECT_CALL(junction_, GetAppointment(kJunctionOrderId))
        .WillOnce(Return(Appointment("appt-1", "reserved", 2)));
    EXPECT_CALL(junction_, GetAppointment(kJunctionOrderId))
        .WillOnce(Return(Appointment("appt-1", "confirmed", 3)));
  }

  AdvanceToNextDue();
  EXPECT_EQ(clock_.Now(), kT0 + 100ms);
  JobOutcome first = RunNext(store::kJobAwaitConfirmation);
  EXPECT_FALSE(first.done);
  EXPECT_EQ(first.retry_at, clock_.Now() + 100ms);
  EXPECT_EQ(Order().status, "appointment_pending");

  AdvanceToNextDue();
  JobOutcome second = RunNext(store::kJobAwaitConfirmation);
  EXPECT_FALSE(second.done);
  EXPECT_EQ(second.retry_at, clock_.Now() + 200ms);  // the poll backs off
  EXPECT_EQ(Order().workflow.appointment->status, "reserved");
  EXPECT_EQ(Order().status, "appointment_pending");

  AdvanceToNextDue();
  JobOutcome confirmed = RunNext(store::kJobAwaitConfirmation);
  EXPECT_TRUE(confirmed.done);
  model::LabOrder order = Order();
  EXPECT_EQ(order.status, "appointment_scheduled");
  EXPECT_EQ(order.workflow.appointment->status, "confirmed");
  EXPECT_EQ(order.workflow.appointment->event_count, 3);
  EXPECT_EQ(store_.QueuedJobCounts(), (Counts{{store::kJobReconcile, 1}}));
  EXPECT_EQ(store_.NextJobDue(), clock_.Now() + 6h);

  // The reconciliation looks at both, finds nothing new, and comes back after the interval.
  AdvanceToNextDue();
  EXPECT_CALL(junction_, GetOrder(kJunctionOrderId))
      .WillOnce(Return(JunctionOrder(kAppointmentScheduled, 3)));
  EXPECT_CALL(junction_, GetAppointment(kJunctionOrderId))
      .WillOnce(Return(Appointment("appt-1", "confirmed", 3)));
  JobOutcome reconciled = RunNext(store::kJobReconcile);
  EXPECT_FALSE(reconciled.done);
  EXPECT_EQ(reconciled.retry_at, clock_.Now() + 6h);
  EXPECT_EQ(reconciled.attempts, 0);
  EXPECT_EQ(Order().status, "appointment_scheduled");
  EXPECT_EQ(store_.QueuedJobCounts(), (Counts{{store::kJobReconcile, 1}}));
}

TEST_F(OrderWorkflowTest, BookAnsweredConfirmedGoesStraightToReconcile) {
  ReachRequisition();
  EXPECT_CALL(junction_, GetAvailability(_, _)).WillOnce(Return(OneSlot()));
  EXPECT_CALL(junction_, BookAppointment(kJunctionOrderId, _))
      .WillOnce(Return(Appointment("appt-1", "confirmed", 2)));
  RunNext(store::kJobBookAppointment);
  EXPECT_EQ(Order().status, "appointment_scheduled");
  EXPECT_EQ(store_.QueuedJobCounts(), (Counts{{store::kJobReconcile, 1}}));
  EXPECT_EQ(store_.NextJobDue(), kT0 + 6h);
}

TEST_F(OrderWorkflowTest, ReconcileFollowsTheOrderToCompletion) {
  ReachRequisition();
  EXPECT_CALL(junction_, GetAvailability(_, _)).WillOnce(Return(OneSlot()));
  EXPECT_CALL(junction_, BookAppointment(kJunctionOrderId, _))
      .WillOnce(Return(Appointment("appt-1", "confirmed", 2)));
  RunNext(store::kJobBookAppointment);

  AdvanceToNextDue();
  EXPECT_CALL(junction_, GetOrder(kJunctionOrderId)).WillOnce(Return(JunctionOrder(kCompleted, 9)));
  JobOutcome outcome = RunNext(store::kJobReconcile);  // no appointment call once final
  EXPECT_TRUE(outcome.done);
  model::LabOrder order = Order();
  EXPECT_EQ(order.status, "completed");
  ASSERT_TRUE(order.completed_at.has_value());
  // Junction's time of completion (its event's), not when the reconciliation saw it.
  EXPECT_EQ(*order.completed_at, FormatRfc3339(kT0));
  EXPECT_NE(*order.completed_at, FormatRfc3339(clock_.Now()));
  // What is left is the result (order_results_test.cpp).
  EXPECT_EQ(store_.QueuedJobCounts(), (Counts{{store::kJobFetchResults, 1}}));
}

// ---- provider cancellations
// ----------------------------------------------------------------------

TEST_F(OrderWorkflowTest, CancelledAppointmentIsRebookedWithFreshAvailability) {
  ReachRequisition();
  BookPending("appt-1");
  CancelledByProvider("appt-1");
  model::LabOrder order = Order();
  EXPECT_EQ(order.status, "appointment_cancelled");
  EXPECT_EQ(order.workflow.provider_cancellations, 1);
  EXPECT_EQ(store_.QueuedJobCounts(), (Counts{{store::kJobBookAppointment, 1}}));
  EXPECT_FALSE(NothingDueNow());  // the rebook is due at once

  BookPending("appt-2");  // GetAvailability is called again: fresh slots
  order = Order();
  EXPECT_EQ(order.workflow.appointment->id, "appt-2");
  EXPECT_EQ(order.workflow.past_appointment_ids, std::vector<std::string>{"appt-1"});
  EXPECT_EQ(order.workflow.provider_cancellations, 1);
  EXPECT_EQ(order.status, "appointment_pending");
}

TEST_F(OrderWorkflowTest, ThirdProviderCancellationFailsTheOrderWithAReason) {
  ReachRequisition();
  BookPending("appt-1");
  CancelledByProvider("appt-1");
  BookPending("appt-2");
  CancelledByProvider("appt-2");
  ASSERT_EQ(Order().status, "appointment_cancelled");
  BookPending("appt-3");
  CancelledByProvider("appt-3");

  model::LabOrder order = Order();
  EXPECT_EQ(order.status, "failed");
  ASSERT_TRUE(order.workflow.failure_reason.has_value());
  EXPECT_NE(order.workflow.failure_reason->find("3"), std::string::npos);
  EXPECT_EQ(order.workflow.provider_cancellations, 3);
  EXPECT_EQ(order.workflow.past_appointment_ids, (std::vector<std::string>{"appt-1", "appt-2"}));
  EXPECT_TRUE(store_.QueuedJobCounts().empty());  // no fourth booking
}

TEST_F(OrderWorkflowTest, ReconcileNoticesALateCancellationAndRebooks) {
  ReachRequisition();
  EXPECT_CALL(junction_, GetAvailability(_, _)).WillOnce(Return(OneSlot()));
  EXPECT_CALL(junction_, BookAppointment(kJunctionOrderId, _))
      .WillOnce(Return(Appointment("appt-1", "confirmed", 2)));
  RunNext(store::kJobBookAppointment);

  AdvanceToNextDue();
  EXPECT_CALL(junction_, GetOrder(kJunctionOrderId))
      .WillOnce(Return(JunctionOrder(kAppointmentScheduled, 3)));
  EXPECT_CALL(junction_, GetAppointment(kJunctionOrderId))
      .WillOnce(Return(Appointment("appt-1", "cancelled", 3)));
  EXPECT_TRUE(RunNext(store::kJobReconcile).done);
  EXPECT_EQ(Order().status, "appointment_cancelled");
  EXPECT_EQ(Order().workflow.provider_cancellations, 1);
  EXPECT_EQ(store_.QueuedJobCounts(), (Counts{{store::kJobBookAppointment, 1}}));
  EXPECT_FALSE(NothingDueNow());
}

// The brand cancelled the appointment (its cancel call out when Junction's webhook of it lands):
// no rebook, no provider cancellation counted; the order is looked at slowly, and Junction having
// no active appointment to show then is no failure. A booking the patient makes at Junction is
// followed.
TEST_F(OrderWorkflowTest, TheBrandsCancellationIsNotRebookedAndWaitsForANewBooking) {
  ConfirmedWithTheBrandsCancelOut();

  JunctionEvent event;
  event.event_type = "labtest.appointment.updated";
  event.junction_order_id = kJunctionOrderId;
  event.appointment = View("appt-1", "cancelled", 3);
  QueueEvent("event-1", event);
  EXPECT_TRUE(RunNext(store::kJobJunctionEvent).done);
  model::LabOrder order = Order();
  EXPECT_EQ(order.status, "appointment_cancelled");
  EXPECT_EQ(order.workflow.appointment_cancelled_by, "brand");
  EXPECT_EQ(order.workflow.provider_cancellations, 0);
  EXPECT_EQ(store_.QueuedJobCounts(), (Counts{{store::kJobReconcile, 1}}));
  EXPECT_TRUE(NothingDueNow()) << "no rebook";

  AdvanceToNextDue();
  EXPECT_CALL(junction_, GetOrder(kJunctionOrderId))
      .WillOnce(Return(JunctionOrder(kAppointmentCancelled, 4)));
  EXPECT_CALL(junction_, GetAppointment(kJunctionOrderId))
      .WillOnce(Return(junction::CallError(
          lab_orders::testing::CallFailure(junction::Outcome::kNotFound, "get_appointment", 404))));
  JobOutcome quiet = RunNext(store::kJobReconcile);
  EXPECT_FALSE(quiet.done);
  EXPECT_EQ(quiet.attempts, 0) << "nothing failed";
  EXPECT_EQ(quiet.retry_at, clock_.Now() + 6h);

  // The patient booked at Junction: that appointment is the order's now.
  AdvanceToNextDue();
  EXPECT_CALL(junction_, GetOrder(kJunctionOrderId))
      .WillOnce(Return(JunctionOrder(kAppointmentScheduled, 5)));
  EXPECT_CALL(junction_, GetAppointment(kJunctionOrderId))
      .WillOnce(Return(Appointment("appt-2", "confirmed", 2)));
  RunNext(store::kJobReconcile);
  order = Order();
  EXPECT_EQ(order.workflow.appointment->id, "appt-2");
  EXPECT_EQ(order.workflow.appointment_cancelled_by, std::nullopt);
  EXPECT_EQ(order.status, "appointment_scheduled");
}

// The brand's cancel went unanswered and cancelled nothing: Junction's view after the call's
// deadline settles the mark, and a later cancellation is the provider's again (rebooked).
TEST_F(OrderWorkflowTest, ACancelMarkWhoseCallCancelledNothingIsSettledByTheNextLook) {
  ConfirmedWithTheBrandsCancelOut();

  AdvanceToNextDue();
  EXPECT_CALL(junction_, GetOrder(kJunctionOrderId))
      .WillOnce(Return(JunctionOrder(kAppointmentScheduled, 3)));
  EXPECT_CALL(junction_, GetAppointment(kJunctionOrderId))
      .WillOnce(Return(Appointment("appt-1", "confirmed", 2)));
  RunNext(store::kJobReconcile);
  EXPECT_EQ(Order().workflow.appointment_cancel_sent_at, std::nullopt);

  JunctionEvent event;
  event.event_type = "labtest.appointment.updated";
  event.junction_order_id = kJunctionOrderId;
  event.appointment = View("appt-1", "cancelled", 3);
  QueueEvent("event-1", event);
  RunNext(store::kJobJunctionEvent);
  EXPECT_EQ(Order().workflow.appointment_cancelled_by, "junction");
  EXPECT_EQ(Order().workflow.provider_cancellations, 1);
  EXPECT_FALSE(NothingDueNow()) << "the step wakes, to rebook";
}

TEST_F(OrderWorkflowTest, JunctionCancellingTheOrderWhileWaitingEndsTheWorkflow) {
  EXPECT_CALL(junction_, GetOrder(kJunctionOrderId)).WillOnce(Return(JunctionOrder(kCancelled, 2)));
  EXPECT_TRUE(RunNext(store::kJobAwaitRequisition).done);
  EXPECT_EQ(Order().status, "cancelled");
  EXPECT_TRUE(store_.QueuedJobCounts().empty());
}

// ---- junction_event jobs
// -------------------------------------------------------------------------

TEST_F(OrderWorkflowTest, ConfirmedWebhookSchedulesTheOrderAndWakesTheStep) {
  ReachRequisition();
  BookPending("appt-1");  // await_confirmation is due in 100 ms
  ASSERT_TRUE(NothingDueNow());

  JunctionEvent event;
  event.event_type = "labtest.appointment.updated";
  event.junction_order_id = kJunctionOrderId;
  event.appointment = View("appt-1", "confirmed", 2);
  QueueEvent("event-1", event);
  JobOutcome applied = RunNext(store::kJobJunctionEvent);
  EXPECT_TRUE(applied.done);
  EXPECT_TRUE(applied.wake_order_step);
  model::LabOrder order = Order();
  EXPECT_EQ(order.status, "appointment_scheduled");
  EXPECT_EQ(order.workflow.appointment->status, "confirmed");

  // The step is due now, and goes on to reconcile without asking Junction again.
  JobOutcome step = RunNext(store::kJobAwaitConfirmation);
  EXPECT_TRUE(step.done);
  EXPECT_EQ(store_.QueuedJobCounts(), (Counts{{store::kJobReconcile, 1}}));
  EXPECT_EQ(store_.NextJobDue(), kT0 + 6h);
}

TEST_F(OrderWorkflowTest, RequisitionWebhookWakesTheRequisitionPoll) {
  EXPECT_CALL(junction_, GetOrder(kJunctionOrderId)).WillOnce(Return(JunctionOrder(kOrdered, 1)));
  RunNext(store::kJobAwaitRequisition);
  ASSERT_TRUE(NothingDueNow());

  JunctionEvent event;
  event.event_type = "labtest.order.updated";
  event.junction_order_id = kJunctionOrderId;
  event.order_status = kRequisitionCreated;
  event.order_event_id = 2;
  QueueEvent("event-1", event);
  EXPECT_TRUE(RunNext(store::kJobJunctionEvent).wake_order_step);
  EXPECT_EQ(Order().workflow.junction_status, kRequisitionCreated);

  // No GetOrder: the webhook said it. Booking is queued at once.
  EXPECT_TRUE(RunNext(store::kJobAwaitRequisition).done);
  EXPECT_EQ(store_.QueuedJobCounts(), (Counts{{store::kJobBookAppointment, 1}}));
  EXPECT_FALSE(NothingDueNow());
}

TEST_F(OrderWorkflowTest, OlderWebhooksChangeNothing) {
  ReachRequisition();  // Junction order event id 2
  BookPending("appt-1");
  const model::LabOrder before = Order();

  JunctionEvent old_order;
  old_order.event_type = "labtest.order.updated";
  old_order.junction_order_id = kJunctionOrderId;
  old_order.order_status = kCancelled;  // would end the order, were it new
  old_order.order_event_id = 1;
  QueueEvent("event-1", old_order);
  JunctionEvent old_appointment;
  old_appointment.event_type = "labtest.appointment.updated";
  old_appointment.junction_order_id = kJunctionOrderId;
  old_appointment.appointment = View("appt-1", "cancelled", 0);  // fewer events than known
  QueueEvent("event-2", old_appointment);

  JobOutcome first = RunNext(store::kJobJunctionEvent);
  JobOutcome second = RunNext(store::kJobJunctionEvent);
  for (const JobOutcome& outcome : {first, second}) {
    EXPECT_TRUE(outcome.done);
    EXPECT_FALSE(outcome.wake_order_step);
    EXPECT_FALSE(outcome.order_update.has_value());
  }
  model::LabOrder after = Order();
  EXPECT_EQ(after.version, before.version);
  EXPECT_EQ(after.status, "appointment_pending");
  EXPECT_EQ(after.workflow, before.workflow);
  EXPECT_TRUE(NothingDueNow());  // the step was not woken
  EXPECT_EQ(store_.QueuedJobCounts(), (Counts{{store::kJobAwaitConfirmation, 1}}));
}

TEST_F(OrderWorkflowTest, WebhookForAnAppointmentLeftBehindChangesNothing) {
  ReachRequisition();
  BookPending("appt-1");
  CancelledByProvider("appt-1");
  BookPending("appt-2");
  const model::LabOrder before = Order();

  JunctionEvent late;
  late.event_type = "labtest.appointment.updated";
  late.junction_order_id = kJunctionOrderId;
  late.appointment = View("appt-1", "confirmed", 5);
  QueueEvent("event-1", late);
  JobOutcome outcome = RunNext(store::kJobJunctionEvent);
  EXPECT_FALSE(outcome.wake_order_step);
  EXPECT_EQ(Order().version, before.version);
  EXPECT_EQ(Order().workflow.appointment->id, "appt-2");
}

TEST_F(OrderWorkflowTest, CancelledOrderWebhookEndsTheWorkflow) {
  ReachRequisition();
  BookPending("appt-1");
  JunctionEvent event;
  event.event_type = "labtest.order.updated";
  event.junction_order_id = kJunctionOrderId;
  event.order_status = kCancelled;
  event.order_event_id = 3;
  QueueEvent("event-1", event);
  RunNext(store::kJobJunctionEvent);
  EXPECT_EQ(Order().status, "cancelled");
  // The woken step ends without a call to Junction.
  EXPECT_TRUE(RunNext(store::kJobAwaitConfirmation).done);
  EXPECT_TRUE(store_.QueuedJobCounts().empty());
}

TEST_F(OrderWorkflowTest, WebhookForAnUnknownAppointmentWakesTheStepWhichAsksJunction) {
  ReachRequisition();
  EXPECT_CALL(junction_, GetAvailability(_, _)).WillOnce(Return(OneSlot()));
  EXPECT_CALL(junction_, BookAppointment(kJunctionOrderId, _))
      .WillOnce(Return(CallFailure(junction::Outcome::kTimeout, "book_appointment", 0)));
  RunNext(store::kJobBookAppointment);  // the answer was lost; looked up 11 s on
  ASSERT_TRUE(NothingDueNow());

  JunctionEvent event;
  event.event_type = "labtest.appointment.created";
  event.junction_order_id = kJunctionOrderId;
  event.appointment = View("appt-5", "pending", 1);
  QueueEvent("event-1", event);
  JobOutcome applied = RunNext(store::kJobJunctionEvent);
  EXPECT_TRUE(applied.wake_order_step);
  EXPECT_FALSE(Order().workflow.appointment.has_value());  // not taken from the webhook itself
  // Junction has made an appointment: the booking call is done, and may be looked up now.
  EXPECT_EQ(Order().workflow.booking_sent_at, std::nullopt);

  EXPECT_CALL(junction_, GetAppointment(kJunctionOrderId))
      .WillOnce(Return(Appointment("appt-5", "pending", 1)));
  EXPECT_TRUE(RunNext(store::kJobBookAppointment).done);
  EXPECT_EQ(Order().workflow.appointment->id, "appt-5");
  EXPECT_EQ(Order().status, "appointment_pending");
}

// ---- final orders
// --------------------------------------------------------------------------------

TEST_F(OrderWorkflowTest, CancelledOrderEndsItsJobWithoutCallingJunction) {
  // The order was cancelled through the API while its step waited.
  ChangeOrder([&](model::LabOrder& order) { order.status = "cancelled"; });

  JobOutcome outcome = RunNext(store::kJobAwaitRequisition);  // StrictMock: no Junction call
  EXPECT_TRUE(outcome.done);
  EXPECT_TRUE(outcome.enqueue.empty());
  EXPECT_TRUE(store_.QueuedJobCounts().empty());
  EXPECT_EQ(Order().status, "cancelled");
}

TEST_F(OrderWorkflowTest, JobForAMissingOrderIsDropped) {
  Job job;
  job.id = "ghost";
  job.kind = store::kJobAwaitRequisition;
  job.order_id = "no-such-order";
  JobOutcome outcome = workflow_.Run(job);
  EXPECT_TRUE(outcome.done);
  EXPECT_FALSE(outcome.order_update.has_value());
}

}  // namespace
}  // namespace lab_orders::workflow
