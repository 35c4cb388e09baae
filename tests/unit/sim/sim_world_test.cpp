#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <variant>
#include <vector>

#include "lab_orders/common/clock.h"
#include "lab_orders/common/ids.h"
#include "lab_orders/sim/catalog.h"
#include "lab_orders/sim/junction_spec.h"
#include "lab_orders/sim/openapi_validator.h"
#include "lab_orders/sim/script.h"
#include "lab_orders/sim/world.h"
#include "support/fakes.h"

namespace lab_orders::sim {
namespace {

using lab_orders::testing::CountingIdGenerator;
using lab_orders::testing::FakeClock;

using namespace std::chrono_literals;
using nlohmann::json;
using ::testing::HasSubstr;
using TimePoint = std::chrono::system_clock::time_point;

// Monday 2030-01-07 15:00 UTC (08:00 in Phoenix).
const TimePoint kStart = std::chrono::sys_days{std::chrono::year{2030} / 1 / 7} + 15h;

constexpr const char* kPhoenixZip = "85004";
constexpr const char* kRequisitionCreated = "received.at_home_phlebotomy.requisition_created";
constexpr const char* kOrdered = "received.at_home_phlebotomy.ordered";
constexpr const char* kAppointmentPending =
    "collecting_sample.at_home_phlebotomy.appointment_pending";
constexpr const char* kAppointmentScheduled =
    "collecting_sample.at_home_phlebotomy.appointment_scheduled";
constexpr const char* kAppointmentCancelled =
    "collecting_sample.at_home_phlebotomy.appointment_cancelled";
constexpr const char* kOrderCancelled = "cancelled.at_home_phlebotomy.cancelled";
constexpr const char* kPatientRequested = "0b1cbd44-7c2b-4b1e-9c55-4a0f3e2d1a01";

const OpenApiValidator& JunctionValidator() {
  static const OpenApiValidator validator(json::parse(JunctionSpecText()));
  return validator;
}

json AsJson(const std::vector<SchemaViolation>& violations) {
  json all = json::array();
  for (const SchemaViolation& violation : violations) all.push_back(violation.ToJson());
  return all;
}

// Violations of one documented response; compare with json::array() so failures print them.
json ResponseViolations(const std::string& method, const std::string& path, int status,
                        const json& body) {
  const json* schema = JunctionValidator().ResponseSchema(method, path, status);
  if (schema == nullptr) return {{"no schema for", method + " " + path}};
  return AsJson(JunctionValidator().Validate(*schema, body, json::array({"response"})));
}

json ComponentViolations(const std::string& component, const json& instance) {
  return AsJson(JunctionValidator().Validate({{"$ref", "#/components/schemas/" + component}},
                                             instance, json::array()));
}

const std::string& LabTestId() { return Catalog().front().id; }

json PhoenixAddress() {
  return {{"first_line", "123 West Lincoln Street"},
          {"city", "Phoenix"},
          {"state", "AZ"},
          {"zip_code", kPhoenixZip}};
}

class WorldTest : public ::testing::Test {
 protected:
  WorldTest() : world_(clock_, ids_, {"10001"}) {
    world_.SetEventSink([this](const json& event, int deliveries) {
      for (int i = 0; i < deliveries; ++i) events_.push_back(event);
    });
  }

  void Load(const json& script) { world_.LoadScript(ParseScript(script)); }

  std::string CreateUser(const std::string& client_user_id = "patient-0001") {
    SimResponse answer = world_.CreateUser({{"client_user_id", client_user_id}});
    EXPECT_EQ(answer.status, 200) << answer.body.dump();
    return answer.body.value("user_id", "");
  }

  static json OrderBody(const std::string& user_id) {
    return {{"user_id", user_id},
            {"patient_details",
             {{"first_name", "Ada"},
              {"last_name", "O'Neil-Smith"},
              {"dob", "1990-02-28"},
              {"gender", "female"},
              {"phone_number", "+16025550100"},
              {"email", "ada@example.com"}}},
            {"patient_address",
             {{"first_line", "123 West Lincoln Street"},
              {"city", "Phoenix"},
              {"state", "AZ"},
              {"zip", kPhoenixZip},
              {"country", "US"}}},
            {"order_set", {{"lab_test_ids", {LabTestId()}}}},
            {"collection_method", "at_home_phlebotomy"}};
  }

