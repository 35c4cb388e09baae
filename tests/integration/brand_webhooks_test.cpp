// Brand webhooks end to end over real processes: junction-sim, lab-orders (dev mode, its own
// SQLite) and tests/webhooks/receiver/receiver.mjs, which verifies every delivery with the npm
// standardwebhooks package. A brand registers its endpoint through the API, the receiver learns
// the secret the service made, orders run their workflow, and each event must arrive verified,
// carrying the order's external_order_id and metadata, in order per order, each webhook-id until
// acknowledged: with the receiver up, down then failing, the service SIGKILLed mid-delivery, and
// across a secret rotation. Everything is polled with deadlines; nothing sleeps.

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <fstream>
#include <functional>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <vector>

#include "lab_orders/sim/openapi_validator.h"
#include "support/node_receiver.h"
#include "support/order_bodies.h"
#include "support/poll.h"
#include "support/service_process.h"
#include "support/sim_process.h"

namespace lab_orders::testing {
namespace {

using nlohmann::json;

constexpr const char* kBrand = "brand-hooks";
constexpr const char* kOrdersScope = "labs:orders:read labs:orders:write";
constexpr const char* kWebhooksScope = "labs:webhooks:manage";

json OpenApiDocument() {
  std::ifstream file(std::string(PROJECT_SOURCE_DIR) + "/schemas/openapi.json");
  return json::parse(file);
}

// Polls until done() or the deadline; true when done.
class BrandWebhooksTest : public NodeReceiverTest {
 protected:
  void SetUp() override {
    NodeReceiverTest::SetUp();
    if (IsSkipped() || HasFatalFailure()) return;
    sim_ = std::make_unique<SimProcess>();
    // Retries a second apart (20 of them) and a dispatcher pass every 50 ms: a test's outage
    // costs seconds, not the hours of the real schedule.
    service_ = std::make_unique<ServiceProcess>(
        sim_->base_url(), FastWorkflow({{"LAB_ORDERS_WEBHOOK_RETRY_DELAYS_S",
                                         "1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1"},
                                        {"LAB_ORDERS_WEBHOOK_INTERVAL_MS", "50"}}));
    orders_token_ = service_->Token(kBrand, "user-hooks", kOrdersScope);
    webhooks_token_ = service_->Token(kBrand, "user-hooks", kWebhooksScope);
  }

  std::map<std::string, std::string> WebhooksAuth() const {
    return {{"Authorization", "Bearer " + webhooks_token_}, {"Content-Type", "application/json"}};
  }

  // POST /v1/webhooks/endpoints: the endpoint with its secret.
  json RegisterEndpoint(const std::string& url) {
    HttpReply reply =
        service_->Post("/v1/webhooks/endpoints", json{{"url", url}}.dump(), WebhooksAuth());
    EXPECT_EQ(reply.status, 201) << reply.body;
    json endpoint = reply.Json();
    endpoint_id_ = endpoint["id"];
    return endpoint;
  }

  // An order with the brand's own id and metadata; remembered for the checks.
  std::string CreateOrder(int n) {
    json body = WorkflowOrderBody("patient-hooks-" + std::to_string(n));
    body["external_order_id"] = "brand-order-" + std::to_string(n);
    body["metadata"] = {{"clinic", "north"}, {"n", std::to_string(n)}};
    HttpReply reply = service_->Post("/v1/labs/orders", body.dump(),
                                     {{"Authorization", "Bearer " + orders_token_},
                                      {"Idempotency-Key", "hooks-" + std::to_string(n)}});
    EXPECT_EQ(reply.status, 201) << reply.body;
    const std::string id = reply.Json()["id"];
    brand_ids_[id] = {body["external_order_id"], body["metadata"]};
    return id;
  }

  void WaitForScheduled(const std::string& order_id) {
    json order = service_->WaitForOrderStatus(orders_token_, order_id, "appointment_scheduled");
    ASSERT_EQ(order["status"], "appointment_scheduled") << order.dump();
  }

  // The endpoint's whole delivery log, oldest first.
  json DeliveryLog() {
    json log = json::array();
    std::string cursor;
    do {
      std::string path = "/v1/webhooks/endpoints/" + endpoint_id_ + "/deliveries?limit=100";
      if (!cursor.empty()) path += "&cursor=" + cursor;
      HttpReply reply = service_->Get(path, WebhooksAuth());
      if (reply.status != 200) throw std::runtime_error("delivery log: " + reply.body);
      const json page = reply.Json();
      for (const json& delivery : page["data"]) log.insert(log.begin(), delivery);
      cursor = page["next_cursor"].is_string() ? page["next_cursor"].get<std::string>() : "";
    } while (!cursor.empty());
    return log;
  }

