// OrderService (POST /v1/labs/orders and the order reads) against a mocked store and a mocked
// Junction: the order of the phase commits, the idempotency answers, where a failed request
// leaves its key, and resuming from each recovery point. The validator is the real one, built
// from the OpenAPI document, so the bodies are the ones a client would send.

#include "unit/orders/order_service_fixture.h"

namespace lab_orders::orders {
namespace {

// ---- a new key ---------------------------------------------------------------------------------

// A patient new to Junction: the three commits of a new order, claim (with the order), user,
// Junction order (with the answer).
TEST_F(OrderServiceTest, NewKeyRunsEveryPhaseInOrderAndStoresThe201Answer) {
  junction::CreateOrderRequest sent;
  model::LabOrder saved;
  store::NewJob first_step;
  std::string saved_answer;
  int queued = 0;
  service_.OnWorkflowQueued([&] { ++queued; });
  {
    InSequence in_order;
    ExpectClaim(NewKeyClaim());
    EXPECT_CALL(store_, FindJunctionUser(kClientUserId)).WillOnce(Return(std::nullopt));
    EXPECT_CALL(junction_, CreateUser(::testing::Field(&junction::CreateUserRequest::client_user_id,
                                                       kClientUserId)))
        .WillOnce(Return(JunctionUser("ju-1")));
    EXPECT_CALL(store_, SaveJunctionUser(kBrand, kKey, kFirstUuid, kClientUserId, "ju-1", kT0));
    EXPECT_CALL(junction_, CreateOrder(_))
        .WillOnce(DoAll(SaveArg<0>(&sent), Return(JunctionOrderCreated("jo-1"))));
    EXPECT_CALL(store_, SaveJunctionOrder(kKey, _, _, 201, _))
        .WillOnce(DoAll(SaveArg<1>(&saved), SaveArg<2>(&first_step), SaveArg<4>(&saved_answer),
                        InvokeWithoutArgs([&] {
                          EXPECT_EQ(queued, 0) << "the runner is woken after the commit";
                        })));
    // No FinishKey: the answer was stored with the Junction order (strict mock).
  }

  StoredAnswer answer = Create();

  EXPECT_EQ(answer.status, 201);
  EXPECT_FALSE(answer.replayed);
  EXPECT_EQ(answer.body, saved_answer);

  // The key was claimed with this request's order, from the validated (normalised) body.
  const model::LabOrder& recorded = claimed_;
  EXPECT_EQ(recorded.id, kFirstUuid);
  EXPECT_EQ(recorded.brand_id, kBrand);
  EXPECT_EQ(recorded.user_id, kUser);
  EXPECT_EQ(recorded.patient_id, kPatientId);
  EXPECT_EQ(recorded.panel_slug, "wellness");
  EXPECT_EQ(recorded.status, "received");
  EXPECT_EQ(recorded.created_at, FormatRfc3339(kT0));
  EXPECT_EQ(recorded.updated_at, FormatRfc3339(kT0));
  EXPECT_EQ(recorded.version, 0);
  EXPECT_EQ(recorded.patient.phone, "+16025550144");
  EXPECT_EQ(recorded.address.zip, "85004");
  EXPECT_EQ(recorded.junction_user_id, std::nullopt);
  EXPECT_EQ(recorded.junction_order_id, std::nullopt);

  // The Junction order: our user, the panel's tests, an idempotency key from our order id.
  EXPECT_EQ(sent.user_id, "ju-1");
  EXPECT_EQ(sent.lab_test_ids, kWellnessTests);
  EXPECT_EQ(sent.idempotency_key, std::string("lab-orders:") + kFirstUuid);
  EXPECT_EQ(sent.collection_method, "at_home_phlebotomy");
  EXPECT_EQ(sent.patient_details.gender, "female");
  EXPECT_EQ(sent.patient_details.phone_number, "+16025550144");
  EXPECT_EQ(sent.patient_address.zip, "85004");
  EXPECT_EQ(sent.patient_address.state, "AZ");

  // The order as the last phase saves it: both Junction ids, "ordered", one version up (the user
  // phase writes the mapping, not the order).
  EXPECT_EQ(saved.id, kFirstUuid);
  EXPECT_EQ(saved.brand_id, kBrand);
  EXPECT_EQ(saved.junction_user_id, "ju-1");
  EXPECT_EQ(saved.junction_order_id, "jo-1");
  EXPECT_EQ(saved.status, "ordered");
  EXPECT_EQ(saved.updated_at, FormatRfc3339(kT0));
  EXPECT_EQ(saved.created_at, FormatRfc3339(kT0));
  EXPECT_EQ(saved.version, 1);
  EXPECT_EQ(saved.patient.phone, "+16025550144");

  // The workflow's first step is queued with the Junction order, due at once, and the job
  // runner is told.
  EXPECT_EQ(queued, 1);
  EXPECT_EQ(first_step.id, kSecondUuid);
  EXPECT_EQ(first_step.kind, store::kJobAwaitRequisition);
  EXPECT_EQ(first_step.order_id, kFirstUuid);
  EXPECT_EQ(first_step.payload, "");
  EXPECT_EQ(first_step.due_at, kT0);

  json shown = json::parse(answer.body);
  EXPECT_EQ(shown, model::OrderJson(saved));
  EXPECT_EQ(shown["id"], kFirstUuid);
  EXPECT_EQ(shown["status"], "ordered");
  EXPECT_EQ(shown["junction_order_id"], "jo-1");
  EXPECT_EQ(shown["brand_id"], kBrand);
  EXPECT_EQ(shown["patient_id"], kPatientId);
  EXPECT_EQ(shown["appointment"], nullptr);
  EXPECT_EQ(shown["auto_book"], true);  // the default: the workflow books
  // The answer is stored and replayed: it carries no patient data.
  for (const char* secret : lab_orders::testing::kWorkflowPatientSecrets) {
    EXPECT_THAT(answer.body, Not(HasSubstr(secret)));
  }
}

// A known Junction user costs no commit: it goes onto the order in memory and is saved with the
// Junction order (two commits for the order).
TEST_F(OrderServiceTest, KnownJunctionUserIsReusedWithoutCreatingOrSavingOne) {
  junction::CreateOrderRequest sent;
  model::LabOrder saved;
  {
    InSequence in_order;
    ExpectClaim(NewKeyClaim());
    EXPECT_CALL(store_, FindJunctionUser(kClientUserId)).WillOnce(Return("ju-known"));
    // No CreateUser and no SaveJunctionUser: the strict mocks fail the test if either is called.
    EXPECT_CALL(junction_, CreateOrder(_))
        .WillOnce(DoAll(SaveArg<0>(&sent), Return(JunctionOrderCreated("jo-1"))));
    EXPECT_CALL(store_, SaveJunctionOrder(kKey, _, _, 201, _)).WillOnce(SaveArg<1>(&saved));
  }

  EXPECT_EQ(Create().status, 201);
  EXPECT_EQ(sent.user_id, "ju-known");
  EXPECT_EQ(saved.id, kFirstUuid);
  EXPECT_EQ(saved.junction_user_id, "ju-known");
  EXPECT_EQ(saved.junction_order_id, "jo-1");
  EXPECT_EQ(saved.status, "ordered");
  // One commit after the claim, one version.
  EXPECT_EQ(saved.version, 1);
}

// A patient new to Junction: the user is created there and its mapping saved (one version up)
// before the Junction order is asked for and saved.
TEST_F(OrderServiceTest, UnknownJunctionUserIsSavedBeforeTheJunctionOrder) {
  model::LabOrder saved;
  {
    InSequence in_order;
    ExpectClaim(NewKeyClaim());
    EXPECT_CALL(store_, FindJunctionUser(kClientUserId)).WillOnce(Return(std::nullopt));
    EXPECT_CALL(junction_, CreateUser(_)).WillOnce(Return(JunctionUser("ju-new")));
    EXPECT_CALL(store_, SaveJunctionUser(kBrand, kKey, kFirstUuid, kClientUserId, "ju-new", kT0));
    EXPECT_CALL(junction_,
                CreateOrder(::testing::Field(&junction::CreateOrderRequest::user_id, "ju-new")))
        .WillOnce(Return(JunctionOrderCreated("jo-1")));
    EXPECT_CALL(store_, SaveJunctionOrder(kKey, _, _, 201, _)).WillOnce(SaveArg<1>(&saved));
  }

  EXPECT_EQ(Create().status, 201);
  EXPECT_EQ(saved.junction_user_id, "ju-new");
  EXPECT_EQ(saved.version, 1);
}

// What the last commit stores under the key is exactly what this request answers: a replay is
// the same bytes.
TEST_F(OrderServiceTest, AnswerSavedWithTheJunctionOrderIsTheAnswerReturned) {
  std::string saved_answer;
  model::LabOrder saved;
  ExpectClaim(NewKeyClaim());
  EXPECT_CALL(store_, FindJunctionUser(kClientUserId)).WillOnce(Return("ju-1"));
  EXPECT_CALL(junction_, CreateOrder(_)).WillOnce(Return(JunctionOrderCreated("jo-1")));
  EXPECT_CALL(store_, SaveJunctionOrder(kKey, _, _, 201, _))
      .WillOnce(DoAll(SaveArg<1>(&saved), SaveArg<4>(&saved_answer)));

  StoredAnswer answer = Create();

  EXPECT_EQ(answer.status, 201);
  EXPECT_FALSE(answer.replayed);
  EXPECT_EQ(answer.body, saved_answer);
  EXPECT_EQ(answer.body, model::OrderJson(saved).dump());
}

TEST_F(OrderServiceTest, JunctionUserConflictAdoptsTheExistingUser) {
  junction::CallError conflict = Failure(junction::Outcome::kUserConflict, "create_user", 400);
  conflict.existing_user_id = "ju-existing";
  ExpectClaim(NewKeyClaim());
  EXPECT_CALL(store_, FindJunctionUser(kClientUserId)).WillOnce(Return(std::nullopt));
  EXPECT_CALL(junction_, CreateUser(_)).WillOnce(Return(conflict));
  EXPECT_CALL(store_,
              SaveJunctionUser(kBrand, kKey, kFirstUuid, kClientUserId, "ju-existing", kT0));
  EXPECT_CALL(junction_,
              CreateOrder(::testing::Field(&junction::CreateOrderRequest::user_id, "ju-existing")))
      .WillOnce(Return(JunctionOrderCreated("jo-1")));
  EXPECT_CALL(store_, SaveJunctionOrder(kKey,
                                        ::testing::Field(&model::LabOrder::junction_user_id,
                                                         std::optional<std::string>("ju-existing")),
                                        _, 201, _));

  EXPECT_EQ(Create().status, 201);
}

TEST_F(OrderServiceTest, JunctionClientUserIdFallsBackToTheTokenSubjectWithoutPatientId) {
  json body = Body();
  body.erase("patient_id");
  ExpectClaim(NewKeyClaim(), body);
  EXPECT_CALL(store_, FindJunctionUser("brand-1:user-1")).WillOnce(Return("ju-sub"));
  EXPECT_CALL(junction_, CreateOrder(_)).WillOnce(Return(JunctionOrderCreated("jo-1")));
  EXPECT_CALL(store_, SaveJunctionOrder(kKey, _, _, 201, _));

  StoredAnswer answer = Create(body);
  EXPECT_EQ(json::parse(answer.body)["patient_id"], nullptr);
}

// ---- idempotency answers -----------------------------------------------------------------------

TEST_F(OrderServiceTest, FinishedKeyReplaysTheStoredAnswerWithoutCallingJunction) {
  EXPECT_CALL(store_, FindFinishedKey(kBrand, kKey))
      .WillOnce(Return(FinishedKey(Body(), R"({"id":"order-9","status":"ordered"})")));
  // Nothing else: no claim, no phase, no Junction call, no release (strict mocks).

  StoredAnswer answer = Create();

  EXPECT_EQ(answer.status, 201);
  EXPECT_EQ(answer.body, R"({"id":"order-9","status":"ordered"})");
  EXPECT_TRUE(answer.replayed);
}

// A retry with the bytes of the request that claimed its key is known to be that request
// without its body being parsed (the common retry, after a lost answer).
TEST_F(OrderServiceTest, FinishedKeyReplaysTheClaimingRequestsBytesWithoutParsingThem) {
  const std::string bytes = Body().dump();
  store::IdempotencyRecord finished = FinishedKey(Body(), R"({"id":"order-9"})");
  finished.body_digest = RequestBodyDigest("POST", kCreatePath, bytes);
  EXPECT_CALL(store_, FindFinishedKey(kBrand, kKey)).WillOnce(Return(finished));

  StoredAnswer answer = CreateFromBytes(bytes);

  EXPECT_TRUE(answer.replayed);
  EXPECT_EQ(answer.body, R"({"id":"order-9"})");
  EXPECT_EQ(parses_, 0);
}

// The I/O thread's replay: the key's answer from memory only, for the claiming request's bytes.
TEST_F(OrderServiceTest, ReplayFromMemoryAnswersTheClaimingRequestsBytesFromMemoryOnly) {
  const std::string bytes = Body().dump();
  store::IdempotencyRecord finished = FinishedKey(Body(), R"({"id":"order-9"})");
  finished.body_digest = RequestBodyDigest("POST", kCreatePath, bytes);
  EXPECT_CALL(store_, FindFinishedKeyInMemory(kBrand, kKey)).WillRepeatedly(Return(finished));
  // Nothing else: no database read, no claim (strict mocks).

  std::optional<StoredAnswer> answer = service_.ReplayFromMemory(Caller(), kKey, bytes);

  ASSERT_TRUE(answer.has_value());
  EXPECT_EQ(answer->status, 201);
  EXPECT_EQ(answer->body, R"({"id":"order-9"})");
  EXPECT_TRUE(answer->replayed);
  // The same body written differently, or another body: not settled without parsing, left to
  // CreateOrder.
  EXPECT_FALSE(service_.ReplayFromMemory(Caller(), kKey, Body().dump(2)).has_value());
  EXPECT_FALSE(service_.ReplayFromMemory(Caller(), kKey, "{}").has_value());
  // A quoted key is the same key.
  EXPECT_TRUE(
      service_.ReplayFromMemory(Caller(), std::string("\"") + kKey + "\"", bytes).has_value());
  EXPECT_EQ(parses_, 0);
}

TEST_F(OrderServiceTest, ReplayFromMemoryLeavesEverythingElseToCreateOrder) {
  EXPECT_CALL(store_, FindFinishedKeyInMemory(kBrand, kKey)).WillOnce(Return(std::nullopt));
  EXPECT_FALSE(service_.ReplayFromMemory(Caller(), kKey, Body().dump()).has_value());
  // A key without a digest (claimed before digests were kept) needs its fingerprint: parsed.
  EXPECT_CALL(store_, FindFinishedKeyInMemory(kBrand, "legacy"))
      .WillOnce(Return(FinishedKey(Body(), "{}")));
  EXPECT_FALSE(service_.ReplayFromMemory(Caller(), "legacy", Body().dump()).has_value());
  // An invalid key is CreateOrder's to refuse; the store is not asked.
  EXPECT_FALSE(service_.ReplayFromMemory(Caller(), "", Body().dump()).has_value());
  EXPECT_FALSE(service_.ReplayFromMemory(Caller(), std::string(300, 'k'), "{}").has_value());
}

// The same request written differently (spacing, key order) is still the same request: its
// canonical body decides, parsed.
TEST_F(OrderServiceTest, FinishedKeyReplaysTheSameBodyWrittenDifferentlyByItsFingerprint) {
  store::IdempotencyRecord finished = FinishedKey(Body(), R"({"id":"order-9"})");
  finished.body_digest = RequestBodyDigest("POST", kCreatePath, Body().dump());
  EXPECT_CALL(store_, FindFinishedKey(kBrand, kKey)).WillOnce(Return(finished));

  StoredAnswer answer = CreateFromBytes(Body().dump(2));

  EXPECT_TRUE(answer.replayed);
  EXPECT_EQ(parses_, 1);
}

// A key claimed before digests were kept (no body_digest) replays by its fingerprint; and bytes
// that match no digest are never taken for the request.
TEST_F(OrderServiceTest, FinishedKeyWithoutADigestComparesFingerprints) {
  json other = Body();
  other["total_cents"] = 1;
  EXPECT_CALL(store_, FindFinishedKey(kBrand, kKey))
      .Times(2)
      .WillRepeatedly(Return(FinishedKey(Body(), R"({"id":"order-9"})")));

  EXPECT_TRUE(Create().replayed);
  EXPECT_EQ(ErrorFrom([&] { Create(other); }).code(), ErrorCode::kIdempotencyKeyReused);
  EXPECT_EQ(parses_, 2);
}

// A finished key answers from its row before the body is validated: its request was valid when
// it was made (the same fingerprint is the same body), and any other request under it is refused
// as such, valid or not.
TEST_F(OrderServiceTest, FinishedKeyWithAnotherRequestIsKeyReusedEvenForAnInvalidBody) {
  json invalid = Body();
  invalid["total_cents"] = -1;
  EXPECT_CALL(store_, FindFinishedKey(kBrand, kKey)).WillOnce(Return(FinishedKey(Body(), "{}")));
  // No ClaimKey (strict mock): the key is not claimed for a request it cannot answer.

  AppError error = ErrorFrom([&] { Create(invalid); });

  EXPECT_EQ(error.code(), ErrorCode::kIdempotencyKeyReused);
  EXPECT_TRUE(error.details().empty());
}

// The same for the request's own body: the stored answer, with no validation on the way (one
// finished under an older schema, say, still replays).
TEST_F(OrderServiceTest, FinishedKeyReplaysWithoutValidatingTheBody) {
  json no_longer_valid = Body();
  no_longer_valid["total_cents"] = -1;
  EXPECT_CALL(store_, FindFinishedKey(kBrand, kKey))
      .WillOnce(Return(FinishedKey(no_longer_valid, R"({"id":"order-9"})")));

  StoredAnswer answer = Create(no_longer_valid);

  EXPECT_TRUE(answer.replayed);
  EXPECT_EQ(answer.body, R"({"id":"order-9"})");
}

// Finished between the look-up and the claim (by a request racing this one): ClaimKey's answer
// replays it just the same.
TEST_F(OrderServiceTest, KeyFinishedBeforeTheClaimReplaysFromTheClaim) {
  store::Claim finished = ClaimOf(ClaimResult::kFinished, RecoveryPoint::kFinished, "order-9");
  finished.record.response_status = 201;
  finished.record.response_body = R"({"id":"order-9"})";
  ExpectClaim(finished);

  StoredAnswer answer = Create();

  EXPECT_TRUE(answer.replayed);
  EXPECT_EQ(answer.body, R"({"id":"order-9"})");
}

TEST_F(OrderServiceTest, KeyHeldByAnotherRequestIsInProgressWithRetryAfterAndStaysHeld) {
  ExpectClaim(ClaimOf(ClaimResult::kInProgress, RecoveryPoint::kOrderRecorded, "order-9"));
  // No ReleaseKey: the lease is the other request's.

  AppError error = ErrorFrom([&] { Create(); });

  EXPECT_EQ(error.code(), ErrorCode::kIdempotencyRequestInProgress);
  EXPECT_EQ(error.retry_after_seconds, 1);
}

TEST_F(OrderServiceTest, SameKeyWithADifferentBodyIsKeyReused) {
  json other = Body();
  other["panel_slug"] = "pcos";
  ExpectClaim(ClaimOf(ClaimResult::kFingerprintMismatch), other);

  AppError error = ErrorFrom([&] { Create(other); });

  EXPECT_EQ(error.code(), ErrorCode::kIdempotencyKeyReused);
  EXPECT_EQ(error.retry_after_seconds, std::nullopt);
}

TEST_F(OrderServiceTest, IdempotencyOutcomesAreCounted) {
  metrics::Registry registry;
  service_.UseMetrics(registry);
  store::Claim finished = ClaimOf(ClaimResult::kFinished, RecoveryPoint::kFinished, "order-9");
  finished.record.response_status = 201;
  finished.record.response_body = "{}";
  // A replay from the finished key's row, then three claims: one racing a finisher (replayed),
  // one in progress, one under another request.
  EXPECT_CALL(store_, FindFinishedKey(kBrand, kKey))
      .WillOnce(Return(FinishedKey(Body(), "{}")))
      .WillRepeatedly(Return(std::nullopt));
  store::Claim mismatch = ClaimOf(ClaimResult::kFingerprintMismatch);
  mismatch.record.fingerprint = "fingerprint-of-another-request";
  EXPECT_CALL(store_, ClaimKey(kBrand, kKey, _, kT0, kT0 + 60s, _))
      .WillOnce(Return(finished))
      .WillOnce(Return(ClaimOf(ClaimResult::kInProgress)))
      .WillOnce(Return(mismatch));

  Create();
  Create();
  ErrorFrom([&] { Create(); });
  ErrorFrom([&] { Create(); });

  std::string text = registry.RenderPrometheus();
  EXPECT_THAT(text, HasSubstr("lab_orders_idempotency_total{result=\"replayed\"} 2"));
  EXPECT_THAT(text, HasSubstr("lab_orders_idempotency_total{result=\"conflict_in_progress\"} 1"));
  EXPECT_THAT(text, HasSubstr("lab_orders_idempotency_total{result=\"key_reused\"} 1"));
}

TEST_F(OrderServiceTest, MissingOrInvalidKeyIsRefusedBeforeAnythingIsStored) {
  // No ClaimKey: the strict mock fails the test on any store call.
  EXPECT_EQ(ErrorFrom([&] { Create(Body(), std::nullopt); }).code(),
            ErrorCode::kIdempotencyKeyMissing);
  const std::string invalid[] = {
      "",                     // empty
      std::string(256, 'k'),  // too long
      "tab\tinside",          // a control character
      "caf\xC3\xA9",          // not ASCII
      "\"\"",                 // an empty sf-string
      R"("bad \n escape")",   // sf-strings escape only \" and \\ .
      R"("inner " quote")",   // an unescaped quote inside
  };
  for (const std::string& key : invalid) {
    AppError error = ErrorFrom([&] { Create(Body(), key); });
    EXPECT_EQ(error.code(), ErrorCode::kIdempotencyKeyInvalid) << "key: " << key;
  }
}

TEST_F(OrderServiceTest, QuotedKeyIsClaimedUnquoted) {
  EXPECT_CALL(store_, FindFinishedKey(kBrand, R"(k"1\)"))
      .WillOnce(Return(FinishedKey(Body(), "{}")))
      .WillOnce(Return(std::nullopt));
  EXPECT_CALL(store_, ClaimKey(kBrand, R"(k"1\)", _, kT0, kT0 + 60s, _))
      .WillOnce(Return(ClaimOf(ClaimResult::kInProgress)));

  EXPECT_TRUE(Create(Body(), R"("k\"1\\")").replayed);
  EXPECT_EQ(ErrorFrom([&] { Create(Body(), R"("k\"1\\")"); }).code(),
            ErrorCode::kIdempotencyRequestInProgress);

  EXPECT_EQ(ParseIdempotencyKey(std::string(255, 'k')), std::string(255, 'k'));
  EXPECT_EQ(ParseIdempotencyKey("\"" + std::string(255, 'k') + "\""), std::string(255, 'k'));
  EXPECT_EQ(ParseIdempotencyKey("\"" + std::string(256, 'k') + "\""), std::nullopt);
}

TEST_F(OrderServiceTest, InvalidBodyIsAValidationErrorAndLeavesTheKeyUnclaimed) {
  json body = Body();
  body["total_cents"] = -1;
  body["patient"].erase("email");

  // Not finished; and no ClaimKey: the strict mock checks it.
  EXPECT_CALL(store_, FindFinishedKey(kBrand, kKey)).WillOnce(Return(std::nullopt));

  AppError error = ErrorFrom([&] { Create(body); });

  EXPECT_EQ(error.code(), ErrorCode::kValidationError);
  std::vector<std::string> paths;
  for (const FieldViolation& violation : error.details()) paths.push_back(violation.path);
  EXPECT_THAT(paths, ::testing::UnorderedElementsAre("/patient/email", "/total_cents"));
  EXPECT_EQ(error.log_detail(), "2 violations");
}

}  // namespace
}  // namespace lab_orders::orders
