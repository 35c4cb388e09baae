// junction-sim's patient service centers (GET /v3/order/psc/info): Quest's sites near every ZIP
// but the script's psc_unserved_zips, those within the radius, in Junction's own shape.

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "lab_orders/sim/junction_spec.h"
#include "lab_orders/sim/openapi_validator.h"
#include "lab_orders/sim/script.h"
#include "lab_orders/sim/world.h"
#include "support/fakes.h"

namespace lab_orders::sim {
namespace {

using nlohmann::json;

json Violations(const json& body) {
  static const OpenApiValidator validator(json::parse(JunctionSpecText()));
  json all = json::array();
  const json* schema = validator.ResponseSchema("GET", "/v3/order/psc/info", 200);
  if (schema == nullptr) return {"no schema"};
  for (const SchemaViolation& violation : validator.Validate(*schema, body, json::array())) {
    all.push_back(violation.ToJson());
  }
  return all;
}

TEST(SimServiceCentersTest, QuestsSitesWithinTheRadiusInJunctionsShape) {
  lab_orders::testing::FakeClock clock(std::chrono::system_clock::time_point{});
  lab_orders::testing::CountingIdGenerator ids;
  World world(clock, ids, {});
  for (const auto& [radius, count] :
       std::vector<std::pair<int, std::size_t>>{{10, 2}, {25, 3}, {100, 3}}) {
    SimResponse answer = world.ServiceCenters("85004", World::kQuestLabId, radius);
    ASSERT_EQ(answer.status, 200);
    EXPECT_EQ(Violations(answer.body), json::array());
    EXPECT_EQ(answer.body["patient_service_centers"].size(), count) << radius;
  }
  const json sites = world.ServiceCenters("85004", World::kQuestLabId, 25).body;
  EXPECT_EQ(sites["patient_service_centers"][2]["capabilities"][0],
            "appointment_scheduling_with_lab");
  EXPECT_TRUE(world.ServiceCenters("85004", 2, 25).body["patient_service_centers"].empty());

  world.LoadScript(ParseScript({{"psc_unserved_zips", {"60601"}}}));
  EXPECT_TRUE(world.ServiceCenters("60601", World::kQuestLabId, 100)
                  .body["patient_service_centers"]
                  .empty());
}

}  // namespace
}  // namespace lab_orders::sim
