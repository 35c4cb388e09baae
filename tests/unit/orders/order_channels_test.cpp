// The order's channel (issue 18): the collection method asked for, checked against the panel's
// channels and against Junction's area info for the patient's ZIP before anything is recorded;
// the brand's fallback when only that serves; and AreaCoverage, which keeps area info per ZIP.

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <chrono>
#include <optional>
#include <string>

#include "lab_orders/common/error.h"
#include "lab_orders/http/openapi_document.h"
#include "lab_orders/orders/area_coverage.h"
#include "lab_orders/orders/order_service.h"
#include "mocks/mock_junction_client.h"
#include "mocks/mock_order_store.h"
#include "support/app_errors.h"
#include "support/fakes.h"
#include "support/junction_fixtures.h"
#include "support/order_bodies.h"

namespace lab_orders::orders {
namespace {

using lab_orders::testing::ErrorFrom;
using namespace std::chrono_literals;
using lab_orders::testing::AreaServed;
using lab_orders::testing::CallFailure;
using nlohmann::json;
using ::testing::_;
using ::testing::DoAll;
using ::testing::HasSubstr;
using ::testing::Return;
using ::testing::SaveArg;
using ::testing::StrictMock;

const store::TimePoint kT0 = std::chrono::sys_days{std::chrono::year{2025} / 6 / 15} + 10h;
constexpr char kBrand[] = "brand-1";
constexpr char kKey[] = "key-1";

// wellness may be drawn any way; pcos at home only.
PanelCatalog Panels() {
  return {{"wellness", {{"lab-test-wellness"}, {model::kAtHome, model::kWalkIn, model::kTestkit}}},
          {"pcos", {{"lab-test-pcos"}, {model::kAtHome}}}};
}

json Body(const json& channel = json::object()) {
  json body = lab_orders::testing::WorkflowOrderBody("pat-1");
  body.update(channel);
  return body;
}

class OrderChannelsTest : public ::testing::Test {
 protected:
  OrderChannelsTest()
      : clock_(kT0),
        validator_(http::LabOrderRequestSchema(), clock_),
        service_(store_, junction_, validator_, Panels(), clock_, ids_) {}

  void Create(const json& body) {
    const std::string bytes = body.dump();
    service_.CreateOrder({"user-1", kBrand, {"orders:write"}}, kKey,
                         {bytes, [&bytes] { return json::parse(bytes); }});
  }

  // The key is new and the request gets as far as claiming it: the order it would record is kept
  // in recorded_, and the claim answers "in progress" so that nothing further runs.
  void ExpectRecorded() {
    EXPECT_CALL(store_, FindFinishedKey(kBrand, kKey)).WillOnce(Return(std::nullopt));
    store::Claim busy;
    busy.result = store::ClaimResult::kInProgress;
    EXPECT_CALL(store_, ClaimKey(kBrand, kKey, _, _, _, _))
        .WillOnce(DoAll(SaveArg<5>(&recorded_), Return(busy)));
  }

  // The request goes all the way: recorded (in recorded_), its Junction user known, its order
  // made at Junction (the request sent in *sent) and the 201 saved (*answer).
  void ExpectPlaced(junction::CreateOrderRequest* sent, std::string* answer) {
    EXPECT_CALL(store_, FindFinishedKey(kBrand, kKey)).WillOnce(Return(std::nullopt));
    store::Claim claim;
    claim.result = store::ClaimResult::kNew;
    claim.record.brand_id = kBrand;
    claim.record.key = kKey;
    claim.record.recovery_point = store::RecoveryPoint::kOrderRecorded;
    claim.record.order_id = "00000000-0000-4000-8000-000000000001";
    EXPECT_CALL(store_, ClaimKey(kBrand, kKey, _, _, _, _))
        .WillOnce(DoAll(SaveArg<5>(&recorded_), Return(claim)));
    EXPECT_CALL(store_, FindJunctionUser(_)).WillOnce(Return("ju-1"));
    junction::OrderResponse created;
    created.order.id = "jo-1";
    EXPECT_CALL(junction_, CreateOrder(_)).WillOnce(DoAll(SaveArg<0>(sent), Return(created)));
    EXPECT_CALL(store_, SaveJunctionOrder(kKey, _, _, 201, _)).WillOnce(SaveArg<4>(answer));
  }

