// The order's channel over real processes (issue 18): lab-orders asks junction-sim's area info
// for the patient's ZIP before anything is recorded. An unserved ZIP is a 422 naming the channels
// that serve it; with fallback the order goes on as walk_in, at Junction too, and the brand's
// endpoint (tests/webhooks/receiver/receiver.mjs) gets one lab_order.channel_changed; a walk-in
// order is never booked a home visit and follows Junction's webhooks to its draw. Polled with
// deadlines; nothing sleeps.

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <functional>
#include <memory>
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

constexpr const char* kBrand = "brand-channels";
constexpr const char* kScopes = "labs:orders:read labs:orders:write labs:webhooks:manage";
// In Phoenix, like the sandbox's 85004, but no phlebotomist of the simulator's serves it; a
// patient service center does.
constexpr const char* kUnservedAtHome = "85003";

class ChannelsTest : public BrandReceiverTest {
 protected:
  void SetUp() override {
    NodeReceiverTest::SetUp();
    if (IsSkipped() || HasFatalFailure()) return;
    StartWithBrandReceiver(kBrand, "user-channels", kScopes,
                           {{"LAB_ORDERS_WEBHOOK_INTERVAL_MS", "50"}});
  }

  HttpReply Order(const std::string& key, const json& channel, const std::string& zip) {
    json body = WorkflowOrderBody(key);
    body["address"]["zip"] = zip;
    body.update(channel);
    return service_->Post("/v1/labs/orders", body.dump(),
                          {{"Authorization", "Bearer " + token_}, {"Idempotency-Key", key}});
  }
};

TEST_F(ChannelsTest, AnUnservedZipIs422NamingTheChannelsThatServeItAndRecordsNothing) {
  HttpReply refused = Order("unserved-1", json::object(), kUnservedAtHome);
  ASSERT_EQ(refused.status, 422) << refused.body;
  EXPECT_EQ(refused.Json()["error"], "collection_method_unavailable");
  EXPECT_NE(refused.Json()["message"].get<std::string>().find("served by walk_in"),
            std::string::npos)
      << refused.body;
  EXPECT_EQ(sim_->Calls("create_user").size(), 0u);
  EXPECT_EQ(sim_->Calls("create_order").size(), 0u);
  // The key stayed free: the same key with a served channel makes the order.
  HttpReply walk_in = Order("unserved-1", {{"collection_method", "walk_in"}}, kUnservedAtHome);
  ASSERT_EQ(walk_in.status, 201) << walk_in.body;
  EXPECT_EQ(walk_in.Json()["collection_method"], "walk_in");
}

TEST_F(ChannelsTest, WithFallbackTheOrderGoesOnAsWalkInAndTheBrandIsToldOnce) {
  HttpReply created = Order("fallback-1", {{"fallback", "walk_in"}}, kUnservedAtHome);
  ASSERT_EQ(created.status, 201) << created.body;
  const json order = created.Json();
  const std::string id = order["id"];
  EXPECT_EQ(order["collection_method"], "walk_in");
  ASSERT_EQ(sim_->Calls("create_order").size(), 1u);
  EXPECT_EQ(sim_->Calls("create_order")[0]["body"]["collection_method"], "walk_in_test");

  ASSERT_TRUE(PollUntil([&] { return receiver_->AcknowledgedTypes(id).size() >= 2; },
                        std::chrono::seconds(20)));
  const std::vector<std::string> types = receiver_->AcknowledgedTypes(id);
  EXPECT_EQ(types[0], "lab_order.created");
  EXPECT_EQ(types[1], "lab_order.channel_changed");
  EXPECT_EQ(std::count(types.begin(), types.end(), "lab_order.channel_changed"), 1);
  for (const json& delivery : receiver_->Deliveries()) {
    const json& event = delivery["body"];
    if (event["type"] != "lab_order.channel_changed") continue;
    EXPECT_EQ(event["data"]["previous_collection_method"], "at_home_phlebotomy");
    EXPECT_EQ(event["data"]["collection_method"], "walk_in");
    EXPECT_EQ(event["data"]["reason"], "area_not_served");
  }
  // A replay of the request answers the same order, and nothing is said again.
  HttpReply replayed = Order("fallback-1", {{"fallback", "walk_in"}}, kUnservedAtHome);
  EXPECT_EQ(replayed.status, 201);
  EXPECT_EQ(replayed.Json()["id"], id);
  // Waited for as long as the first came: the event list is the same after the replay.
  HttpReply fetched = service_->Get("/v1/labs/orders/" + id, Auth());
  EXPECT_EQ(fetched.Json()["collection_method"], "walk_in");
  const std::vector<std::string> after = receiver_->AcknowledgedTypes(id);
  EXPECT_EQ(std::count(after.begin(), after.end(), "lab_order.channel_changed"), 1);
}

