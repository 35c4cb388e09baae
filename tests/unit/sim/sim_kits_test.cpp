// junction-sim's test kits (World, world_kits.cpp): a testkit order ships once its requisition is
// made, reaches the patient, is mailed back and reaches the lab, as the script's kit timings say
// (or by hand), with a courier's tracking number each way on its shipment; every answer and
// webhook is Junction's own shape.

#include <gtest/gtest.h>

#include <chrono>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "lab_orders/common/clock.h"
#include "lab_orders/sim/catalog.h"
#include "lab_orders/sim/junction_spec.h"
#include "lab_orders/sim/openapi_validator.h"
#include "lab_orders/sim/script.h"
#include "lab_orders/sim/world.h"
#include "support/fakes.h"
#include "support/junction_fixtures.h"
#include "support/junction_spec_checks.h"

namespace lab_orders::sim {
namespace {

using lab_orders::testing::CountingIdGenerator;
using lab_orders::testing::FakeClock;
using namespace std::chrono_literals;
using nlohmann::json;

const std::chrono::system_clock::time_point kStart =
    std::chrono::sys_days{std::chrono::year{2030} / 1 / 7} + 15h;

json OrderViolations(const json& order) {
  return lab_orders::testing::JunctionResponseViolations("GET", "/v3/order/{order_id}", 200, order);
}

class KitTest : public ::testing::Test {
 protected:
  KitTest() : world_(clock_, ids_, {}) {
    world_.SetEventSink([this](const json& event, int) { events_.push_back(event); });
  }

  void Load(const json& script) { world_.LoadScript(ParseScript(script)); }

  std::string CreateKitOrder(const std::string& method = "testkit") {
    SimResponse user =
        world_.CreateUser({{"client_user_id", "patient-kit-" + std::to_string(++patients_)}});
    json body = lab_orders::testing::SampleOrderJson(user.body["user_id"], Catalog().front().id);
    body["collection_method"] = method;
    SimResponse answer = world_.CreateOrder(body);
    EXPECT_EQ(answer.status, 200) << answer.body.dump();
    return answer.body["order"].value("id", "");
  }

  json Order(const std::string& id) {
    SimResponse answer = world_.GetOrder(id);
    EXPECT_EQ(answer.status, 200) << answer.body.dump();
    EXPECT_EQ(OrderViolations(answer.body), json::array());
    return answer.body;
  }

  std::vector<std::string> OrderStatuses() const {
    std::vector<std::string> statuses;
    for (const json& event : events_) {
      if (event["event_type"].get<std::string>().rfind("labtest.order.", 0) == 0) {
        statuses.push_back(event["data"]["last_event"]["status"]);
      }
    }
    return statuses;
  }

