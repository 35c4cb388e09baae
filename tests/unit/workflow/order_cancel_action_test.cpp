// OrderActions::Cancel (POST /v1/labs/orders/{id}/cancel) against a mocked store and a mocked
// Junction: the order cancelled at Junction once, its appointment marked as the brand's doing,
// a refusal told apart from an earlier cancel whose answer was lost. On the fixture of
// order_actions_fixture.h.

#include "unit/workflow/order_actions_fixture.h"

namespace lab_orders::workflow {
namespace {

class OrderCancelActionTest : public OrderActionsTest {};

// ---- cancel ------------------------------------------------------------------------------------

TEST_F(OrderCancelActionTest, CancelCancelsAtJunctionAndEndsTheWorkflow) {
  junction::OrderResponse response;
  response.order.id = kJunctionOrderId;
  response.order.status = kCancelled;
  response.order.events = {{1, FormatRfc3339(kT0 - 1h), kOrdered},
                           {2, FormatRfc3339(kT0 - 1h), kRequisitionCreated},
                           {3, FormatRfc3339(kT0), kCancelled}};
  JobOutcome committed;
  model::LabOrder marked;
  {
    InSequence in_order;
    ExpectHeld(ScheduledOrder(true, 6), ScheduledOrder(true, 7), store::kJobReconcile);
    // Its appointment goes with it, marked first as the brand's doing: Junction's webhook of it,
    // applied before the answer is committed, is not the provider's cancellation.
    EXPECT_CALL(store_, CheckpointOrder(IsStepJob(), _, 7)).WillOnce(SaveArg<1>(&marked));
    EXPECT_CALL(junction_, CancelOrder(kJunctionOrderId)).WillOnce(Return(response));
    EXPECT_CALL(store_, CompleteJob(IsStepJob(), _)).WillOnce(SaveArg<1>(&committed));
  }

  json shown = actions_.Cancel(Caller(), kOrderId);

  EXPECT_EQ(marked.workflow.appointment_cancel_sent_at, FormatRfc3339(kT0));
  EXPECT_TRUE(committed.done);
  EXPECT_TRUE(committed.enqueue.empty()) << "no step follows a cancelled order";
  EXPECT_EQ(committed.expected_order_version, 8) << "the order as checkpointed while held";
  ASSERT_TRUE(committed.order_update.has_value());
  const model::LabOrder& update = *committed.order_update;
  EXPECT_EQ(update.status, "cancelled");
  EXPECT_EQ(update.updated_at, FormatRfc3339(kT0));
  EXPECT_EQ(update.workflow.junction_status, kCancelled);
  EXPECT_EQ(update.workflow.junction_event_id, 3);
  ASSERT_TRUE(update.workflow.appointment.has_value());
  EXPECT_EQ(update.workflow.appointment->status, "cancelled");
  EXPECT_FALSE(update.workflow.appointment->can_reschedule);
  EXPECT_EQ(update.workflow.provider_cancellations, 0) << "our own cancellation";
  EXPECT_EQ(update.workflow.appointment_cancelled_by, "brand");
  EXPECT_EQ(update.workflow.appointment_cancel_sent_at, std::nullopt);

  EXPECT_EQ(shown["status"], "cancelled");
  EXPECT_EQ(shown["appointment"]["status"], "cancelled");
  EXPECT_EQ(shown["appointment"]["cancelled_by"], "brand");
  EXPECT_EQ(wakes_, 1);
}

TEST_F(OrderCancelActionTest, ActionsOnAnOrderWhoseWorkflowHasEndedAreRefused) {
  // Read before the claim by each, and again by the cancel once the claim finds no step.
  EXPECT_CALL(store_, GetOrderById(kOrderId)).Times(3).WillRepeatedly(Return(ReadyOrder()));
  EXPECT_CALL(store_, ClaimOrderStep(kOrderId, kT0, kT0 + 60s, StartsWith("api-"), NotNull()))
      .Times(2)
      .WillRepeatedly(Return(OrderJobClaim::kNone));
  // Nothing was claimed, so nothing is released; Junction is not called (strict mocks).

  AppError book = ErrorFrom([&] { actions_.Book(Caller(), kOrderId, BookBody("k-1")); });
  AppError cancel = ErrorFrom([&] { actions_.Cancel(Caller(), kOrderId); });

  EXPECT_EQ(book.code(), ErrorCode::kOrderNotBookable);
  EXPECT_EQ(std::string(book.what()), "The order's workflow has ended.");
  EXPECT_EQ(cancel.code(), ErrorCode::kOrderNotCancellable);
  EXPECT_EQ(std::string(cancel.what()), "The order can no longer be cancelled.");
}

// A cancel retried after its answer was lost finds the order cancelled: it answers the order,
// claims nothing and asks Junction nothing (strict mocks).
TEST_F(OrderCancelActionTest, CancellingACancelledOrderAnswersTheOrder) {
  model::LabOrder cancelled = ReadyOrder();
  cancelled.status = "cancelled";
  EXPECT_CALL(store_, GetOrderById(kOrderId)).WillOnce(Return(cancelled));
  json shown = actions_.Cancel(Caller(), kOrderId);
  EXPECT_EQ(shown["id"], kOrderId);
  EXPECT_EQ(shown["status"], "cancelled");
}

// Two cancels at once: the second finds the workflow ended by the first, and answers the order.
TEST_F(OrderCancelActionTest, ACancelThatLosesTheRaceToAnotherAnswersTheCancelledOrder) {
  model::LabOrder cancelled = ReadyOrder();
  cancelled.status = "cancelled";
  EXPECT_CALL(store_, GetOrderById(kOrderId))
      .WillOnce(Return(ReadyOrder()))
      .WillOnce(Return(cancelled));
  EXPECT_CALL(store_, ClaimOrderStep(kOrderId, kT0, kT0 + 60s, StartsWith("api-"), NotNull()))
      .WillOnce(Return(OrderJobClaim::kNone));
  EXPECT_EQ(actions_.Cancel(Caller(), kOrderId)["status"], "cancelled");
}

TEST_F(OrderCancelActionTest, CancelRefusedByJunctionIsNotCancellableAndReleasesTheJob) {
  junction::Order completed;
  completed.id = kJunctionOrderId;
  completed.status = "completed.completed";
  completed.low_level_status = "completed";
  for (junction::Outcome outcome : {junction::Outcome::kRejected, junction::Outcome::kConflict}) {
    ExpectHeld(ReadyOrder(), ReadyOrder(), store::kJobBookAppointment, StartsWith("api-"));
    EXPECT_CALL(junction_, CancelOrder(kJunctionOrderId))
        .WillOnce(Return(Failure(outcome, "cancel_order", 400)));
    EXPECT_CALL(junction_, GetOrder(kJunctionOrderId)).WillOnce(Return(completed));
    EXPECT_CALL(store_, ReleaseJob(IsStepJob()));

    AppError error = ErrorFrom([&] { actions_.Cancel(Caller(), kOrderId); });

    EXPECT_EQ(error.code(), ErrorCode::kOrderNotCancellable) << junction::OutcomeName(outcome);
    EXPECT_EQ(error.log_detail(), kUpstreamSummary);
    EXPECT_THAT(error.what(), Not(HasSubstr(kUpstreamSummary)));
    ::testing::Mock::VerifyAndClearExpectations(&store_);
    ::testing::Mock::VerifyAndClearExpectations(&junction_);
  }
  EXPECT_EQ(wakes_, 0);
}

// A retry of a cancel whose commit (or answer) was lost: Junction refuses to cancel again, and
// shows the order cancelled. That is the cancel: committed and answered, not a 409.
TEST_F(OrderCancelActionTest, CancelRefusedByJunctionThatHadCancelledItAlreadyIsTheCancel) {
  junction::Order cancelled_there;
  cancelled_there.id = kJunctionOrderId;
  cancelled_there.status = kCancelled;
  cancelled_there.low_level_status = "cancelled";
  cancelled_there.events = {{1, FormatRfc3339(kT0 - 1h), kOrdered},
                            {2, FormatRfc3339(kT0 - 1h), kRequisitionCreated},
                            {3, FormatRfc3339(kT0), kCancelled}};
  JobOutcome committed;
  {
    InSequence in_order;
    ExpectHeld(ScheduledOrder(true, 6), ScheduledOrder(true, 7), store::kJobReconcile);
    EXPECT_CALL(store_, CheckpointOrder(IsStepJob(), _, 7));
    EXPECT_CALL(junction_, CancelOrder(kJunctionOrderId))
        .WillOnce(Return(Failure(junction::Outcome::kRejected, "cancel_order", 400)));
    EXPECT_CALL(junction_, GetOrder(kJunctionOrderId)).WillOnce(Return(cancelled_there));
    EXPECT_CALL(store_, CompleteJob(IsStepJob(), _)).WillOnce(SaveArg<1>(&committed));
  }

  json shown = actions_.Cancel(Caller(), kOrderId);

  EXPECT_EQ(shown["status"], "cancelled");
  EXPECT_TRUE(committed.done);
  ASSERT_TRUE(committed.order_update.has_value());
  EXPECT_EQ(committed.order_update->status, "cancelled");
  EXPECT_EQ(committed.order_update->workflow.junction_event_id, 3);
  EXPECT_EQ(committed.order_update->workflow.appointment->status, "cancelled");
}

// Junction refuses the cancel and cannot be asked why: a 502 to retry, never a final 409 for an
// order Junction may have cancelled. Under a key the call is recorded before it is made.
TEST_F(OrderCancelActionTest, CancelRefusedThenUnreadableIsA502AndIsRecordedOnItsKeyFirst) {
  KeyCheckpoint key;
  {
    InSequence in_order;
    ExpectHeld(ScheduledOrder(true), ScheduledOrder(true), store::kJobReconcile);
    EXPECT_CALL(store_, CheckpointOrder(IsStepJob(), _, 6));
    EXPECT_CALL(junction_, CancelOrder(kJunctionOrderId)).WillOnce([&](const std::string&) {
      EXPECT_EQ(key.saved, std::vector<std::string>{R"({"cancel_sent":true})"});
      return Failure(junction::Outcome::kRejected, "cancel_order", 400);
    });
    EXPECT_CALL(junction_, GetOrder(kJunctionOrderId))
        .WillOnce(Return(Failure(junction::Outcome::kTimeout, "get_order", 0)));
    EXPECT_CALL(store_, ReleaseJob(IsStepJob()));
  }
  AppError error = ErrorFrom([&] { actions_.Cancel(Caller(), kOrderId, &key.checkpoint); });
  EXPECT_EQ(error.code(), ErrorCode::kJunctionTimeout);
}

TEST_F(OrderCancelActionTest, CancelJunctionFailureIsA502AndReleasesTheJob) {
  struct Case {
    junction::Outcome outcome;
    int http_status;
    ErrorCode expected;
  };
  const Case cases[] = {
      {junction::Outcome::kTimeout, 0, ErrorCode::kJunctionTimeout},
      {junction::Outcome::kConnectionFailed, 0, ErrorCode::kJunctionUnavailable},
      {junction::Outcome::kServerError, 502, ErrorCode::kJunctionUpstreamError},
      // Junction not knowing the order is not the client's to fix: a 502 as well.
      {junction::Outcome::kNotFound, 404, ErrorCode::kJunctionUpstreamError},
  };
  for (const Case& c : cases) {
    ExpectHeld(ReadyOrder(), ReadyOrder(), store::kJobBookAppointment, StartsWith("api-"));
    EXPECT_CALL(junction_, CancelOrder(kJunctionOrderId))
        .WillOnce(Return(Failure(c.outcome, "cancel_order", c.http_status)));
    EXPECT_CALL(store_, ReleaseJob(IsStepJob()));

    AppError error = ErrorFrom([&] { actions_.Cancel(Caller(), kOrderId); });

    EXPECT_EQ(error.code(), c.expected) << junction::OutcomeName(c.outcome);
    EXPECT_THAT(error.what(), EndsWith("retry."));
    EXPECT_THAT(error.what(), Not(HasSubstr(kUpstreamSummary)));
    ::testing::Mock::VerifyAndClearExpectations(&store_);
    ::testing::Mock::VerifyAndClearExpectations(&junction_);
  }
  EXPECT_EQ(wakes_, 0);
}

TEST_F(OrderCancelActionTest, CancelCommitAfterAVersionConflictIsRedoneOnTheFreshOrder) {
  junction::OrderResponse response;
  response.order.id = kJunctionOrderId;
  response.order.status = kCancelled;
  response.order.events = {{3, FormatRfc3339(kT0), kCancelled}};
  // A webhook confirmed a booking while Junction was being called.
  model::LabOrder fresh = ReadyOrder(5);
  fresh.workflow.appointment = View("appt-7", "confirmed", true, 1);
  JobOutcome second;
  {
    InSequence in_order;
    ExpectHeld(ReadyOrder(4), ReadyOrder(4), store::kJobAwaitRequisition);
    EXPECT_CALL(junction_, CancelOrder(kJunctionOrderId)).WillOnce(Return(response));
    EXPECT_CALL(store_, CompleteJob(IsStepJob(), Field(&JobOutcome::expected_order_version, 4)))
        .WillOnce(Throw(store::VersionConflict("order-1 is at version 5")));
    EXPECT_CALL(store_, GetOrderById(kOrderId)).WillOnce(Return(fresh));
    EXPECT_CALL(store_, CompleteJob(IsStepJob(), _)).WillOnce(SaveArg<1>(&second));
  }

  json shown = actions_.Cancel(Caller(), kOrderId);

  EXPECT_EQ(second.expected_order_version, 5);
  ASSERT_TRUE(second.order_update.has_value());
  EXPECT_EQ(second.order_update->status, "cancelled");
  ASSERT_TRUE(second.order_update->workflow.appointment.has_value());
  EXPECT_EQ(second.order_update->workflow.appointment->id, "appt-7");
  EXPECT_EQ(second.order_update->workflow.appointment->status, "cancelled");
  EXPECT_EQ(shown["appointment"]["id"], "appt-7");
}

// Each conflict is another writer (a burst of Junction webhooks) moving the order on: the commit
// is redone on the fresh order up to eight times, then the order is busy (409, retry).
TEST_F(OrderCancelActionTest, CancelGivesUpAfterEightVersionConflictsAsBusyAndReleasesTheJob) {
  junction::OrderResponse response;
  response.order.id = kJunctionOrderId;
  response.order.status = kCancelled;
  {
    InSequence in_order;
    ExpectHeld(ReadyOrder(4), ReadyOrder(4), store::kJobAwaitRequisition);
    EXPECT_CALL(junction_, CancelOrder(kJunctionOrderId)).WillOnce(Return(response));
    for (int attempt = 1; attempt <= 8; ++attempt) {
      EXPECT_CALL(store_, CompleteJob(IsStepJob(), _))
          .WillOnce(Throw(store::VersionConflict("moved on")));
      if (attempt < 8) {
        EXPECT_CALL(store_, GetOrderById(kOrderId)).WillOnce(Return(ReadyOrder(4 + attempt)));
      }
    }
    // Junction has cancelled the order, but nothing committed here: the job goes back.
    EXPECT_CALL(store_, ReleaseJob(IsStepJob()));
  }

  try {
    actions_.Cancel(Caller(), kOrderId);
    ADD_FAILURE() << "no error";
  } catch (const AppError& error) {
    EXPECT_EQ(error.code(), ErrorCode::kOrderBusy);
    EXPECT_EQ(error.retry_after_seconds, 1);
  }
  EXPECT_EQ(wakes_, 0);
}

TEST_F(OrderCancelActionTest, CancelWaitsForAWorkerThatCommitsThenProceeds) {
  junction::OrderResponse response;
  response.order.id = kJunctionOrderId;
  response.order.status = kCancelled;
  EXPECT_CALL(store_, GetOrderById(kOrderId)).Times(2).WillRepeatedly(Return(ReadyOrder()));
  EXPECT_CALL(store_, ClaimOrderStep(kOrderId, kT0, kT0 + 60s, kOwner, NotNull()))
      .WillOnce(DoAll(InvokeWithoutArgs([&] { changes_.Notify(); }),  // the worker commits
                      Return(OrderJobClaim::kBusy)))
      .WillOnce(DoAll(SetArgPointee<4>(StepJob(store::kJobBookAppointment)),
                      Return(OrderJobClaim::kClaimed)));
  EXPECT_CALL(junction_, CancelOrder(kJunctionOrderId)).WillOnce(Return(response));
  EXPECT_CALL(store_, CompleteJob(IsStepJob(), _));

  auto started = std::chrono::steady_clock::now();
  EXPECT_EQ(actions_.Cancel(Caller(), kOrderId)["status"], "cancelled");
  EXPECT_LT(std::chrono::steady_clock::now() - started, 900ms) << "woken by the change";
}

// Slow (about 3 s): the action waits that long for a worker's run before answering busy.
TEST_F(OrderCancelActionTest, CancelWhileAWorkerHoldsTheStepJobIsOrderBusy) {
  EXPECT_CALL(store_, GetOrderById(kOrderId)).WillOnce(Return(ReadyOrder()));
  EXPECT_CALL(store_, ClaimOrderStep(kOrderId, kT0, kT0 + 60s, kOwner, NotNull()))
      .Times(AtLeast(2))
      .WillRepeatedly(Return(OrderJobClaim::kBusy));
  // Not held, so not released; Junction is never called (strict mocks).

  AppError error = ErrorFrom([&] { actions_.Cancel(Caller(), kOrderId); });

  EXPECT_EQ(error.code(), ErrorCode::kOrderBusy);
  EXPECT_EQ(error.retry_after_seconds, 1);
  EXPECT_EQ(wakes_, 0);
}

}  // namespace
}  // namespace lab_orders::workflow