// The patient walks in: the workflow books nothing, home visit or service center, and the order
// stays ordered until Junction says the sample was drawn.
TEST_F(ChannelsTest, AWalkInOrderIsNeverBookedAndFollowsJunctionToItsDraw) {
  HttpReply created = Order("walk-in-1", {{"collection_method", "walk_in"}}, "85004");
  ASSERT_EQ(created.status, 201) << created.body;
  const std::string id = created.Json()["id"];
  const std::string junction_id = created.Json()["junction_order_id"];
  // The requisition is made at once (the simulator's default): the workflow moves on to wait.
  ASSERT_TRUE(
      PollUntil([&] { return sim_->Calls("get_order").size() >= 1; }, std::chrono::seconds(20)));
  EXPECT_EQ(service_->Get("/v1/labs/orders/" + id, Auth()).Json()["status"], "ordered");

  sim_->Admin("POST", "/_sim/orders/" + junction_id + "/advance", {{"status", "draw_completed"}});
  const json drawn = service_->WaitForOrderStatus(token_, id, "draw_completed");
  EXPECT_EQ(drawn["status"], "draw_completed") << drawn.dump();
  EXPECT_EQ(sim_->Calls("availability").size(), 0u);
  EXPECT_EQ(sim_->Calls("book_appointment").size(), 0u);
  EXPECT_EQ(sim_->Calls("psc_availability").size(), 0u);
  EXPECT_EQ(sim_->Calls("psc_book_appointment").size(), 0u);
}

// The service centers a walk-in patient can go to, nearest first, within the radius asked for.
TEST_F(ChannelsTest, VenuesListTheServiceCentersNearAZip) {
  HttpReply near = service_->Get("/v1/labs/venues?zip=85004", Auth());
  ASSERT_EQ(near.status, 200) << near.body;
  const json venues = near.Json()["venues"];
  ASSERT_EQ(venues.size(), 3u) << near.body;
  EXPECT_EQ(near.Json()["radius_miles"], 25);
  EXPECT_LE(venues[0]["distance_miles"], venues[1]["distance_miles"]);
  EXPECT_LE(venues[1]["distance_miles"], venues[2]["distance_miles"]);
  EXPECT_EQ(venues[0]["lab"], "quest");
  EXPECT_EQ(venues[0]["books_through_junction"], true);
  EXPECT_EQ(venues[2]["books_through_junction"], false);
  EXPECT_EQ(venues[0]["address"]["zip"], "85004");

  EXPECT_EQ(service_->Get("/v1/labs/venues?zip=85004&radius=10", Auth()).Json()["venues"].size(),
            2u);
  sim_->LoadScript({{"psc_unserved_zips", {"60601"}}});
  EXPECT_EQ(service_->Get("/v1/labs/venues?zip=60601&radius=100", Auth()).Json()["venues"],
            json::array());

  HttpReply bad = service_->Get("/v1/labs/venues?zip=8500&radius=30", Auth());
  ASSERT_EQ(bad.status, 400) << bad.body;
  EXPECT_EQ(bad.Json()["details"].size(), 2u) << bad.body;
  EXPECT_EQ(service_->Get("/v1/labs/venues?zip=85004").status, 401);
}

}  // namespace
}  // namespace lab_orders::testing
