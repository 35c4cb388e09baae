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

TEST_F(AppointmentCancelTest, JunctionsWebhookAppliedFirstIsStillTheBrandsCancellation) {
  // The webhook of the cancellation landed after the mark's deadline (a slow answer): counted as
  // the provider's then; the brand's answer puts it right.
  model::LabOrder counted = ScheduledOrder(true, 7);
  counted.status = "appointment_cancelled";
  counted.workflow.appointment = View("appt-1", "cancelled", false, 3);
  counted.workflow.appointment_cancelled_by = "junction";
  counted.workflow.provider_cancellations = 1;
  ExpectReasons();
  JobOutcome committed;
  {
    InSequence in_order;
    ExpectHeld(ScheduledOrder(true, 5), ScheduledOrder(true, 5), store::kJobReconcile);
    EXPECT_CALL(store_, CheckpointOrder(IsStepJob(), _, 5));
    EXPECT_CALL(junction_, CancelAppointment(kJunctionOrderId, _))
        .WillOnce(Return(JunctionAppointment("appt-1", "cancelled", kT0 + 24h, 3)));
    EXPECT_CALL(store_, CompleteJob(IsStepJob(), _)).WillOnce(Throw(store::VersionConflict("x")));
    EXPECT_CALL(store_, GetOrderById(kOrderId)).WillOnce(Return(counted));
    EXPECT_CALL(store_, CompleteJob(IsStepJob(), _)).WillOnce(SaveArg<1>(&committed));
  }

  actions_.CancelAppointment(Caller(), kOrderId, CancelBody());

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
