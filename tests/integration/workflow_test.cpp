// The appointment workflow over real sockets: the real lab-orders binary drives each order from
// the 201 to a confirmed appointment at a real junction-sim, by polling and by signed webhooks,
// across provider cancellations and SIGKILLs.

#include <gtest/gtest.h>
#include <sqlite3.h>

#include <chrono>
#include <functional>
#include <map>
#include <random>
#include <set>
#include <thread>

#include "lab_orders/common/svix.h"
#include "support/order_bodies.h"
#include "support/service_process.h"
#include "support/sim_process.h"

namespace lab_orders::testing {
namespace {

using nlohmann::json;
using std::chrono::milliseconds;
using std::chrono::steady_clock;

constexpr const char* kWebhookSecret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

std::vector<std::string> Operations(const json& calls) {
  std::vector<std::string> names;
  for (const json& call : calls) names.push_back(call["operation"]);
  return names;
}

class WorkflowTest : public ::testing::Test {
 protected:
  void TearDown() override {
    if (!service_) return;
    // The workflow's state, jobs and logs carry ids and statuses only.
    std::string written = service_->Log() + service_->DatabaseBytes();
    for (const char* secret : kWorkflowPatientSecrets) {
      EXPECT_EQ(written.find(secret), std::string::npos) << secret << " in the log or database";
    }
  }

  void StartService(std::map<std::string, std::string> extra = {}) {
    if (!sim_) sim_ = std::make_unique<SimProcess>();
    service_ = std::make_unique<ServiceProcess>(sim_->base_url(), FastWorkflow(std::move(extra)));
    token_ = service_->Token("brand-w", "user-w");
  }

  json CreateOrder(const std::string& key, const std::string& patient_id = "patient-1") {
    HttpReply reply =
        service_->Post("/v1/labs/orders", WorkflowOrderBody(patient_id).dump(),
                       {{"Authorization", "Bearer " + token_}, {"Idempotency-Key", key}});
    EXPECT_EQ(reply.status, 201) << reply.body;
    return reply.Json();
  }

  json GetOrder(const std::string& id) {
    HttpReply reply =
        service_->Get("/v1/labs/orders/" + id, {{"Authorization", "Bearer " + token_}});
    EXPECT_EQ(reply.status, 200) << reply.body;
    return reply.Json();
  }

  // Waits (the service's long poll) until the order reaches status; fails the test if it never
  // does within 20 s.
  json WaitForStatus(const std::string& id, const std::string& status) {
    json order = service_->WaitForOrderStatus(token_, id, status);
    EXPECT_EQ(order["status"], status) << "order never got there: " << order.dump();
    return order;
  }