  // Nothing is recorded (strict mock: no ClaimKey): the key stays free.
  void ExpectNothingRecorded() {
    EXPECT_CALL(store_, FindFinishedKey(kBrand, kKey)).WillOnce(Return(std::nullopt));
    EXPECT_CALL(store_, KeyUnfinished(kBrand, kKey)).WillOnce(Return(false));
  }

  StrictMock<testing::MockOrderStore> store_;
  StrictMock<testing::MockJunctionClient> junction_;
  testing::FakeClock clock_;
  testing::CountingIdGenerator ids_;
  RequestValidator validator_;
  OrderService service_;
  model::LabOrder recorded_;
};

TEST_F(OrderChannelsTest, AnAtHomeOrderInAServedAreaStaysAtHome) {
  EXPECT_CALL(junction_, GetAreaInfo("85004")).WillOnce(Return(AreaServed(true, false)));
  ExpectRecorded();
  EXPECT_THROW(Create(Body()), AppError);  // the claim's "in progress"
  EXPECT_EQ(recorded_.workflow.collection_method, model::kAtHome);
  EXPECT_EQ(recorded_.workflow.channel_changed_from, std::nullopt);
}

TEST_F(OrderChannelsTest, AWalkInOrderIsRecordedAndOrderedAtJunctionAsWalkInTest) {
  EXPECT_CALL(junction_, GetAreaInfo("85004")).WillOnce(Return(AreaServed(false, true)));
  junction::CreateOrderRequest sent;
  std::string answer;
  ExpectPlaced(&sent, &answer);

  Create(Body({{"collection_method", "walk_in"}}));

  EXPECT_EQ(recorded_.workflow.collection_method, model::kWalkIn);
  EXPECT_EQ(sent.collection_method, "walk_in_test");
  EXPECT_EQ(json::parse(answer)["collection_method"], "walk_in");
}

// Nothing is recorded and the key stays free: the brand learns which channels serve the ZIP.
// A kit goes by mail: no area info is asked (strict mock), and Junction gets a testkit order.
TEST_F(OrderChannelsTest, ATestKitOrderIsOrderedAtJunctionAsTestkitWithoutAskingTheArea) {
  junction::CreateOrderRequest sent;
  std::string answer;
  ExpectPlaced(&sent, &answer);

  Create(Body({{"collection_method", "testkit"}}));

  EXPECT_EQ(recorded_.workflow.collection_method, model::kTestkit);
  EXPECT_EQ(sent.collection_method, "testkit");
  EXPECT_EQ(json::parse(answer)["collection_method"], "testkit");
  EXPECT_EQ(json::parse(answer)["tracking_number"], nullptr);
  EXPECT_EQ(json::parse(answer)["return_tracking_number"], nullptr);
}

TEST_F(OrderChannelsTest, AnUnservedAreaIs422NamingTheChannelsThatServeIt) {
  EXPECT_CALL(junction_, GetAreaInfo("85004")).WillOnce(Return(AreaServed(false, true)));
  ExpectNothingRecorded();
  AppError error = ErrorFrom([&] { Create(Body()); });
  EXPECT_EQ(error.code(), ErrorCode::kCollectionMethodUnavailable);
  EXPECT_THAT(error.what(), HasSubstr("served by walk_in"));
  ASSERT_EQ(error.details().size(), 1u);
  EXPECT_EQ(error.details()[0].path, "/collection_method");
}

TEST_F(OrderChannelsTest, AnAreaNoChannelServesSaysSo) {
  EXPECT_CALL(junction_, GetAreaInfo("85004")).WillOnce(Return(AreaServed(false, false)));
  ExpectNothingRecorded();
  AppError error = ErrorFrom([&] { Create(Body({{"panel_slug", "pcos"}})); });
  EXPECT_EQ(error.code(), ErrorCode::kCollectionMethodUnavailable);
  EXPECT_THAT(error.what(), HasSubstr("no channel"));
}

// A kit goes anywhere: the one channel left where no one draws blood, but not a fallback.
TEST_F(OrderChannelsTest, WhereNoOneDrawsBloodAKitIsNamedAsTheChannelLeft) {
  EXPECT_CALL(junction_, GetAreaInfo("85004")).WillOnce(Return(AreaServed(false, false)));
  ExpectNothingRecorded();
  AppError error = ErrorFrom([&] { Create(Body({{"fallback", "walk_in"}})); });
  EXPECT_EQ(error.code(), ErrorCode::kCollectionMethodUnavailable);
  EXPECT_THAT(error.what(), HasSubstr("served by testkit (send one as collection_method)"));
}

// pcos is offered at home only: walk-in serving the ZIP does not make it one.
TEST_F(OrderChannelsTest, OnlyThePanelsChannelsCountAsServing) {
  EXPECT_CALL(junction_, GetAreaInfo("85004")).WillOnce(Return(AreaServed(false, true)));
  ExpectNothingRecorded();
  AppError error = ErrorFrom([&] { Create(Body({{"panel_slug", "pcos"}})); });
  EXPECT_EQ(error.code(), ErrorCode::kCollectionMethodUnavailable);
  EXPECT_THAT(error.what(), HasSubstr("no channel the pcos panel is offered on"));
}

TEST_F(OrderChannelsTest, TheFallbackTakesTheOrderToWalkInAndSaysWhy) {
  EXPECT_CALL(junction_, GetAreaInfo("85004")).WillOnce(Return(AreaServed(false, true)));
  ExpectRecorded();
  EXPECT_THROW(Create(Body({{"fallback", "walk_in"}})), AppError);
  EXPECT_EQ(recorded_.workflow.collection_method, model::kWalkIn);
  EXPECT_EQ(recorded_.workflow.channel_changed_from, model::kAtHome);
  EXPECT_EQ(recorded_.workflow.channel_change_reason, "area_not_served");
}

TEST_F(OrderChannelsTest, AFallbackUnusedLeavesTheOrderAsAsked) {
  EXPECT_CALL(junction_, GetAreaInfo("85004")).WillOnce(Return(AreaServed(true, true)));
  ExpectRecorded();
  EXPECT_THROW(Create(Body({{"fallback", "walk_in"}})), AppError);
  EXPECT_EQ(recorded_.workflow.collection_method, model::kAtHome);
  EXPECT_EQ(recorded_.workflow.channel_change_reason, std::nullopt);
}

// Refused before Junction is asked (strict mock: no GetAreaInfo).
TEST_F(OrderChannelsTest, AChannelOrFallbackThePanelIsNotOfferedOnIs400NamingTheField) {
  ExpectNothingRecorded();
  AppError walk_in = ErrorFrom([&] {
    Create(Body({{"panel_slug", "pcos"}, {"collection_method", "walk_in"}}));
  });
  EXPECT_EQ(walk_in.code(), ErrorCode::kValidationError);
  ASSERT_EQ(walk_in.details().size(), 1u);
  EXPECT_EQ(walk_in.details()[0].path, "/collection_method");
  EXPECT_EQ(walk_in.details()[0].message, "the pcos panel is offered as at_home_phlebotomy only");

  ExpectNothingRecorded();
  AppError fallback = ErrorFrom([&] {
    Create(Body({{"panel_slug", "pcos"}, {"fallback", "walk_in"}}));
  });
  ASSERT_EQ(fallback.details().size(), 1u);
  EXPECT_EQ(fallback.details()[0].path, "/fallback");

  ExpectNothingRecorded();
  AppError backwards = ErrorFrom([&] {
    Create(Body({{"collection_method", "walk_in"}, {"fallback", "walk_in"}}));
  });
  ASSERT_EQ(backwards.details().size(), 1u);
  EXPECT_EQ(backwards.details()[0].message, "only an at_home_phlebotomy order can fall back");
}

// A retry of a request that recorded its order resumes that order, on the channel it was given
// then: what the area says now does not refuse it (nor tell the brand the key is free).
TEST_F(OrderChannelsTest, ARetryOfARecordedOrderIsNotRefusedWhateverTheAreaSaysNow) {
  for (bool junction_fails : {false, true}) {
    // Another area each time: the first answer is kept for its own.
    const std::string zip = junction_fails ? "85006" : "85004";
    json body = Body();
    body["address"]["zip"] = zip;
    if (junction_fails) {
      EXPECT_CALL(junction_, GetAreaInfo(zip))
          .WillOnce(Return(CallFailure(junction::Outcome::kTimeout, "area_info", 0)));
    } else {
      EXPECT_CALL(junction_, GetAreaInfo(zip)).WillOnce(Return(AreaServed(false, false)));
    }
    EXPECT_CALL(store_, FindFinishedKey(kBrand, kKey)).WillOnce(Return(std::nullopt));
    EXPECT_CALL(store_, KeyUnfinished(kBrand, kKey)).WillOnce(Return(true));
    store::Claim leased;
    leased.result = store::ClaimResult::kInProgress;
    EXPECT_CALL(store_, ClaimKey(kBrand, kKey, _, _, _, _)).WillOnce(Return(leased));
    AppError error = ErrorFrom([&] { Create(body); });
    EXPECT_EQ(error.code(), ErrorCode::kIdempotencyRequestInProgress) << junction_fails;
    ::testing::Mock::VerifyAndClearExpectations(&store_);
    ::testing::Mock::VerifyAndClearExpectations(&junction_);
  }
}

TEST_F(OrderChannelsTest, JunctionFailingToSayIsA502WithTheKeyLeftFree) {
  EXPECT_CALL(junction_, GetAreaInfo("85004"))
      .WillOnce(Return(CallFailure(junction::Outcome::kServerError, "area_info", 503)));
  ExpectNothingRecorded();
  AppError error = ErrorFrom([&] { Create(Body()); });
  EXPECT_EQ(error.code(), ErrorCode::kJunctionUpstreamError);
}

// ---- AreaCoverage ------------------------------------------------------------------------------

TEST(AreaCoverageTest, KeepsEachZipsAnswerForItsTimeByTheFiveDigitArea) {
  StrictMock<testing::MockJunctionClient> junction;
  testing::FakeClock clock(kT0);
  AreaCoverage coverage(junction, clock, 600s);
  EXPECT_CALL(junction, GetAreaInfo("85004"))
      .Times(2)
      .WillRepeatedly(Return(AreaServed(true, false)));
  EXPECT_CALL(junction, GetAreaInfo("54650")).WillOnce(Return(AreaServed(false, true)));

  EXPECT_TRUE(coverage.For("85004").at_home);
  EXPECT_FALSE(coverage.For("85004-1234").walk_in);  // the same area: no second call
  EXPECT_TRUE(coverage.For("54650").walk_in);
  clock.Advance(599s);
  EXPECT_TRUE(coverage.For("85004").at_home);
  clock.Advance(1s);
  EXPECT_TRUE(coverage.For("85004").at_home);  // its time is up: asked again
}

TEST(AreaCoverageTest, AFailureIsNotKept) {
  StrictMock<testing::MockJunctionClient> junction;
  testing::FakeClock clock(kT0);
  AreaCoverage coverage(junction, clock, 600s);
  EXPECT_CALL(junction, GetAreaInfo("85004"))
      .WillOnce(Return(CallFailure(junction::Outcome::kTimeout, "area_info", 0)))
      .WillOnce(Return(AreaServed()));
  EXPECT_THROW(coverage.For("85004"), AppError);
  EXPECT_TRUE(coverage.For("85004").at_home);  // asked again, then kept
  EXPECT_TRUE(coverage.For("85004").walk_in);
}

TEST(AreaCoverageTest, AZeroTtlKeepsNothing) {
  StrictMock<testing::MockJunctionClient> junction;
  testing::FakeClock clock(kT0);
  AreaCoverage coverage(junction, clock, 0s);
  EXPECT_CALL(junction, GetAreaInfo("85004"))
      .WillOnce(Return(AreaServed(true, false)))
      .WillOnce(Return(AreaServed(false, true)));
  EXPECT_TRUE(coverage.For("85004").at_home);
  EXPECT_TRUE(coverage.For("85004").walk_in);
}

}  // namespace
}  // namespace lab_orders::orders
