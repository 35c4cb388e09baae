// The appointment workflow after a booking went out: the provider's answer (polls, webhooks),
// its cancellations and the rebooks, Junction's webhook jobs, and orders that have ended. On
// the fixture of order_workflow_fixture.h.
#include "unit/workflow/order_workflow_fixture.h"

namespace lab_orders::workflow {
namespace {

class OrderWorkflowAfterBookingTest : public OrderWorkflowTest {};

// ---- await_confirmation, confirmation and reconcile
// -----------------------------------------------

TEST_F(OrderWorkflowAfterBookingTest, PendingIsPolledUntilConfirmedThenReconciledSlowly) {
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

TEST_F(OrderWorkflowAfterBookingTest, BookAnsweredConfirmedGoesStraightToReconcile) {
  ReachRequisition();
  EXPECT_CALL(junction_, GetAvailability(_, _)).WillOnce(Return(OneSlot()));
  EXPECT_CALL(junction_, BookAppointment(kJunctionOrderId, _))
      .WillOnce(Return(Appointment("appt-1", "confirmed", 2)));
  RunNext(store::kJobBookAppointment);
  EXPECT_EQ(Order().status, "appointment_scheduled");
  EXPECT_EQ(store_.QueuedJobCounts(), (Counts{{store::kJobReconcile, 1}}));
  EXPECT_EQ(store_.NextJobDue(), kT0 + 6h);
}

TEST_F(OrderWorkflowAfterBookingTest, ReconcileFollowsTheOrderToCompletion) {
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

TEST_F(OrderWorkflowAfterBookingTest, CancelledAppointmentIsRebookedWithFreshAvailability) {
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

TEST_F(OrderWorkflowAfterBookingTest, ThirdProviderCancellationFailsTheOrderWithAReason) {
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

TEST_F(OrderWorkflowAfterBookingTest, ReconcileNoticesALateCancellationAndRebooks) {
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

// An appointment Junction shows that the service did not make (the patient rebooked at Junction,
// or the lab did) is followed, and the order says Junction booked it, never the workflow: while
// the provider is asked to confirm ours, and when a later look finds another.
TEST_F(OrderWorkflowAfterBookingTest, AnAppointmentMadeAtJunctionIsFollowedAndSaysSo) {
  ReachRequisition();
  BookPending("appt-1");
  EXPECT_EQ(model::OrderJson(Order())["appointment"]["booked_by"], "lab_orders");

  AdvanceToNextDue();
  EXPECT_CALL(junction_, GetAppointment(kJunctionOrderId))
      .WillOnce(Return(Appointment("appt-2", "confirmed", 1)));
  EXPECT_TRUE(RunNext(store::kJobAwaitConfirmation).done);
  EXPECT_EQ(Order().workflow.appointment->id, "appt-2");
  EXPECT_EQ(Order().workflow.booked_by, "junction");
  EXPECT_EQ(model::OrderJson(Order())["appointment"]["booked_by"], "junction");

  AdvanceToNextDue();
  EXPECT_CALL(junction_, GetOrder(kJunctionOrderId))
      .WillOnce(Return(JunctionOrder(kAppointmentScheduled, 3)));
  EXPECT_CALL(junction_, GetAppointment(kJunctionOrderId))
      .WillOnce(Return(Appointment("appt-3", "confirmed", 1)));
  RunNext(store::kJobReconcile);
  EXPECT_EQ(Order().workflow.appointment->id, "appt-3");
  EXPECT_EQ(Order().workflow.booked_by, "junction");
  EXPECT_EQ(Order().status, "appointment_scheduled");
}

// The brand cancelled the appointment (its cancel call out when Junction's webhook of it lands):
// no rebook, no provider cancellation counted; the order is looked at slowly, and Junction having
// no active appointment to show then is no failure. A booking the patient makes at Junction is
// followed.
TEST_F(OrderWorkflowAfterBookingTest, TheBrandsCancellationIsNotRebookedAndWaitsForANewBooking) {
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
TEST_F(OrderWorkflowAfterBookingTest, ACancelMarkWhoseCallCancelledNothingIsSettledByTheNextLook) {
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

TEST_F(OrderWorkflowAfterBookingTest, JunctionCancellingTheOrderWhileWaitingEndsTheWorkflow) {
  EXPECT_CALL(junction_, GetOrder(kJunctionOrderId)).WillOnce(Return(JunctionOrder(kCancelled, 2)));
  EXPECT_TRUE(RunNext(store::kJobAwaitRequisition).done);
  EXPECT_EQ(Order().status, "cancelled");
  EXPECT_TRUE(store_.QueuedJobCounts().empty());
}

// ---- junction_event jobs
// -------------------------------------------------------------------------

TEST_F(OrderWorkflowAfterBookingTest, ConfirmedWebhookSchedulesTheOrderAndWakesTheStep) {
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

TEST_F(OrderWorkflowAfterBookingTest, RequisitionWebhookWakesTheRequisitionPoll) {
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

TEST_F(OrderWorkflowAfterBookingTest, OlderWebhooksChangeNothing) {
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

TEST_F(OrderWorkflowAfterBookingTest, WebhookForAnAppointmentLeftBehindChangesNothing) {
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

TEST_F(OrderWorkflowAfterBookingTest, CancelledOrderWebhookEndsTheWorkflow) {
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

TEST_F(OrderWorkflowAfterBookingTest, WebhookForAnUnknownAppointmentWakesTheStepWhichAsksJunction) {
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

TEST_F(OrderWorkflowAfterBookingTest, CancelledOrderEndsItsJobWithoutCallingJunction) {
  // The order was cancelled through the API while its step waited.
  ChangeOrder([&](model::LabOrder& order) { order.status = "cancelled"; });

  JobOutcome outcome = RunNext(store::kJobAwaitRequisition);  // StrictMock: no Junction call
  EXPECT_TRUE(outcome.done);
  EXPECT_TRUE(outcome.enqueue.empty());
  EXPECT_TRUE(store_.QueuedJobCounts().empty());
  EXPECT_EQ(Order().status, "cancelled");
}

TEST_F(OrderWorkflowAfterBookingTest, JobForAMissingOrderIsDropped) {
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
