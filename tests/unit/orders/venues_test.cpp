// Venues (GET /v1/labs/venues) against a mocked Junction: the labs Junction's area info names are
// asked for their service centers within the radius, and the answer lists them nearest first,
// saying which take bookings made through Junction.

#include "lab_orders/orders/venues.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "lab_orders/common/error.h"
#include "mocks/mock_junction_client.h"
#include "support/app_errors.h"
#include "support/junction_fixtures.h"

namespace lab_orders::orders {
namespace {

using lab_orders::testing::AreaServed;
using lab_orders::testing::CallFailure;
using lab_orders::testing::ErrorFrom;
using nlohmann::json;
using ::testing::Return;
using ::testing::StrictMock;

junction::ServiceCenter Center(const std::string& code, int miles, const std::string& capability) {
  junction::ServiceCenter center;
  center.site_code = code;
  center.name = "Quest " + code;
  center.first_line = "1 Main St";
  center.city = "Phoenix";
  center.state = "AZ";
  center.zip_code = "85004";
  center.phone_number = "+16025550100";
  center.hours_json = R"({"mon":"07:00-15:00"})";
  center.distance_miles = miles;
  center.capabilities = {capability};
  return center;
}

TEST(VenuesTest, ListsEachLabsCentersNearestFirst) {
  StrictMock<testing::MockJunctionClient> junction;
  junction::AreaInfo area = AreaServed(false, true);
  area.labs_with_service_centers.push_back("sonora_quest");
  area.service_center_lab_ids["sonora_quest"] = 7;
  junction::ServiceCenters quest{1,
                                 "quest",
                                 {Center("Q-far", 14, "appointment_scheduling_with_lab"),
                                  Center("Q-near", 2, "appointment_scheduling_via_junction")}};
  junction::ServiceCenters sonora{
      7, "sonora_quest", {Center("S-mid", 6, "appointment_scheduling_via_junction")}};
  EXPECT_CALL(junction, GetAreaInfo("85004")).WillOnce(Return(area));
  EXPECT_CALL(junction, GetServiceCenters("85004", 1, 50)).WillOnce(Return(quest));
  EXPECT_CALL(junction, GetServiceCenters("85004", 7, 50)).WillOnce(Return(sonora));

  json answer = Venues(junction).Near("85004", 50);

  EXPECT_EQ(answer["zip"], "85004");
  EXPECT_EQ(answer["radius_miles"], 50);
  ASSERT_EQ(answer["venues"].size(), 3u);
  EXPECT_EQ(answer["venues"][0]["site_code"], "Q-near");
  EXPECT_EQ(answer["venues"][1]["site_code"], "S-mid");
  EXPECT_EQ(answer["venues"][1]["lab"], "sonora_quest");
  EXPECT_EQ(answer["venues"][2]["site_code"], "Q-far");
  EXPECT_EQ(answer["venues"][0]["books_through_junction"], true);
  EXPECT_EQ(answer["venues"][2]["books_through_junction"], false);
  EXPECT_EQ(answer["venues"][0]["address"], (json{{"line1", "1 Main St"},
                                                  {"line2", nullptr},
                                                  {"city", "Phoenix"},
                                                  {"state", "AZ"},
                                                  {"zip", "85004"}}));
  EXPECT_EQ(answer["venues"][0]["hours"], (json{{"mon", "07:00-15:00"}}));
  EXPECT_EQ(answer["venues"][0]["distance_miles"], 2);
}

TEST(VenuesTest, NoLabNearIsAnEmptyListAndAFailureIsA502) {
  StrictMock<testing::MockJunctionClient> junction;
  EXPECT_CALL(junction, GetAreaInfo("60601"))
      .WillOnce(Return(AreaServed(true, false)))
      .WillOnce(Return(AreaServed(true, true)));
  EXPECT_EQ(Venues(junction).Near("60601", 25)["venues"], json::array());

  EXPECT_CALL(junction, GetServiceCenters("60601", 1, 25))
      .WillOnce(Return(CallFailure(junction::Outcome::kServerError, "psc_info", 503)));
  EXPECT_EQ(ErrorFrom([&] { Venues(junction).Near("60601", 25); }).code(),
            ErrorCode::kJunctionUpstreamError);
}

TEST(VenuesTest, TheRadiiAreJunctions) {
  for (int miles : {10, 20, 25, 50, 100}) EXPECT_TRUE(Venues::IsAllowedRadius(miles)) << miles;
  for (int miles : {0, 5, 30, 101}) EXPECT_FALSE(Venues::IsAllowedRadius(miles)) << miles;
}

}  // namespace
}  // namespace lab_orders::orders
