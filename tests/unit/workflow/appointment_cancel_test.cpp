// OrderActions::CancelAppointment and CancellationReasons: the brand cancels only the order's
// appointment. The call is marked on the order before it goes out (so Junction's webhook of it is
// never taken for the provider's cancellation, which would rebook), the cancellation is committed
// as the brand's, the order waits for the brand to book again, and a retry never cancels twice.

#include "unit/workflow/order_actions_fixture.h"

namespace lab_orders::workflow {
namespace {

constexpr char kReasonId[] = "0b1cbd44-7c2b-4b1e-9c55-4a0f3e2d1a01";

std::vector<junction::CancellationReason> Reasons() {
  return {{kReasonId, "Patient requested cancellation", true},
          {"0b1cbd44-7c2b-4b1e-9c55-4a0f3e2d1a03", "Patient was not available", false}};
}

json CancelBody(const std::string& reason = kReasonId) { return {{"reason_id", reason}}; }

class AppointmentCancelTest : public OrderActionsTest {
 protected:
  void ExpectReasons() {
    EXPECT_CALL(junction_, ListCancellationReasons()).WillOnce(Return(Reasons()));
  }

  // Cancels appt-1 of a scheduled order while a webhook writes the order: the commit is made
  // again on fresh (the order as the webhook left it). Returns what was committed.
  JobOutcome CancelCommittedOn(const model::LabOrder& fresh) {
    JobOutcome committed;
    InSequence in_order;
    ExpectHeld(ScheduledOrder(true, 5), ScheduledOrder(true, 5), store::kJobReconcile);
    EXPECT_CALL(store_, CheckpointOrder(IsStepJob(), _, 5));
    EXPECT_CALL(junction_, CancelAppointment(kJunctionOrderId, _))
        .WillOnce(Return(JunctionAppointment("appt-1", "cancelled", kT0 + 24h, 3)));
    EXPECT_CALL(store_, CompleteJob(IsStepJob(), _)).WillOnce(Throw(store::VersionConflict("x")));
    EXPECT_CALL(store_, GetOrderById(kOrderId)).WillOnce(Return(fresh));
    EXPECT_CALL(store_, CompleteJob(IsStepJob(), _)).WillOnce(SaveArg<1>(&committed));
    actions_.CancelAppointment(Caller(), kOrderId, CancelBody());
    return committed;
  }
};

TEST_F(AppointmentCancelTest, MarksTheCallThenCommitsTheBrandsCancellationWithNoRebook) {
  ExpectReasons();
  model::LabOrder checkpointed;
  JobOutcome committed;
  {
    InSequence in_order;
    ExpectHeld(ScheduledOrder(true, 5), ScheduledOrder(true, 5), store::kJobReconcile);
    EXPECT_CALL(store_, CheckpointOrder(IsStepJob(), _, 5)).WillOnce(SaveArg<1>(&checkpointed));
    EXPECT_CALL(
        junction_,
        CancelAppointment(
            kJunctionOrderId,
            AllOf(Field(&junction::CancelAppointmentRequest::cancellation_reason_id, kReasonId),
                  Field(&junction::CancelAppointmentRequest::notes, "moving away"))))
        .WillOnce(Return(JunctionAppointment("appt-1", "cancelled", kT0 + 24h, 3)));
    EXPECT_CALL(store_, CompleteJob(IsStepJob(), _)).WillOnce(SaveArg<1>(&committed));
  }

  json shown = actions_.CancelAppointment(Caller(), kOrderId,
                                          {{"reason_id", kReasonId}, {"note", "moving away"}});

  EXPECT_EQ(checkpointed.workflow.appointment_cancel_sent_at, FormatRfc3339(kT0));
  ASSERT_TRUE(committed.order_update.has_value());
  const model::WorkflowState& state = committed.order_update->workflow;
  EXPECT_EQ(state.appointment->status, "cancelled");
  EXPECT_EQ(state.appointment_cancelled_by, "brand");
  EXPECT_EQ(state.provider_cancellations, 0) << "not the provider's: no rebook, no failure";
  EXPECT_EQ(state.appointment_cancel_sent_at, std::nullopt);
  EXPECT_EQ(committed.order_update->status, "appointment_cancelled");
  EXPECT_EQ(committed.expected_order_version, 6) << "the version after the checkpoint";
  // No booking step: the order is only looked at, slowly, until the brand books again.
  EXPECT_FALSE(committed.done);
  EXPECT_EQ(committed.retry_at, kT0 + 6h);
  EXPECT_TRUE(committed.enqueue.empty());
  EXPECT_EQ(shown["status"], "appointment_cancelled");
  EXPECT_EQ(shown["appointment"]["cancelled_by"], "brand");
  EXPECT_EQ(wakes_, 1);
}

// Junction's webhook of the cancellation, applied while the mark stands (before the answer is
// committed): the brand's already, and the commit on the fresh order keeps it so.
TEST_F(AppointmentCancelTest, JunctionsWebhookAppliedBeforeTheAnswerIsTheBrandsCancellation) {
  model::LabOrder applied = ScheduledOrder(true, 7);
  applied.status = "appointment_cancelled";
  applied.workflow.appointment = View("appt-1", "cancelled", false, 3);
  applied.workflow.appointment_cancelled_by = "brand";
  applied.workflow.appointment_cancel_sent_at = FormatRfc3339(kT0);
  ExpectReasons();
  const JobOutcome committed = CancelCommittedOn(applied);

  ASSERT_TRUE(committed.order_update.has_value());
  EXPECT_EQ(committed.expected_order_version, 7);
  EXPECT_EQ(committed.order_update->workflow.appointment_cancelled_by, "brand");
  EXPECT_EQ(committed.order_update->workflow.provider_cancellations, 0);
  EXPECT_EQ(committed.order_update->workflow.appointment_cancel_sent_at, std::nullopt);
  EXPECT_FALSE(committed.done) << "no rebook: the order is only looked at";
}

// The same webhook applied as the provider's (its mark gone, as after a crash and a restart):
// the brand's answer puts it right.
TEST_F(AppointmentCancelTest, ACancellationTakenForTheProvidersIsTheBrandsOnceItsAnswerComes) {
  model::LabOrder counted = ScheduledOrder(true, 7);
  counted.status = "appointment_cancelled";
  counted.workflow.appointment = View("appt-1", "cancelled", false, 3);
  counted.workflow.appointment_cancelled_by = "junction";
  counted.workflow.provider_cancellations = 1;
  ExpectReasons();
  const JobOutcome committed = CancelCommittedOn(counted);

  ASSERT_TRUE(committed.order_update.has_value());
  EXPECT_EQ(committed.order_update->workflow.appointment_cancelled_by, "brand");
  EXPECT_EQ(committed.order_update->workflow.provider_cancellations, 0);
}

TEST_F(AppointmentCancelTest, ABodyThatIsNotValidIs400AtEachFieldBeforeAnythingIsRead) {
  // No store or Junction call at all (strict mocks).
  AppError missing =
      ErrorFrom([&] { actions_.CancelAppointment(Caller(), kOrderId, json::object()); });
  EXPECT_EQ(missing.code(), ErrorCode::kValidationError);
  ASSERT_EQ(missing.details().size(), 1u);
  EXPECT_EQ(missing.details()[0].path, "/reason_id");

  AppError several = ErrorFrom([&] {
    actions_.CancelAppointment(
        Caller(), kOrderId,
        {{"reason_id", "not-a-uuid"}, {"note", std::string(1001, 'x')}, {"why", "x"}});
  });
  std::vector<std::string> paths;
  for (const FieldViolation& violation : several.details()) paths.push_back(violation.path);
  EXPECT_EQ(paths, (std::vector<std::string>{"/reason_id", "/note", "/why"}));

  EXPECT_EQ(
      ErrorFrom([&] { actions_.CancelAppointment(Caller(), kOrderId, json::array()); }).code(),
      ErrorCode::kValidationError);
}

TEST_F(AppointmentCancelTest, AReasonJunctionDoesNotListIs400AtReasonIdAndHoldsNothing) {
  EXPECT_CALL(store_, GetOrderById(kOrderId)).WillOnce(Return(ScheduledOrder(true)));
  ExpectReasons();

  AppError error = ErrorFrom([&] {
    actions_.CancelAppointment(Caller(), kOrderId,
                               CancelBody("0b1cbd44-7c2b-4b1e-9c55-4a0f3e2d1aff"));
  });

  EXPECT_EQ(error.code(), ErrorCode::kValidationError);
  ASSERT_EQ(error.details().size(), 1u);
  EXPECT_EQ(error.details()[0].path, "/reason_id");
}

TEST_F(AppointmentCancelTest, NoActiveAppointmentIsNotCancellableAndReleasesTheJob) {
  model::LabOrder cancelled = ScheduledOrder(true);
  cancelled.workflow.appointment = View("appt-1", "cancelled", false, 3);
  ExpectReasons();  // once: kept for the second round
  for (const model::LabOrder& order : {ReadyOrder(), cancelled}) {
    ExpectHeld(order, order, store::kJobBookAppointment, StartsWith("api-"));
    EXPECT_CALL(store_, ReleaseJob(IsStepJob()));

    AppError error =
        ErrorFrom([&] { actions_.CancelAppointment(Caller(), kOrderId, CancelBody()); });

    EXPECT_EQ(error.code(), ErrorCode::kAppointmentNotCancellable);
    ::testing::Mock::VerifyAndClearExpectations(&store_);
  }
}

TEST_F(AppointmentCancelTest, AnEndedOrStillPlacedOrderIsNotCancellableBeforeAnythingIsHeld) {
  model::LabOrder completed = ScheduledOrder(true);
  completed.status = "completed";
  model::LabOrder placing = ReadyOrder();
  placing.junction_order_id.reset();
  for (const model::LabOrder& order : {completed, placing}) {
    EXPECT_CALL(store_, GetOrderById(kOrderId)).WillOnce(Return(order));
    EXPECT_EQ(
        ErrorFrom([&] { actions_.CancelAppointment(Caller(), kOrderId, CancelBody()); }).code(),
        ErrorCode::kAppointmentNotCancellable);
  }
}

TEST_F(AppointmentCancelTest, ARefusalTakesTheMarkBackAndIsNotCancellable) {
  ExpectReasons();
  std::vector<model::LabOrder> checkpointed;
  {
    InSequence in_order;
    ExpectHeld(ScheduledOrder(true, 5), ScheduledOrder(true, 5), store::kJobReconcile);
    EXPECT_CALL(store_, CheckpointOrder(IsStepJob(), _, 5))
        .WillOnce(
            [&](auto&, const model::LabOrder& order, auto) { checkpointed.push_back(order); });
    EXPECT_CALL(junction_, CancelAppointment(kJunctionOrderId, _))
        .WillOnce(Return(Failure(junction::Outcome::kRejected, "cancel_appointment", 400)));
    EXPECT_CALL(store_, CheckpointOrder(IsStepJob(), _, 6))
        .WillOnce(
            [&](auto&, const model::LabOrder& order, auto) { checkpointed.push_back(order); });
    // Perhaps an earlier cancel whose answer was lost: Junction shows it still confirmed.
    EXPECT_CALL(junction_, GetAppointment(kJunctionOrderId))
        .WillOnce(Return(JunctionAppointment("appt-1", "confirmed", kT0 + 24h, 2)));
    EXPECT_CALL(store_, ReleaseJob(IsStepJob()));
  }

  AppError error = ErrorFrom([&] { actions_.CancelAppointment(Caller(), kOrderId, CancelBody()); });

  EXPECT_EQ(error.code(), ErrorCode::kAppointmentNotCancellable);
  EXPECT_EQ(error.log_detail(), kUpstreamSummary);
  EXPECT_THAT(error.what(), Not(HasSubstr(kUpstreamSummary)));
  ASSERT_EQ(checkpointed.size(), 2u);
  EXPECT_TRUE(checkpointed[0].workflow.appointment_cancel_sent_at.has_value());
  EXPECT_FALSE(checkpointed[1].workflow.appointment_cancel_sent_at.has_value());
  EXPECT_EQ(wakes_, 0);
}

TEST_F(AppointmentCancelTest, ARefusalOfAnAppointmentJunctionShowsCancelledIsTheCancel) {
  ExpectReasons();
  JobOutcome committed;
  {
    InSequence in_order;
    ExpectHeld(ScheduledOrder(true, 5), ScheduledOrder(true, 5), store::kJobReconcile);
    EXPECT_CALL(store_, CheckpointOrder(IsStepJob(), _, 5));
    EXPECT_CALL(junction_, CancelAppointment(kJunctionOrderId, _))
        .WillOnce(Return(Failure(junction::Outcome::kRejected, "cancel_appointment", 400)));
    EXPECT_CALL(store_, CheckpointOrder(IsStepJob(), _, 6));
    EXPECT_CALL(junction_, GetAppointment(kJunctionOrderId))
        .WillOnce(Return(JunctionAppointment("appt-1", "cancelled", kT0 + 24h, 3)));
    EXPECT_CALL(store_, CompleteJob(IsStepJob(), _)).WillOnce(SaveArg<1>(&committed));
  }

  json shown = actions_.CancelAppointment(Caller(), kOrderId, CancelBody());

  EXPECT_EQ(shown["appointment"]["cancelled_by"], "brand");
  ASSERT_TRUE(committed.order_update.has_value());
  EXPECT_EQ(committed.order_update->workflow.provider_cancellations, 0);
}

TEST_F(AppointmentCancelTest, AnUnansweredCallKeepsItsMarkAndIsA502) {
  ExpectReasons();
  {
    InSequence in_order;
    ExpectHeld(ScheduledOrder(true, 5), ScheduledOrder(true, 5), store::kJobReconcile);
    EXPECT_CALL(store_, CheckpointOrder(IsStepJob(), _, 5));
    EXPECT_CALL(junction_, CancelAppointment(kJunctionOrderId, _))
        .WillOnce(Return(Failure(junction::Outcome::kTimeout, "cancel_appointment", 0)));
    // No second checkpoint: Junction may have cancelled it; the mark lapses with the deadline.
    EXPECT_CALL(store_, ReleaseJob(IsStepJob()));
  }

  AppError error = ErrorFrom([&] { actions_.CancelAppointment(Caller(), kOrderId, CancelBody()); });

  EXPECT_EQ(error.code(), ErrorCode::kJunctionTimeout);
}

TEST_F(AppointmentCancelTest, AResumedKeyWhoseCallCancelledItAnswersWithoutCancellingAgain) {
  KeyCheckpoint key(json{{"appointment_id", "appt-1"}}.dump());
  ExpectReasons();
  JobOutcome committed;
  {
    InSequence in_order;
    ExpectHeld(ScheduledOrder(true, 5), ScheduledOrder(true, 5), store::kJobReconcile);
    // No CancelAppointment (strict mock): Junction shows the earlier attempt's cancellation.
    EXPECT_CALL(junction_, GetAppointment(kJunctionOrderId))
        .WillOnce(Return(JunctionAppointment("appt-1", "cancelled", kT0 + 24h, 3)));
    EXPECT_CALL(store_, CompleteJob(IsStepJob(), _)).WillOnce(SaveArg<1>(&committed));
  }

  json shown = actions_.CancelAppointment(Caller(), kOrderId, CancelBody(), &key.checkpoint);

  EXPECT_TRUE(key.saved.empty());
  EXPECT_EQ(shown["appointment"]["status"], "cancelled");
  EXPECT_EQ(shown["appointment"]["cancelled_by"], "brand");
}

// The earlier attempt's appointment is gone (the provider cancelled it and the workflow booked
// another): the request's cancel is not carried over to the new one.
TEST_F(AppointmentCancelTest, AResumedKeyWhoseAppointmentWasReplacedAnswersTheOrderAsItIs) {
  KeyCheckpoint key(json{{"appointment_id", "appt-1"}}.dump());
  model::LabOrder rebooked = ScheduledOrder(true, 9);
  rebooked.workflow.appointment = View("appt-2", "confirmed", true, 2);
  rebooked.workflow.past_appointment_ids = {"appt-1"};
  ExpectReasons();
  ExpectHeld(rebooked, rebooked, store::kJobReconcile);
  EXPECT_CALL(store_, ReleaseJob(IsStepJob()));
  // No Junction call (strict mock).

  json shown = actions_.CancelAppointment(Caller(), kOrderId, CancelBody(), &key.checkpoint);

  EXPECT_EQ(shown["appointment"]["id"], "appt-2");
  EXPECT_EQ(shown["appointment"]["status"], "confirmed");
}

// A webhook wrote the order between its read and the mark (Junction sends several for one
// change): the mark is made on the order as it stands, and the cancel goes on.
TEST_F(AppointmentCancelTest, AnOrderChangedBeforeTheMarkIsMarkedAsItStands) {
  ExpectReasons();
  model::LabOrder confirmed_again = ScheduledOrder(true, 6);
  confirmed_again.workflow.junction_event_id = 4;
  model::LabOrder marked;
  {
    InSequence in_order;
    ExpectHeld(ScheduledOrder(true, 5), ScheduledOrder(true, 5), store::kJobReconcile);
    EXPECT_CALL(store_, CheckpointOrder(IsStepJob(), _, 5))
        .WillOnce(Throw(store::VersionConflict("x")));
    EXPECT_CALL(store_, GetOrderById(kOrderId)).WillOnce(Return(confirmed_again));
    EXPECT_CALL(store_, CheckpointOrder(IsStepJob(), _, 6)).WillOnce(SaveArg<1>(&marked));
    EXPECT_CALL(junction_, CancelAppointment(kJunctionOrderId, _))
        .WillOnce(Return(JunctionAppointment("appt-1", "cancelled", kT0 + 24h, 3)));
    EXPECT_CALL(store_, CompleteJob(IsStepJob(), _));
  }

  actions_.CancelAppointment(Caller(), kOrderId, CancelBody());

  EXPECT_EQ(marked.workflow.junction_event_id, 4) << "the webhook's write kept";
  EXPECT_TRUE(marked.workflow.appointment_cancel_sent_at.has_value());
}

// ... unless the order as it stands has no such appointment any more: busy (409, retry), with
// nothing sent.
TEST_F(AppointmentCancelTest, AnAppointmentGoneBeforeTheMarkIsBusyAndNothingIsSent) {
  ExpectReasons();
  model::LabOrder cancelled_meanwhile = ScheduledOrder(true, 6);
  cancelled_meanwhile.workflow.appointment = View("appt-1", "cancelled", false, 3);
  {
    InSequence in_order;
    ExpectHeld(ScheduledOrder(true, 5), ScheduledOrder(true, 5), store::kJobReconcile);
    EXPECT_CALL(store_, CheckpointOrder(IsStepJob(), _, 5))
        .WillOnce(Throw(store::VersionConflict("x")));
    EXPECT_CALL(store_, GetOrderById(kOrderId)).WillOnce(Return(cancelled_meanwhile));
    EXPECT_CALL(store_, ReleaseJob(IsStepJob()));
  }

  AppError error = ErrorFrom([&] { actions_.CancelAppointment(Caller(), kOrderId, CancelBody()); });

  EXPECT_EQ(error.code(), ErrorCode::kOrderBusy);
  EXPECT_EQ(error.retry_after_seconds, 1);
}

// A refusal's mark is taken back on the order as it stands, when a webhook wrote it meanwhile.
TEST_F(AppointmentCancelTest, ARefusalsMarkIsTakenBackEvenAfterAWebhookWroteTheOrder) {
  model::LabOrder changed = ScheduledOrder(true, 7);
  changed.workflow.appointment_cancel_sent_at = FormatRfc3339(kT0);
  changed.workflow.junction_event_id = 5;
  ExpectReasons();
  model::LabOrder taken_back;
  {
    InSequence in_order;
    ExpectHeld(ScheduledOrder(true, 5), ScheduledOrder(true, 5), store::kJobReconcile);
    EXPECT_CALL(store_, CheckpointOrder(IsStepJob(), _, 5));
    EXPECT_CALL(junction_, CancelAppointment(kJunctionOrderId, _))
        .WillOnce(Return(Failure(junction::Outcome::kRejected, "cancel_appointment", 400)));
    EXPECT_CALL(store_, CheckpointOrder(IsStepJob(), _, 6))
        .WillOnce(Throw(store::VersionConflict("x")));
    EXPECT_CALL(store_, GetOrderById(kOrderId)).WillOnce(Return(changed));
    EXPECT_CALL(store_, CheckpointOrder(IsStepJob(), _, 7)).WillOnce(SaveArg<1>(&taken_back));
    EXPECT_CALL(junction_, GetAppointment(kJunctionOrderId))
        .WillOnce(Return(JunctionAppointment("appt-1", "confirmed", kT0 + 24h, 2)));
    EXPECT_CALL(store_, ReleaseJob(IsStepJob()));
  }

  EXPECT_EQ(ErrorFrom([&] { actions_.CancelAppointment(Caller(), kOrderId, CancelBody()); }).code(),
            ErrorCode::kAppointmentNotCancellable);
  EXPECT_EQ(taken_back.workflow.appointment_cancel_sent_at, std::nullopt);
  EXPECT_EQ(taken_back.workflow.junction_event_id, 5) << "the webhook's write kept";
}

TEST_F(AppointmentCancelTest, AKeyRecordsTheAppointmentBeforeTheCall) {
  KeyCheckpoint key;
  ExpectReasons();
  {
    InSequence in_order;
    ExpectHeld(ScheduledOrder(true, 5), ScheduledOrder(true, 5), store::kJobReconcile);
    EXPECT_CALL(store_, CheckpointOrder(IsStepJob(), _, 5)).WillOnce(InvokeWithoutArgs([&] {
      EXPECT_EQ(key.saved, (std::vector<std::string>{R"({"appointment_id":"appt-1"})"}));
    }));
    EXPECT_CALL(junction_, CancelAppointment(kJunctionOrderId, _))
        .WillOnce(Return(JunctionAppointment("appt-1", "cancelled", kT0 + 24h, 3)));
    EXPECT_CALL(store_, CompleteJob(IsStepJob(), _));
  }

  actions_.CancelAppointment(Caller(), kOrderId, CancelBody(), &key.checkpoint);

  EXPECT_EQ(key.saved.size(), 1u);
}

TEST_F(AppointmentCancelTest, ReasonsAreJunctionsKeptForAnHour) {
  EXPECT_CALL(junction_, ListCancellationReasons()).Times(2).WillRepeatedly(Return(Reasons()));

  json first = actions_.CancellationReasons();
  clock_.Advance(59min);
  EXPECT_EQ(actions_.CancellationReasons(), first);
  clock_.Advance(1min);
  actions_.CancellationReasons();

  EXPECT_EQ(first, (json{{"reasons",
                          {{{"id", kReasonId},
                            {"name", "Patient requested cancellation"},
                            {"is_refundable", true}},
                           {{"id", "0b1cbd44-7c2b-4b1e-9c55-4a0f3e2d1a03"},
                            {"name", "Patient was not available"},
                            {"is_refundable", false}}}}}));
}

TEST_F(AppointmentCancelTest, ReasonsJunctionCannotGiveAreA502AndAreAskedAgainNextTime) {
  EXPECT_CALL(junction_, ListCancellationReasons())
      .WillOnce(Return(Failure(junction::Outcome::kServerError, "cancellation_reasons", 503)))
      .WillOnce(Return(Reasons()));

  EXPECT_EQ(ErrorFrom([&] { actions_.CancellationReasons(); }).code(),
            ErrorCode::kJunctionUpstreamError);
  EXPECT_EQ(actions_.CancellationReasons()["reasons"].size(), 2u);
}

}  // namespace
}  // namespace lab_orders::workflow