  std::unique_ptr<SimProcess> sim_;
  std::unique_ptr<ServiceProcess> service_;
  std::string token_;
};

TEST_F(WorkflowTest, PendingBookingIsConfirmedAfterThreePolls) {
  StartService();
  sim_->LoadScript(
      {{"bookings", {{{"call", 1}, {"outcome", "confirmed"}, {"resolve_after_polls", 3}}}}});
  json created = CreateOrder("happy");
  json order = WaitForStatus(created["id"], "appointment_scheduled");

  const json& appointment = order["appointment"];
  ASSERT_TRUE(appointment.is_object()) << order.dump();
  EXPECT_EQ(appointment["status"], "confirmed");
  EXPECT_EQ(appointment["provider"], "getlabs");
  EXPECT_EQ(appointment["timezone"], "America/Phoenix");
  EXPECT_TRUE(appointment["start_at"].is_string());
  EXPECT_TRUE(appointment["end_at"].is_string());
  EXPECT_LT(appointment["start_at"].get<std::string>(), appointment["end_at"].get<std::string>());
  EXPECT_TRUE(order["failure_reason"].is_null());

  json calls = sim_->Calls();
  std::vector<std::string> expected = {"area_info",       "create_user",     "create_order",
                                       "get_order",       "availability",    "book_appointment",
                                       "get_appointment", "get_appointment", "get_appointment"};
  EXPECT_EQ(Operations(calls), expected);
  json book = sim_->Calls("book_appointment")[0]["body"];
  EXPECT_EQ(book["async_confirmation"], true);
  EXPECT_TRUE(book["booking_key"].is_string());
  // The availability was asked for the order's address, with the ZIP as zip_code.
  EXPECT_EQ(sim_->Calls("availability")[0]["body"]["zip_code"], "85004");
}

TEST_F(WorkflowTest, LongPollAnswersAtTheStatusOrWhenItsWaitIsOver) {
  StartService();
  sim_->LoadScript({{"requisition", {{"mode", "manual"}}}});
  json created = CreateOrder("long-poll");
  std::string id = created["id"];
  std::string auth = "Bearer " + token_;
  // Not reached within the wait: the order as it stands.
  HttpReply waited =
      service_->Get("/v1/labs/orders/" + id + "?wait_status=appointment_scheduled&wait_ms=100",
                    {{"Authorization", auth}});
  ASSERT_EQ(waited.status, 200) << waited.body;
  EXPECT_EQ(waited.Json()["status"], "ordered");
  // Several statuses, one of which is the current one: at once.
  EXPECT_EQ(service_->WaitForOrderStatus(token_, id, "failed,ordered")["status"], "ordered");
  HttpReply bad = service_->Get("/v1/labs/orders/" + id + "?wait_status=ordered&wait_ms=99999",
                                {{"Authorization", auth}});
  EXPECT_EQ(bad.status, 400);
  EXPECT_EQ(bad.Json()["details"][0]["path"], "/wait_ms");
  // Reached while waiting: the requisition arrives and the workflow books.
  sim_->Admin("POST",
              "/_sim/orders/" + created["junction_order_id"].get<std::string>() + "/advance",
              {{"status", "requisition_created"}});
  EXPECT_EQ(WaitForStatus(id, "appointment_scheduled")["appointment"]["status"], "confirmed");
}

TEST_F(WorkflowTest, ProviderCancellationIsRebookedAndConfirmed) {
  StartService();
  sim_->LoadScript({{"bookings",
                     {{{"call", 1}, {"outcome", "cancelled"}, {"resolve_after_polls", 1}},
                      {{"call", 2}, {"outcome", "confirmed"}, {"resolve_after_polls", 2}}}}});
  json created = CreateOrder("rebook");
  json order = WaitForStatus(created["id"], "appointment_scheduled");
  EXPECT_EQ(order["appointment"]["status"], "confirmed");
  json books = sim_->Calls("book_appointment");
  ASSERT_EQ(books.size(), 2u);
  // A rebook takes fresh availability: each booking_key came from its own availability call.
  EXPECT_EQ(sim_->Calls("availability").size(), 2u);
  HttpReply active =
      sim_->Junction("GET", "/v3/order/" + created["junction_order_id"].get<std::string>() +
                                "/phlebotomy/appointment");
  EXPECT_EQ(active.Json()["id"], order["appointment"]["id"]);
}

TEST_F(WorkflowTest, ThreeProviderCancellationsFailTheOrderWithTheReason) {
  StartService();
  sim_->LoadScript(
      {{"bookings", {{{"from_call", 1}, {"outcome", "cancelled"}, {"resolve_after_polls", 1}}}}});
  json created = CreateOrder("three-cancellations");
  json order = WaitForStatus(created["id"], "failed");
  EXPECT_EQ(sim_->Calls("book_appointment").size(), 3u);
  ASSERT_TRUE(order["failure_reason"].is_string()) << order.dump();
  EXPECT_NE(order["failure_reason"].get<std::string>().find("cancelled 3"), std::string::npos);
  EXPECT_EQ(order["appointment"]["status"], "cancelled");
}

TEST_F(WorkflowTest, ProviderRefusingAtOnceCountsAsACancellation) {
  StartService();
  // The provider answers within the sync window: the booking comes back cancelled directly.
  sim_->LoadScript(
      {{"bookings",
        {{{"call", 1}, {"outcome", "cancelled"}}, {{"call", 2}, {"outcome", "confirmed"}}}}});
  json created = CreateOrder("refused-at-once");
  WaitForStatus(created["id"], "appointment_scheduled");
  EXPECT_EQ(sim_->Calls("book_appointment").size(), 2u);
}

TEST_F(WorkflowTest, RequisitionIsAwaitedByPollingWithBackoff) {
  StartService();
  sim_->LoadScript({{"requisition", {{"mode", "after_polls"}, {"polls", 3}}}});
  json created = CreateOrder("requisition-polls");
  WaitForStatus(created["id"], "appointment_scheduled");
  std::vector<std::string> operations = Operations(sim_->Calls());
  std::vector<std::string> expected = {"area_info",    "create_user",     "create_order",
                                       "get_order",    "get_order",       "get_order",
                                       "availability", "book_appointment"};
  EXPECT_EQ(operations, expected);
}

TEST_F(WorkflowTest, UpstreamFailuresAreRetriedAndTheWorkflowCompletes) {
  StartService();
  sim_->LoadScript(
      {{"operations",
        {{"get_order", {{{"call", 1}, {"fault", "unavailable"}, {"retry_after", 1}}}},
         {"availability", {{{"call", 1}, {"status", 500}, {"body", {{"detail", "boom"}}}}}},
         {"get_appointment", {{{"call", 1}, {"fault", "reset"}}}}}},
       {"bookings", {{{"call", 1}, {"outcome", "confirmed"}, {"resolve_after_polls", 1}}}}});
  json created = CreateOrder("upstream-faults");
  WaitForStatus(created["id"], "appointment_scheduled");
  EXPECT_EQ(sim_->Calls("book_appointment").size(), 1u);
  // Retry-After: 1 was honoured: the second look at the order came a second or more later.
  json polls = sim_->Calls("get_order");
  ASSERT_GE(polls.size(), 2u);
}

TEST_F(WorkflowTest, LostBookingAnswerIsLookedUpNotBookedAgain) {
  StartService();
  // Junction books the slot, then the answer is lost: the service must find the appointment.
  sim_->LoadScript(
      {{"operations",
        {{"book_appointment", {{{"call", 1}, {"fault", "reset"}, {"when", "after"}}}}}},
       {"bookings", {{{"call", 1}, {"outcome", "confirmed"}}}}});
  json created = CreateOrder("lost-booking");
  json order = WaitForStatus(created["id"], "appointment_scheduled");
  EXPECT_EQ(sim_->Calls("book_appointment").size(), 1u);
  EXPECT_GE(sim_->Calls("get_appointment").size(), 1u);
  EXPECT_TRUE(order["appointment"]["id"].is_string());
}

TEST_F(WorkflowTest, BrandBooksAndReschedulesAChosenSlotThenCancels) {
  StartService();
  sim_->LoadScript({{"requisition", {{"mode", "manual"}}}});
  json created = CreateOrder("by-hand");
  std::string id = created["id"];
  std::string auth = "Bearer " + token_;
  // Before the requisition there is nothing to book.
  HttpReply early =
      service_->Post("/v1/labs/orders/" + id + "/appointment",
                     json{{"booking_key", "whatever"}}.dump(), {{"Authorization", auth}});
  EXPECT_TRUE(early.status == 409) << early.body;

  HttpReply slots = service_->Get("/v1/labs/orders/" + id + "/appointment/availability",
                                  {{"Authorization", auth}});
  ASSERT_EQ(slots.status, 200) << slots.body;
  json listed = slots.Json()["slots"];
  ASSERT_GE(listed.size(), 3u);
  EXPECT_EQ(slots.Json()["timezone"], "America/Phoenix");

  // The requisition arrives; the workflow books the earliest slot by itself.
  sim_->Admin("POST",
              "/_sim/orders/" + created["junction_order_id"].get<std::string>() + "/advance",
              {{"status", "requisition_created"}});
  json scheduled = WaitForStatus(id, "appointment_scheduled");

  // The brand moves it to a later slot of its choosing.
  json fresh =
      service_
          ->Get("/v1/labs/orders/" + id + "/appointment/availability", {{"Authorization", auth}})
          .Json()["slots"];
  json later = fresh[fresh.size() - 1];
  HttpReply moved =
      service_->Post("/v1/labs/orders/" + id + "/appointment",
                     json{{"booking_key", later["booking_key"]}}.dump(), {{"Authorization", auth}});
  ASSERT_EQ(moved.status, 200) << moved.body;
  EXPECT_EQ(moved.Json()["appointment"]["start_at"], later["start_at"]);
  EXPECT_EQ(moved.Json()["appointment"]["id"], scheduled["appointment"]["id"]);
  EXPECT_EQ(sim_->Calls("reschedule_appointment").size(), 1u);

  // An unknown key is refused with a clear 409, and the appointment stays.
  HttpReply bad =
      service_->Post("/v1/labs/orders/" + id + "/appointment",
                     json{{"booking_key", "not-a-key"}}.dump(), {{"Authorization", auth}});
  EXPECT_EQ(bad.status, 409) << bad.body;
  EXPECT_EQ(bad.Json()["error"], "slot_unavailable");
  HttpReply missing =
      service_->Post("/v1/labs/orders/" + id + "/appointment", "{}", {{"Authorization", auth}});
  EXPECT_EQ(missing.status, 400);

  HttpReply cancelled =
      service_->Post("/v1/labs/orders/" + id + "/cancel", "", {{"Authorization", auth}});
  ASSERT_EQ(cancelled.status, 200) << cancelled.body;
  EXPECT_EQ(cancelled.Json()["status"], "cancelled");
  EXPECT_EQ(cancelled.Json()["appointment"]["status"], "cancelled");
  EXPECT_EQ(GetOrder(id)["status"], "cancelled");
  HttpReply again =
      service_->Post("/v1/labs/orders/" + id + "/cancel", "", {{"Authorization", auth}});
  // A retry of the cancel (its answer lost) answers the cancelled order; Junction is asked once.
  EXPECT_EQ(again.status, 200) << again.body;
  EXPECT_EQ(again.Json()["status"], "cancelled");
  EXPECT_EQ(sim_->Calls("cancel_order").size(), 1u);

  // Another brand sees none of it.
  std::string other = "Bearer " + service_->Token("brand-other", "user-x");
  EXPECT_EQ(
      service_->Post("/v1/labs/orders/" + id + "/cancel", "", {{"Authorization", other}}).status,
      404);
  EXPECT_EQ(
      service_
          ->Get("/v1/labs/orders/" + id + "/appointment/availability", {{"Authorization", other}})
          .status,
      404);
}

TEST_F(WorkflowTest, JunctionRefusingTheCancelIs409) {
  StartService();
  json created = CreateOrder("cancel-refused");
  std::string id = created["id"];
  WaitForStatus(id, "appointment_scheduled");
  sim_->Admin("POST",
              "/_sim/orders/" + created["junction_order_id"].get<std::string>() + "/advance",
              {{"status", "completed"}});
  // The service has not heard yet (no webhook, slow reconciliation): Junction refuses.
  HttpReply refused = service_->Post("/v1/labs/orders/" + id + "/cancel", "",
                                     {{"Authorization", "Bearer " + token_}});
  EXPECT_EQ(refused.status, 409) << refused.body;
  EXPECT_EQ(refused.Json()["error"], "order_not_cancellable");
  EXPECT_EQ(refused.body.find("detail"), std::string::npos);
}

TEST_F(WorkflowTest, CompleterFinishesARequestItsClientAbandoned) {
  StartService({{"LAB_ORDERS_COMPLETER_AFTER_S", "1"}, {"LAB_ORDERS_COMPLETER_INTERVAL_S", "1"}});
  // Junction makes the order but the answer never comes: a 502, and the client never retries.
  sim_->LoadScript(
      {{"operations",
        {{"create_order",
          {{{"call", 1}, {"fault", "hang"}, {"hang_ms", 3000}, {"when", "after"}}}}}}});
  HttpReply failed =
      service_->Post("/v1/labs/orders", WorkflowOrderBody("patient-abandoned").dump(),
                     {{"Authorization", "Bearer " + token_}, {"Idempotency-Key", "abandoned"}});
  ASSERT_EQ(failed.status, 502) << failed.body;
  // The completer resends (same X-Idempotency-Key: the same Junction order) and the workflow
  // goes on to the appointment.
  // The order was recorded before Junction was called, so the list has it already.
  json listed = service_->Get("/v1/labs/orders", {{"Authorization", "Bearer " + token_}}).Json();
  ASSERT_EQ(listed["data"].size(), 1u);
  WaitForStatus(listed["data"][0]["id"], "appointment_scheduled");
  listed = service_->Get("/v1/labs/orders", {{"Authorization", "Bearer " + token_}}).Json();
  EXPECT_EQ(listed["data"][0]["status"], "appointment_scheduled");
  json creates = sim_->Calls("create_order");
  ASSERT_EQ(creates.size(), 2u);
  EXPECT_EQ(creates[0]["idempotency_key"], creates[1]["idempotency_key"]);
  // The client's late retry replays what the completer stored.
  HttpReply replay =
      service_->Post("/v1/labs/orders", WorkflowOrderBody("patient-abandoned").dump(),
                     {{"Authorization", "Bearer " + token_}, {"Idempotency-Key", "abandoned"}});
  EXPECT_EQ(replay.status, 201);
  EXPECT_EQ(replay.headers["Idempotent-Replayed"], "true");
  EXPECT_EQ(replay.Json()["id"], listed["data"][0]["id"]);
}

// ---- crash safety ------------------------------------------------------------------------------

// Reads the service's job table after it stopped: kind and state of every job per order.
std::map<std::string, std::multiset<std::string>> JobsByOrder(const std::filesystem::path& db) {
  std::map<std::string, std::multiset<std::string>> jobs;
  sqlite3* handle = nullptr;
  EXPECT_EQ(sqlite3_open_v2(db.c_str(), &handle, SQLITE_OPEN_READONLY, nullptr), SQLITE_OK);
  sqlite3_stmt* statement = nullptr;
  EXPECT_EQ(sqlite3_prepare_v2(handle, "SELECT order_id, kind FROM jobs WHERE state = 'queued'", -1,
                               &statement, nullptr),
            SQLITE_OK);
  while (sqlite3_step(statement) == SQLITE_ROW) {
    jobs[reinterpret_cast<const char*>(sqlite3_column_text(statement, 0))].insert(
        reinterpret_cast<const char*>(sqlite3_column_text(statement, 1)));
  }
  sqlite3_finalize(statement);
  sqlite3_close(handle);
  return jobs;
}

TEST_F(WorkflowTest, SurvivesSigkillAtRandomMomentsOfTheWorkflow) {
  sim_ = std::make_unique<SimProcess>(std::vector<std::string>{"--latency-ms", "3"});
  StartService();
  sim_->LoadScript(
      {{"requisition", {{"mode", "after_polls"}, {"polls", 2}}},
       {"bookings", {{{"from_call", 1}, {"outcome", "confirmed"}, {"resolve_after_polls", 2}}}}});
  unsigned seed = std::random_device{}();
  SCOPED_TRACE("seed " + std::to_string(seed));
  std::mt19937 random(seed);
  // A random moment of the workflow: after the n-th call of one of its operations (per run,
  // three orders make 6 get_order, 3 availability, 3 book_appointment and 6 get_appointment).
  const std::vector<std::pair<std::string, int>> kMoments = {
      {"get_order", 6}, {"availability", 3}, {"book_appointment", 3}, {"get_appointment", 6}};
  std::uniform_int_distribution<size_t> pick_operation(0, kMoments.size() - 1);

  std::vector<json> orders;
  int interrupted = 0;
  constexpr int kRuns = 20;
  constexpr int kOrdersPerRun = 3;
  for (int run = 0; run < kRuns; ++run) {
    const auto& [operation, per_run] = kMoments[pick_operation(random)];
    size_t target = sim_->Calls(operation).size() +
                    std::uniform_int_distribution<size_t>(1, size_t(per_run))(random);
    std::vector<std::string> ids;
    for (int i = 0; i < kOrdersPerRun; ++i) {
      std::string key = "run-" + std::to_string(run) + "-" + std::to_string(i);
      json created = CreateOrder(key, "patient-" + key);
      ids.push_back(created["id"]);
      orders.push_back(created);
    }
    sim_->Admin("GET", "/_sim/calls?operation=" + operation +
                           "&wait_handled=" + std::to_string(target) + "&timeout_ms=10000");
    service_->Kill();
    service_->Start();
    for (const std::string& id : ids) {
      if (GetOrder(id)["status"] != "appointment_scheduled") ++interrupted;
      WaitForStatus(id, "appointment_scheduled");
    }
  }
  // The kills did land in the middle of workflows (not only after they had finished).
  EXPECT_GT(interrupted, 0);
  RecordProperty("orders_interrupted", interrupted);

  // Every order: one booking at Junction, confirmed, and the same appointment here.
  std::map<std::string, int> bookings_per_order;
  for (const json& call : sim_->Calls("book_appointment")) {
    if (call["outcome"] == 200) ++bookings_per_order[call["path"].get<std::string>()];
  }
  for (const json& created : orders) {
    std::string junction_id = created["junction_order_id"];
    std::string path = "/v3/order/" + junction_id + "/phlebotomy/appointment/book";
    EXPECT_EQ(bookings_per_order[path], 1) << "order " << created["id"];
    json active =
        sim_->Junction("GET", "/v3/order/" + junction_id + "/phlebotomy/appointment").Json();
    json ours = GetOrder(created["id"]);
    EXPECT_EQ(active["id"], ours["appointment"]["id"]);
    EXPECT_EQ(active["status"], "confirmed");
  }

  // No job lost and none left over: each order waits in its slow reconciliation, alone.
  ASSERT_EQ(service_->Terminate(), 0);
  auto jobs = JobsByOrder(service_->directory() / "lab-orders.db");
  EXPECT_EQ(jobs.size(), orders.size());
  for (const json& created : orders) {
    EXPECT_EQ(jobs[created["id"]], std::multiset<std::string>{"reconcile"}) << created["id"];
  }
  service_->Start();  // for the destructor
}

// Killed while booking calls are out, with Junction (a provider that takes 700 ms) slower than the
// restart: the restarted service must not ask Junction for the order's appointment before
// Junction has finished the call it still holds, see none, and book again. Junction would refuse
// the second booking (the order has one), but the service must not rely on that: the simulator's
// log must show one book call per order, whatever its outcome.
TEST_F(WorkflowTest, ABookingOutAtAKillIsNeverSentAgain) {
  StartService();
  sim_->LoadScript(
      {{"requisition", {{"mode", "immediate"}}},
       {"bookings", {{{"from_call", 1}, {"outcome", "confirmed"}, {"provider_delay_ms", 700}}}}});
  unsigned seed = std::random_device{}();
  SCOPED_TRACE("seed " + std::to_string(seed));
  std::mt19937 random(seed);

  std::vector<json> orders;
  int in_flight_at_kill = 0;
  constexpr int kKills = 20;
  constexpr int kOrdersPerRun = 2;
  for (int run = 0; run < kKills; ++run) {
    // The kill lands as the first or the second of the run's book calls reaches Junction.
    const size_t target = sim_->Calls("book_appointment").size() +
                          std::uniform_int_distribution<size_t>(1, kOrdersPerRun)(random);
    std::vector<std::string> ids;
    for (int i = 0; i < kOrdersPerRun; ++i) {
      const std::string key = "race-" + std::to_string(run) + "-" + std::to_string(i);
      json created = CreateOrder(key, "patient-" + key);
      ids.push_back(created["id"]);
      orders.push_back(created);
    }
    const json calls = sim_->Admin(
        "GET", "/_sim/calls?operation=book_appointment&wait_received=" + std::to_string(target) +
                   "&timeout_ms=20000")["calls"];
    service_->Kill();
    for (const json& call : calls) {
      if (call["outcome"].is_null()) ++in_flight_at_kill;  // still in the provider's hands
    }
    service_->Start();
    for (const std::string& id : ids) WaitForStatus(id, "appointment_scheduled");
  }
  // The kills did land while Junction was still booking.
  EXPECT_GE(in_flight_at_kill, kKills / 2);
  RecordProperty("bookings_in_flight_at_kill", in_flight_at_kill);

  std::map<std::string, int> book_calls_per_order;
  for (const json& call : sim_->Calls("book_appointment")) {
    ++book_calls_per_order[call["path"].get<std::string>()];
  }
  for (const json& created : orders) {
    const std::string junction_id = created["junction_order_id"];
    EXPECT_EQ(book_calls_per_order["/v3/order/" + junction_id + "/phlebotomy/appointment/book"], 1)
        << "order " << created["id"];
    json active =
        sim_->Junction("GET", "/v3/order/" + junction_id + "/phlebotomy/appointment").Json();
    EXPECT_EQ(active["id"], GetOrder(created["id"])["appointment"]["id"]);
    EXPECT_EQ(active["status"], "confirmed");
  }
}

// ---- Junction's webhooks -----------------------------------------------------------------------

class WebhookTest : public WorkflowTest {
 protected:
  void SetUp() override {
    StartService({{"JUNCTION_WEBHOOK_SECRET", kWebhookSecret},
                  {"LAB_ORDERS_REQUISITION_POLL_MS", "600000"}});
    sim_->Admin(
        "POST", "/_sim/webhooks/config",
        {{"url", "http://127.0.0.1:" + std::to_string(service_->port()) + "/v1/webhooks/junction"},
         {"secret", kWebhookSecret}});
  }

