// The appointment workflow's steps (the contract: the order's life; docs/junction.md:
// Async confirmation, End to end, Statuses, Webhooks) on a real SqliteStore, with Junction mocked
// and time faked. Each test drives the jobs the way a worker does: claim the due job, Run it,
// commit its outcome, and looks at what the store holds afterwards.

#include "unit/workflow/order_workflow_fixture.h"

namespace lab_orders::workflow {
namespace {

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
    order.workflow.booking_sent_for = "patient";
  });
  EXPECT_EQ(Order().workflow.booking_sent_by, "attempt-1") << "kept by the store";
  EXPECT_EQ(Order().workflow.booking_sent_for, "patient") << "kept by the store";

  EXPECT_CALL(junction_, GetAppointment(kJunctionOrderId))
      .WillOnce(Return(Appointment("appt-7", "pending", 1)));
  EXPECT_TRUE(RunNext(store::kJobBookAppointment).done);
  const model::LabOrder order = Order();
  EXPECT_EQ(order.workflow.appointment->id, "appt-7");
  EXPECT_EQ(order.workflow.lost_booking_adopted_for, "attempt-1");
  EXPECT_EQ(order.workflow.booked_by, "patient") << "whom the lost call booked for";
  EXPECT_FALSE(order.workflow.booking_sent);
  EXPECT_EQ(order.workflow.booking_sent_by, std::nullopt);
  EXPECT_EQ(order.workflow.booking_sent_for, std::nullopt);
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

}  // namespace
}  // namespace lab_orders::workflow