  FakeClock clock_{kStart};
  CountingIdGenerator ids_;
  World world_;
  std::vector<json> events_;
  int patients_ = 0;
};

TEST_F(KitTest, AKitShipsReachesThePatientAndWaitsToBeMailedBackByDefault) {
  const std::string id = CreateKitOrder();
  json order = Order(id);
  EXPECT_EQ(order["details"]["type"], "testkit");
  EXPECT_EQ(order["last_event"]["status"], "collecting_sample.testkit.with_customer");
  const json& shipment = order["details"]["data"]["shipment"];
  ASSERT_TRUE(shipment.is_object()) << order["details"].dump();
  EXPECT_EQ(shipment["outbound_courier"], "usps");
  EXPECT_EQ(shipment["outbound_tracking_number"].get<std::string>().size(), 22u);
  EXPECT_TRUE(shipment["inbound_tracking_number"].is_null());
  EXPECT_EQ(OrderStatuses(), (std::vector<std::string>{"received.testkit.ordered",
                                                       "received.testkit.requisition_created",
                                                       "collecting_sample.testkit.transit_customer",
                                                       "collecting_sample.testkit.with_customer"}));
  // The webhook of the shipping carries its tracking number.
  for (const json& event : events_) {
    if (event["data"].value("last_event", json::object()).value("status", "") ==
        "collecting_sample.testkit.transit_customer") {
      EXPECT_EQ(event["data"]["details"]["data"]["shipment"]["outbound_tracking_number"],
                shipment["outbound_tracking_number"]);
    }
  }
  // Nothing more until the patient mails it back.
  EXPECT_FALSE(world_.Tick().has_value());

  SimResponse mailed = world_.AdvanceOrder(id, {{"status", "transit_lab"}});
  ASSERT_EQ(mailed.status, 200) << mailed.body.dump();
  order = Order(id);
  EXPECT_EQ(order["last_event"]["status"], "sample_with_lab.testkit.delivered_to_lab")
      << "at the lab at once by default";
  EXPECT_EQ(
      order["details"]["data"]["shipment"]["inbound_tracking_number"].get<std::string>().size(),
      22u);
  EXPECT_TRUE(order["sample_id"].is_string()) << "the lab has the sample";
  EXPECT_EQ(world_.AdvanceOrder(id, {{"status", "completed"}}).status, 200);
  EXPECT_EQ(world_.GetResult(id).status, 200);
}

TEST_F(KitTest, TheScriptsKitTimingsMoveTheKitOverTime) {
  Load({{"kit",
         {{"shipped_after_ms", 1000},
          {"delivered_after_ms", 2000},
          {"returned_after_ms", 3000},
          {"at_lab_after_ms", nullptr}}}});
  const std::string id = CreateKitOrder();
  EXPECT_EQ(Order(id)["last_event"]["status"], "received.testkit.requisition_created");
  EXPECT_TRUE(Order(id)["details"]["data"]["shipment"].is_null());
  EXPECT_EQ(world_.Tick(), kStart + 1s);
  clock_.Advance(1s);
  world_.Tick();
  EXPECT_EQ(Order(id)["last_event"]["status"], "collecting_sample.testkit.transit_customer");
  clock_.Advance(2s);
  world_.Tick();
  EXPECT_EQ(Order(id)["last_event"]["status"], "collecting_sample.testkit.with_customer");
  clock_.Advance(3s);
  world_.Tick();
  EXPECT_EQ(Order(id)["last_event"]["status"], "collecting_sample.testkit.transit_lab");
  EXPECT_FALSE(world_.Tick().has_value()) << "at the lab only by hand";
}

TEST_F(KitTest, AShippedKitCannotBeCancelledAndStatusesBelongToTheirChannel) {
  Load({{"kit", {{"shipped_after_ms", nullptr}}}});
  const std::string waiting = CreateKitOrder();
  EXPECT_EQ(world_.AdvanceOrder(waiting, {{"status", "appointment_scheduled"}}).status, 400);
  EXPECT_EQ(world_.AdvanceOrder(waiting, {{"status", "draw_completed"}}).status, 400);
  EXPECT_EQ(world_.CancelOrder(waiting).status, 200) << "not shipped yet";

  const std::string shipped = CreateKitOrder();
  ASSERT_EQ(world_.AdvanceOrder(shipped, {{"status", "transit_customer"}}).status, 200);
  EXPECT_EQ(world_.CancelOrder(shipped).status, 400);
  ASSERT_EQ(world_.AdvanceOrder(shipped, {{"status", "lost"}}).status, 200);
  EXPECT_EQ(Order(shipped)["last_event"]["status"], "failed.testkit.lost");

  // Moved by hand past its shipping: it has shipped, with its tracking number.
  const std::string by_hand = CreateKitOrder();
  ASSERT_EQ(world_.AdvanceOrder(by_hand, {{"status", "with_customer"}}).status, 200);
  EXPECT_TRUE(
      Order(by_hand)["details"]["data"]["shipment"]["outbound_tracking_number"].is_string());
  EXPECT_EQ(world_.CancelOrder(by_hand).status, 400);

  const std::string at_home = CreateKitOrder("at_home_phlebotomy");
  EXPECT_EQ(world_.AdvanceOrder(at_home, {{"status", "with_customer"}}).status, 400);
}

TEST(KitScriptTest, TimingsAreNumbersOrNullForByHand) {
  Script script =
      ParseScript({{"kit", {{"returned_after_ms", 500}, {"at_lab_after_ms", nullptr}}}});
  EXPECT_EQ(script.kit.shipped_after_ms, 0);
  EXPECT_EQ(script.kit.delivered_after_ms, 0);
  EXPECT_EQ(script.kit.returned_after_ms, 500);
  EXPECT_EQ(script.kit.at_lab_after_ms, std::nullopt);
  EXPECT_EQ(ParseScript(json::object()).kit.returned_after_ms, std::nullopt);
  EXPECT_THROW(ParseScript({{"kit", {{"shipped_after_ms", "soon"}}}}), std::invalid_argument);
  EXPECT_THROW(ParseScript({{"kit", {{"sent_after_ms", 1}}}}), std::invalid_argument);
}

}  // namespace
}  // namespace lab_orders::sim
