// OrderService (POST /v1/labs/orders and the order reads) against a mocked store and a mocked
// Junction: the order of the phase commits, the idempotency answers, where a failed request
// leaves its key, and resuming from each recovery point. The validator is the real one, built
// from the OpenAPI document, so the bodies are the ones a client would send.

#include "lab_orders/orders/order_service.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <chrono>
#include <optional>
#include <ostream>
#include <stdexcept>
#include <string>
#include <vector>

#include "lab_orders/common/error.h"
#include "lab_orders/common/metrics.h"
#include "lab_orders/http/openapi_document.h"
#include "lab_orders/model/order_json.h"
#include "mocks/mock_junction_client.h"
#include "mocks/mock_order_store.h"
#include "support/app_errors.h"
#include "support/fakes.h"
#include "support/junction_fixtures.h"
#include "support/order_bodies.h"
#include "support/store_fixtures.h"

namespace lab_orders::orders {
namespace {

using lab_orders::testing::ErrorFrom;
using namespace std::chrono_literals;
using lab_orders::testing::AreaServed;
using lab_orders::testing::CountingIdGenerator;
using lab_orders::testing::FakeClock;
using lab_orders::testing::MockJunctionClient;
using lab_orders::testing::MockOrderStore;
using nlohmann::json;
using store::ClaimResult;
using store::RecoveryPoint;
using store::TimePoint;
using ::testing::_;
using ::testing::AnyNumber;
using ::testing::DoAll;
using ::testing::EndsWith;
using ::testing::HasSubstr;
using ::testing::InSequence;
using ::testing::InvokeWithoutArgs;
using ::testing::Not;
using ::testing::Return;
using ::testing::SaveArg;
using ::testing::StrictMock;
using ::testing::Throw;

// The validator's clock: the patient of WorkflowOrderBody is an adult then.
const TimePoint kT0 = std::chrono::sys_days{std::chrono::year{2025} / 6 / 15} + 10h;
constexpr char kBrand[] = "brand-1";
constexpr char kUser[] = "user-1";
constexpr char kKey[] = "key-1";
constexpr char kPatientId[] = "pat-1";
constexpr char kClientUserId[] = "brand-1:pat-1";  // brand and patient id: never patient data
constexpr char kCreatePath[] = "/v1/labs/orders";
// What CountingIdGenerator hands out first and second.
constexpr char kFirstUuid[] = "00000000-0000-4000-8000-000000000001";
constexpr char kSecondUuid[] = "00000000-0000-4000-8000-000000000002";
// A Junction answer's text: it may reach the log detail, never the client's message.
constexpr char kUpstreamSummary[] = "upstream-summary-7f3a";

const std::vector<std::string> kWellnessTests = {"lab-test-wellness-1", "lab-test-wellness-2"};

PanelCatalog Panels() {
  return {{"wellness", {kWellnessTests, {model::kAtHome, model::kWalkIn}}},
          {"pcos", {{"lab-test-pcos"}, {model::kAtHome}}}};
}

auth::Principal Caller() { return {kUser, kBrand, {"orders:write"}}; }

json Body() { return lab_orders::testing::WorkflowOrderBody(kPatientId); }

store::Claim ClaimOf(ClaimResult result, RecoveryPoint point = RecoveryPoint::kStarted,
                     std::optional<std::string> order_id = std::nullopt) {
  store::Claim claim;
  claim.result = result;
  claim.record.brand_id = kBrand;
  claim.record.key = kKey;
  claim.record.fingerprint = RequestFingerprint("POST", kCreatePath, Body());
  claim.record.recovery_point = point;
  claim.record.order_id = std::move(order_id);
  claim.record.created_at = kT0;
  return claim;
}

junction::User JunctionUser(const std::string& id) {
  junction::User user;
  user.user_id = id;
  user.client_user_id = kClientUserId;
  return user;
}

junction::OrderResponse JunctionOrderCreated(const std::string& id) {
  junction::OrderResponse response;
  response.order.id = id;
  response.order.status = "received.at_home_phlebotomy.ordered";
  response.status = "success";
  return response;
}

junction::CallError Failure(junction::Outcome outcome, const std::string& operation,
                            int http_status, std::optional<int> retry_after = std::nullopt) {
  return lab_orders::testing::CallFailure(outcome, operation, http_status, retry_after,
                                          kUpstreamSummary);
}

// What the store answers a request whose key is new: the key claimed with the request's order
// (the first id CountingIdGenerator hands out), its first phase done.
store::Claim NewKeyClaim() {
  return ClaimOf(ClaimResult::kNew, RecoveryPoint::kOrderRecorded, kFirstUuid);
}

// A finished key's row as FindFinishedKey returns it, for the request with this body.
store::IdempotencyRecord FinishedKey(const json& body, const std::string& answer) {
  store::IdempotencyRecord record = ClaimOf(ClaimResult::kFinished).record;
  record.fingerprint = RequestFingerprint("POST", kCreatePath, body);
  record.recovery_point = RecoveryPoint::kFinished;
  record.order_id = "order-9";
  record.response_status = 201;
  record.response_body = answer;
  return record;
}

// An order a previous request recorded (and possibly took further) under kKey.
model::LabOrder StoredOrder(const std::string& id) {
  model::LabOrder order = lab_orders::testing::ExampleOrder(id, kBrand, kT0 - 5min);
  order.user_id = kUser;
  order.patient_id = kPatientId;
  order.panel_slug = "wellness";
  order.version = 1;
  return order;
}

class OrderServiceTest : public ::testing::Test {
 protected:
  OrderServiceTest()
      : clock_(kT0),
        validator_(http::LabOrderRequestSchema(), clock_),
        service_(store_, junction_, validator_, Panels(), clock_, ids_) {
    // Every ZIP is served both ways, unless a test says otherwise (Channels, below).
    EXPECT_CALL(junction_, GetAreaInfo(_)).Times(AnyNumber()).WillRepeatedly(Return(AreaServed()));
  }