  HttpReply Deliver(const std::string& id, long long timestamp, const std::string& body,
                    const std::string& secret = kWebhookSecret) {
    std::string signature = WebhookSigner(secret).Sign(id, timestamp, body);
    return service_->Post("/v1/webhooks/junction", body,
                          {{"svix-id", id},
                           {"svix-timestamp", std::to_string(timestamp)},
                           {"svix-signature", signature}});
  }

  static long long Now() {
    return std::chrono::duration_cast<std::chrono::seconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
  }
};

TEST_F(WebhookTest, RequisitionWebhookMovesTheOrderWithoutPolling) {
  sim_->LoadScript({{"requisition", {{"mode", "manual"}}}});
  json created = CreateOrder("webhook-moves");
  std::string id = created["id"];
  // The first look at the order finds no requisition; the next poll is ten minutes away.
  sim_->Admin("GET", "/_sim/calls?operation=get_order&wait_handled=1&timeout_ms=10000");
  sim_->Admin("POST",
              "/_sim/orders/" + created["junction_order_id"].get<std::string>() + "/advance",
              {{"status", "requisition_created"}});
  WaitForStatus(id, "appointment_scheduled");
  // The next poll was ten minutes away: the webhook did it. (A second look can come from the
  // labtest.order.created webhook landing during the first, which makes that step run again.)
  EXPECT_LE(sim_->Calls("get_order").size(), 2u);
  // Later statuses come by webhook too.
  sim_->Admin("POST",
              "/_sim/orders/" + created["junction_order_id"].get<std::string>() + "/advance",
              {{"status", "draw_completed"}});
  WaitForStatus(id, "draw_completed");
  sim_->Admin("POST",
              "/_sim/orders/" + created["junction_order_id"].get<std::string>() + "/advance",
              {{"status", "completed"}});
  json completed = WaitForStatus(id, "completed");
  EXPECT_TRUE(completed["completed_at"].is_string());
}

TEST_F(WebhookTest, ForgedStaleReplayedAndMalformedWebhooksChangeNothing) {
  json created = CreateOrder("webhook-guard");
  std::string id = created["id"];
  json before = WaitForStatus(id, "appointment_scheduled");
  std::string junction_id = created["junction_order_id"];
  auto order_event = [&](const std::string& status, int event_id) {
    return json{
        {"event_type", "labtest.order.updated"},
        {"user_id", "u"},
        {"client_user_id", "brand-w:patient-1"},
        {"team_id", "t"},
        {"data",
         {{"id", junction_id},
          {"events",
           {{{"id", event_id}, {"created_at", "2026-11-21T00:00:00+00:00"}, {"status", status}}}},
          {"last_event",
           {{"id", event_id}, {"created_at", "2026-11-21T00:00:00+00:00"}, {"status", status}}}}}}
        .dump();
  };
  std::string cancelled = order_event("cancelled.at_home_phlebotomy.cancelled", 900);

  HttpReply forged =
      Deliver("msg_forged", Now(), cancelled, "whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD");
  EXPECT_EQ(forged.status, 401);
  EXPECT_EQ(forged.Json()["error"], "invalid_signature");
  HttpReply stale = Deliver("msg_stale", Now() - 6 * 60, cancelled);
  EXPECT_EQ(stale.status, 401);
  HttpReply unsigned_ = service_->Post("/v1/webhooks/junction", cancelled, {});
  EXPECT_EQ(unsigned_.status, 401);
  // Signed but unreadable: acknowledged (Junction would retry for days) and changing nothing.
  HttpReply malformed = Deliver("msg_malformed", Now(), "{\"event_type\": ");
  EXPECT_EQ(malformed.status, 200);
  EXPECT_EQ(malformed.Json()["unreadable"], true);
  HttpReply shapeless =
      Deliver("msg_shapeless", Now(), json{{"event_type", "labtest.order.updated"}}.dump());
  EXPECT_EQ(shapeless.status, 200);
  EXPECT_EQ(shapeless.Json()["unreadable"], true);
  HttpReply unknown_type =
      Deliver("msg_unknown", Now(), json{{"event_type", "labtest.order.deleted"}}.dump());
  EXPECT_EQ(unknown_type.status, 200);
  EXPECT_EQ(unknown_type.Json()["ignored"], true);
  json after = GetOrder(id);
  EXPECT_EQ(after, before);

  // A real one moves it; its svix-id replayed with another body changes nothing more.
  HttpReply real = Deliver("msg_real", Now(),
                           order_event("collecting_sample.at_home_phlebotomy.draw_completed", 800));
  EXPECT_EQ(real.status, 200) << real.body;
  WaitForStatus(id, "draw_completed");
  HttpReply replayed = Deliver("msg_real", Now(), cancelled);
  EXPECT_EQ(replayed.status, 200);
  EXPECT_EQ(replayed.Json()["duplicate"], true);
  // An older event (a lower event id) arriving late changes nothing either.
  HttpReply older =
      Deliver("msg_older", Now(),
              order_event("collecting_sample.at_home_phlebotomy.appointment_scheduled", 700));
  EXPECT_EQ(older.status, 200);
  // Both were acknowledged; let a newer, harmless event through to know they were processed.
  HttpReply marker = Deliver(
      "msg_marker", Now(), order_event("sample_with_lab.at_home_phlebotomy.partial_results", 950));
  EXPECT_EQ(marker.status, 200);
  json final_order = WaitForStatus(id, "sample_with_lab");
  EXPECT_NE(final_order["status"], "cancelled");
}

}  // namespace
}  // namespace lab_orders::testing
