// The order's life as pure functions over WorkflowState (workflow/state.h; the contract: the
// order's life).

#include <gtest/gtest.h>

#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "lab_orders/workflow/state.h"

namespace lab_orders::workflow {
namespace {

using model::AppointmentView;
using model::WorkflowState;

constexpr char kOrdered[] = "received.at_home_phlebotomy.ordered";
constexpr char kRequisitionCreated[] = "received.at_home_phlebotomy.requisition_created";
constexpr char kRequisitionBypassed[] = "received.at_home_phlebotomy.requisition_bypassed";
constexpr char kAppointmentPending[] = "collecting_sample.at_home_phlebotomy.appointment_pending";
constexpr char kAppointmentScheduled[] =
    "collecting_sample.at_home_phlebotomy.appointment_scheduled";
constexpr char kAppointmentCancelled[] =
    "collecting_sample.at_home_phlebotomy.appointment_cancelled";
constexpr char kDrawCompleted[] = "collecting_sample.at_home_phlebotomy.draw_completed";
constexpr char kPartialResults[] = "sample_with_lab.at_home_phlebotomy.partial_results";
constexpr char kCompleted[] = "completed.at_home_phlebotomy.completed";
constexpr char kCorrected[] = "completed.at_home_phlebotomy.corrected";
constexpr char kCancelled[] = "cancelled.at_home_phlebotomy.cancelled";
constexpr char kSampleError[] = "failed.at_home_phlebotomy.sample_error";

AppointmentView Appointment(const std::string& id, const std::string& status, int event_count) {
  AppointmentView view;
  view.id = id;
  view.status = status;
  view.start_at = "2024-05-03T15:00:00+00:00";
  view.end_at = "2024-05-03T15:30:00+00:00";
  view.timezone = "America/Los_Angeles";
  view.provider = "getlabs";
  view.can_reschedule = status != "pending";
  view.event_count = event_count;
  return view;
}

WorkflowState WithJunctionStatus(const std::string& status) {
  WorkflowState state;
  state.junction_status = status;
  state.junction_event_id = 7;
  return state;
}

WorkflowState WithAppointment(const std::string& appointment_status,
                              const std::string& junction_status = kAppointmentPending) {
  WorkflowState state = WithJunctionStatus(junction_status);
  state.appointment = Appointment("appt-1", appointment_status, 2);
  return state;
}

// ---- LowLevelStatus, RequisitionReady, IsFinalStatus
// ----------------------------------------------

TEST(LowLevelStatusTest, IsTheLastDottedPart) {
  EXPECT_EQ(LowLevelStatus(kRequisitionCreated), "requisition_created");
  EXPECT_EQ(LowLevelStatus(kCancelled), "cancelled");
  EXPECT_EQ(LowLevelStatus("a.b.c.d"), "d");
}

TEST(LowLevelStatusTest, WithoutDotsIsTheWholeStatus) {
  EXPECT_EQ(LowLevelStatus("requisition_created"), "requisition_created");
  EXPECT_EQ(LowLevelStatus(""), "");
}

TEST(RequisitionReadyTest, ReadyFromRequisitionCreatedOrBypassedAndEveryAppointmentStage) {
  for (const char* status : {kRequisitionCreated, kRequisitionBypassed, kAppointmentPending,
                             kAppointmentScheduled, kAppointmentCancelled}) {
    EXPECT_TRUE(RequisitionReady(WithJunctionStatus(status))) << status;
  }
}

TEST(RequisitionReadyTest, NotReadyBeforeTheRequisitionOrForUnknownStatuses) {
  for (const char* status : {"", kOrdered, "received.at_home_phlebotomy.something_new"}) {
    EXPECT_FALSE(RequisitionReady(WithJunctionStatus(status))) << status;
  }
}

TEST(IsFinalStatusTest, OnlyCancelledCompletedAndFailedAreFinal) {
  for (const char* status : {"cancelled", "completed", "failed"}) {
    EXPECT_TRUE(IsFinalStatus(status)) << status;
  }
  for (const char* status :
       {"received", "ordered", "appointment_pending", "appointment_scheduled",
        "appointment_cancelled", "draw_completed", "sample_with_lab", "", "unknown"}) {
    EXPECT_FALSE(IsFinalStatus(status)) << status;
  }
}

TEST(AppointmentStatusTest, ActiveAndPendingClassification) {
  EXPECT_TRUE(IsActiveAppointmentStatus("pending"));
  EXPECT_TRUE(IsActiveAppointmentStatus("confirmed"));
  EXPECT_TRUE(IsActiveAppointmentStatus("in_progress"));
  EXPECT_FALSE(IsActiveAppointmentStatus("cancelled"));
  EXPECT_FALSE(IsActiveAppointmentStatus("completed"));
  EXPECT_TRUE(IsPendingAppointmentStatus("pending"));
  EXPECT_TRUE(IsPendingAppointmentStatus("reserved"));
  EXPECT_FALSE(IsPendingAppointmentStatus("confirmed"));
  EXPECT_FALSE(IsPendingAppointmentStatus("cancelled"));
}

TEST(AppointmentViewFromTest, KeepsIdsStatusTimesAndEventCountButNoAddress) {
  junction::Appointment appointment;
  appointment.id = "appt-9";
  appointment.status = "confirmed";
  appointment.start_at = "2024-05-03T15:00:00+00:00";
  appointment.end_at = "2024-05-03T15:30:00+00:00";
  appointment.iana_timezone = "America/Chicago";
  appointment.provider = "phlebfinders";
  appointment.can_reschedule = true;
  appointment.address.first_line = "1 Main St";
  appointment.events = {{"2024-05-01T12:00:00+00:00", "pending"},
                        {"2024-05-01T12:01:00+00:00", "scheduled"}};
  AppointmentView view = AppointmentViewFrom(appointment);
  EXPECT_EQ(view.id, "appt-9");
  EXPECT_EQ(view.status, "confirmed");
  EXPECT_EQ(view.start_at, appointment.start_at);
  EXPECT_EQ(view.end_at, appointment.end_at);
  EXPECT_EQ(view.timezone, "America/Chicago");
  EXPECT_EQ(view.provider, "phlebfinders");
  EXPECT_TRUE(view.can_reschedule);
  EXPECT_EQ(view.event_count, 2);
  EXPECT_EQ(view.site_address, std::nullopt) << "a home visit's address is the patient's";
}

// A service center's booking keeps the lab's confirmation code and where the center is (a
// business's address), which the patient's booking page shows.
TEST(AppointmentViewFromTest, AServiceCentersBookingKeepsItsCodeAndAddress) {
  junction::Appointment appointment;
  appointment.id = "psc-1";
  appointment.status = "confirmed";
  appointment.type = "patient_service_center";
  appointment.external_id = "QC1234ABCD";
  appointment.address = {"1120 North Central Avenue", "Suite 100", "Phoenix", "AZ", "85004", {}};
  AppointmentView view = AppointmentViewFrom(appointment);
  EXPECT_EQ(view.confirmation_code, "QC1234ABCD");
  EXPECT_EQ(view.site_address, "1120 North Central Avenue, Suite 100, Phoenix, AZ 85004");
}

// ---- ApplyJunctionOrder
// --------------------------------------------------------------------------

TEST(ApplyJunctionOrderTest, FirstStatusIsTakenEvenWithEventIdZero) {
  WorkflowState state;
  EXPECT_TRUE(ApplyJunctionOrder(state, kOrdered, 0));
  EXPECT_EQ(state.junction_status, kOrdered);
  EXPECT_EQ(state.junction_event_id, 0);
}

TEST(ApplyJunctionOrderTest, NewerEventIdIsTaken) {
  WorkflowState state = WithJunctionStatus(kOrdered);  // event id 7
  EXPECT_TRUE(ApplyJunctionOrder(state, kRequisitionCreated, 8));
  EXPECT_EQ(state.junction_status, kRequisitionCreated);
  EXPECT_EQ(state.junction_event_id, 8);
}

TEST(ApplyJunctionOrderTest, OlderOrSameEventIdChangesNothing) {
  WorkflowState state = WithJunctionStatus(kRequisitionCreated);  // event id 7
  const WorkflowState before = state;
  EXPECT_FALSE(ApplyJunctionOrder(state, kCancelled, 6));  // a late, older webhook
  EXPECT_EQ(state, before);
  EXPECT_FALSE(ApplyJunctionOrder(state, kCancelled, 7));
  EXPECT_EQ(state, before);
  EXPECT_FALSE(ApplyJunctionOrder(state, kCancelled, 0));
  EXPECT_EQ(state, before);
}

TEST(ApplyJunctionOrderTest, SameStatusWithSameIdIsNoChange) {
  WorkflowState state = WithJunctionStatus(kRequisitionCreated);
  EXPECT_FALSE(ApplyJunctionOrder(state, kRequisitionCreated, 7));
}

TEST(ApplyJunctionOrderTest, EmptyStatusIsIgnored) {
  WorkflowState state = WithJunctionStatus(kRequisitionCreated);
  const WorkflowState before = state;
  EXPECT_FALSE(ApplyJunctionOrder(state, "", 100));
  EXPECT_EQ(state, before);
  WorkflowState empty;
  EXPECT_FALSE(ApplyJunctionOrder(empty, "", 0));
  EXPECT_EQ(empty, WorkflowState{});
}

TEST(ApplyJunctionOrderTest, OrderOverloadUsesItsHighestEventIdWhateverTheirOrder) {
  junction::Order order;
  order.id = "jo-1";
  order.status = kRequisitionCreated;
  order.events = {{3, "2024-05-01T12:00:00+00:00", kOrdered},
                  {12, "2024-05-01T12:02:00+00:00", kRequisitionCreated},
                  {5, "2024-05-01T12:01:00+00:00", kOrdered}};
  WorkflowState state = WithJunctionStatus(kOrdered);  // event id 7
  EXPECT_TRUE(ApplyJunctionOrder(state, order));
  EXPECT_EQ(state.junction_status, kRequisitionCreated);
  EXPECT_EQ(state.junction_event_id, 12);

  // A GET answered from an older replica: its highest event is 11.
  junction::Order older = order;
  older.status = kOrdered;
  older.events = {{3, "", kOrdered}, {11, "", kOrdered}};
  EXPECT_FALSE(ApplyJunctionOrder(state, older));
  EXPECT_EQ(state.junction_status, kRequisitionCreated);
  EXPECT_EQ(state.junction_event_id, 12);
}

// ---- ApplyAppointment
// ----------------------------------------------------------------------------

TEST(ApplyAppointmentTest, NewerViewOfTheCurrentAppointmentIsApplied) {
  WorkflowState state = WithAppointment("pending");
  AppointmentView confirmed = Appointment("appt-1", "confirmed", 3);
  EXPECT_EQ(ApplyAppointment(state, confirmed), AppointmentUpdate::kApplied);
  EXPECT_EQ(state.appointment, confirmed);
  EXPECT_EQ(state.provider_cancellations, 0);
}

TEST(ApplyAppointmentTest, SameViewAgainIsUnchanged) {
  WorkflowState state = WithAppointment("pending");
  const WorkflowState before = state;
  EXPECT_EQ(ApplyAppointment(state, *state.appointment), AppointmentUpdate::kUnchanged);
  EXPECT_EQ(state, before);
}

TEST(ApplyAppointmentTest, ViewWithFewerEventsIsStaleAndChangesNothing) {
  WorkflowState state = WithAppointment("confirmed");  // 2 events
  const WorkflowState before = state;
  EXPECT_EQ(ApplyAppointment(state, Appointment("appt-1", "pending", 1)),
            AppointmentUpdate::kStale);
  EXPECT_EQ(state, before);
}

TEST(ApplyAppointmentTest, SameEventCountWithOtherDetailsIsTheLaterReadAndApplies) {
  WorkflowState state = WithAppointment("confirmed");
  AppointmentView moved = *state.appointment;
  moved.start_at = "2024-05-04T09:00:00+00:00";  // a reschedule adds no event
  moved.end_at = "2024-05-04T09:30:00+00:00";
  EXPECT_EQ(ApplyAppointment(state, moved), AppointmentUpdate::kApplied);
  EXPECT_EQ(state.appointment->start_at, "2024-05-04T09:00:00+00:00");
}

TEST(ApplyAppointmentTest, AMoveIsJunctionsUnlessTheBrandsRescheduleIsOut) {
  WorkflowState state = WithAppointment("confirmed");
  AppointmentView moved = *state.appointment;
  moved.start_at = "2024-05-04T09:00:00+00:00";
  WorkflowState by_junction = state;
  EXPECT_EQ(ApplyAppointment(by_junction, moved), AppointmentUpdate::kApplied);
  EXPECT_EQ(by_junction.rescheduled_by, "junction");
  // Junction's webhook of the brand's own move, applied before the call's answer is committed.
  WorkflowState by_brand = state;
  by_brand.reschedule_sent_at = "2024-05-04T08:59:58+00:00";
  EXPECT_EQ(ApplyAppointment(by_brand, moved), AppointmentUpdate::kApplied);
  EXPECT_EQ(by_brand.rescheduled_by, "brand");
  // A confirmation alone moves nothing and names no one.
  WorkflowState confirmed = WithAppointment("pending");
  EXPECT_EQ(ApplyAppointment(confirmed, Appointment("appt-1", "confirmed", 3)),
            AppointmentUpdate::kApplied);
  EXPECT_EQ(confirmed.rescheduled_by, std::nullopt);
}

// A mark whose call's deadline has passed (a call that failed without an answer, a crash) is
// forgotten: later moves are Junction's.
TEST(ExpireRescheduleMarkTest, AMarkLapsesOnceTheCallsDeadlineHasPassed) {
  const auto sent = std::chrono::sys_days{std::chrono::year{2024} / 5 / 4} + std::chrono::hours(9);
  WorkflowState state;
  state.reschedule_sent_at = "2024-05-04T09:00:00+00:00";
  ExpireRescheduleMark(state, sent + std::chrono::seconds(10), std::chrono::seconds(10));
  EXPECT_TRUE(state.reschedule_sent_at.has_value()) << "its second may have begun later";
  ExpireRescheduleMark(state, sent + std::chrono::seconds(11), std::chrono::seconds(10));
  EXPECT_FALSE(state.reschedule_sent_at.has_value());
  state.reschedule_sent_at = "not a time";
  ExpireRescheduleMark(state, sent, std::chrono::seconds(10));
  EXPECT_FALSE(state.reschedule_sent_at.has_value());
}

// The cancel mark never lapses by time (a cancel Junction finishes late is still the brand's): it
// goes when Junction's own view, after the call's deadline, shows the appointment still active.
TEST(SettleCancelMarkTest, TheMarkGoesOnlyWhenTheAppointmentOutlivesTheCallsDeadline) {
  const auto sent = std::chrono::sys_days{std::chrono::year{2024} / 5 / 4} + std::chrono::hours(9);
  WorkflowState state = WithAppointment("confirmed");
  state.appointment_cancel_sent_at = "2024-05-04T09:00:00+00:00";
  ExpireRescheduleMark(state, sent + std::chrono::hours(100), std::chrono::seconds(10));
  EXPECT_TRUE(state.appointment_cancel_sent_at.has_value()) << "no lapse by time";
  SettleCancelMark(state, sent + std::chrono::seconds(10), std::chrono::seconds(10));
  EXPECT_TRUE(state.appointment_cancel_sent_at.has_value()) << "the call may still be going on";
  SettleCancelMark(state, sent + std::chrono::seconds(11), std::chrono::seconds(10));
  EXPECT_FALSE(state.appointment_cancel_sent_at.has_value());

  WorkflowState cancelled = WithAppointment("cancelled");
  cancelled.appointment_cancel_sent_at = "2024-05-04T09:00:00+00:00";
  SettleCancelMark(cancelled, sent + std::chrono::hours(1), std::chrono::seconds(10));
  EXPECT_TRUE(cancelled.appointment_cancel_sent_at.has_value());
}

// The provider's (or the patient's, at Junction) cancellation is counted and rebooked; the
// brand's, told by its mark, is neither.
TEST(ApplyAppointmentTest, ACancellationIsTheProvidersUnlessTheBrandsCancelIsOut) {
  WorkflowState by_junction = WithAppointment("confirmed");
  EXPECT_EQ(ApplyAppointment(by_junction, Appointment("appt-1", "cancelled", 3)),
            AppointmentUpdate::kApplied);
  EXPECT_EQ(by_junction.appointment_cancelled_by, "junction");
  EXPECT_EQ(by_junction.provider_cancellations, 1);
  EXPECT_FALSE(BrandCancelledAppointment(by_junction));

  WorkflowState by_brand = WithAppointment("confirmed");
  by_brand.appointment_cancel_sent_at = "2024-05-04T08:59:58+00:00";
  EXPECT_EQ(ApplyAppointment(by_brand, Appointment("appt-1", "cancelled", 3)),
            AppointmentUpdate::kApplied);
  EXPECT_EQ(by_brand.appointment_cancelled_by, "brand");
  EXPECT_EQ(by_brand.provider_cancellations, 0);
  EXPECT_TRUE(BrandCancelledAppointment(by_brand));
  EXPECT_EQ(DeriveStatus(by_brand, "appointment_scheduled"), "appointment_cancelled");
  // Never a failure for the rebook limit, however many the provider cancelled before.
  by_brand.provider_cancellations = 5;
  EXPECT_FALSE(CheckRebookLimit(by_brand, 3));

  // A new booking (the brand's, or the patient's at Junction) is no one's cancellation.
  AdoptAppointment(by_brand, Appointment("appt-2", "pending", 1));
  EXPECT_EQ(by_brand.appointment_cancelled_by, std::nullopt);
  EXPECT_FALSE(BrandCancelledAppointment(by_brand));
}

// ---- a test kit's way there and back

WorkflowState Kit(const std::string& low, std::int64_t event_id = 7) {
  WorkflowState state;
  state.collection_method = model::kTestkit;
  state.junction_status = "collecting_sample.testkit." + low;
  state.junction_event_id = event_id;
  return state;
}

TEST(KitStatusTest, AKitsStatusesAreNamedForTheBrand) {
  EXPECT_EQ(DeriveStatus(Kit("transit_customer"), "ordered"), "kit_shipped");
  EXPECT_EQ(DeriveStatus(Kit("out_for_delivery"), "kit_shipped"), "kit_shipped");
  EXPECT_EQ(DeriveStatus(Kit("problem_in_transit_customer"), "kit_shipped"), "kit_shipped");
  EXPECT_EQ(DeriveStatus(Kit("with_customer"), "kit_shipped"), "kit_delivered");
  EXPECT_EQ(DeriveStatus(Kit("transit_lab"), "kit_delivered"), "sample_in_transit");
  EXPECT_EQ(DeriveStatus(Kit("problem_in_transit_lab"), "sample_in_transit"), "sample_in_transit");
  WorkflowState at_lab = Kit("delivered_to_lab");
  at_lab.junction_status = "sample_with_lab.testkit.delivered_to_lab";
  EXPECT_EQ(DeriveStatus(at_lab, "sample_in_transit"), "sample_with_lab");
  // A late status never takes the kit back.
  EXPECT_EQ(DeriveStatus(Kit("transit_customer"), "kit_delivered"), "kit_delivered");
  EXPECT_EQ(DeriveStatus(Kit("with_customer"), "sample_in_transit"), "sample_in_transit");
  // Junction's registrable kit goes back to received: the order does not, from any kit stage,
  // and it still needs no requisition to go on.
  WorkflowState registered = Kit("registered");
  registered.junction_status = "received.testkit.registered";
  EXPECT_EQ(DeriveStatus(registered, "kit_delivered"), "kit_delivered");
  EXPECT_EQ(DeriveStatus(registered, "kit_shipped"), "kit_shipped");
  EXPECT_TRUE(RequisitionReady(registered));
  WorkflowState back_to_ordered = Kit("ordered");
  back_to_ordered.junction_status = "received.testkit.requisition_created";
  EXPECT_EQ(DeriveStatus(back_to_ordered, "kit_shipped"), "kit_shipped");
}

TEST(KitStatusTest, AKitPastItsRequisitionNeedsNoOtherToGoOn) {
  EXPECT_TRUE(RequisitionReady(Kit("transit_customer")));
  WorkflowState ordered = Kit("ordered");
  ordered.junction_status = "received.testkit.ordered";
  EXPECT_FALSE(RequisitionReady(ordered));
  ordered.junction_status = "received.testkit.requisition_created";
  EXPECT_TRUE(RequisitionReady(ordered));
}

TEST(KitStatusTest, ItsTrackingNumbersComeWithNewsNoOlderThanWhatIsKnown) {
  WorkflowState state = Kit("ordered", 3);
  JunctionOrderNews shipped{
      "collecting_sample.testkit.transit_customer", 4, {}, {}, {}, "9400111202555842761234"};
  EXPECT_TRUE(ApplyJunctionOrder(state, shipped));
  EXPECT_EQ(state.tracking_number, "9400111202555842761234");
  JunctionOrderNews back{"collecting_sample.testkit.transit_lab",
                         6,
                         {},
                         {},
                         {},
                         "9400111202555842761234",
                         "9202111202555842765678"};
  EXPECT_TRUE(ApplyJunctionOrder(state, back));
  EXPECT_EQ(state.return_tracking_number, "9202111202555842765678");
  // An older webhook (a kit sent before, say) changes nothing.
  JunctionOrderNews older{"collecting_sample.testkit.transit_customer", 5, {}, {}, {}, "OLD"};
  EXPECT_FALSE(ApplyJunctionOrder(state, older));
  EXPECT_EQ(state.tracking_number, "9400111202555842761234");
}

TEST(KitStatusTest, AKitThatFailsSaysWhyInWordsABrandCanActOn) {
  for (const auto& [low, words] : std::vector<std::pair<std::string, std::string>>{
           {"lost", "lost in transit"},
           {"failure_to_deliver_to_customer", "delivered to the patient"},
           {"failure_to_deliver_to_lab", "delivered to the lab"}}) {
    WorkflowState state = Kit("with_customer", 3);
    ApplyJunctionOrder(state, "failed.testkit." + low, 4);
    ASSERT_TRUE(state.failure_reason.has_value()) << low;
    EXPECT_NE(state.failure_reason->find(words), std::string::npos) << *state.failure_reason;
    EXPECT_EQ(DeriveStatus(state, "kit_delivered"), "failed");
  }
  EXPECT_EQ(KitFailureReasonFor("sample_error"), std::nullopt);
}

TEST(ApplyAppointmentTest, PastAppointmentIsStaleWhateverItSays) {
  WorkflowState state = WithAppointment("pending");
  state.past_appointment_ids = {"appt-0"};
  state.provider_cancellations = 1;
  const WorkflowState before = state;
  EXPECT_EQ(ApplyAppointment(state, Appointment("appt-0", "confirmed", 10)),
            AppointmentUpdate::kStale);
  EXPECT_EQ(state, before);
}

TEST(ApplyAppointmentTest, AnotherAppointmentIsUnknownAndChangesNothing) {
  WorkflowState state = WithAppointment("pending");
  const WorkflowState before = state;
  EXPECT_EQ(ApplyAppointment(state, Appointment("appt-other", "confirmed", 5)),
            AppointmentUpdate::kUnknown);
  EXPECT_EQ(state, before);
}

TEST(ApplyAppointmentTest, WithoutACurrentAppointmentAnyViewIsUnknown) {
  // The callers rely on this: a webhook for an appointment the order does not know yet wakes the
  // step, which asks Junction (workflow ApplyEvent); the step adopts it.
  WorkflowState state = WithJunctionStatus(kRequisitionCreated);
  EXPECT_EQ(ApplyAppointment(state, Appointment("appt-1", "pending", 1)),
            AppointmentUpdate::kUnknown);
  EXPECT_FALSE(state.appointment.has_value());
}

TEST(ApplyAppointmentTest, CancellationOfTheCurrentAppointmentIsCounted) {
  WorkflowState state = WithAppointment("pending");
  state.past_appointment_ids = {"appt-a", "appt-b"};
  state.provider_cancellations = 2;
  EXPECT_EQ(ApplyAppointment(state, Appointment("appt-1", "cancelled", 3)),
            AppointmentUpdate::kApplied);
  EXPECT_EQ(state.provider_cancellations, 3);
}

// ---- AdoptAppointment
// ----------------------------------------------------------------------------

TEST(AdoptAppointmentTest, FirstAppointmentBecomesCurrentAndClearsBookingSent) {
  WorkflowState state = WithJunctionStatus(kRequisitionCreated);
  state.booking_sent = true;
  AppointmentView booked = Appointment("appt-1", "pending", 1);
  AdoptAppointment(state, booked);
  EXPECT_EQ(state.appointment, booked);
  EXPECT_TRUE(state.past_appointment_ids.empty());
  EXPECT_FALSE(state.booking_sent);
  EXPECT_EQ(state.provider_cancellations, 0);
}

TEST(AdoptAppointmentTest, CancelledCurrentMovesToThePastAndIsCounted) {
  WorkflowState state = WithAppointment("cancelled", kAppointmentCancelled);
  state.provider_cancellations = 1;
  state.booking_sent = true;
  AppointmentView rebooked = Appointment("appt-2", "pending", 1);
  AdoptAppointment(state, rebooked);
  EXPECT_EQ(state.appointment, rebooked);
  EXPECT_EQ(state.past_appointment_ids, std::vector<std::string>{"appt-1"});
  EXPECT_FALSE(state.booking_sent);
  EXPECT_EQ(state.provider_cancellations, 1);

  // The provider cancels the rebooked one too; a second rebook keeps the history in order.
  EXPECT_EQ(ApplyAppointment(state, Appointment("appt-2", "cancelled", 2)),
            AppointmentUpdate::kApplied);
  AdoptAppointment(state, Appointment("appt-3", "pending", 1));
  EXPECT_EQ(state.past_appointment_ids, (std::vector<std::string>{"appt-1", "appt-2"}));
  EXPECT_EQ(state.provider_cancellations, 2);
}

TEST(AdoptAppointmentTest, SameIdReplacesTheViewWithoutAddingToThePast) {
  WorkflowState state = WithAppointment("pending");
  AdoptAppointment(state, Appointment("appt-1", "confirmed", 2));
  EXPECT_EQ(state.appointment->status, "confirmed");
  EXPECT_TRUE(state.past_appointment_ids.empty());
}

TEST(AdoptAppointmentTest, PastIdIsNotAddedTwice) {
  WorkflowState state = WithAppointment("cancelled");
  state.provider_cancellations = 1;         // counted when it was cancelled
  state.past_appointment_ids = {"appt-1"};  // already there
  AdoptAppointment(state, Appointment("appt-2", "pending", 1));
  EXPECT_EQ(state.past_appointment_ids, std::vector<std::string>{"appt-1"});
  EXPECT_EQ(state.provider_cancellations, 1);
}

TEST(AdoptAppointmentTest, AdoptedAppointmentAlreadyCancelledCountsToo) {
  WorkflowState state = WithAppointment("cancelled");
  state.provider_cancellations = 1;  // counted when appt-1 was cancelled
  AdoptAppointment(state, Appointment("appt-2", "cancelled", 2));
  EXPECT_EQ(state.provider_cancellations, 2);  // appt-1 in the past, appt-2 current
}

TEST(AdoptAppointmentTest, ReplacingAStillActiveAppointmentIsNotAProviderCancellation) {
  // Junction's active appointment turned out to be another one while ours was still pending
  // (AwaitConfirmation and Reconcile adopt it): nobody cancelled anything.
  WorkflowState state = WithAppointment("pending");
  AdoptAppointment(state, Appointment("appt-2", "confirmed", 2));
  EXPECT_EQ(state.appointment->id, "appt-2");
  EXPECT_EQ(state.provider_cancellations, 0);
}

// ---- CheckRebookLimit
// ----------------------------------------------------------------------------

TEST(CheckRebookLimitTest, BelowTheLimitNothingFails) {
  WorkflowState state = WithAppointment("cancelled");
  state.provider_cancellations = 2;
  EXPECT_FALSE(CheckRebookLimit(state, 3));
  EXPECT_FALSE(state.failure_reason.has_value());
}

TEST(CheckRebookLimitTest, ThirdCancellationFailsWithAReason) {
  WorkflowState state = WithAppointment("cancelled");
  state.past_appointment_ids = {"appt-a", "appt-b"};
  state.provider_cancellations = 3;
  EXPECT_TRUE(CheckRebookLimit(state, 3));
  ASSERT_TRUE(state.failure_reason.has_value());
  EXPECT_NE(state.failure_reason->find("3"), std::string::npos) << *state.failure_reason;
  EXPECT_EQ(DeriveStatus(state, "appointment_cancelled"), "failed");
}

TEST(CheckRebookLimitTest, FailsOnlyOnceAndKeepsTheFirstReason) {
  WorkflowState state = WithAppointment("cancelled");
  state.provider_cancellations = 3;
  ASSERT_TRUE(CheckRebookLimit(state, 3));
  const std::string reason = *state.failure_reason;
  state.provider_cancellations = 4;
  EXPECT_FALSE(CheckRebookLimit(state, 3));
  EXPECT_EQ(state.failure_reason, reason);
}

TEST(CheckRebookLimitTest, OnlyWhileTheCurrentAppointmentIsCancelled) {
  WorkflowState confirmed = WithAppointment("confirmed");
  confirmed.provider_cancellations = 3;
  EXPECT_FALSE(CheckRebookLimit(confirmed, 3));
  EXPECT_FALSE(confirmed.failure_reason.has_value());

  WorkflowState none = WithJunctionStatus(kRequisitionCreated);
  none.provider_cancellations = 5;
  EXPECT_FALSE(CheckRebookLimit(none, 3));
  EXPECT_FALSE(none.failure_reason.has_value());
}

TEST(ProviderCancellationsTest, CountedAcrossTheWholeRebookCycle) {
  WorkflowState state = WithJunctionStatus(kRequisitionCreated);
  int failed_at = 0;
  for (int booking = 1; booking <= 5 && failed_at == 0; ++booking) {
    std::string id = "appt-" + std::to_string(booking);
    AdoptAppointment(state, Appointment(id, "pending", 1));
    EXPECT_EQ(state.provider_cancellations, booking - 1);
    ASSERT_EQ(ApplyAppointment(state, Appointment(id, "cancelled", 2)),
              AppointmentUpdate::kApplied);
    EXPECT_EQ(state.provider_cancellations, booking);
    if (CheckRebookLimit(state, 3)) failed_at = booking;
  }
  EXPECT_EQ(failed_at, 3);
  EXPECT_EQ(state.past_appointment_ids, (std::vector<std::string>{"appt-1", "appt-2"}));
}

// ---- DeriveStatus
// --------------------------------------------------------------------------------

TEST(DeriveStatusTest, ReceivedStaysUntilJunctionIsFirstHeardFrom) {
  EXPECT_EQ(DeriveStatus(WorkflowState{}, "received"), "received");
  EXPECT_EQ(DeriveStatus(WorkflowState{}, "ordered"), "ordered");
}

TEST(DeriveStatusTest, OrderedUntilAnAppointmentExists) {
  for (const char* status : {kOrdered, kRequisitionCreated, kRequisitionBypassed}) {
    EXPECT_EQ(DeriveStatus(WithJunctionStatus(status), "ordered"), "ordered") << status;
    EXPECT_EQ(DeriveStatus(WithJunctionStatus(status), "received"), "ordered") << status;
  }
}

TEST(DeriveStatusTest, PendingOrReservedAppointmentIsPendingNotBooked) {
  EXPECT_EQ(DeriveStatus(WithAppointment("pending"), "ordered"), "appointment_pending");
  EXPECT_EQ(DeriveStatus(WithAppointment("reserved"), "ordered"), "appointment_pending");
  // Junction's order says scheduled, but the appointment is the truth about the booking.
  EXPECT_EQ(DeriveStatus(WithAppointment("pending", kAppointmentScheduled), "ordered"),
            "appointment_pending");
}

TEST(DeriveStatusTest, AnUnknownAppointmentStatusIsNotBooked) {
  EXPECT_EQ(DeriveStatus(WithAppointment("awaiting_provider"), "ordered"), "appointment_pending");
}

TEST(DeriveStatusTest, ConfirmedOrInProgressAppointmentIsScheduled) {
  EXPECT_EQ(DeriveStatus(WithAppointment("confirmed"), "appointment_pending"),
            "appointment_scheduled");
  EXPECT_EQ(DeriveStatus(WithAppointment("in_progress"), "appointment_scheduled"),
            "appointment_scheduled");
}

TEST(DeriveStatusTest, CancelledAppointmentIsAppointmentCancelled) {
  EXPECT_EQ(
      DeriveStatus(WithAppointment("cancelled", kAppointmentCancelled), "appointment_pending"),
      "appointment_cancelled");
}

TEST(DeriveStatusTest, DrawCompletedFromTheOrderOrTheAppointment) {
  EXPECT_EQ(DeriveStatus(WithJunctionStatus(kDrawCompleted), "appointment_scheduled"),
            "draw_completed");
  EXPECT_EQ(DeriveStatus(WithAppointment("confirmed", kDrawCompleted), "appointment_scheduled"),
            "draw_completed");
  EXPECT_EQ(
      DeriveStatus(WithAppointment("completed", kAppointmentScheduled), "appointment_scheduled"),
      "draw_completed");
}

TEST(DeriveStatusTest, SampleWithLabFromItsHighLevelOrPartialResults) {
  EXPECT_EQ(DeriveStatus(WithAppointment("completed", kPartialResults), "draw_completed"),
            "sample_with_lab");
  EXPECT_EQ(DeriveStatus(WithJunctionStatus("sample_with_lab.at_home_phlebotomy.lab_processing"),
                         "draw_completed"),
            "sample_with_lab");
}

TEST(DeriveStatusTest, CompletedAndCorrectedAreCompleted) {
  EXPECT_EQ(DeriveStatus(WithAppointment("completed", kCompleted), "sample_with_lab"), "completed");
  EXPECT_EQ(DeriveStatus(WithJunctionStatus(kCorrected), "sample_with_lab"), "completed");
}

TEST(DeriveStatusTest, JunctionCancellationWinsOverAnActiveAppointment) {
  EXPECT_EQ(DeriveStatus(WithAppointment("confirmed", kCancelled), "appointment_scheduled"),
            "cancelled");
}

TEST(DeriveStatusTest, SampleErrorOrAFailureReasonIsFailed) {
  EXPECT_EQ(DeriveStatus(WithAppointment("completed", kSampleError), "draw_completed"), "failed");
  WorkflowState state = WithAppointment("cancelled", kAppointmentCancelled);
  state.failure_reason = "the provider cancelled 3 bookings; no more rebooking";
  EXPECT_EQ(DeriveStatus(state, "appointment_cancelled"), "failed");
}

TEST(DeriveStatusTest, FinalStatusesNeverChange) {
  WorkflowState scheduled = WithAppointment("confirmed", kAppointmentScheduled);
  WorkflowState failing = WithJunctionStatus(kSampleError);
  WorkflowState done = WithJunctionStatus(kCompleted);
  for (const char* final_status : {"cancelled", "completed", "failed"}) {
    EXPECT_EQ(DeriveStatus(scheduled, final_status), final_status);
    EXPECT_EQ(DeriveStatus(failing, final_status), final_status);
    EXPECT_EQ(DeriveStatus(done, final_status), final_status);
    EXPECT_EQ(DeriveStatus(WorkflowState{}, final_status), final_status);
  }
}

TEST(DeriveStatusTest, UnknownJunctionStatusBeforeAnAppointmentKeepsOrdered) {
  EXPECT_EQ(
      DeriveStatus(WithJunctionStatus("received.at_home_phlebotomy.brand_new_step"), "ordered"),
      "ordered");
  EXPECT_EQ(DeriveStatus(WithAppointment("confirmed", "collecting_sample.at_home_phlebotomy.new"),
                         "appointment_scheduled"),
            "appointment_scheduled");
}

TEST(DeriveStatusTest, UnknownJunctionStatusKeepsTheCurrentStatus) {
  // The draw was reported, then Junction moved to a status this service does not know.
  EXPECT_EQ(
      DeriveStatus(WithJunctionStatus("collecting_sample.at_home_phlebotomy.sample_in_transit"),
                   "draw_completed"),
      "draw_completed");
  EXPECT_EQ(DeriveStatus(WithAppointment("confirmed", "on_hold.at_home_phlebotomy.paused"),
                         "draw_completed"),
            "draw_completed");
  EXPECT_EQ(
      DeriveStatus(WithJunctionStatus("on_hold.at_home_phlebotomy.paused"), "sample_with_lab"),
      "sample_with_lab");
}

}  // namespace
}  // namespace lab_orders::workflow
