// A panel drawn fasting, over real processes (issue 18): config/panels.json says hormone_metabolic
// is; lab-orders books its home visit only into a morning slot (before
// LAB_ORDERS_FASTING_LATEST_HOUR on the clocks of the availability's time zone, read from the
// system's zone files), lists only those to the brand, and says so on the order.

#include <gtest/gtest.h>

#include <chrono>
#include <map>
#include <nlohmann/json.hpp>
#include <string>

#include "lab_orders/common/clock.h"
#include "lab_orders/common/time_zone.h"
#include "support/order_bodies.h"
#include "support/service_process.h"
#include "support/sim_process.h"

namespace lab_orders::testing {
namespace {

using nlohmann::json;

// The hour a time of the API's (RFC 3339, UTC) shows on Phoenix's clocks (the simulator's 85004).
int PhoenixHour(const std::string& at) {
  std::chrono::system_clock::time_point instant;
  EXPECT_TRUE(ParseRfc3339(at, &instant)) << at;
  return SystemTimeZones().LocalHour("America/Phoenix", instant).value_or(-1);
}

TEST(FastingTest, AFastingPanelIsBookedIntoAMorningSlotAndOffersOnlyThose) {
  SimProcess sim;
  ServiceProcess service(sim.base_url(), FastWorkflow({{"LAB_ORDERS_FASTING_LATEST_HOUR", "9"}}));
  const std::string token = service.Token("brand-fasting", "user-fasting");
  const std::map<std::string, std::string> auth = {{"Authorization", "Bearer " + token}};

  // An order that is not drawn fasting takes the earliest slot, whatever its hour: the control.
  json plain = WorkflowOrderBody("patient-plain");
  auto headers = auth;
  headers["Idempotency-Key"] = "plain-1";
  HttpReply made = service.Post("/v1/labs/orders", plain.dump(), headers);
  ASSERT_EQ(made.status, 201) << made.body;
  EXPECT_EQ(made.Json()["fasting"], false);

  json body = WorkflowOrderBody("patient-fasting");
  body["panel_slug"] = "hormone_metabolic";
  headers["Idempotency-Key"] = "fasting-1";
  HttpReply created = service.Post("/v1/labs/orders", body.dump(), headers);
  ASSERT_EQ(created.status, 201) << created.body;
  EXPECT_EQ(created.Json()["fasting"], true);
  const std::string id = created.Json()["id"];
  const json scheduled = service.WaitForOrderStatus(token, id, "appointment_scheduled");
  ASSERT_EQ(scheduled["status"], "appointment_scheduled") << scheduled.dump();
  EXPECT_LT(PhoenixHour(scheduled["appointment"]["start_at"]), 9) << scheduled.dump();

  HttpReply slots = service.Get("/v1/labs/orders/" + id + "/appointment/availability", auth);
  ASSERT_EQ(slots.status, 200) << slots.body;
  EXPECT_EQ(slots.Json()["fasting"], true);
  ASSERT_FALSE(slots.Json()["slots"].empty());
  const json morning = slots.Json()["slots"];
  for (const json& slot : morning) {
    EXPECT_LT(PhoenixHour(slot["start_at"]), 9) << slot.dump();
  }
  // The simulator offers 07:00 to 17:00: a plain order sees the afternoon too.
  const std::string plain_id = made.Json()["id"];
  service.WaitForOrderStatus(token, plain_id, "appointment_scheduled");
  HttpReply all = service.Get("/v1/labs/orders/" + plain_id + "/appointment/availability", auth);
  bool afternoon = false;
  const json every = all.Json()["slots"];
  for (const json& slot : every) afternoon |= PhoenixHour(slot["start_at"]) >= 12;
  EXPECT_TRUE(afternoon) << every.dump().substr(0, 400);
}

}  // namespace
}  // namespace lab_orders::testing
