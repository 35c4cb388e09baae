#pragma once

// OrderService's unit-test fixture (order_service_test.cpp, order_service_recovery_test.cpp):
// the store and Junction mocked, time and ids faked. Each test file derives its own fixture
// class (gtest wants one fixture class per suite name).

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
#include "lab_orders/orders/order_service.h"
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

inline PanelCatalog Panels() {
  return {{"wellness", {kWellnessTests, {model::kAtHome, model::kWalkIn}}},
          {"pcos", {{"lab-test-pcos"}, {model::kAtHome}}}};
}

inline auth::Principal Caller() { return {kUser, kBrand, {"orders:write"}}; }

inline json Body() { return lab_orders::testing::WorkflowOrderBody(kPatientId); }

inline store::Claim ClaimOf(ClaimResult result, RecoveryPoint point = RecoveryPoint::kStarted,
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

inline junction::User JunctionUser(const std::string& id) {
  junction::User user;
  user.user_id = id;
  user.client_user_id = kClientUserId;
  return user;
}

inline junction::OrderResponse JunctionOrderCreated(const std::string& id) {
  junction::OrderResponse response;
  response.order.id = id;
  response.order.status = "received.at_home_phlebotomy.ordered";
  response.status = "success";
  return response;
}

inline junction::CallError Failure(junction::Outcome outcome, const std::string& operation,
                                   int http_status, std::optional<int> retry_after = std::nullopt) {
  return lab_orders::testing::CallFailure(outcome, operation, http_status, retry_after,
                                          kUpstreamSummary);
}

// What the store answers a request whose key is new: the key claimed with the request's order
// (the first id CountingIdGenerator hands out), its first phase done.
inline store::Claim NewKeyClaim() {
  return ClaimOf(ClaimResult::kNew, RecoveryPoint::kOrderRecorded, kFirstUuid);
}

// A finished key's row as FindFinishedKey returns it, for the request with this body.
inline store::IdempotencyRecord FinishedKey(const json& body, const std::string& answer) {
  store::IdempotencyRecord record = ClaimOf(ClaimResult::kFinished).record;
  record.fingerprint = RequestFingerprint("POST", kCreatePath, body);
  record.recovery_point = RecoveryPoint::kFinished;
  record.order_id = "order-9";
  record.response_status = 201;
  record.response_body = answer;
  return record;
}

// An order a previous request recorded (and possibly took further) under kKey.
inline model::LabOrder StoredOrder(const std::string& id) {
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

}  // namespace
}  // namespace lab_orders::orders
