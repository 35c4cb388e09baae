// The simulated Junction's patient service center appointments (World, no sockets; time faked):
// PSC availability for the sites that book through Junction, a walk-in order booked, rescheduled
// and cancelled through the /psc/ calls, each answer shaped as Junction's spec says, and the two
// venues' keys and orders kept apart.

#include <gtest/gtest.h>

#include <chrono>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <variant>

#include "lab_orders/common/clock.h"
#include "lab_orders/sim/catalog.h"
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

// Monday 2030-01-07 15:00 UTC (08:00 in Phoenix).
const std::chrono::system_clock::time_point kStart =
    std::chrono::sys_days{std::chrono::year{2030} / 1 / 7} + 15h;

json Violations(const std::string& method, const std::string& path, const json& body) {
  return lab_orders::testing::JunctionResponseViolations(method, path, 200, body);
}

class ServiceCenterSlotsTest : public ::testing::Test {
 protected:
  ServiceCenterSlotsTest() : world_(clock_, ids_, {}) {}

  // A new user's order of that collection method, its requisition made; the order's id.
  std::string CreateOrder(const std::string& collection_method) {
    SimResponse user = world_.CreateUser({{"client_user_id", "patient-" + ids_.NewUuid()}});
    json body = lab_orders::testing::SampleOrderJson(user.body["user_id"], Catalog().front().id);
    body["collection_method"] = collection_method;
    SimResponse order = world_.CreateOrder(body);
    EXPECT_EQ(order.status, 200) << order.body.dump();
    return order.body["order"].value("id", "");
  }

  SimResponse SiteSlots(const std::vector<std::string>& site_codes,
                        const std::optional<std::string>& zip_code = std::nullopt) {
    return world_.ServiceCenterAvailability("quest", site_codes, zip_code, 25, std::nullopt);
  }

  SimResponse Book(const std::string& order_id, const std::string& key, Venue venue) {
    const json body = {{"booking_key", key}};
    auto plan = world_.PlanBooking(order_id, body, 1, venue);
    if (auto* refused = std::get_if<SimResponse>(&plan)) return *refused;
    return world_.CommitBooking(order_id, body, std::get<BookingPlan>(plan), venue);
  }

  FakeClock clock_{kStart};
  CountingIdGenerator ids_;
  World world_;
};

TEST_F(ServiceCenterSlotsTest, TheSitesThatBookThroughJunctionOfferTheirOpenHours) {
  SimResponse near = SiteSlots({}, "85004");
  ASSERT_EQ(near.status, 200) << near.body.dump();
  EXPECT_EQ(Violations("POST", "/v3/order/psc/appointment/availability", near.body), json::array());
  std::set<std::string> sites;
  for (const json& day : near.body["slots"]) {
    sites.insert(day["location"]["code"].get<std::string>());
    for (const json& slot : day["slots"]) {
      std::chrono::system_clock::time_point start;
      ASSERT_TRUE(ParseRfc3339(slot["start"], &start));
      EXPECT_GE(start, kStart + 2h);  // two hours ahead at least
    }
  }
  // The third site books only with the lab.
  EXPECT_EQ(sites, (std::set<std::string>{"Q85004A", "Q85004B"}));
  // The first day: Monday, from 10:00 (two hours after 08:00) to the last start at 14:00.
  EXPECT_EQ(near.body["slots"][0]["date"], "2030-01-07");
  EXPECT_EQ(near.body["slots"][0]["slots"].size(), 5u);

  SimResponse one = SiteSlots({"Q85004B"});
  ASSERT_EQ(one.status, 200);
  for (const json& day : one.body["slots"]) EXPECT_EQ(day["location"]["code"], "Q85004B");
  EXPECT_EQ(SiteSlots({"Q85004C"}).status, 404);  // lab-only
  EXPECT_EQ(SiteSlots({"nonsense"}).status, 404);
  EXPECT_EQ(world_.ServiceCenterAvailability("sonora_quest", {"Q85004A"}, {}, 25, {}).status, 404);
  EXPECT_EQ(SiteSlots({}).status, 422);  // neither sites nor a ZIP
  EXPECT_EQ(SiteSlots({"Q85004A", "Q85004B", "Q85004A", "Q85004B"}).status, 422);
}

