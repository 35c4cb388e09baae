// A test-kit order over real processes (issue 18): lab-orders orders a testkit at junction-sim
// without asking the area, books nothing, and follows the kit by Junction's signed webhooks: its
// tracking number out, the patient's return with its own tracking number, the lab, the result.
// The brand's endpoint (tests/webhooks/receiver/receiver.mjs) hears each stage once, in order.
// Polled with deadlines; nothing sleeps.

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "support/brand_receiver_test.h"
#include "support/order_bodies.h"
#include "support/poll.h"
#include "support/service_process.h"
#include "support/sim_process.h"

namespace lab_orders::testing {
namespace {

using nlohmann::json;

constexpr const char* kBrand = "brand-kits";
constexpr const char* kScopes = "labs:orders:read labs:orders:write labs:webhooks:manage";

class KitsTest : public BrandReceiverTest {
 protected:
  void SetUp() override {
    NodeReceiverTest::SetUp();
    if (IsSkipped() || HasFatalFailure()) return;
    StartWithBrandReceiver(kBrand, "user-kits", kScopes,
                           {{"LAB_ORDERS_WEBHOOK_INTERVAL_MS", "50"}});
  }

  json Wait(const std::string& id, const std::string& status) {
    json order = service_->WaitForOrderStatus(token_, id, status);
    EXPECT_EQ(order["status"], status) << order.dump();
    return order;
  }
};

TEST_F(KitsTest, AKitShowsItsTrackingNumbersAndReachesTheLab) {
  json body = WorkflowOrderBody("patient-kit");
  body["collection_method"] = "testkit";
  auto headers = Auth();
  headers["Idempotency-Key"] = "kit-1";
  HttpReply created = service_->Post("/v1/labs/orders", body.dump(), headers);
  ASSERT_EQ(created.status, 201) << created.body;
  const std::string id = created.Json()["id"];
  const std::string junction_id = created.Json()["junction_order_id"];
  EXPECT_EQ(created.Json()["collection_method"], "testkit");
  EXPECT_EQ(sim_->Calls("area_info").size(), 0u) << "a kit goes by mail anywhere";
  ASSERT_EQ(sim_->Calls("create_order").size(), 1u);
  EXPECT_EQ(sim_->Calls("create_order")[0]["body"]["collection_method"], "testkit");

  // The simulator ships the kit and delivers it at once; the patient has it.
  const json delivered = Wait(id, "kit_delivered");
  ASSERT_TRUE(delivered["tracking_number"].is_string()) << delivered.dump();
  EXPECT_EQ(delivered["tracking_number"].get<std::string>().size(), 22u);
  EXPECT_EQ(delivered["return_tracking_number"], nullptr);
  HttpReply slots = service_->Get("/v1/labs/orders/" + id + "/appointment/availability", Auth());
  EXPECT_EQ(slots.status, 409) << slots.body;
  EXPECT_EQ(slots.Json()["error"], "order_not_bookable");

  // The patient mails it back.
  sim_->LoadScript({{"kit", {{"at_lab_after_ms", nullptr}}}});
  sim_->Admin("POST", "/_sim/orders/" + junction_id + "/advance", {{"status", "transit_lab"}});
  const json returning = Wait(id, "sample_in_transit");
  ASSERT_TRUE(returning["return_tracking_number"].is_string()) << returning.dump();
  EXPECT_NE(returning["return_tracking_number"], returning["tracking_number"]);

  sim_->Admin("POST", "/_sim/orders/" + junction_id + "/advance", {{"status", "delivered_to_lab"}});
  const json at_lab = Wait(id, "sample_with_lab");
  EXPECT_TRUE(at_lab["sample_id"].is_string()) << at_lab.dump();
  sim_->Admin("POST", "/_sim/orders/" + junction_id + "/advance", {{"status", "completed"}});
  Wait(id, "completed");
  EXPECT_EQ(sim_->Calls("availability").size(), 0u);
  EXPECT_EQ(sim_->Calls("book_appointment").size(), 0u);

  // The brand heard each stage once, in order, with the tracking numbers.
  ASSERT_TRUE(PollUntil(
      [&] {
        const std::vector<std::string> types = receiver_->AcknowledgedTypes(id);
        return std::find(types.begin(), types.end(), "lab_order.completed") != types.end();
      },
      std::chrono::seconds(20)));
  std::vector<std::string> kit_events;
  for (const std::string& type : receiver_->AcknowledgedTypes(id)) {
    if (type == "lab_order.kit_shipped" || type == "lab_order.kit_delivered" ||
        type == "lab_order.sample_in_transit" || type == "lab_order.sample_received") {
      kit_events.push_back(type);
    }
  }
  EXPECT_EQ(kit_events,
            (std::vector<std::string>{"lab_order.kit_shipped", "lab_order.kit_delivered",
                                      "lab_order.sample_in_transit", "lab_order.sample_received"}));
  for (const json& delivery : receiver_->Deliveries()) {
    const json& event = delivery["body"];
    if (event["type"] == "lab_order.kit_shipped") {
      EXPECT_EQ(event["data"]["tracking_number"], delivered["tracking_number"]);
    }
    if (event["type"] == "lab_order.sample_in_transit") {
      EXPECT_EQ(event["data"]["return_tracking_number"], returning["return_tracking_number"]);
    }
  }
}

}  // namespace
}  // namespace lab_orders::testing