  // A new user with one order; the order's id.
  std::string CreateOrder(const std::string& client_user_id = "patient-0001") {
    SimResponse answer = world_.CreateOrder(OrderBody(CreateUser(client_user_id)));
    EXPECT_EQ(answer.status, 200) << answer.body.dump();
    return answer.body["order"].value("id", "");
  }

  json Order(const std::string& order_id) {
    SimResponse answer = world_.GetOrder(order_id);
    EXPECT_EQ(answer.status, 200) << answer.body.dump();
    EXPECT_EQ(ResponseViolations("GET", "/v3/order/{order_id}", 200, answer.body), json::array());
    return answer.body;
  }

  std::string OrderStatus(const std::string& order_id) {
    return Order(order_id)["last_event"].value("status", "");
  }

  json Slots(const std::string& zip_code = kPhoenixZip) {
    json address = PhoenixAddress();
    address["zip_code"] = zip_code;
    SimResponse answer = world_.Availability(address, std::nullopt);
    EXPECT_EQ(answer.status, 200) << answer.body.dump();
    return answer.body;
  }

  // The booking keys on offer, earliest first.
  std::vector<std::string> BookingKeys(const std::string& zip_code = kPhoenixZip) {
    std::vector<std::string> keys;
    const json availability = Slots(zip_code);
    for (const json& day : availability["slots"]) {
      for (const json& slot : day["slots"]) keys.push_back(slot["booking_key"]);
    }
    EXPECT_FALSE(keys.empty());
    return keys;
  }

  std::string FirstBookingKey() {
    std::vector<std::string> keys = BookingKeys();
    return keys.empty() ? "" : keys.front();
  }

  // Plans, waits as long as the plan says on the fake clock, then commits: what the server does.
  SimResponse Book(const std::string& order_id, const json& body, int call_number = 1) {
    auto planned = world_.PlanBooking(order_id, body, call_number);
    if (auto* refused = std::get_if<SimResponse>(&planned)) return *refused;
    const BookingPlan& plan = std::get<BookingPlan>(planned);
    clock_.Advance(std::chrono::milliseconds(plan.wait_ms));
    return world_.CommitBooking(order_id, body, plan);
  }

  SimResponse BookFirstSlot(const std::string& order_id, json body = json::object()) {
    body["booking_key"] = FirstBookingKey();
    return Book(order_id, body);
  }

  BookingPlan Plan(const std::string& order_id, const json& body, int call_number = 1) {
    auto planned = world_.PlanBooking(order_id, body, call_number);
    if (auto* refused = std::get_if<SimResponse>(&planned)) {
      ADD_FAILURE() << "booking refused: " << refused->status << " " << refused->body.dump();
      return {};
    }
    return std::get<BookingPlan>(planned);
  }

  json Appointment(const std::string& order_id) {
    SimResponse answer = world_.GetAppointment(order_id);
    EXPECT_EQ(answer.status, 200) << answer.body.dump();
    EXPECT_EQ(
        ResponseViolations("GET", "/v3/order/{order_id}/phlebotomy/appointment", 200, answer.body),
        json::array());
    return answer.body;
  }

  std::vector<std::string> EventTypes() const {
    std::vector<std::string> types;
    for (const json& event : events_) types.push_back(event["event_type"]);
    return types;
  }