TEST_F(ServiceCenterSlotsTest, AWalkInOrderIsBookedMovedAndCancelledAtItsServiceCenter) {
  const std::string order = CreateOrder("walk_in_test");
  const json days = SiteSlots({"Q85004A"}).body["slots"];
  const std::string first = days[0]["slots"][0]["booking_key"];
  const std::string second = days[0]["slots"][1]["booking_key"];

  SimResponse booked = Book(order, first, Venue::kServiceCenter);
  ASSERT_EQ(booked.status, 200) << booked.body.dump();
  EXPECT_EQ(Violations("POST", "/v3/order/{order_id}/psc/appointment/book", booked.body),
            json::array());
  EXPECT_EQ(booked.body["type"], "patient_service_center");
  EXPECT_EQ(booked.body["provider"], "quest");
  EXPECT_EQ(booked.body["address"]["first_line"], "1120 North Central Avenue");
  EXPECT_EQ(booked.body["external_id"].get<std::string>().rfind("QC", 0), 0u);
  // The service center's appointment is not a home visit's.
  EXPECT_EQ(world_.GetAppointment(order, Venue::kServiceCenter).status, 200);
  EXPECT_EQ(world_.GetAppointment(order, Venue::kHome).status, 404);

  SimResponse moved =
      world_.RescheduleAppointment(order, {{"booking_key", second}}, Venue::kServiceCenter);
  ASSERT_EQ(moved.status, 200) << moved.body.dump();
  EXPECT_EQ(moved.body["start_at"], days[0]["slots"][1]["start"]);

  const json reasons = world_.CancellationReasons(Venue::kServiceCenter).body;
  EXPECT_EQ(Violations("GET", "/v3/order/psc/appointment/cancellation-reasons", reasons),
            json::array());
  const std::string home_reason = world_.CancellationReasons(Venue::kHome).body[0]["id"];
  EXPECT_EQ(
      world_
          .CancelAppointment(order, {{"cancellationReasonId", home_reason}}, Venue::kServiceCenter)
          .status,
      400);
  SimResponse cancelled = world_.CancelAppointment(
      order, {{"cancellationReasonId", reasons[0]["id"]}, {"note", "walks in"}},
      Venue::kServiceCenter);
  ASSERT_EQ(cancelled.status, 200) << cancelled.body.dump();
  EXPECT_EQ(cancelled.body["status"], "cancelled");
}

TEST_F(ServiceCenterSlotsTest, EachVenueTakesItsOwnKeysForItsOwnOrders) {
  const std::string walk_in = CreateOrder("walk_in_test");
  const std::string at_home = CreateOrder("at_home_phlebotomy");
  const std::string site_key = SiteSlots({"Q85004A"}).body["slots"][0]["slots"][0]["booking_key"];
  const json home_days = world_
                             .Availability({{"first_line", "123 West Lincoln Street"},
                                            {"city", "Phoenix"},
                                            {"state", "AZ"},
                                            {"zip_code", "85004"}},
                                           std::nullopt)
                             .body["slots"];
  const std::string home_key = home_days[0]["slots"][0]["booking_key"];

  EXPECT_EQ(Book(walk_in, home_key, Venue::kServiceCenter).status, 400);  // a home visit's key
  EXPECT_EQ(Book(at_home, site_key, Venue::kServiceCenter).status, 400);  // not a walk-in order
  EXPECT_EQ(Book(walk_in, site_key, Venue::kHome).status, 400);           // not an at-home order
  EXPECT_EQ(Book(at_home, site_key, Venue::kHome).status, 400);           // a site's key
  EXPECT_EQ(Book(walk_in, site_key, Venue::kServiceCenter).status, 200);
}

}  // namespace
}  // namespace lab_orders::sim
