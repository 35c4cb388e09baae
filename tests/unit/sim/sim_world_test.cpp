// junction-sim's World up to a booking: users, lab tests, orders, X-Idempotency-Key, area info and
// availability. On the fixture of sim_world_fixture.h.

#include "unit/sim/sim_world_fixture.h"

namespace lab_orders::sim {
namespace {

// ---- users ------------------------------------------------------------------------------------

TEST_F(WorldTest, CreateUserAnswersASpecShapedUser) {
  SimResponse answer = world_.CreateUser({{"client_user_id", "patient-0001"}});

  ASSERT_EQ(answer.status, 200);
  EXPECT_TRUE(IsUuid(answer.body["user_id"])) << answer.body.dump();
  EXPECT_EQ(answer.body["team_id"], World::kTeamId);
  EXPECT_EQ(answer.body["client_user_id"], "patient-0001");
  EXPECT_EQ(answer.body["created_on"], FormatRfc3339(kStart));
  EXPECT_EQ(ResponseViolations("POST", "/v2/user", 200, answer.body), json::array());
}

TEST_F(WorldTest, CreateUserTwiceAnswersTheConflictWithTheExistingId) {
  std::string user_id = CreateUser("patient-0001");
  clock_.Advance(1h);

  SimResponse again = world_.CreateUser({{"client_user_id", "patient-0001"}});

  EXPECT_EQ(again.status, 400);
  EXPECT_EQ(again.body["detail"]["user_id"], user_id);
  EXPECT_EQ(again.body["detail"]["created_on"], FormatRfc3339(kStart));
  EXPECT_EQ(ResponseViolations("POST", "/v2/user", 400, again.body), json::array());
}

TEST_F(WorldTest, ResolveAndGetUser) {
  std::string user_id = CreateUser("patient-0001");

  SimResponse resolved = world_.ResolveUser("patient-0001");
  ASSERT_EQ(resolved.status, 200);
  EXPECT_EQ(resolved.body["user_id"], user_id);
  EXPECT_EQ(ResponseViolations("GET", "/v2/user/resolve/{client_user_id}", 200, resolved.body),
            json::array());

  SimResponse fetched = world_.GetUser(user_id);
  ASSERT_EQ(fetched.status, 200);
  EXPECT_EQ(fetched.body["client_user_id"], "patient-0001");
  EXPECT_EQ(ResponseViolations("GET", "/v2/user/{user_id}", 200, fetched.body), json::array());
}

TEST_F(WorldTest, UnknownUsersAreNotFound) {
  CreateUser("patient-0001");
  EXPECT_EQ(world_.ResolveUser("patient-0002").status, 404);
  EXPECT_EQ(world_.GetUser("00000000-0000-4000-8000-999999999999").status, 404);
  EXPECT_TRUE(world_.ResolveUser("patient-0002").body["detail"].is_string());
}

// ---- lab tests ---------------------------------------------------------------------------------

TEST_F(WorldTest, ListsTheCatalogAsSpecShapedLabTests) {
  SimResponse answer = world_.ListLabTests();

  ASSERT_EQ(answer.status, 200);
  ASSERT_EQ(answer.body.size(), Catalog().size());
  for (size_t i = 0; i < Catalog().size(); ++i) {
    EXPECT_EQ(answer.body[i]["id"], Catalog()[i].id);
    EXPECT_EQ(answer.body[i]["method"], "at_home_phlebotomy");
  }
  EXPECT_EQ(ResponseViolations("GET", "/v3/lab_tests", 200, answer.body), json::array());
}

// ---- orders -----------------------------------------------------------------------------------

TEST_F(WorldTest, CreateOrderReachesRequisitionCreatedAtOnceByDefault) {
  std::string user_id = CreateUser();

  SimResponse answer = world_.CreateOrder(OrderBody(user_id));

  ASSERT_EQ(answer.status, 200) << answer.body.dump();
  EXPECT_EQ(ResponseViolations("POST", "/v3/order", 200, answer.body), json::array());
  const json& order = answer.body["order"];
  EXPECT_EQ(order["user_id"], user_id);
  EXPECT_EQ(order["team_id"], World::kTeamId);
  EXPECT_EQ(order["last_event"]["status"], kRequisitionCreated);
  ASSERT_EQ(order["events"].size(), 2u);
  EXPECT_EQ(order["events"][0]["status"], kOrdered);
  EXPECT_EQ(order["events"][1]["status"], kRequisitionCreated);
  EXPECT_EQ(order["details"]["type"], "at_home_phlebotomy");
  EXPECT_EQ(order["details"]["data"]["appointment_id"], nullptr);
  EXPECT_TRUE(IsUuid(order["order_transaction"]["id"]));
  EXPECT_EQ(order["order_transaction"]["status"], "active");
  EXPECT_EQ(order["patient_address"]["zip"], kPhoenixZip);
  EXPECT_EQ(order["lab_test"]["id"], LabTestId());
  EXPECT_EQ(order["created_at"], FormatRfc3339(kStart));

  json fetched = Order(order["id"]);
  EXPECT_EQ(fetched["id"], order["id"]);
  EXPECT_EQ(fetched["last_event"], order["last_event"]);
}

TEST_F(WorldTest, RequisitionAfterPollsArrivesOnTheNthGet) {
  Load({{"requisition", {{"mode", "after_polls"}, {"polls", 3}}}});
  SimResponse created = world_.CreateOrder(OrderBody(CreateUser()));
  ASSERT_EQ(created.status, 200);
  EXPECT_EQ(created.body["order"]["last_event"]["status"], kOrdered);
  std::string order_id = created.body["order"]["id"];

  EXPECT_EQ(OrderStatus(order_id), kOrdered);
  EXPECT_EQ(OrderStatus(order_id), kOrdered);
  EXPECT_EQ(OrderStatus(order_id), kRequisitionCreated);
  json later = Order(order_id);
  EXPECT_EQ(later["last_event"]["status"], kRequisitionCreated);
  EXPECT_EQ(later["events"].size(), 2u);
}

TEST_F(WorldTest, RequisitionAfterMsArrivesWhenTheClockGetsThere) {
  Load({{"requisition", {{"mode", "after_ms"}, {"ms", 5000}}}});
  std::string order_id = CreateOrder();
  events_.clear();

  EXPECT_EQ(world_.Tick(), kStart + 5s);
  clock_.Advance(4999ms);
  EXPECT_EQ(world_.Tick(), kStart + 5s);
  EXPECT_TRUE(events_.empty());
  clock_.Advance(1ms);

  // Tick alone moves the order (and tells the webhook sink), without anyone polling.
  EXPECT_EQ(world_.Tick(), std::nullopt);
  ASSERT_EQ(events_.size(), 1u);
  EXPECT_EQ(events_[0]["event_type"], "labtest.order.updated");
  EXPECT_EQ(events_[0]["data"]["last_event"]["status"], kRequisitionCreated);
  EXPECT_EQ(OrderStatus(order_id), kRequisitionCreated);
}

// With no one listening (no webhook endpoint set), no event is built or sent; once someone is,
// the next change is told.
TEST_F(WorldTest, EventsAreBuiltOnlyWhileSomeoneListens) {
  bool listening = false;
  int built = 0;
  world_.SetEventSink(
      [&](const json& event, int) {
        ++built;
        events_.push_back(event);
      },
      [&] { return listening; });
  Load({{"requisition", {{"mode", "after_ms"}, {"ms", 5000}}}});
  std::string quiet_order = CreateOrder();
  EXPECT_EQ(built, 0);

  listening = true;
  clock_.Advance(5s);
  world_.Tick();
  ASSERT_EQ(built, 1);
  EXPECT_EQ(events_[0]["data"]["id"], quiet_order);
  EXPECT_EQ(events_[0]["data"]["last_event"]["status"], kRequisitionCreated);
}

// The due times are kept in time order, whatever order the orders' ids sort in: each order
// moves at its own time, and the next due time is always the earliest still to come.
TEST_F(WorldTest, RequisitionsOfManyOrdersArriveEachAtItsOwnTime) {
  Load({{"requisition", {{"mode", "after_ms"}, {"ms", 5000}}}});
  std::vector<std::string> order_ids;
  for (int i = 0; i < 3; ++i) {
    order_ids.push_back(CreateOrder("patient-" + std::to_string(i)));
    clock_.Advance(1000ms);
  }
  // Now kStart + 3 s; the requisitions are due at 5, 6 and 7 s.
  EXPECT_EQ(world_.Tick(), kStart + 5s);
  clock_.Advance(2000ms);
  EXPECT_EQ(world_.Tick(), kStart + 6s);
  EXPECT_EQ(OrderStatus(order_ids[0]), kRequisitionCreated);
  EXPECT_EQ(OrderStatus(order_ids[1]), kOrdered);
  // A poll applies what is due without the ticker.
  clock_.Advance(1000ms);
  EXPECT_EQ(OrderStatus(order_ids[1]), kRequisitionCreated);
  EXPECT_EQ(OrderStatus(order_ids[2]), kOrdered);
  EXPECT_EQ(world_.Tick(), kStart + 7s);
  clock_.Advance(1000ms);
  EXPECT_EQ(world_.Tick(), std::nullopt);
  EXPECT_EQ(OrderStatus(order_ids[2]), kRequisitionCreated);
}

TEST_F(WorldTest, ManualRequisitionWaitsForAdvanceOrder) {
  Load({{"requisition", {{"mode", "manual"}}}});
  std::string order_id = CreateOrder();
  for (int poll = 0; poll < 5; ++poll) EXPECT_EQ(OrderStatus(order_id), kOrdered);
  clock_.Advance(48h);
  EXPECT_EQ(world_.Tick(), std::nullopt);
  EXPECT_EQ(OrderStatus(order_id), kOrdered);

  SimResponse advanced = world_.AdvanceOrder(order_id, {{"status", kRequisitionCreated}});

  ASSERT_EQ(advanced.status, 200) << advanced.body.dump();
  EXPECT_EQ(ResponseViolations("GET", "/v3/order/{order_id}", 200, advanced.body), json::array());
  EXPECT_EQ(advanced.body["last_event"]["status"], kRequisitionCreated);
  EXPECT_EQ(OrderStatus(order_id), kRequisitionCreated);
}

TEST_F(WorldTest, AdvanceOrderAcceptsTheLowLevelNameAndRefusesNonsense) {
  Load({{"requisition", {{"mode", "manual"}}}});
  std::string order_id = CreateOrder();

  EXPECT_EQ(world_.AdvanceOrder(order_id, {{"status", "requisition_created"}}).status, 200);
  EXPECT_EQ(OrderStatus(order_id), kRequisitionCreated);
  EXPECT_EQ(world_.AdvanceOrder(order_id, {{"status", "teleported"}}).status, 400);
  EXPECT_EQ(world_.AdvanceOrder(order_id, json::object()).status, 400);
  EXPECT_EQ(world_.AdvanceOrder(order_id, {{"status", 3}}).status, 400);
  EXPECT_EQ(
      world_
          .AdvanceOrder("00000000-0000-4000-8000-999999999999", {{"status", "requisition_created"}})
          .status,
      404);
  EXPECT_EQ(OrderStatus(order_id), kRequisitionCreated);
}

TEST_F(WorldTest, PatientsUnder18AreRefused) {
  std::string user_id = CreateUser();
  json body = OrderBody(user_id);

  // kStart is 2030-01-07: born 2012-01-08 is one day short of 18.
  body["patient_details"]["dob"] = "2012-01-08";
  SimResponse minor = world_.CreateOrder(body);
  EXPECT_EQ(minor.status, 400);
  EXPECT_THAT(minor.body["detail"].get<std::string>(), HasSubstr("18"));

  body["patient_details"]["dob"] = "2012-01-07";
  EXPECT_EQ(world_.CreateOrder(body).status, 200);
}

TEST_F(WorldTest, NonAsciiNamesAreRefusedWith422) {
  std::string user_id = CreateUser();
  for (const char* field : {"first_name", "last_name"}) {
    json body = OrderBody(user_id);
    body["patient_details"][field] = "Jos\xC3\xA9";

    SimResponse answer = world_.CreateOrder(body);

    EXPECT_EQ(answer.status, 422) << field;
    ASSERT_TRUE(answer.body["detail"].is_array()) << answer.body.dump();
    ASSERT_EQ(answer.body["detail"].size(), 1u);
    EXPECT_EQ(answer.body["detail"][0]["loc"], json({"body", "patient_details", field}));
    EXPECT_EQ(ResponseViolations("POST", "/v3/order", 422, answer.body), json::array());
  }
  EXPECT_TRUE(events_.empty());
}

TEST_F(WorldTest, UnknownLabTestUserAndOrderAreRefused) {
  std::string user_id = CreateUser();
  json body = OrderBody(user_id);
  body["order_set"]["lab_test_ids"] = {"00000000-0000-4000-8000-999999999999"};
  SimResponse unknown_test = world_.CreateOrder(body);
  EXPECT_EQ(unknown_test.status, 400);
  EXPECT_TRUE(unknown_test.body["detail"].is_string());

  EXPECT_EQ(world_.CreateOrder(OrderBody("00000000-0000-4000-8000-999999999999")).status, 404);
  EXPECT_EQ(world_.GetOrder("00000000-0000-4000-8000-999999999999").status, 404);
  EXPECT_TRUE(events_.empty());
}

// ---- X-Idempotency-Key
// ---------------------------------------------------------------------------

// What the server does around POST /v3/order with a key.
SimResponse CreateIdempotently(World& world, const std::string& key, const json& body,
                               bool cache_errors = true) {
  if (auto stored = world.BeginIdempotent(key)) return *stored;
  SimResponse answer = world.CreateOrder(body);
  world.FinishIdempotent(key, answer, cache_errors);
  return answer;
}

TEST_F(WorldTest, IdempotencyKeyReplaysTheStoredAnswer) {
  json body = OrderBody(CreateUser());
  SimResponse first = CreateIdempotently(world_, "key-1", body);
  ASSERT_EQ(first.status, 200);
  std::string order_id = first.body["order"]["id"];
  ASSERT_EQ(world_.CancelOrder(order_id).status, 200);

  SimResponse replay = CreateIdempotently(world_, "key-1", body);

  // The first answer exactly, even though the order has moved on since.
  EXPECT_EQ(replay.status, 200);
  EXPECT_EQ(replay.body, first.body);
  EXPECT_EQ(replay.body["order"]["last_event"]["status"], kRequisitionCreated);

  SimResponse other_key = CreateIdempotently(world_, "key-2", body);
  EXPECT_NE(other_key.body["order"]["id"], order_id);
}

TEST_F(WorldTest, IdempotencyKeyReplaysAStoredFailure) {
  json body = OrderBody(CreateUser());
  body["patient_details"]["dob"] = "2020-01-01";
  SimResponse first = CreateIdempotently(world_, "key-1", body);
  ASSERT_EQ(first.status, 400);

  body["patient_details"]["dob"] = "1990-01-01";  // a fixed request, but the same key
  SimResponse replay = CreateIdempotently(world_, "key-1", body);

  EXPECT_EQ(replay.status, 400);
  EXPECT_EQ(replay.body, first.body);
}

TEST_F(WorldTest, IdempotencyKeyInFlightAnswers409) {
  ASSERT_EQ(world_.BeginIdempotent("key-1"), std::nullopt);

  std::optional<SimResponse> concurrent = world_.BeginIdempotent("key-1");

  ASSERT_TRUE(concurrent.has_value());
  EXPECT_EQ(concurrent->status, 409);
  // A 409 is not stored: once the first request gives up, the key is free again.
  world_.AbandonIdempotent("key-1");
  EXPECT_EQ(world_.BeginIdempotent("key-1"), std::nullopt);
}

TEST_F(WorldTest, IdempotencyKeyDoesNotStoreValidationFailures) {
  json body = OrderBody(CreateUser());
  body["patient_details"]["first_name"] = "Jos\xC3\xA9";
  ASSERT_EQ(CreateIdempotently(world_, "key-1", body).status, 422);

  body["patient_details"]["first_name"] = "Jose";
  SimResponse retried = CreateIdempotently(world_, "key-1", body);

  EXPECT_EQ(retried.status, 200);
}

TEST_F(WorldTest, IdempotencyNoCacheStoresSuccessesOnly) {
  json body = OrderBody(CreateUser());
  json minor = body;
  minor["patient_details"]["dob"] = "2020-01-01";
  ASSERT_EQ(CreateIdempotently(world_, "key-1", minor, /*cache_errors=*/false).status, 400);

  SimResponse retried = CreateIdempotently(world_, "key-1", body, /*cache_errors=*/false);
  ASSERT_EQ(retried.status, 200);

  SimResponse replay = CreateIdempotently(world_, "key-1", body, /*cache_errors=*/false);
  EXPECT_EQ(replay.body, retried.body);
}

TEST_F(WorldTest, IdempotencyKeysArePrunedAfter24Hours) {
  json body = OrderBody(CreateUser());
  SimResponse first = CreateIdempotently(world_, "key-1", body);
  ASSERT_EQ(first.status, 200);

  clock_.Advance(24h);
  EXPECT_EQ(CreateIdempotently(world_, "key-1", body).body, first.body);

  clock_.Advance(1s);
  SimResponse after_pruning = CreateIdempotently(world_, "key-1", body);
  ASSERT_EQ(after_pruning.status, 200);
  EXPECT_NE(after_pruning.body["order"]["id"], first.body["order"]["id"]);
}

// ---- area info and availability
// ------------------------------------------------------------------

TEST_F(WorldTest, AreaInfoServesSandboxAndConfiguredZipsOnly) {
  Load({{"served_zips", {"94107"}}});
  struct Case {
    std::string zip;
    bool served;
    std::string provider;
    std::string service_type;
  };
  for (const Case& area : std::vector<Case>{{"85004", true, "getlabs", "appointment-ready"},
                                            {"54650", true, "phlebfinders", "appointment-request"},
                                            {"10001", true, "getlabs", "appointment-ready"},
                                            {"94107", true, "getlabs", "appointment-ready"},
                                            {"60601", false, "", ""}}) {
    SimResponse answer = world_.AreaInfo(area.zip);
    ASSERT_EQ(answer.status, 200);
    EXPECT_EQ(ResponseViolations("GET", "/v3/order/area/info", 200, answer.body), json::array());
    EXPECT_EQ(answer.body["zip_code"], area.zip);
    EXPECT_EQ(answer.body["phlebotomy"]["is_served"], area.served) << area.zip;
    const json& providers = answer.body["phlebotomy"]["providers"];
    if (area.served) {
      ASSERT_EQ(providers.size(), 1u) << area.zip;
      EXPECT_EQ(providers[0]["name"], area.provider);
      EXPECT_EQ(providers[0]["service_types"], json({area.service_type}));
    } else {
      EXPECT_EQ(providers, json::array());
    }
  }
}

// Quest's service centers are near every ZIP but the script's psc_unserved_zips.
TEST_F(WorldTest, AreaInfoNamesServiceCentersNearEveryZipButTheScriptsUnservedOnes) {
  Load({{"psc_unserved_zips", {"60601"}}});
  SimResponse near = world_.AreaInfo("85003");
  EXPECT_EQ(ResponseViolations("GET", "/v3/order/area/info", 200, near.body), json::array());
  EXPECT_EQ(near.body["central_labs"]["quest"]["patient_service_centers"]["within_radius"], 3);
  EXPECT_EQ(world_.AreaInfo("60601").body["central_labs"], json::object());
}

// A walk-in order: its statuses and details are walk_in_test's, and it is never booked a home
// visit; at-home is the default, and a kit is not what the lab offers.
TEST_F(WorldTest, AWalkInOrderHasWalkInStatusesAndNoHomeVisit) {
  json body = OrderBody(CreateUser());
  body["collection_method"] = "walk_in_test";
  SimResponse answer = world_.CreateOrder(body);
  ASSERT_EQ(answer.status, 200) << answer.body.dump();
  EXPECT_EQ(ResponseViolations("POST", "/v3/order", 200, answer.body), json::array());
  const json& order = answer.body["order"];
  EXPECT_EQ(order["details"]["type"], "walk_in_test");
  EXPECT_EQ(order["last_event"]["status"], "received.walk_in_test.requisition_created");
  const std::string key = Slots(kPhoenixZip)["slots"][0]["slots"][0]["booking_key"];
  EXPECT_EQ(Book(order["id"], {{"booking_key", key}}).status, 400);

  body["collection_method"] = "on_site_collection";
  EXPECT_EQ(world_.CreateOrder(body).status, 400);
}

TEST_F(WorldTest, AvailabilityOnlyForServedZips) {
  Load({{"served_zips", {"94107"}}});
  for (const char* zip : {"85004", "54650", "10001", "94107"}) {
    json slots = Slots(zip);
    EXPECT_FALSE(slots["slots"].empty()) << zip;
    EXPECT_EQ(
        ResponseViolations("POST", "/v3/order/phlebotomy/appointment/availability", 200, slots),
        json::array());
  }
  json unserved = Slots("60601");
  EXPECT_EQ(unserved["slots"], json::array());
  EXPECT_EQ(unserved["timezone"], nullptr);
  EXPECT_EQ(
      ResponseViolations("POST", "/v3/order/phlebotomy/appointment/availability", 200, unserved),
      json::array());
}

TEST_F(WorldTest, PhoenixAvailabilityStarts48HoursAheadAndCovers14Days) {
  json availability = Slots(kPhoenixZip);

  EXPECT_EQ(availability["timezone"], "America/Phoenix");
  const json& days = availability["slots"];
  ASSERT_FALSE(days.empty());
  // Today and tomorrow fall inside Getlabs' 48-hour lead; the window ends on day 13.
  EXPECT_EQ(days.front()["date"], "2030-01-09");
  EXPECT_EQ(days.back()["date"], "2030-01-20");
  std::string previous_start;
  for (const json& day : days) {
    for (const json& slot : day["slots"]) {
      TimePoint start;
      ASSERT_TRUE(ParseRfc3339(slot["start"], &start)) << slot.dump();
      EXPECT_GE(start, kStart + 48h) << slot.dump();
      EXPECT_LT(start, kStart + std::chrono::days(14)) << slot.dump();
      EXPECT_EQ(slot["expires_at"], FormatRfc3339(kStart + 15min));
      EXPECT_GT(slot["start"].get<std::string>(), previous_start);
      previous_start = slot["start"];
    }
  }
  EXPECT_EQ(days.front()["slots"][0]["start"], FormatRfc3339(kStart + 48h));
}

TEST_F(WorldTest, AvailabilityHonoursStartDate) {
  SimResponse answer = world_.Availability(PhoenixAddress(), "2030-02-01");
  ASSERT_EQ(answer.status, 200);
  const json& days = answer.body["slots"];
  ASSERT_EQ(days.size(), 14u);
  EXPECT_EQ(days.front()["date"], "2030-02-01");
  EXPECT_EQ(days.back()["date"], "2030-02-14");

  SimResponse bad = world_.Availability(PhoenixAddress(), "2030-02-30");
  EXPECT_EQ(bad.status, 422);
}

TEST_F(WorldTest, BookingKeysExpireAfter15Minutes) {
  std::string order_id = CreateOrder();
  // Not the first slot: 15 minutes on, that one falls inside the 48-hour lead.
  std::string key = BookingKeys().at(5);

  clock_.Advance(15min);
  auto still_valid = world_.PlanBooking(order_id, {{"booking_key", key}}, 1);
  EXPECT_TRUE(std::holds_alternative<BookingPlan>(still_valid));
  clock_.Advance(1s);
  SimResponse expired = Book(order_id, {{"booking_key", key}});
  EXPECT_EQ(expired.status, 400);
  EXPECT_THAT(expired.body["detail"].get<std::string>(), HasSubstr("expired"));

  // Fetching availability again renews the key.
  std::vector<std::string> renewed = BookingKeys();
  ASSERT_NE(std::find(renewed.begin(), renewed.end(), key), renewed.end());
  EXPECT_EQ(Book(order_id, {{"booking_key", key}}).status, 200);
}

TEST_F(WorldTest, BookingKeyBooksTheAddressItsAvailabilityWasAskedFor) {
  std::string first_order = CreateOrder("patient-0001");
  std::string second_order = CreateOrder("patient-0002");
  json first_address = PhoenixAddress();
  json second_address = PhoenixAddress();
  second_address["first_line"] = "400 East Van Buren Street";
  std::string first_key =
      world_.Availability(first_address, std::nullopt).body["slots"][0]["slots"][0]["booking_key"];
  std::string second_key =
      world_.Availability(second_address, std::nullopt).body["slots"][0]["slots"][0]["booking_key"];

  SimResponse first = Book(first_order, {{"booking_key", first_key}});
  SimResponse second = Book(second_order, {{"booking_key", second_key}});

  ASSERT_EQ(first.status, 200) << first.body.dump();
  ASSERT_EQ(second.status, 200) << second.body.dump();
  EXPECT_EQ(first.body["address"], first_address);
  EXPECT_EQ(second.body["address"], second_address);
  EXPECT_EQ(first.body["start_at"], second.body["start_at"]);
}

TEST_F(WorldTest, SlotCapacityIsSharedByEveryAddressInTheArea) {
  Load({{"slot_capacity", 1}});
  std::string first_order = CreateOrder("patient-0001");
  std::string second_order = CreateOrder("patient-0002");
  json second_address = PhoenixAddress();
  second_address["first_line"] = "400 East Van Buren Street";
  std::string first_key = FirstBookingKey();
  std::string second_key =
      world_.Availability(second_address, std::nullopt).body["slots"][0]["slots"][0]["booking_key"];
  ASSERT_EQ(Book(first_order, {{"booking_key", first_key}}).status, 200);

  SimResponse taken = Book(second_order, {{"booking_key", second_key}});

  EXPECT_EQ(taken.status, 400) << taken.body.dump();
  json offered = world_.Availability(second_address, std::nullopt).body["slots"][0]["slots"][0];
  EXPECT_NE(offered["start"], FormatRfc3339(kStart + 48h));
}

TEST_F(WorldTest, UnknownBookingKeyIsRefused) {
  std::string order_id = CreateOrder();
  EXPECT_EQ(Book(order_id, {{"booking_key", "bk_made_up"}}).status, 400);
}

}  // namespace
}  // namespace lab_orders::sim
