// OrderService when things go wrong and after: Junction failing, resuming a key from its
// recovery point, the completer finishing keys left behind, and reads. On the fixture of
// order_service_fixture.h.

#include "unit/orders/order_service_fixture.h"

namespace lab_orders::orders {
namespace {

class OrderServiceRecoveryTest : public OrderServiceTest {};

// ---- Junction failing --------------------------------------------------------------------------

struct JunctionFailureCase {
  const char* name;
  junction::Outcome outcome;
  int http_status;
  std::optional<int> retry_after;
  ErrorCode expected;
};

// Names the case in test listings (ctest shows the parameter), instead of its bytes.
void PrintTo(const JunctionFailureCase& c, std::ostream* out) { *out << c.name; }

class OrderServiceJunctionFailureTest : public OrderServiceTest,
                                        public ::testing::WithParamInterface<JunctionFailureCase> {
};

TEST_P(OrderServiceJunctionFailureTest, CreateOrderFailureIsA502AndReleasesTheKeyUnfinished) {
  const JunctionFailureCase& c = GetParam();
  {
    InSequence in_order;
    ExpectClaim(NewKeyClaim());
    EXPECT_CALL(store_, FindJunctionUser(kClientUserId)).WillOnce(Return("ju-1"));
    EXPECT_CALL(junction_, CreateOrder(_))
        .WillOnce(Return(Failure(c.outcome, "create_order", c.http_status, c.retry_after)));
    // Released, not finished: the next request with the key resumes at its recovery point.
    EXPECT_CALL(store_, ReleaseKey(kBrand, kKey));
  }

  AppError error = ErrorFrom([&] { Create(); });

  EXPECT_EQ(error.code(), c.expected) << ErrorCodeName(error.code());
  EXPECT_EQ(error.retry_after_seconds, c.retry_after);
  EXPECT_THAT(error.what(), EndsWith("retry with the same Idempotency-Key."));
  EXPECT_THAT(error.what(), Not(HasSubstr(kUpstreamSummary)));
  EXPECT_EQ(error.log_detail(), kUpstreamSummary);
}

INSTANTIATE_TEST_SUITE_P(
    OrderServiceJunction, OrderServiceJunctionFailureTest,
    ::testing::Values(JunctionFailureCase{"Timeout", junction::Outcome::kTimeout, 0, std::nullopt,
                                          ErrorCode::kJunctionTimeout},
                      JunctionFailureCase{"ConnectionFailed", junction::Outcome::kConnectionFailed,
                                          0, std::nullopt, ErrorCode::kJunctionUnavailable},
                      JunctionFailureCase{"TlsFailure", junction::Outcome::kTlsFailure, 0,
                                          std::nullopt, ErrorCode::kJunctionUnavailable},
                      JunctionFailureCase{"RateLimited", junction::Outcome::kRateLimited, 429, 7,
                                          ErrorCode::kJunctionUnavailable},
                      JunctionFailureCase{"ServerError", junction::Outcome::kServerError, 503,
                                          std::nullopt, ErrorCode::kJunctionUpstreamError},
                      JunctionFailureCase{"Malformed", junction::Outcome::kMalformedResponse, 200,
                                          std::nullopt, ErrorCode::kJunctionUpstreamError},
                      // Junction refusing the order is a 502 too, with the same "retry" advice.
                      JunctionFailureCase{"Validation", junction::Outcome::kValidation, 422,
                                          std::nullopt, ErrorCode::kJunctionUpstreamError}),
    [](const ::testing::TestParamInfo<JunctionFailureCase>& info) { return info.param.name; });

TEST_F(OrderServiceRecoveryTest, CreateUserFailureIsA502NamingTheStatusButNotTheBody) {
  ExpectClaim(NewKeyClaim());
  EXPECT_CALL(store_, FindJunctionUser(kClientUserId)).WillOnce(Return(std::nullopt));
  EXPECT_CALL(junction_, CreateUser(_))
      .WillOnce(Return(Failure(junction::Outcome::kServerError, "create_user", 503)));
  // The user phase failed: nothing saved, no order at Junction, the key released.
  EXPECT_CALL(store_, ReleaseKey(kBrand, kKey));

  AppError error = ErrorFrom([&] { Create(); });

  EXPECT_EQ(error.code(), ErrorCode::kJunctionUpstreamError);
  EXPECT_EQ(std::string(error.what()),
            "Junction refused or failed the request (HTTP 503); retry with the same "
            "Idempotency-Key.");
}

TEST_F(OrderServiceRecoveryTest, StoreFailureMidwayReleasesTheKeyAndPropagates) {
  ExpectClaim(NewKeyClaim());
  EXPECT_CALL(store_, FindJunctionUser(kClientUserId)).WillOnce(Return(std::nullopt));
  EXPECT_CALL(junction_, CreateUser(_)).WillOnce(Return(JunctionUser("ju-1")));
  EXPECT_CALL(store_, SaveJunctionUser(kBrand, kKey, kFirstUuid, kClientUserId, "ju-1", kT0))
      .WillOnce(Throw(store::StoreUnavailable("database is locked")));
  // Releasing fails too: the first failure is what the caller sees.
  EXPECT_CALL(store_, ReleaseKey(kBrand, kKey))
      .WillOnce(Throw(store::StoreUnavailable("still locked")));

  EXPECT_THROW(
      {
        try {
          Create();
        } catch (const store::StoreUnavailable& e) {
          EXPECT_STREQ(e.what(), "database is locked");
          throw;
        }
      },
      store::StoreUnavailable);
}

// What happens when the catalog lacks a slug the schema accepts: LoadPanels refuses such a
// catalog at start-up, so the service does not check again and std::map::at throws, before the
// key is claimed (strict mocks: no ClaimKey).
TEST_F(OrderServiceRecoveryTest, PanelMissingFromTheCatalogThrowsOutOfRangeBeforeTheKeyIsClaimed) {
  json body = Body();
  body["panel_slug"] = "fertility";  // valid in the schema, absent from Panels()
  EXPECT_CALL(store_, FindFinishedKey(kBrand, kKey)).WillOnce(Return(std::nullopt));

  EXPECT_THROW(Create(body), std::out_of_range);
}

// ---- resuming from a recovery point ------------------------------------------------------------

// An order an older version saved its Junction user on (this one keeps it in the mapping only).
TEST_F(OrderServiceRecoveryTest, ResumeAfterUserSavedSkipsTheUserPhaseAndKeepsTheRecordedOrder) {
  model::LabOrder stored = StoredOrder("order-9");
  stored.junction_user_id = "ju-9";
  stored.version = 1;
  junction::CreateOrderRequest sent;
  model::LabOrder saved;
  store::NewJob first_step;
  std::string saved_answer;
  {
    InSequence in_order;
    ExpectClaim(ClaimOf(ClaimResult::kResumed, RecoveryPoint::kUserEnsured, "order-9"));
    EXPECT_CALL(store_, GetOrder(kBrand, "order-9")).WillOnce(Return(stored));
    // No FindJunctionUser, CreateUser or SaveJunctionUser (strict mocks).
    EXPECT_CALL(junction_, CreateOrder(_))
        .WillOnce(DoAll(SaveArg<0>(&sent), Return(JunctionOrderCreated("jo-9"))));
    EXPECT_CALL(store_, SaveJunctionOrder(kKey, _, _, 201, _))
        .WillOnce(DoAll(SaveArg<1>(&saved), SaveArg<2>(&first_step), SaveArg<4>(&saved_answer)));
  }

  StoredAnswer answer = Create();

  EXPECT_EQ(answer.status, 201);
  EXPECT_FALSE(answer.replayed);
  EXPECT_EQ(answer.body, saved_answer);
  EXPECT_EQ(sent.user_id, "ju-9");
  // The same Junction idempotency key as the first try: a resend is the same order there.
  EXPECT_EQ(sent.idempotency_key, "lab-orders:order-9");
  // The recorded order goes on, as read: this request's own order (kFirstUuid) was only offered
  // to the claim.
  EXPECT_EQ(claimed_.id, kFirstUuid);
  EXPECT_EQ(saved.id, "order-9");
  EXPECT_EQ(saved.junction_user_id, "ju-9");
  EXPECT_EQ(saved.junction_order_id, "jo-9");
  EXPECT_EQ(saved.version, 2);
  EXPECT_EQ(saved.created_at, FormatRfc3339(kT0 - 5min));
  EXPECT_EQ(first_step.order_id, "order-9");
  EXPECT_EQ(first_step.id, kSecondUuid);
  json shown = json::parse(answer.body);
  EXPECT_EQ(shown["id"], "order-9");
  EXPECT_EQ(shown["junction_order_id"], "jo-9");
  EXPECT_EQ(shown["created_at"], FormatRfc3339(kT0 - 5min));
}

// Past user_ensured the patient's Junction user is in the mapping, not on the order: it is read
// from there, and Junction is not asked again.
TEST_F(OrderServiceRecoveryTest, ResumeAfterUserSavedFindsTheUserInTheMapping) {
  junction::CreateOrderRequest sent;
  model::LabOrder saved;
  {
    InSequence in_order;
    ExpectClaim(ClaimOf(ClaimResult::kResumed, RecoveryPoint::kUserEnsured, "order-9"));
    EXPECT_CALL(store_, GetOrder(kBrand, "order-9")).WillOnce(Return(StoredOrder("order-9")));
    EXPECT_CALL(store_, FindJunctionUser(kClientUserId)).WillOnce(Return("ju-9"));
    // No CreateUser or SaveJunctionUser (strict mocks).
    EXPECT_CALL(junction_, CreateOrder(_))
        .WillOnce(DoAll(SaveArg<0>(&sent), Return(JunctionOrderCreated("jo-9"))));
    EXPECT_CALL(store_, SaveJunctionOrder(kKey, _, _, 201, _)).WillOnce(SaveArg<1>(&saved));
  }

  EXPECT_EQ(Create().status, 201);
  EXPECT_EQ(sent.user_id, "ju-9");
  EXPECT_EQ(saved.junction_user_id, "ju-9");
  EXPECT_EQ(saved.version, 2);  // StoredOrder's version 1, one up with the Junction order
}

// A request that died after the claim, resumed: the recorded order is read back, and with its
// patient's Junction user known, it goes straight to the Junction order (two commits in all).
TEST_F(OrderServiceRecoveryTest, ResumeAtOrderRecordedWithAKnownUserSkipsTheUserCommit) {
  model::LabOrder saved;
  {
    InSequence in_order;
    ExpectClaim(ClaimOf(ClaimResult::kResumed, RecoveryPoint::kOrderRecorded, "order-9"));
    EXPECT_CALL(store_, GetOrder(kBrand, "order-9")).WillOnce(Return(StoredOrder("order-9")));
    EXPECT_CALL(store_, FindJunctionUser(kClientUserId)).WillOnce(Return("ju-known"));
    EXPECT_CALL(junction_,
                CreateOrder(::testing::Field(&junction::CreateOrderRequest::idempotency_key,
                                             std::optional<std::string>("lab-orders:order-9"))))
        .WillOnce(Return(JunctionOrderCreated("jo-9")));
    EXPECT_CALL(store_, SaveJunctionOrder(kKey, _, _, 201, _)).WillOnce(SaveArg<1>(&saved));
  }

  EXPECT_EQ(Create().status, 201);
  EXPECT_EQ(saved.id, "order-9");
  EXPECT_EQ(saved.junction_user_id, "ju-known");
  EXPECT_EQ(saved.version, 2);  // StoredOrder's version 1, one up
}

// A key an older version claimed without an order adopts the resuming request's order (the store
// says so by the order id): that order is this request's own, so it is not read back.
TEST_F(OrderServiceRecoveryTest, ResumedKeyThatAdoptedThisRequestsOrderDrivesItWithoutReadingIt) {
  model::LabOrder saved;
  {
    InSequence in_order;
    ExpectClaim(ClaimOf(ClaimResult::kResumed, RecoveryPoint::kOrderRecorded, kFirstUuid));
    // No GetOrder (strict mock).
    EXPECT_CALL(store_, FindJunctionUser(kClientUserId)).WillOnce(Return("ju-1"));
    EXPECT_CALL(junction_, CreateOrder(_)).WillOnce(Return(JunctionOrderCreated("jo-1")));
    EXPECT_CALL(store_, SaveJunctionOrder(kKey, _, _, 201, _)).WillOnce(SaveArg<1>(&saved));
  }

  StoredAnswer answer = Create();

  EXPECT_EQ(answer.status, 201);
  EXPECT_FALSE(answer.replayed);
  EXPECT_EQ(saved.id, kFirstUuid);
  EXPECT_EQ(saved.patient_id, kPatientId);
  EXPECT_EQ(saved.version, 1);
}

TEST_F(OrderServiceRecoveryTest, ResumeAfterJunctionOrderCreatedOnlyStoresTheAnswer) {
  model::LabOrder stored = StoredOrder("order-9");
  stored.junction_user_id = "ju-9";
  stored.junction_order_id = "jo-9";
  stored.status = "ordered";
  int queued = 0;
  service_.OnWorkflowQueued([&] { ++queued; });
  ExpectClaim(ClaimOf(ClaimResult::kResumed, RecoveryPoint::kJunctionOrderCreated, "order-9"));
  EXPECT_CALL(store_, GetOrder(kBrand, "order-9")).WillOnce(Return(stored));
  std::string finished_body;
  EXPECT_CALL(store_, FinishKey(kBrand, kKey, 201, _)).WillOnce(SaveArg<3>(&finished_body));

  StoredAnswer answer = Create();

  EXPECT_EQ(answer.body, finished_body);
  EXPECT_EQ(json::parse(answer.body)["junction_order_id"], "jo-9");
  EXPECT_EQ(queued, 0) << "the workflow was queued by the earlier request";
}

TEST_F(OrderServiceRecoveryTest, ResumedKeyWhoseOrderCannotBeReadIsAnInternalErrorAndIsReleased) {
  ExpectClaim(ClaimOf(ClaimResult::kResumed, RecoveryPoint::kUserEnsured, "order-9"));
  EXPECT_CALL(store_, GetOrder(kBrand, "order-9")).WillOnce(Return(std::nullopt));
  EXPECT_CALL(store_, ReleaseKey(kBrand, kKey));

  EXPECT_EQ(ErrorFrom([&] { Create(); }).code(), ErrorCode::kInternalError);
}

// ---- the completer -----------------------------------------------------------------------------

// The completer resumes like a retried request: here from a recorded order, through both phases.
TEST_F(OrderServiceRecoveryTest, CompleteStaleKeyDrivesTheKeyToItsAnswer) {
  store::IdempotencyRecord record =
      ClaimOf(ClaimResult::kResumed, RecoveryPoint::kOrderRecorded, "order-9").record;
  {
    InSequence in_order;
    EXPECT_CALL(store_, GetOrder(kBrand, "order-9")).WillOnce(Return(StoredOrder("order-9")));
    EXPECT_CALL(store_, FindJunctionUser(kClientUserId)).WillOnce(Return(std::nullopt));
    EXPECT_CALL(junction_, CreateUser(_)).WillOnce(Return(JunctionUser("ju-9")));
    EXPECT_CALL(store_, SaveJunctionUser(kBrand, kKey, "order-9", kClientUserId, "ju-9", kT0));
    EXPECT_CALL(junction_,
                CreateOrder(::testing::Field(&junction::CreateOrderRequest::idempotency_key,
                                             std::optional<std::string>("lab-orders:order-9"))))
        .WillOnce(Return(JunctionOrderCreated("jo-9")));
    EXPECT_CALL(store_, SaveJunctionOrder(kKey,
                                          ::testing::Field(&model::LabOrder::junction_order_id,
                                                           std::optional<std::string>("jo-9")),
                                          _, 201, _));
  }

  std::optional<std::string> answer = service_.CompleteStaleKey(record);

  ASSERT_TRUE(answer.has_value());
  EXPECT_EQ(json::parse(*answer)["status"], "ordered");
}

TEST_F(OrderServiceRecoveryTest, CompleteStaleKeyThatFailsReturnsNulloptAndReleasesTheKey) {
  store::IdempotencyRecord record =
      ClaimOf(ClaimResult::kResumed, RecoveryPoint::kUserEnsured, "order-9").record;
  model::LabOrder stored = StoredOrder("order-9");
  stored.junction_user_id = "ju-9";
  EXPECT_CALL(store_, GetOrder(kBrand, "order-9")).WillOnce(Return(stored));
  EXPECT_CALL(junction_, CreateOrder(_))
      .WillOnce(Return(Failure(junction::Outcome::kTimeout, "create_order", 0)));
  EXPECT_CALL(store_, ReleaseKey(kBrand, kKey)).Times(2);

  EXPECT_EQ(service_.CompleteStaleKey(record), std::nullopt);

  // A key with no order recorded cannot be completed (ClaimStaleKeys never hands one out).
  store::IdempotencyRecord no_order = ClaimOf(ClaimResult::kResumed).record;
  EXPECT_EQ(service_.CompleteStaleKey(no_order), std::nullopt);
}

// ---- reads -------------------------------------------------------------------------------------

TEST_F(OrderServiceRecoveryTest, GetOrderShowsTheCallersOrderAndAnyOtherIsNotFound) {
  model::LabOrder stored = StoredOrder("order-9");
  stored.junction_order_id = "jo-9";
  EXPECT_CALL(store_, GetOrder(kBrand, "order-9")).WillOnce(Return(stored));

  json shown = service_.GetOrder(Caller(), "order-9");

  EXPECT_EQ(shown["id"], "order-9");
  EXPECT_EQ(shown["brand_id"], kBrand);
  EXPECT_EQ(shown["junction_order_id"], "jo-9");
  EXPECT_FALSE(shown.contains("patient"));

  // The store is asked with the caller's brand; another brand's order is not found there.
  EXPECT_CALL(store_, GetOrder(kBrand, "order-of-brand-2")).WillOnce(Return(std::nullopt));
  EXPECT_CALL(store_, GetOrder(kBrand, "no-such-order")).WillOnce(Return(std::nullopt));

  EXPECT_EQ(ErrorFrom([&] { service_.GetOrder(Caller(), "order-of-brand-2"); }).code(),
            ErrorCode::kNotFound);
  EXPECT_EQ(ErrorFrom([&] { service_.GetOrder(Caller(), "no-such-order"); }).code(),
            ErrorCode::kNotFound);
}

TEST_F(OrderServiceRecoveryTest, ListOrdersPagesWithTheLastShownIdAsCursor) {
  std::optional<std::string> status = "ordered";
  std::optional<std::string> cursor = "order-0";
  // One more than the limit is read, to know whether another page follows.
  EXPECT_CALL(store_, ListOrders(kBrand, status, 3, cursor))
      .WillOnce(Return(std::vector<model::LabOrder>{StoredOrder("order-1"), StoredOrder("order-2"),
                                                    StoredOrder("order-3")}));
  EXPECT_CALL(store_, ListOrders(kBrand, status, 3, std::optional<std::string>("order-2")))
      .WillOnce(Return(std::vector<model::LabOrder>{StoredOrder("order-3")}));

  json first = service_.ListOrders(Caller(), status, 2, cursor);
  ASSERT_EQ(first["data"].size(), 2u);
  EXPECT_EQ(first["data"][0]["id"], "order-1");
  EXPECT_EQ(first["data"][1]["id"], "order-2");
  EXPECT_EQ(first["next_cursor"], "order-2");
  EXPECT_EQ(first["has_more"], true);

  json last = service_.ListOrders(Caller(), status, 2, first["next_cursor"].get<std::string>());
  ASSERT_EQ(last["data"].size(), 1u);
  EXPECT_EQ(last["data"][0]["id"], "order-3");
  EXPECT_EQ(last["next_cursor"], nullptr);
  EXPECT_EQ(last["has_more"], false);
}

}  // namespace
}  // namespace lab_orders::orders