  FakeClock clock_{kStart};
  CountingIdGenerator ids_;
  World world_;
  std::vector<json> events_;
};

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

// ---- booking
// --------------------------------------------------------------------------------------

TEST_F(WorldTest, BookingIsConfirmedAtOnceByDefault) {
  std::string order_id = CreateOrder();
  std::string key = FirstBookingKey();

  BookingPlan plan = Plan(order_id, {{"booking_key", key}});
  EXPECT_EQ(plan.wait_ms, 0);
  EXPECT_TRUE(plan.provider_answers_in_time);
  SimResponse booked = world_.CommitBooking(
      order_id, {{"booking_key", key}, {"appointment_notes", "Ring twice"}}, plan);

  ASSERT_EQ(booked.status, 200) << booked.body.dump();
  EXPECT_EQ(ResponseViolations("POST", "/v3/order/{order_id}/phlebotomy/appointment/book", 200,
                               booked.body),
            json::array());
  EXPECT_EQ(booked.body["status"], "confirmed");
  EXPECT_EQ(booked.body["event_status"], "scheduled");
  EXPECT_EQ(booked.body["provider"], "getlabs");
  EXPECT_EQ(booked.body["type"], "phlebotomy");
  EXPECT_EQ(booked.body["can_reschedule"], true);
  EXPECT_EQ(booked.body["order_id"], order_id);
  EXPECT_EQ(booked.body["address"]["zip_code"], kPhoenixZip);
  EXPECT_EQ(booked.body["start_at"], FormatRfc3339(kStart + 48h));
  EXPECT_EQ(booked.body["appointment_notes"], "Ring twice");
  EXPECT_EQ(Appointment(order_id), booked.body);

  json order = Order(order_id);
  EXPECT_EQ(order["last_event"]["status"], kAppointmentScheduled);
  EXPECT_EQ(order["details"]["data"]["appointment_id"], booked.body["id"]);
}

TEST_F(WorldTest, BookingBeforeRequisitionIsRefused) {
  Load({{"requisition", {{"mode", "manual"}}}});
  std::string order_id = CreateOrder();

  SimResponse refused = BookFirstSlot(order_id);

  EXPECT_EQ(refused.status, 400);
  EXPECT_EQ(world_.GetAppointment(order_id).status, 404);
}

TEST_F(WorldTest, BookingBeforeRequisitionIsReservedWhenTheScriptAllowsIt) {
  Load({{"requisition", {{"mode", "manual"}}}, {"allow_booking_before_requisition", true}});
  std::string order_id = CreateOrder();

  SimResponse booked = BookFirstSlot(order_id);

  ASSERT_EQ(booked.status, 200) << booked.body.dump();
  EXPECT_EQ(booked.body["status"], "reserved");
  EXPECT_EQ(booked.body["event_status"], "reserved");
  EXPECT_EQ(ResponseViolations("POST", "/v3/order/{order_id}/phlebotomy/appointment/book", 200,
                               booked.body),
            json::array());
}

TEST_F(WorldTest, AsyncBookingResolvesToConfirmedAfterPolls) {
  Load({{"bookings", {{{"resolve_after_polls", 2}}}}});
  std::string order_id = CreateOrder();
  json body = {{"booking_key", FirstBookingKey()}, {"async_confirmation", true}};

  BookingPlan plan = Plan(order_id, body);
  EXPECT_FALSE(plan.provider_answers_in_time);
  EXPECT_EQ(plan.wait_ms, 0);
  SimResponse booked = world_.CommitBooking(order_id, body, plan);

  ASSERT_EQ(booked.status, 200) << booked.body.dump();
  EXPECT_EQ(booked.body["status"], "pending");
  EXPECT_EQ(booked.body["event_status"], "pending");
  EXPECT_EQ(booked.body["can_reschedule"], false);
  EXPECT_EQ(ResponseViolations("POST", "/v3/order/{order_id}/phlebotomy/appointment/book", 200,
                               booked.body),
            json::array());
  EXPECT_EQ(OrderStatus(order_id), kAppointmentPending);

  EXPECT_EQ(Appointment(order_id)["status"], "pending");
  json resolved = Appointment(order_id);
  EXPECT_EQ(resolved["status"], "confirmed");
  EXPECT_EQ(resolved["event_status"], "scheduled");
  EXPECT_EQ(resolved["id"], booked.body["id"]);
  EXPECT_EQ(OrderStatus(order_id), kAppointmentScheduled);
}

TEST_F(WorldTest, AsyncBookingResolvesToCancelledAfterPolls) {
  Load({{"bookings", {{{"resolve_after_polls", 1}, {"outcome", "cancelled"}}}}});
  std::string order_id = CreateOrder();

  SimResponse booked = BookFirstSlot(order_id, {{"async_confirmation", true}});
  ASSERT_EQ(booked.status, 200) << booked.body.dump();
  EXPECT_EQ(booked.body["status"], "pending");

  json resolved = Appointment(order_id);
  EXPECT_EQ(resolved["status"], "cancelled");
  EXPECT_EQ(resolved["event_status"], "cancelled");
  EXPECT_EQ(OrderStatus(order_id), kAppointmentCancelled);
}

TEST_F(WorldTest, SlowProviderBeyondSyncTimeoutLeavesAPendingAppointmentResolvedByTick) {
  Load({{"bookings", {{{"provider_delay_ms", 6000}}}}});
  std::string order_id = CreateOrder();
  json body = {{"booking_key", FirstBookingKey()},
               {"async_confirmation", true},
               {"sync_confirmation_timeout_millisecond", 2000}};

  BookingPlan plan = Plan(order_id, body);
  EXPECT_EQ(plan.wait_ms, 2000);
  EXPECT_FALSE(plan.provider_answers_in_time);
  clock_.Advance(2000ms);
  SimResponse booked = world_.CommitBooking(order_id, body, plan);

  ASSERT_EQ(booked.status, 200) << booked.body.dump();
  EXPECT_EQ(booked.body["status"], "pending");
  // The provider answers 6 s after the booking call started.
  EXPECT_EQ(world_.Tick(), kStart + 6s);
  clock_.Advance(3999ms);
  EXPECT_EQ(world_.Tick(), kStart + 6s);
  EXPECT_EQ(Appointment(order_id)["status"], "pending");
  clock_.Advance(1ms);
  EXPECT_EQ(world_.Tick(), std::nullopt);
  EXPECT_EQ(Appointment(order_id)["status"], "confirmed");
  EXPECT_EQ(OrderStatus(order_id), kAppointmentScheduled);
}

TEST_F(WorldTest, SyncTimeoutDefaultsTo2500Ms) {
  Load({{"bookings", {{{"provider_delay_ms", 3000}}}}});
  std::string order_id = CreateOrder();

  BookingPlan plan =
      Plan(order_id, {{"booking_key", FirstBookingKey()}, {"async_confirmation", true}});

  EXPECT_EQ(plan.wait_ms, 2500);
  EXPECT_FALSE(plan.provider_answers_in_time);
}

TEST_F(WorldTest, AsyncBookingResolvesAfterScriptedMs) {
  Load({{"bookings", {{{"resolve_after_ms", 30000}, {"outcome", "reserved"}}}}});
  std::string order_id = CreateOrder();

  SimResponse booked = BookFirstSlot(order_id, {{"async_confirmation", true}});

  ASSERT_EQ(booked.body["status"], "pending") << booked.body.dump();
  EXPECT_EQ(world_.Tick(), kStart + 30s);
  clock_.Advance(29999ms);
  EXPECT_EQ(Appointment(order_id)["status"], "pending");
  clock_.Advance(1ms);
  EXPECT_EQ(Appointment(order_id)["status"], "reserved");
}

TEST_F(WorldTest, ProviderWithinSyncTimeoutConfirmsAfterItsDelay) {
  Load({{"bookings", {{{"provider_delay_ms", 1500}}}}});
  std::string order_id = CreateOrder();
  json body = {{"booking_key", FirstBookingKey()}, {"async_confirmation", true}};

  BookingPlan plan = Plan(order_id, body);
  EXPECT_EQ(plan.wait_ms, 1500);
  EXPECT_TRUE(plan.provider_answers_in_time);
  clock_.Advance(1500ms);
  EXPECT_EQ(world_.CommitBooking(order_id, body, plan).body["status"], "confirmed");
}

TEST_F(WorldTest, SyncBookingWaitsForTheProvider) {
  Load({{"bookings", {{{"provider_delay_ms", 6000}}}}});
  std::string order_id = CreateOrder();

  BookingPlan plan = Plan(order_id, {{"booking_key", FirstBookingKey()}});

  EXPECT_EQ(plan.wait_ms, 6000);
  EXPECT_TRUE(plan.provider_answers_in_time);
}

TEST_F(WorldTest, SyncBookingThatTheProviderRefusesAnswers500) {
  Load({{"bookings", {{{"outcome", "cancelled"}}}}});
  std::string order_id = CreateOrder();

  SimResponse refused = BookFirstSlot(order_id, {{"async_confirmation", false}});

  EXPECT_EQ(refused.status, 500);
  EXPECT_EQ(world_.GetAppointment(order_id).status, 404);
  EXPECT_EQ(OrderStatus(order_id), kRequisitionCreated);
}

TEST_F(WorldTest, BookingRulesFollowTheCallNumber) {
  Load({{"bookings", {{{"call", 1}, {"outcome", "cancelled"}}}}});
  std::string order_id = CreateOrder();
  json body = {{"booking_key", FirstBookingKey()}};

  auto first = world_.PlanBooking(order_id, body, 1);
  ASSERT_TRUE(std::holds_alternative<BookingPlan>(first));
  EXPECT_EQ(world_.CommitBooking(order_id, body, std::get<BookingPlan>(first)).status, 500);
  EXPECT_EQ(Book(order_id, body, 2).status, 200);
}

TEST_F(WorldTest, SecondBookingWhileOneIsActiveIsRefused) {
  std::string order_id = CreateOrder();
  std::vector<std::string> keys = BookingKeys();
  ASSERT_GE(keys.size(), 2u);
  ASSERT_EQ(Book(order_id, {{"booking_key", keys[0]}}).status, 200);

  SimResponse second = Book(order_id, {{"booking_key", keys[1]}});

  EXPECT_EQ(second.status, 400);
  EXPECT_EQ(Appointment(order_id)["start_at"], FormatRfc3339(kStart + 48h));
}

TEST_F(WorldTest, FullSlotIsNoLongerAvailableToAnotherOrder) {
  Load({{"slot_capacity", 1}});
  std::string first_order = CreateOrder("patient-0001");
  std::string second_order = CreateOrder("patient-0002");
  std::string key = FirstBookingKey();
  ASSERT_EQ(Book(first_order, {{"booking_key", key}}).status, 200);

  SimResponse taken = Book(second_order, {{"booking_key", key}});

  EXPECT_EQ(taken.status, 400);
  EXPECT_THAT(taken.body["detail"].get<std::string>(), HasSubstr("no longer available"));
  // Availability stops offering it.
  std::vector<std::string> keys = BookingKeys();
  EXPECT_EQ(std::find(keys.begin(), keys.end(), key), keys.end());
}

TEST_F(WorldTest, SlotWithCapacityLeftCountsDown) {
  Load({{"slot_capacity", 2}});
  std::string order_id = CreateOrder();
  std::string key = FirstBookingKey();
  EXPECT_EQ(Slots()["slots"][0]["slots"][0]["num_appointments_available"], 2);
  ASSERT_EQ(Book(order_id, {{"booking_key", key}}).status, 200);
  EXPECT_EQ(Slots()["slots"][0]["slots"][0]["num_appointments_available"], 1);
}

// ---- reschedule and cancel
// -----------------------------------------------------------------------

TEST_F(WorldTest, RescheduleMovesTheAppointment) {
  std::string order_id = CreateOrder();
  std::vector<std::string> keys = BookingKeys();
  ASSERT_GE(keys.size(), 2u);
  SimResponse booked = Book(order_id, {{"booking_key", keys[0]}});
  ASSERT_EQ(booked.status, 200);
  events_.clear();

  SimResponse moved = world_.RescheduleAppointment(
      order_id, {{"booking_key", keys[1]}, {"appointment_notes", "Gate code 42"}});

  ASSERT_EQ(moved.status, 200) << moved.body.dump();
  EXPECT_EQ(ResponseViolations("PATCH", "/v3/order/{order_id}/phlebotomy/appointment/reschedule",
                               200, moved.body),
            json::array());
  EXPECT_EQ(moved.body["id"], booked.body["id"]);
  EXPECT_EQ(moved.body["status"], "confirmed");
  EXPECT_EQ(moved.body["start_at"], FormatRfc3339(kStart + 49h));
  EXPECT_EQ(moved.body["appointment_notes"], "Gate code 42");
  EXPECT_EQ(moved.body["events"].back()["data"]["is_reschedule"], true);
  ASSERT_FALSE(events_.empty());
  EXPECT_EQ(events_.front()["event_type"], "labtest.appointment.updated");
  EXPECT_EQ(OrderStatus(order_id), kAppointmentScheduled);
}

TEST_F(WorldTest, RescheduleIsRefusedWithoutAnActiveAppointmentOrWhilePending) {
  Load({{"bookings", {{{"resolve_after_polls", 5}}}}});
  std::string order_id = CreateOrder();
  std::vector<std::string> keys = BookingKeys();
  ASSERT_GE(keys.size(), 2u);
  EXPECT_EQ(world_.RescheduleAppointment(order_id, {{"booking_key", keys[1]}}).status, 400);

  ASSERT_EQ(Book(order_id, {{"booking_key", keys[0]}, {"async_confirmation", true}}).body["status"],
            "pending");
  EXPECT_EQ(world_.RescheduleAppointment(order_id, {{"booking_key", keys[1]}}).status, 400);
}

TEST_F(WorldTest, RescheduleWithAnExpiredKeyIsRefused) {
  std::string order_id = CreateOrder();
  std::vector<std::string> keys = BookingKeys();
  ASSERT_EQ(Book(order_id, {{"booking_key", keys[0]}}).status, 200);
  clock_.Advance(16min);

  EXPECT_EQ(world_.RescheduleAppointment(order_id, {{"booking_key", keys[1]}}).status, 400);
  EXPECT_EQ(Appointment(order_id)["start_at"], FormatRfc3339(kStart + 48h));
}

TEST_F(WorldTest, OrderCancelledWhileTheProviderDecidesIsNotBooked) {
  std::string order_id = CreateOrder();
  json body = {{"booking_key", FirstBookingKey()}, {"async_confirmation", true}};
  BookingPlan plan = Plan(order_id, body);
  ASSERT_EQ(world_.CancelOrder(order_id).status, 200);
  SimResponse committed = world_.CommitBooking(order_id, body, plan);
  EXPECT_EQ(committed.status, 400) << committed.body.dump();
  EXPECT_EQ(world_.GetAppointment(order_id).status, 404);
}

TEST_F(WorldTest, CancellationReasonsAreSpecShaped) {
  SimResponse reasons = world_.CancellationReasons();
  ASSERT_EQ(reasons.status, 200);
  EXPECT_FALSE(reasons.body.empty());
  EXPECT_EQ(ResponseViolations("GET", "/v3/order/phlebotomy/appointment/cancellation-reasons", 200,
                               reasons.body),
            json::array());
}

TEST_F(WorldTest, CancelAppointmentNeedsAKnownReason) {
  std::string order_id = CreateOrder();
  ASSERT_EQ(BookFirstSlot(order_id).status, 200);

  SimResponse refused = world_.CancelAppointment(
      order_id, {{"cancellation_reason_id", "00000000-0000-4000-8000-999999999999"}});

  EXPECT_EQ(refused.status, 400);
  EXPECT_EQ(Appointment(order_id)["status"], "confirmed");
}

TEST_F(WorldTest, CancelAppointmentCancelsItAndTheOrderFollows) {
  std::string order_id = CreateOrder();
  ASSERT_EQ(BookFirstSlot(order_id).status, 200);

  SimResponse cancelled = world_.CancelAppointment(
      order_id, {{"cancellation_reason_id", kPatientRequested}, {"notes", "moving"}});

  ASSERT_EQ(cancelled.status, 200) << cancelled.body.dump();
  EXPECT_EQ(ResponseViolations("PATCH", "/v3/order/{order_id}/phlebotomy/appointment/cancel", 200,
                               cancelled.body),
            json::array());
  EXPECT_EQ(cancelled.body["status"], "cancelled");
  EXPECT_EQ(cancelled.body["event_status"], "cancelled");
  EXPECT_EQ(cancelled.body["can_reschedule"], false);
  EXPECT_EQ(OrderStatus(order_id), kAppointmentCancelled);

  // Nothing left to cancel, but the order can book again.
  EXPECT_EQ(
      world_.CancelAppointment(order_id, {{"cancellation_reason_id", kPatientRequested}}).status,
      400);
  SimResponse rebooked = BookFirstSlot(order_id);
  ASSERT_EQ(rebooked.status, 200) << rebooked.body.dump();
  EXPECT_NE(rebooked.body["id"], cancelled.body["id"]);
  EXPECT_EQ(OrderStatus(order_id), kAppointmentScheduled);
}

TEST_F(WorldTest, CancelledPendingAppointmentLeavesNothingDueForTick) {
  Load({{"bookings", {{{"provider_delay_ms", 6000}}}}});
  std::string order_id = CreateOrder();
  SimResponse booked = BookFirstSlot(order_id, {{"async_confirmation", true}});
  ASSERT_EQ(booked.body["status"], "pending");
  ASSERT_EQ(
      world_.CancelAppointment(order_id, {{"cancellation_reason_id", kPatientRequested}}).status,
      200);

  // The provider's late answer must neither revive the appointment nor stay due forever (a due
  // time in the past would make the server's ticker spin).
  EXPECT_EQ(world_.Tick(), std::nullopt);
  clock_.Advance(1h);
  EXPECT_EQ(world_.Tick(), std::nullopt);
  EXPECT_EQ(Appointment(order_id)["status"], "cancelled");
}

// ---- cancelling orders
// ----------------------------------------------------------------------------

TEST_F(WorldTest, CancelOrderIsRefusedInFinalStatuses) {
  for (const char* status :
       {"completed", "corrected", "cancelled", "sample_error", "partial_results"}) {
    std::string order_id = CreateOrder(std::string("patient-") + status);
    ASSERT_EQ(world_.AdvanceOrder(order_id, {{"status", status}}).status, 200) << status;
    std::string before = OrderStatus(order_id);

    SimResponse refused = world_.CancelOrder(order_id);

    EXPECT_EQ(refused.status, 400) << status;
    EXPECT_EQ(OrderStatus(order_id), before) << status;
  }
}

TEST_F(WorldTest, CancelOrderIsAllowedBeforeTheSampleReachesTheLab) {
  Load({{"requisition", {{"mode", "manual"}}}});
  for (const char* status :
       {"ordered", "requisition_created", "requisition_bypassed", "appointment_pending",
        "appointment_scheduled", "appointment_cancelled", "draw_completed"}) {
    std::string order_id = CreateOrder(std::string("patient-") + status);
    if (std::string(status) != "ordered") {
      ASSERT_EQ(world_.AdvanceOrder(order_id, {{"status", status}}).status, 200) << status;
    }

    SimResponse cancelled = world_.CancelOrder(order_id);

    ASSERT_EQ(cancelled.status, 200) << status << " " << cancelled.body.dump();
    EXPECT_EQ(ResponseViolations("POST", "/v3/order/{order_id}/cancel", 200, cancelled.body),
              json::array());
    EXPECT_EQ(cancelled.body["order"]["last_event"]["status"], kOrderCancelled) << status;
    EXPECT_EQ(cancelled.body["order"]["order_transaction"]["status"], "cancelled");
  }
}

TEST_F(WorldTest, CancelOrderCancelsItsAppointment) {
  std::string order_id = CreateOrder();
  ASSERT_EQ(BookFirstSlot(order_id).status, 200);

  ASSERT_EQ(world_.CancelOrder(order_id).status, 200);

  EXPECT_EQ(Appointment(order_id)["status"], "cancelled");
  EXPECT_EQ(OrderStatus(order_id), kOrderCancelled);
  EXPECT_EQ(world_.CancelOrder(order_id).status, 400);
  EXPECT_EQ(BookFirstSlot(order_id).status, 400);
}

TEST_F(WorldTest, CancelOrderOfAPendingBookingCancelsItForGood) {
  Load({{"bookings", {{{"provider_delay_ms", 6000}}}}});
  std::string order_id = CreateOrder();
  ASSERT_EQ(BookFirstSlot(order_id, {{"async_confirmation", true}}).body["status"], "pending");

  ASSERT_EQ(world_.CancelOrder(order_id).status, 200);
  clock_.Advance(1h);

  EXPECT_EQ(world_.Tick(), std::nullopt);
  EXPECT_EQ(Appointment(order_id)["status"], "cancelled");
  EXPECT_EQ(OrderStatus(order_id), kOrderCancelled);
}

// ---- webhook events
// ---------------------------------------------------------------------------------

TEST_F(WorldTest, EventsAreEmittedInOrderAsEnvelopes) {
  std::string order_id = CreateOrder("patient-0001");
  SimResponse booked = BookFirstSlot(order_id);
  ASSERT_EQ(booked.status, 200);

  EXPECT_THAT(EventTypes(),
              ::testing::ElementsAre("labtest.order.created", "labtest.order.updated",
                                     "labtest.appointment.created", "labtest.order.updated"));
  ASSERT_EQ(events_.size(), 4u);
  for (const json& event : events_) {
    EXPECT_EQ(event.size(), 5u) << event.dump();
    EXPECT_EQ(event["user_id"], booked.body["user_id"]);
    EXPECT_EQ(event["client_user_id"], "patient-0001");
    EXPECT_EQ(event["team_id"], World::kTeamId);
  }
  EXPECT_EQ(events_[0]["data"]["last_event"]["status"], kOrdered);
  EXPECT_EQ(events_[1]["data"]["last_event"]["status"], kRequisitionCreated);
  EXPECT_EQ(events_[2]["data"], booked.body);
  EXPECT_EQ(events_[3]["data"]["last_event"]["status"], kAppointmentScheduled);
}

TEST_F(WorldTest, DuplicateWebhooksSendsEveryEventTwice) {
  Load({{"webhooks", {{"duplicate", true}}}});
  std::string order_id = CreateOrder();
  ASSERT_EQ(BookFirstSlot(order_id).status, 200);

  ASSERT_EQ(events_.size(), 8u);
  for (size_t i = 0; i < events_.size(); i += 2) EXPECT_EQ(events_[i], events_[i + 1]) << i;
  EXPECT_EQ(events_[0]["event_type"], "labtest.order.created");
  EXPECT_EQ(events_[4]["event_type"], "labtest.appointment.created");
}

class WorldWebhookTest : public WorldTest {
 protected:
  // Every kind of state change: timed requisition, pending then confirmed booking, reschedule,
  // appointment cancellation, rebooking, order cancellation.
  void RunEveryKindOfChange(const std::string& client_user_id) {
    Load({{"requisition", {{"mode", "after_ms"}, {"ms", 1000}}},
          {"bookings", {{{"call", 1}, {"resolve_after_polls", 1}}}}});
    std::string order_id = CreateOrder(client_user_id);
    clock_.Advance(1s);
    world_.Tick();
    std::vector<std::string> keys = BookingKeys();
    ASSERT_GE(keys.size(), 3u);
    ASSERT_EQ(Book(order_id, {{"booking_key", keys[0]}, {"async_confirmation", true}}, 1).status,
              200);
    Appointment(order_id);
    ASSERT_EQ(world_.RescheduleAppointment(order_id, {{"booking_key", keys[1]}}).status, 200);
    ASSERT_EQ(
        world_.CancelAppointment(order_id, {{"cancellation_reason_id", kPatientRequested}}).status,
        200);
    ASSERT_EQ(Book(order_id, {{"booking_key", keys[2]}}, 2).status, 200);
    ASSERT_EQ(world_.CancelOrder(order_id).status, 200);

    std::vector<std::string> emitted = EventTypes();
    EXPECT_EQ(
        std::set<std::string>(emitted.begin(), emitted.end()),
        (std::set<std::string>{"labtest.order.created", "labtest.order.updated",
                               "labtest.appointment.created", "labtest.appointment.updated"}));
  }