  // Webhook-ids the receiver acknowledged (answered 2xx).
  static std::set<std::string> Acknowledged(const json& received) {
    std::set<std::string> ids;
    for (const json& delivery : received) {
      if (delivery["status"].get<int>() / 100 == 2) ids.insert(delivery["webhook_id"]);
    }
    return ids;
  }

  // Waits until every order's workflow has ended at appointment_scheduled and every event in the
  // service's log is delivered and acknowledged by the receiver; returns the log.
  json WaitForEveryEvent(NodeReceiver& receiver, std::size_t orders) {
    for (const auto& order : brand_ids_) WaitForScheduled(order.first);
    json log;
    const bool settled = PollUntil(
        [&] {
          log = DeliveryLog();
          std::set<std::string> acknowledged = Acknowledged(receiver.Deliveries());
          std::set<std::string> orders_seen;
          for (const json& delivery : log) {
            if (delivery["status"] != "delivered") return false;
            if (!acknowledged.contains(delivery["webhook_id"])) return false;
            orders_seen.insert(delivery["order_id"]);
          }
          return orders_seen.size() == orders;
        },
        std::chrono::seconds(60));
    EXPECT_TRUE(settled) << "not every event was delivered: " << log.dump();
    return log;
  }

  // What every scenario asserts of what the receiver got against the service's log.
  void ExpectEveryEventArrivedVerifiedInOrder(const json& log, const json& received) {
    const sim::OpenApiValidator validator(OpenApiDocument());
    const json& event_schema = validator.spec()["components"]["schemas"]["WebhookEvent"];
    std::map<std::string, std::vector<std::string>> expected, arrived;  // by order: webhook-ids
    std::map<std::string, json> body_of;                                // by webhook-id
    for (const json& delivery : log)
      expected[delivery["order_id"]].push_back(delivery["webhook_id"]);

    std::set<std::string> acknowledged;
    for (const json& delivery : received) {
      const std::string id = delivery["webhook_id"];
      SCOPED_TRACE(id + " " + delivery["body"].dump().substr(0, 300));
      EXPECT_TRUE(delivery["verified"].get<bool>()) << delivery["failures"].dump();
      const json& body = delivery["body"];
      const std::string order_id = body["data"]["order"]["id"];
      ASSERT_TRUE(brand_ids_.contains(order_id));
      EXPECT_EQ(body["data"]["external_order_id"], brand_ids_[order_id].first);
      EXPECT_EQ(body["data"]["metadata"], brand_ids_[order_id].second);
      EXPECT_EQ(body["data"]["order"]["external_order_id"], brand_ids_[order_id].first);
      EXPECT_TRUE(validator.Validate(event_schema, body, json::array({"event"})).empty())
          << "the event does not match WebhookEvent in openapi.json";
      // Every attempt of a webhook-id carries the same event.
      const auto known = body_of.emplace(id, body).first;
      EXPECT_EQ(known->second, body) << "one webhook-id, two bodies";
      if (delivery["status"].get<int>() / 100 == 2 && acknowledged.insert(id).second) {
        arrived[order_id].push_back(id);
      }
    }
    // In order per order: the first acknowledgement of each event comes in the log's order, and
    // every event of the log was acknowledged (none lost).
    EXPECT_EQ(arrived, expected);

    for (const auto& [order_id, ids] : expected) {
      SCOPED_TRACE(order_id);
      std::vector<std::string> types;
      std::string status;
      for (const std::string& id : ids) {
        const json& body = body_of.at(id);
        types.push_back(body["type"]);
        if (body["type"] == "lab_order.updated") {
          if (!status.empty()) {
            EXPECT_EQ(body["data"]["previous_status"], status);
          }
          EXPECT_EQ(body["data"]["status"], body["data"]["order"]["status"]);
          status = body["data"]["status"];
        } else if (body["type"] == "lab_order.created") {
          status = body["data"]["order"]["status"];
        }
      }
      ASSERT_FALSE(types.empty());
      EXPECT_EQ(types.front(), "lab_order.created");
      EXPECT_EQ(status, "appointment_scheduled") << "the last status change told";
      for (const char* type : {"appointment.booked", "appointment.confirmed"}) {
        EXPECT_EQ(std::count(types.begin(), types.end(), type), 1) << type;
      }
    }
  }

