// OrderActions for a walk-in order (a patient service center's appointment) against a mocked store
// and a mocked Junction: its slots come from Junction's PSC availability for the lab that books
// near the patient, each with its site; and the cancellation reasons are the service center's.

#include "unit/workflow/order_actions_fixture.h"

namespace lab_orders::workflow {
namespace {

class ServiceCenterActionsTest : public OrderActionsTest {};

model::LabOrder WalkInOrder() {
  model::LabOrder order = ReadyOrder();
  order.workflow.collection_method = model::kWalkIn;
  return order;
}

junction::AreaInfo QuestNearby() {
  junction::AreaInfo area;
  area.zip_code = "97405";
  area.labs_with_service_centers = {"labcorp", "quest"};
  area.service_center_lab_ids = {{"labcorp", 2}, {"quest", 1}};
  return area;
}

junction::SlotLocation Site(const std::string& code, int distance_miles) {
  junction::SlotLocation site;
  site.code = code;
  site.name = "Quest Diagnostics " + code;
  site.address = {"1120 North Central Avenue", std::nullopt, "Eugene", "OR", "97405", std::nullopt};
  site.distance_miles = distance_miles;
  site.iana_timezone = "America/Los_Angeles";
  return site;
}

TEST_F(ServiceCenterActionsTest,
       AWalkInOrdersSlotsAreTheServiceCentersNearThePatientEarliestFirst) {
  junction::Availability availability;
  availability.timezone = "America/Los_Angeles";
  availability.days = {
      {"2025-06-16", {Slot("psc-far", kT0 + 26h)}, Site("Q97405B", 6)},
      {"2025-06-16",
       {Slot("psc-near", kT0 + 26h), Slot("psc-full", kT0 + 27h, 0)},
       Site("Q97405A", 2)},
      {"2025-06-15", {Slot("psc-first", kT0 + 3h)}, Site("Q97405A", 2)},
      {"2025-06-15", {Slot("home-like", kT0 + 2h)}, std::nullopt},  // no site: not a PSC slot
  };
  EXPECT_CALL(store_, GetOrderById(kOrderId)).WillOnce(Return(WalkInOrder()));
  EXPECT_CALL(junction_, GetAreaInfo("97405")).WillOnce(Return(QuestNearby()));
  EXPECT_CALL(junction_,
              GetServiceCenterAvailability(
                  AllOf(Field(&junction::ServiceCenterSlotsQuery::lab, "quest"),
                        Field(&junction::ServiceCenterSlotsQuery::site_codes, ::testing::IsEmpty()),
                        Field(&junction::ServiceCenterSlotsQuery::zip_code, "97405"),
                        Field(&junction::ServiceCenterSlotsQuery::radius_miles, 25))))
      .WillOnce(Return(availability));

  json answer = actions_.Availability(Caller(), kOrderId);

  std::vector<std::string> keys;
  for (const json& slot : answer["slots"]) keys.push_back(slot["booking_key"].get<std::string>());
  // Earliest first; at the same time, the nearer site first.
  EXPECT_EQ(keys, (std::vector<std::string>{"psc-first", "psc-near", "psc-far"}));
  EXPECT_EQ(answer["slots"][1]["service_center"], (json{{"site_code", "Q97405A"},
                                                        {"name", "Quest Diagnostics Q97405A"},
                                                        {"address",
                                                         {{"line1", "1120 North Central Avenue"},
                                                          {"line2", nullptr},
                                                          {"city", "Eugene"},
                                                          {"state", "OR"},
                                                          {"zip", "97405"}}},
                                                        {"distance_miles", 2},
                                                        {"timezone", "America/Los_Angeles"}}));
  EXPECT_EQ(answer["timezone"], "America/Los_Angeles");
}

TEST_F(ServiceCenterActionsTest, ASiteCodeAsksForThatServiceCenterOnlyAndNoSlotIsAnEmptyList) {
  EXPECT_CALL(store_, GetOrderById(kOrderId)).WillOnce(Return(WalkInOrder()));
  EXPECT_CALL(junction_, GetAreaInfo("97405")).WillOnce(Return(QuestNearby()));
  EXPECT_CALL(junction_, GetServiceCenterAvailability(AllOf(
                             Field(&junction::ServiceCenterSlotsQuery::site_codes,
                                   std::vector<std::string>{"Q97405B"}),
                             Field(&junction::ServiceCenterSlotsQuery::zip_code, std::nullopt))))
      .WillOnce(Return(Failure(junction::Outcome::kNotFound, "psc_availability", 404)));

  json answer = actions_.Availability(Caller(), kOrderId, std::string("Q97405B"));

  EXPECT_EQ(answer["slots"], json::array());
}

TEST_F(ServiceCenterActionsTest, NoServiceCenterBookingThroughJunctionNearbyIsNotBookable) {
  junction::AreaInfo area = QuestNearby();
  area.labs_with_service_centers = {"labcorp"};
  EXPECT_CALL(store_, GetOrderById(kOrderId)).WillOnce(Return(WalkInOrder()));
  EXPECT_CALL(junction_, GetAreaInfo("97405")).WillOnce(Return(area));

  AppError error = ErrorFrom([&] { actions_.Availability(Caller(), kOrderId); });

  EXPECT_EQ(error.code(), ErrorCode::kOrderNotBookable);
  EXPECT_THAT(error.what(), HasSubstr("/v1/labs/venues"));
}

TEST_F(ServiceCenterActionsTest, ASiteCodeForAHomeVisitIsAQueryError) {
  EXPECT_CALL(store_, GetOrderById(kOrderId)).WillOnce(Return(ReadyOrder()));

  AppError error =
      ErrorFrom([&] { actions_.Availability(Caller(), kOrderId, std::string("Q97405A")); });

  EXPECT_EQ(error.code(), ErrorCode::kValidationError);
  ASSERT_EQ(error.details().size(), 1u);
  EXPECT_EQ(error.details()[0].path, "/site_code");
}

TEST_F(ServiceCenterActionsTest, EachChannelHasItsOwnCancellationReasonsEachKeptAnHour) {
  EXPECT_CALL(junction_, ListCancellationReasons())
      .WillOnce(Return(std::vector<junction::CancellationReason>{{"r-home", "Home", true}}));
  EXPECT_CALL(junction_, ListServiceCenterCancellationReasons())
      .WillOnce(Return(std::vector<junction::CancellationReason>{{"r-site", "Site", false}}));

  for (int twice = 0; twice < 2; ++twice) {
    EXPECT_EQ(actions_.CancellationReasons()["reasons"][0]["id"], "r-home");
    EXPECT_EQ(actions_.CancellationReasons(model::kWalkIn)["reasons"][0]["id"], "r-site");
  }
}

}  // namespace
}  // namespace lab_orders::workflow