  static json EnvelopeViolations(const json& event) {
    std::string type = event["event_type"];
    return ComponentViolations(type.rfind("labtest.order.", 0) == 0
                                   ? "ClientFacingOrderChanged"
                                   : "ClientFacingAppointmentChanged",
                               event);
  }
};

TEST_F(WorldWebhookTest, EnvelopesMatchTheSpec) {
  ASSERT_NO_FATAL_FAILURE(RunEveryKindOfChange("3f0c6f2e-5b7a-4d1e-8c9b-0a1b2c3d4e5f"));

  ASSERT_GE(events_.size(), 10u);
  for (const json& event : events_) {
    EXPECT_EQ(EnvelopeViolations(event), json::array()) << event.dump();
  }
}

TEST_F(WorldWebhookTest, EnvelopesMatchTheSpecExceptClientUserIdFormat) {
  // The spec says client_user_id is a UUID; it is whatever the team chose (docs/junction.md:
  // Webhooks).
  ASSERT_NO_FATAL_FAILURE(RunEveryKindOfChange("patient-0001"));

  ASSERT_GE(events_.size(), 10u);
  for (const json& event : events_) {
    for (const json& violation : EnvelopeViolations(event)) {
      EXPECT_EQ(violation["loc"], json({"client_user_id"})) << violation.dump() << "\n"
                                                            << event.dump();
    }
  }
}

}  // namespace
}  // namespace lab_orders::sim
