// OrderActions (an order's availability, booking, rescheduling and cancelling through the API)
// against a mocked store and a mocked Junction: the checks made before and after holding the
// order's step job, what is committed, when the job is given back, and how Junction's failures
// reach the client. Cancelling the order is in order_cancel_action_test.cpp.

#include "unit/workflow/order_actions_fixture.h"

namespace lab_orders::workflow {
namespace {

// ---- every action ------------------------------------------------------------------------------

TEST_F(OrderActionsTest, UnknownOrderIsNotFoundForEveryAction) {
  // Read with the caller's brand: another brand's order is not found either.
  EXPECT_CALL(store_, GetOrderById(kOrderId)).Times(3).WillRepeatedly(Return(std::nullopt));

  EXPECT_EQ(ErrorFrom([&] { actions_.Availability(Caller(), kOrderId); }).code(),
            ErrorCode::kNotFound);
  EXPECT_EQ(ErrorFrom([&] { actions_.Book(Caller(), kOrderId, BookBody("k-1")); }).code(),
            ErrorCode::kNotFound);
  EXPECT_EQ(ErrorFrom([&] { actions_.Cancel(Caller(), kOrderId); }).code(), ErrorCode::kNotFound);
}

// ---- availability ------------------------------------------------------------------------------

TEST_F(OrderActionsTest, AvailabilityListsBookableSlotsEarliestFirst) {
  junction::Availability availability;
  availability.timezone = "America/Phoenix";
  junction::TimeSlot priority = Slot("k-early", kT0 + 26h, 2);
  priority.price = 25.5;
  priority.is_priority = true;
  priority.expires_at.reset();
  availability.days = {
      {"2025-06-17", {Slot("k-late", kT0 + 50h)}, std::nullopt},
      {"2025-06-15",
       {Slot(std::nullopt, kT0 + 3h),  // no booking_key: not bookable
        Slot("k-full", kT0 + 4h, 0),   // nothing left
        Slot("k-soon", kT0 + 30min)},  // within the workflow's booking lead: still listed
       std::nullopt},
      {"2025-06-16", {priority}, std::nullopt},
  };
  EXPECT_CALL(store_, GetOrderById(kOrderId)).WillOnce(Return(ReadyOrder()));
  EXPECT_CALL(junction_, GetAvailability(AllOf(Field(&junction::USAddress::first_line, "1 Main St"),
                                               Field(&junction::USAddress::zip_code, "97405"),
                                               Field(&junction::USAddress::state, "OR")),
                                         std::optional<std::string>()))
      .WillOnce(Return(availability));
  // No ClaimOrderStep: looking holds nothing (strict mock).

  json answer = actions_.Availability(Caller(), kOrderId);

  EXPECT_EQ(answer["order_id"], kOrderId);
  EXPECT_EQ(answer["timezone"], "America/Phoenix");
  std::vector<std::string> keys;
  for (const json& slot : answer["slots"]) keys.push_back(slot["booking_key"].get<std::string>());
  EXPECT_EQ(keys, (std::vector<std::string>{"k-soon", "k-early", "k-late"}));
  EXPECT_EQ(answer["slots"][1], (json{{"booking_key", "k-early"},
                                      {"start_at", FormatRfc3339(kT0 + 26h)},
                                      {"end_at", FormatRfc3339(kT0 + 27h)},
                                      {"expires_at", nullptr},
                                      {"price", 25.5},
                                      {"is_priority", true}}));
  EXPECT_EQ(answer["slots"][2]["expires_at"], FormatRfc3339(kT0 + 50h - 30min));
}

TEST_F(OrderActionsTest, AvailabilityIsAskedEvenBeforeTheJunctionOrderExists) {
  model::LabOrder placing = ReadyOrder();
  placing.status = "received";
  placing.junction_order_id.reset();
  placing.workflow = {};
  junction::Availability none;
  EXPECT_CALL(store_, GetOrderById(kOrderId)).WillOnce(Return(placing));
  EXPECT_CALL(junction_, GetAvailability(_, _)).WillOnce(Return(none));

  json answer = actions_.Availability(Caller(), kOrderId);

  EXPECT_EQ(answer["timezone"], nullptr);
  EXPECT_EQ(answer["slots"], json::array());
}

TEST_F(OrderActionsTest, AvailabilityOfAFinishedOrderIsNotBookable) {
  for (const char* status : {"cancelled", "completed", "failed"}) {
    model::LabOrder order = ReadyOrder();
    order.status = status;
    EXPECT_CALL(store_, GetOrderById(kOrderId)).WillOnce(Return(order));
    AppError error = ErrorFrom([&] { actions_.Availability(Caller(), kOrderId); });
    EXPECT_EQ(error.code(), ErrorCode::kOrderNotBookable) << status;
    EXPECT_EQ(std::string(error.what()), std::string("The order is ") + status + ".");
  }
}

// A test kit comes by mail: no appointment is listed or booked (strict mocks: no Junction call,
// no claim).
TEST_F(OrderActionsTest, ATestkitOrderGetsNoAppointment) {
  model::LabOrder order = ReadyOrder();
  order.workflow.collection_method = model::kTestkit;
  EXPECT_CALL(store_, GetOrderById(kOrderId)).Times(2).WillRepeatedly(Return(order));
  AppError listed = ErrorFrom([&] { actions_.Availability(Caller(), kOrderId); });
  EXPECT_EQ(listed.code(), ErrorCode::kOrderNotBookable);
  EXPECT_THAT(listed.what(), HasSubstr("testkit"));
  AppError booked = ErrorFrom([&] { actions_.Book(Caller(), kOrderId, BookBody("k-1")); });
  EXPECT_EQ(booked.code(), ErrorCode::kOrderNotBookable);
}

TEST_F(OrderActionsTest, AvailabilityJunctionFailureIsA502WithItsRetryAfter) {
  EXPECT_CALL(store_, GetOrderById(kOrderId)).WillOnce(Return(ReadyOrder()));
  EXPECT_CALL(junction_, GetAvailability(_, _))
      .WillOnce(Return(Failure(junction::Outcome::kRateLimited, "get_availability", 429, 7)));

  AppError error = ErrorFrom([&] { actions_.Availability(Caller(), kOrderId); });

  EXPECT_EQ(error.code(), ErrorCode::kJunctionUnavailable);
  EXPECT_EQ(error.retry_after_seconds, 7);
  EXPECT_THAT(error.what(), EndsWith("retry."));
  EXPECT_THAT(error.what(), Not(HasSubstr(kUpstreamSummary)));
}

// ---- book --------------------------------------------------------------------------------------

TEST_F(OrderActionsTest, BookWithoutAUsableBookingKeyIsAValidationError) {
  const json bodies[] = {json::object(),
                         {{"booking_key", 5}},
                         {{"booking_key", ""}},
                         {{"booking_key", std::string(513, 'k')}},
                         {{"booking_key", nullptr}},
                         json::array({"k-1"}),
                         "k-1"};
  for (const json& body : bodies) {
    // Refused before the order is read (strict mocks).
    AppError error = ErrorFrom([&] { actions_.Book(Caller(), kOrderId, body); });
    EXPECT_EQ(error.code(), ErrorCode::kValidationError) << body.dump().substr(0, 40);
    ASSERT_EQ(error.details().size(), 1u);
    EXPECT_EQ(error.details()[0].path, "/booking_key");
  }
}

TEST_F(OrderActionsTest, BookRecordsTheBookingBeforeCallingJunctionThenCommitsTheAppointment) {
  model::LabOrder checkpointed;
  junction::BookingRequest sent;
  JobOutcome committed;
  {
    InSequence in_order;
    ExpectHeld(ReadyOrder(4), ReadyOrder(5), store::kJobBookAppointment);
    EXPECT_CALL(store_, CheckpointOrder(IsStepJob(), _, 5)).WillOnce(SaveArg<1>(&checkpointed));
    EXPECT_CALL(junction_, BookAppointment(kJunctionOrderId, _))
        .WillOnce(DoAll(SaveArg<1>(&sent),
                        Return(JunctionAppointment("appt-1", "pending", kT0 + 24h, 1))));
    EXPECT_CALL(store_, CompleteJob(IsStepJob(), _)).WillOnce(SaveArg<1>(&committed));
  }

  json shown = actions_.Book(Caller(), kOrderId, BookBody("k-1"));

  // A lost answer must be looked up, never resent: the booking is on record before the call,
  // with when it went out.
  EXPECT_TRUE(checkpointed.workflow.booking_sent);
  EXPECT_EQ(checkpointed.workflow.booking_sent_at, FormatRfc3339(kT0));
  EXPECT_EQ(sent.booking_key, "k-1");
  EXPECT_TRUE(sent.async_confirmation);
  EXPECT_EQ(sent.sync_confirmation_timeout_ms, 3000);
  EXPECT_EQ(sent.async_confirmation_timeout_ms, 600000);

  EXPECT_TRUE(committed.done);
  EXPECT_EQ(committed.expected_order_version, 6) << "the version after the checkpoint";
  ASSERT_TRUE(committed.order_update.has_value());
  EXPECT_EQ(committed.order_update->status, "appointment_pending");
  EXPECT_FALSE(committed.order_update->workflow.booking_sent);
  ASSERT_TRUE(committed.order_update->workflow.appointment.has_value());
  EXPECT_EQ(committed.order_update->workflow.appointment->id, "appt-1");
  EXPECT_EQ(committed.order_update->updated_at, FormatRfc3339(kT0));
  // The workflow goes on to await the provider's confirmation, after its first wait.
  ASSERT_EQ(committed.enqueue.size(), 1u);
  EXPECT_EQ(committed.enqueue[0].kind, store::kJobAwaitConfirmation);
  EXPECT_EQ(committed.enqueue[0].id, kSecondUuid);
  EXPECT_EQ(committed.enqueue[0].order_id, kOrderId);
  EXPECT_EQ(committed.enqueue[0].due_at, kT0 + 100ms);

  EXPECT_EQ(shown["status"], "appointment_pending");
  EXPECT_EQ(shown["appointment"]["id"], "appt-1");
  EXPECT_EQ(shown["appointment"]["status"], "pending");
  EXPECT_EQ(shown["appointment"]["booked_by"], "brand");
  EXPECT_EQ(shown["appointment"]["site_address"], nullptr);  // a home visit's is the patient's
  EXPECT_EQ(wakes_, 1);
}

TEST_F(OrderActionsTest, BookReschedulesAnActiveAppointmentMarkedAsTheBrandsMoveFirst) {
  JobOutcome committed;
  model::LabOrder checkpointed;
  {
    InSequence in_order;
    ExpectHeld(ScheduledOrder(true, 5), ScheduledOrder(true, 5), store::kJobReconcile);
    // Recorded before the call: Junction's webhook of the move, applied before the answer is
    // committed, says the brand moved it. No BookAppointment (strict mocks).
    EXPECT_CALL(store_, CheckpointOrder(IsStepJob(), _, 5)).WillOnce(SaveArg<1>(&checkpointed));
    EXPECT_CALL(junction_,
                RescheduleAppointment(kJunctionOrderId,
                                      Field(&junction::RescheduleRequest::booking_key, "k-2")))
        .WillOnce(Return(JunctionAppointment("appt-1", "confirmed", kT0 + 48h, 2)));
    EXPECT_CALL(store_, CompleteJob(IsStepJob(), _)).WillOnce(SaveArg<1>(&committed));
  }

  json shown = actions_.Book(Caller(), kOrderId, BookBody("k-2"));

  EXPECT_EQ(checkpointed.workflow.reschedule_sent_at, FormatRfc3339(kT0));
  EXPECT_FALSE(checkpointed.workflow.booking_sent);
  EXPECT_EQ(shown["appointment"]["id"], "appt-1");
  EXPECT_EQ(shown["appointment"]["start_at"], FormatRfc3339(kT0 + 48h));
  EXPECT_EQ(shown["status"], "appointment_scheduled");
  EXPECT_EQ(committed.expected_order_version, 6) << "the version after the checkpoint";
  ASSERT_TRUE(committed.order_update.has_value());
  EXPECT_EQ(committed.order_update->workflow.reschedule_sent_at, std::nullopt);
  EXPECT_EQ(committed.order_update->workflow.rescheduled_by, "brand");
  EXPECT_EQ(committed.order_update->workflow.appointment->start_at, FormatRfc3339(kT0 + 48h));
  EXPECT_TRUE(committed.order_update->workflow.past_appointment_ids.empty());
  // Still confirmed: the reconcile step stays, next due after the reconcile interval.
  EXPECT_FALSE(committed.done);
  EXPECT_EQ(committed.retry_at, kT0 + 6h);
  EXPECT_EQ(committed.attempts, 0);
  EXPECT_EQ(committed.last_error, std::nullopt);
  EXPECT_TRUE(committed.enqueue.empty());
  EXPECT_EQ(wakes_, 1);
}

TEST_F(OrderActionsTest, BookUnderAKeyRecordsItsAttemptBeforeTheCallAndWhatItMadeAfter) {
  KeyCheckpoint key;
  {
    InSequence in_order;
    ExpectHeld(ScheduledOrder(true), ScheduledOrder(true), store::kJobReconcile);
    EXPECT_CALL(store_, CheckpointOrder(IsStepJob(), _, 6));
    EXPECT_CALL(junction_, RescheduleAppointment(kJunctionOrderId, _))
        .WillOnce([&](const std::string&, const junction::RescheduleRequest&) {
          EXPECT_EQ(key.saved.size(), 1u) << "recorded before the call";
          return JunctionAppointment("appt-1", "confirmed", kT0 + 48h, 3);
        });
    EXPECT_CALL(store_, CompleteJob(IsStepJob(), _));
  }
  actions_.Book(Caller(), kOrderId, BookBody("k-2"), &key.checkpoint);
  ASSERT_EQ(key.saved.size(), 2u);
  const json before = json::parse(key.saved[0]);
  ASSERT_TRUE(before["attempt"].is_string());
  EXPECT_EQ(json::parse(key.saved[1]), (json{{"attempt", before["attempt"]},
                                             {"made_id", "appt-1"},
                                             {"made_start_at", FormatRfc3339(kT0 + 48h)}}));
  ::testing::Mock::VerifyAndClearExpectations(&store_);
  ::testing::Mock::VerifyAndClearExpectations(&junction_);

  KeyCheckpoint first_booking;
  model::LabOrder checkpointed;
  {
    InSequence in_order;
    ExpectHeld(ReadyOrder(4), ReadyOrder(5), store::kJobBookAppointment, StartsWith("api-"));
    EXPECT_CALL(store_, CheckpointOrder(IsStepJob(), _, 5)).WillOnce(SaveArg<1>(&checkpointed));
    EXPECT_CALL(junction_, BookAppointment(kJunctionOrderId, _))
        .WillOnce(Return(JunctionAppointment("appt-1", "pending", kT0 + 24h, 1)));
    EXPECT_CALL(store_, CompleteJob(IsStepJob(), _));
  }
  actions_.Book(Caller(), kOrderId, BookBody("k-1"), &first_booking.checkpoint);
  ASSERT_EQ(first_booking.saved.size(), 2u);
  const std::string attempt = json::parse(first_booking.saved[0])["attempt"];
  // The order names the request whose call it is, so the workflow's lookup can say it adopted it.
  EXPECT_EQ(checkpointed.workflow.booking_sent_by, attempt);
  EXPECT_EQ(checkpointed.workflow.booking_sent_for, "brand");
  EXPECT_EQ(json::parse(first_booking.saved[1])["made_id"], "appt-1");
}

// Junction answered the attempt before (its appointment is on the key), and its commit may be
// lost: the resumed attempt sends nothing again (strict mocks), and commits what Junction shows
// when the order does not show it yet.
TEST_F(OrderActionsTest, BookResumedAfterJunctionAnsweredSendsNothingAgain) {
  KeyCheckpoint shown(
      json{{"attempt", "a-1"}, {"made_id", "appt-1"}, {"made_start_at", FormatRfc3339(kT0 + 24h)}}
          .dump());
  ExpectHeld(ScheduledOrder(true), ScheduledOrder(true), store::kJobReconcile);
  EXPECT_CALL(store_, ReleaseJob(IsStepJob()));
  json answer = actions_.Book(Caller(), kOrderId, BookBody("k-1"), &shown.checkpoint);
  EXPECT_EQ(answer["appointment"]["id"], "appt-1");
  EXPECT_TRUE(shown.saved.empty());
  ::testing::Mock::VerifyAndClearExpectations(&store_);

  KeyCheckpoint moved(
      json{{"attempt", "a-2"}, {"made_id", "appt-1"}, {"made_start_at", FormatRfc3339(kT0 + 48h)}}
          .dump());
  JobOutcome committed;
  {
    InSequence in_order;
    ExpectHeld(ScheduledOrder(true), ScheduledOrder(true), store::kJobReconcile,
               StartsWith("api-"));
    EXPECT_CALL(junction_, GetAppointment(kJunctionOrderId))
        .WillOnce(Return(JunctionAppointment("appt-1", "confirmed", kT0 + 48h, 3)));
    EXPECT_CALL(store_, CompleteJob(IsStepJob(), _)).WillOnce(SaveArg<1>(&committed));
  }
  json shown_moved = actions_.Book(Caller(), kOrderId, BookBody("k-2"), &moved.checkpoint);
  EXPECT_EQ(shown_moved["appointment"]["start_at"], FormatRfc3339(kT0 + 48h));
  ASSERT_TRUE(committed.order_update.has_value());
  EXPECT_EQ(committed.order_update->workflow.appointment->start_at, FormatRfc3339(kT0 + 48h));
}

// The attempt before got no answer. If the workflow found its booking made at Junction and
// adopted it, the resumed attempt answers with the order; if the workflow booked a slot of its own
// meanwhile (the attempt's call made nothing), the request does what it asks now: it moves the
// appointment to its slot, rather than calling the workflow's booking its own.
TEST_F(OrderActionsTest, BookResumedWithoutAnAnswerTrustsOnlyABookingAdoptedForIt) {
  model::LabOrder adopted = ScheduledOrder(true);
  adopted.workflow.lost_booking_adopted_for = "a-1";
  KeyCheckpoint ours(json{{"attempt", "a-1"}}.dump());
  ExpectHeld(adopted, adopted, store::kJobReconcile);
  EXPECT_CALL(store_, ReleaseJob(IsStepJob()));
  EXPECT_EQ(
      actions_.Book(Caller(), kOrderId, BookBody("k-1"), &ours.checkpoint)["appointment"]["id"],
      "appt-1");
  ::testing::Mock::VerifyAndClearExpectations(&store_);

  KeyCheckpoint theirs(json{{"attempt", "a-2"}}.dump());
  {
    InSequence in_order;
    ExpectHeld(adopted, adopted, store::kJobReconcile, StartsWith("api-"));
    EXPECT_CALL(store_, CheckpointOrder(IsStepJob(), _, 6));
    EXPECT_CALL(junction_,
                RescheduleAppointment(kJunctionOrderId,
                                      Field(&junction::RescheduleRequest::booking_key, "k-1")))
        .WillOnce(Return(JunctionAppointment("appt-1", "confirmed", kT0 + 48h, 3)));
    EXPECT_CALL(store_, CompleteJob(IsStepJob(), _));
  }
  actions_.Book(Caller(), kOrderId, BookBody("k-1"), &theirs.checkpoint);
  EXPECT_EQ(json::parse(theirs.saved.at(0))["attempt"], "a-2") << "the same attempt id";
}

TEST_F(OrderActionsTest, BookOnAnAppointmentJunctionWillNotMoveIsNotReschedulable) {
  ExpectHeld(ScheduledOrder(false), ScheduledOrder(false), store::kJobReconcile);
  EXPECT_CALL(store_, ReleaseJob(IsStepJob()));  // given back untouched

  AppError error = ErrorFrom([&] { actions_.Book(Caller(), kOrderId, BookBody("k-2")); });

  EXPECT_EQ(error.code(), ErrorCode::kAppointmentNotReschedulable);
  EXPECT_EQ(wakes_, 0);
}

class OrderActionsSlotRefusedTest : public OrderActionsTest,
                                    public ::testing::WithParamInterface<junction::Outcome> {};

TEST_P(OrderActionsSlotRefusedTest, BookRefusedByJunctionIsSlotUnavailableAndReleasesTheJob) {
  model::LabOrder taken_back;
  {
    InSequence in_order;
    ExpectHeld(ReadyOrder(), ReadyOrder(), store::kJobBookAppointment);
    EXPECT_CALL(store_, CheckpointOrder(IsStepJob(), _, 4));
    EXPECT_CALL(junction_, BookAppointment(kJunctionOrderId, _))
        .WillOnce(Return(Failure(GetParam(), "book_appointment", 409)));
    // Refused, nothing was booked: the mark is taken back, and the brand may book again at once
    // (the workflow need not look anything up first).
    EXPECT_CALL(store_, CheckpointOrder(IsStepJob(), _, 5)).WillOnce(SaveArg<1>(&taken_back));
    EXPECT_CALL(store_, ReleaseJob(IsStepJob()));
  }

  AppError error = ErrorFrom([&] { actions_.Book(Caller(), kOrderId, BookBody("k-1")); });
  EXPECT_FALSE(taken_back.workflow.booking_sent);
  EXPECT_EQ(taken_back.workflow.booking_sent_at, std::nullopt);

  EXPECT_EQ(error.code(), ErrorCode::kSlotUnavailable);
  EXPECT_EQ(error.log_detail(), kUpstreamSummary);
  EXPECT_THAT(error.what(), Not(HasSubstr(kUpstreamSummary)));
  EXPECT_EQ(wakes_, 0);
}

INSTANTIATE_TEST_SUITE_P(OrderActionsJunction, OrderActionsSlotRefusedTest,
                         ::testing::Values(junction::Outcome::kConflict,
                                           junction::Outcome::kRejected,
                                           junction::Outcome::kValidation,
                                           junction::Outcome::kNotFound),
                         [](const ::testing::TestParamInfo<junction::Outcome>& info) {
                           std::string name = junction::OutcomeName(info.param);
                           std::string clean;
                           for (char c : name) {
                             if (std::isalnum(static_cast<unsigned char>(c))) clean += c;
                           }
                           return clean;
                         });

TEST_F(OrderActionsTest, BookJunctionFailureIsA502AndReleasesTheJob) {
  {
    InSequence in_order;
    ExpectHeld(ReadyOrder(), ReadyOrder(), store::kJobBookAppointment);
    EXPECT_CALL(store_, CheckpointOrder(IsStepJob(), _, 4));
    EXPECT_CALL(junction_, BookAppointment(kJunctionOrderId, _))
        .WillOnce(Return(Failure(junction::Outcome::kTimeout, "book_appointment", 0)));
    EXPECT_CALL(store_, ReleaseJob(IsStepJob()));
  }

  AppError error = ErrorFrom([&] { actions_.Book(Caller(), kOrderId, BookBody("k-1")); });

  EXPECT_EQ(error.code(), ErrorCode::kJunctionTimeout);
  EXPECT_EQ(std::string(error.what()), "Junction did not answer in time; retry.");
}

TEST_F(OrderActionsTest, RescheduleFailuresMapAsBookingFailuresDo) {
  struct Case {
    junction::Outcome outcome;
    int http_status;
    ErrorCode expected;
    bool surely_unmoved;  // the brand's mark is taken back: a later move is not the brand's
  };
  const Case cases[] = {
      {junction::Outcome::kConflict, 409, ErrorCode::kSlotUnavailable, true},
      {junction::Outcome::kServerError, 500, ErrorCode::kJunctionUpstreamError, false},
  };
  for (const Case& c : cases) {
    std::vector<model::LabOrder> checkpointed;
    auto save = [&](const Job&, const model::LabOrder& order, std::int64_t) {
      checkpointed.push_back(order);
    };
    {
      InSequence in_order;
      ExpectHeld(ScheduledOrder(true), ScheduledOrder(true), store::kJobReconcile,
                 StartsWith("api-"));
      EXPECT_CALL(store_, CheckpointOrder(IsStepJob(), _, 6)).WillOnce(save);
      EXPECT_CALL(junction_, RescheduleAppointment(kJunctionOrderId, _))
          .WillOnce(Return(Failure(c.outcome, "reschedule_appointment", c.http_status)));
      if (c.surely_unmoved) EXPECT_CALL(store_, CheckpointOrder(IsStepJob(), _, 7)).WillOnce(save);
      EXPECT_CALL(store_, ReleaseJob(IsStepJob()));
    }

    AppError error = ErrorFrom([&] { actions_.Book(Caller(), kOrderId, BookBody("k-2")); });

    ASSERT_FALSE(checkpointed.empty());
    EXPECT_TRUE(checkpointed.front().workflow.reschedule_sent_at.has_value());
    EXPECT_EQ(checkpointed.back().workflow.reschedule_sent_at.has_value(), !c.surely_unmoved);
    EXPECT_EQ(error.code(), c.expected) << junction::OutcomeName(c.outcome);
    EXPECT_THAT(error.what(), Not(HasSubstr(kUpstreamSummary)));
    ::testing::Mock::VerifyAndClearExpectations(&store_);
    ::testing::Mock::VerifyAndClearExpectations(&junction_);
  }
}

TEST_F(OrderActionsTest, BookAndCancelRefuseOrdersStillBeingPlacedOrEndedBeforeClaiming) {
  model::LabOrder placing = ReadyOrder();
  placing.status = "received";
  placing.junction_order_id.reset();
  model::LabOrder cancelled = ReadyOrder();
  cancelled.status = "cancelled";
  model::LabOrder completed = ReadyOrder();
  completed.status = "completed";
  EXPECT_CALL(store_, GetOrderById(kOrderId))
      .WillOnce(Return(placing))
      .WillOnce(Return(cancelled))
      .WillOnce(Return(placing))
      .WillOnce(Return(completed));
  // Refused before the step job is claimed (strict mocks).

  AppError book_placing = ErrorFrom([&] { actions_.Book(Caller(), kOrderId, BookBody("k-1")); });
  AppError book_ended = ErrorFrom([&] { actions_.Book(Caller(), kOrderId, BookBody("k-1")); });
  AppError cancel_placing = ErrorFrom([&] { actions_.Cancel(Caller(), kOrderId); });
  AppError cancel_ended = ErrorFrom([&] { actions_.Cancel(Caller(), kOrderId); });

  EXPECT_EQ(book_placing.code(), ErrorCode::kOrderNotBookable);
  EXPECT_THAT(book_placing.what(), HasSubstr("still being placed"));
  EXPECT_EQ(book_ended.code(), ErrorCode::kOrderNotBookable);
  EXPECT_EQ(std::string(book_ended.what()), "The order is cancelled.");
  EXPECT_EQ(cancel_placing.code(), ErrorCode::kOrderNotCancellable);
  EXPECT_THAT(cancel_placing.what(), HasSubstr("still being placed"));
  EXPECT_EQ(cancel_ended.code(), ErrorCode::kOrderNotCancellable);
  EXPECT_EQ(std::string(cancel_ended.what()), "The order is already completed.");
}

TEST_F(OrderActionsTest, BookBeforeTheRequisitionIsReadyIsNotBookableAndReleasesTheJob) {
  model::LabOrder waiting = ReadyOrder();
  waiting.workflow.junction_status = kOrdered;
  ExpectHeld(waiting, waiting, store::kJobAwaitRequisition);
  EXPECT_CALL(store_, ReleaseJob(IsStepJob()));
  // No checkpoint, no Junction call (strict mocks).

  AppError error = ErrorFrom([&] { actions_.Book(Caller(), kOrderId, BookBody("k-1")); });

  EXPECT_EQ(error.code(), ErrorCode::kOrderNotBookable);
  EXPECT_THAT(error.what(), HasSubstr("requisition"));
}

TEST_F(OrderActionsTest, BookWhileTheWorkflowsOwnBookingIsUnresolvedIsOrderBusy) {
  model::LabOrder in_flight = ReadyOrder();
  in_flight.workflow.booking_sent = true;
  ExpectHeld(ReadyOrder(), in_flight, store::kJobBookAppointment);
  EXPECT_CALL(store_, ReleaseJob(IsStepJob()));

  AppError error = ErrorFrom([&] { actions_.Book(Caller(), kOrderId, BookBody("k-1")); });

  EXPECT_EQ(error.code(), ErrorCode::kOrderBusy);
  EXPECT_EQ(error.retry_after_seconds, 1);
}

}  // namespace
}  // namespace lab_orders::workflow