  StoredAnswer Create(const json& body = Body(), std::optional<std::string> key = kKey) {
    return CreateFromBytes(body.dump(), key);
  }
  // The request with exactly these bytes as its body; parses_ counts the times they are parsed.
  StoredAnswer CreateFromBytes(const std::string& bytes, std::optional<std::string> key = kKey) {
    return service_.CreateOrder(Caller(), key, {bytes, [this, &bytes] {
                                                  ++parses_;
                                                  return json::parse(bytes);
                                                }});
  }

  // The key is not finished (FindFinishedKey finds nothing), and ClaimKey answers claim. The
  // order the request claims the key with is kept in claimed_.
  void ExpectClaim(const store::Claim& claim, const json& body = Body()) {
    EXPECT_CALL(store_, FindFinishedKey(kBrand, kKey)).WillOnce(Return(std::nullopt));
    const store::RequestIdentity identity{RequestFingerprint("POST", kCreatePath, body),
                                          RequestBodyDigest("POST", kCreatePath, body.dump())};
    EXPECT_CALL(store_, ClaimKey(kBrand, kKey, identity, kT0, kT0 + 60s, _))
        .WillOnce(DoAll(SaveArg<5>(&claimed_), Return(claim)));
  }

  StrictMock<MockOrderStore> store_;
  StrictMock<MockJunctionClient> junction_;
  FakeClock clock_;
  CountingIdGenerator ids_;
  RequestValidator validator_;
  OrderService service_;
  model::LabOrder claimed_;  // the order ClaimKey was called with
  int parses_ = 0;
};

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

TEST_F(OrderServiceTest, CreateUserFailureIsA502NamingTheStatusButNotTheBody) {
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

TEST_F(OrderServiceTest, StoreFailureMidwayReleasesTheKeyAndPropagates) {
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
TEST_F(OrderServiceTest, PanelMissingFromTheCatalogThrowsOutOfRangeBeforeTheKeyIsClaimed) {
  json body = Body();
  body["panel_slug"] = "fertility";  // valid in the schema, absent from Panels()
  EXPECT_CALL(store_, FindFinishedKey(kBrand, kKey)).WillOnce(Return(std::nullopt));

  EXPECT_THROW(Create(body), std::out_of_range);
}

// ---- resuming from a recovery point ------------------------------------------------------------

// An order an older version saved its Junction user on (this one keeps it in the mapping only).
TEST_F(OrderServiceTest, ResumeAfterUserSavedSkipsTheUserPhaseAndKeepsTheRecordedOrder) {
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
TEST_F(OrderServiceTest, ResumeAfterUserSavedFindsTheUserInTheMapping) {
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
TEST_F(OrderServiceTest, ResumeAtOrderRecordedWithAKnownUserSkipsTheUserCommit) {
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
TEST_F(OrderServiceTest, ResumedKeyThatAdoptedThisRequestsOrderDrivesItWithoutReadingIt) {
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

TEST_F(OrderServiceTest, ResumeAfterJunctionOrderCreatedOnlyStoresTheAnswer) {
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

TEST_F(OrderServiceTest, ResumedKeyWhoseOrderCannotBeReadIsAnInternalErrorAndIsReleased) {
  ExpectClaim(ClaimOf(ClaimResult::kResumed, RecoveryPoint::kUserEnsured, "order-9"));
  EXPECT_CALL(store_, GetOrder(kBrand, "order-9")).WillOnce(Return(std::nullopt));
  EXPECT_CALL(store_, ReleaseKey(kBrand, kKey));

  EXPECT_EQ(ErrorFrom([&] { Create(); }).code(), ErrorCode::kInternalError);
}

// ---- the completer -----------------------------------------------------------------------------

// The completer resumes like a retried request: here from a recorded order, through both phases.
TEST_F(OrderServiceTest, CompleteStaleKeyDrivesTheKeyToItsAnswer) {
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

TEST_F(OrderServiceTest, CompleteStaleKeyThatFailsReturnsNulloptAndReleasesTheKey) {
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

TEST_F(OrderServiceTest, GetOrderShowsTheCallersOrderAndAnyOtherIsNotFound) {
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

TEST_F(OrderServiceTest, ListOrdersPagesWithTheLastShownIdAsCursor) {
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