  std::unique_ptr<SimProcess> sim_;
  std::unique_ptr<ServiceProcess> service_;
  std::string orders_token_, webhooks_token_;
  std::string endpoint_id_;
  std::map<std::string, std::pair<json, json>> brand_ids_;  // order id -> (external id, metadata)
};

TEST_F(BrandWebhooksTest, ARegisteredEndpointGetsEveryEventOfTheWorkflowVerifiedAndInOrder) {
  NodeReceiver receiver({});
  json endpoint = RegisterEndpoint(receiver.Url("/hooks/lab-orders"));
  ASSERT_EQ(endpoint["secret"].get<std::string>().rfind("whsec_", 0), 0u);
  receiver.SetSecrets({endpoint["secret"]});
  for (int n = 1; n <= 3; ++n) CreateOrder(n);

  json log = WaitForEveryEvent(receiver, 3);
  json received = receiver.Deliveries();
  ExpectEveryEventArrivedVerifiedInOrder(log, received);
  for (const json& delivery : received) {
    EXPECT_EQ(delivery["path"], "/hooks/lab-orders");
    EXPECT_EQ(delivery["signatures"], 1) << "no rotation: one signature";
  }
  for (const json& delivery : log) EXPECT_EQ(delivery["attempt_count"], 1) << delivery.dump();
}

// A developer checking a receiver: the test event arrives at once, verified with the endpoint's
// secret, and the answer says the receiver took it; it is in no delivery log.
TEST_F(BrandWebhooksTest, ATestEventArrivesVerifiedAndTheAnswerSaysSo) {
  NodeReceiver receiver({});
  json endpoint = RegisterEndpoint(receiver.Url("/hooks/test"));
  receiver.SetSecrets({endpoint["secret"]});
  HttpReply tested =
      service_->Post("/v1/webhooks/endpoints/" + endpoint_id_ + "/test", "", WebhooksAuth());
  ASSERT_EQ(tested.status, 200) << tested.body;
  EXPECT_EQ(tested.Json()["delivered"], true) << tested.body;
  EXPECT_EQ(tested.Json()["status_code"], 200);
  json received = receiver.Deliveries();
  ASSERT_EQ(received.size(), 1u) << received.dump();
  EXPECT_EQ(received[0]["verified"], true) << received[0].dump();
  EXPECT_EQ(received[0]["webhook_id"], tested.Json()["webhook_id"]);
  EXPECT_EQ(received[0]["body"]["type"], "webhook.test");
  EXPECT_EQ(received[0]["body"]["data"]["endpoint_id"], endpoint_id_);
  EXPECT_TRUE(DeliveryLog().empty());
}

TEST_F(BrandWebhooksTest, AReceiverDownThenFailingGetsEveryEventOnceItAnswers) {
  unsigned short port = 0;
  {
    NodeReceiver placeholder({});  // only to learn a free port; stopped at once
    port = placeholder.port();
  }
  json endpoint = RegisterEndpoint("http://127.0.0.1:" + std::to_string(port) + "/hooks");
  CreateOrder(1);
  CreateOrder(2);

  // Down: the first event of each order fails to connect, and is retried with nothing else of
  // its order sent meanwhile.
  ASSERT_TRUE(PollUntil(
      [&] {
        int refused = 0;
        for (const json& delivery : DeliveryLog()) {
          for (const json& attempt : delivery["attempts"]) {
            refused += attempt["error"] == "connection_failed" ? 1 : 0;
          }
        }
        return refused >= 4;
      },
      std::chrono::seconds(30)));

  // Back, answering 500 twice before it acknowledges anything.
  NodeReceiver receiver({endpoint["secret"]}, port);
  receiver.Script(json::array({500, 500}));
  json log = WaitForEveryEvent(receiver, 2);
  json received = receiver.Deliveries();
  ExpectEveryEventArrivedVerifiedInOrder(log, received);

  // The two 500s were for events sent again, with the same webhook-id, until acknowledged.
  std::map<std::string, std::vector<int>> statuses;
  for (const json& delivery : received)
    statuses[delivery["webhook_id"]].push_back(delivery["status"]);
  int failed = 0;
  for (const auto& [id, answers] : statuses) {
    failed += int(std::count(answers.begin(), answers.end(), 500));
    EXPECT_EQ(answers.back(), 200) << id;
    EXPECT_EQ(std::count(answers.begin(), answers.end(), 200), 1) << id;
  }
  EXPECT_EQ(failed, 2);
  // The service's log holds each attempt: refused connections, the 500s, the 200.
  int refused_then_delivered = 0;
  for (const json& delivery : log) {
    const json& attempts = delivery["attempts"];
    if (attempts.size() >= 2 && attempts[0]["error"] == "connection_failed" &&
        attempts.back()["status_code"] == 200) {
      ++refused_then_delivered;
    }
  }
  EXPECT_EQ(refused_then_delivered, 2) << log.dump();
}

TEST_F(BrandWebhooksTest, AServiceKilledMidDeliveryLosesNoEventAfterItsRestart) {
  NodeReceiver receiver({});
  json endpoint = RegisterEndpoint(receiver.Url("/hooks"));
  receiver.SetSecrets({endpoint["secret"]});
  // A slow receiver: each answer takes 300 ms, so deliveries are under way when the kill comes.
  receiver.Script(json::array(
      {json{{"status", 200}, {"delay_ms", 300}}, json{{"status", 200}, {"delay_ms", 300}},
       json{{"status", 200}, {"delay_ms", 300}}, json{{"status", 200}, {"delay_ms", 300}},
       json{{"status", 200}, {"delay_ms", 300}}, json{{"status", 200}, {"delay_ms", 300}}}));
  for (int n = 1; n <= 3; ++n) CreateOrder(n);
  ASSERT_TRUE(
      PollUntil([&] { return receiver.Deliveries().size() >= 2; }, std::chrono::seconds(30)));
  service_->Kill();
  const std::size_t acknowledged_before_restart = Acknowledged(receiver.Deliveries()).size();
  service_->Start();

  json log = WaitForEveryEvent(receiver, 3);
  json received = receiver.Deliveries();
  ExpectEveryEventArrivedVerifiedInOrder(log, received);
  EXPECT_LT(acknowledged_before_restart, log.size())
      << "the kill came before every event was delivered: the restarted service sent the rest";
}

TEST_F(BrandWebhooksTest, DuringARotationTheOldAndTheNewSecretEachVerifyEveryDelivery) {
  NodeReceiver receiver({});
  json endpoint = RegisterEndpoint(receiver.Url("/hooks"));
  const std::string old_secret = endpoint["secret"];
  receiver.SetSecrets({old_secret});
  const std::string first_order = CreateOrder(1);
  WaitForEveryEvent(receiver, 1);
  const std::size_t before_rotation = receiver.Deliveries().size();

  HttpReply rotated = service_->Post("/v1/webhooks/endpoints/" + endpoint_id_ + "/rotate-secret",
                                     "", WebhooksAuth());
  ASSERT_EQ(rotated.status, 200) << rotated.body;
  const std::string new_secret = rotated.Json()["secret"];
  ASSERT_NE(new_secret, old_secret);
  ASSERT_TRUE(rotated.Json()["previous_secret_expires_at"].is_string());
  // verified_by: each secret on its own, as a receiver holding only it would verify.
  receiver.SetSecrets({old_secret, new_secret});

  // A new order's events, and an old event sent again by the brand: signed with both secrets.
  CreateOrder(2);
  json resent;
  for (const json& delivery : DeliveryLog()) {
    if (delivery["order_id"] == first_order && delivery["event_type"] == "lab_order.created") {
      resent = delivery;
    }
  }
  ASSERT_TRUE(resent.is_object());
  HttpReply accepted = service_->Post(
      "/v1/webhooks/deliveries/" + resent["id"].get<std::string>() + "/resend", "", WebhooksAuth());
  ASSERT_EQ(accepted.status, 202) << accepted.body;
  EXPECT_EQ(accepted.Json()["webhook_id"], resent["webhook_id"]);

  json log = WaitForEveryEvent(receiver, 2);
  json received = receiver.Deliveries();
  ExpectEveryEventArrivedVerifiedInOrder(log, received);
  ASSERT_GT(received.size(), before_rotation);
  int resent_seen = 0;
  for (std::size_t i = 0; i < received.size(); ++i) {
    SCOPED_TRACE(received[i].dump().substr(0, 300));
    if (i < before_rotation) {
      EXPECT_EQ(received[i]["verified_by"], json::array({0}));
      EXPECT_EQ(received[i]["signatures"], 1);
      continue;
    }
    EXPECT_EQ(received[i]["verified_by"], json::array({0, 1})) << "old and new each verify";
    EXPECT_EQ(received[i]["signatures"], 2);
    resent_seen += received[i]["webhook_id"] == resent["webhook_id"] ? 1 : 0;
  }
  EXPECT_EQ(resent_seen, 1) << "the resent event came again, with its webhook-id";
}

}  // namespace
}  // namespace lab_orders::testing
