// Deliveries signed by our signer and sent by the POCO deliverer, verified by an implementation
// we did not write: the npm standardwebhooks package, in tests/webhooks/receiver (run
// `npm ci --prefix tests/webhooks/receiver` once). Also across a secret rotation, for receivers
// holding only the old secret or only the new one.

#include <gtest/gtest.h>

#include <chrono>
#include <cstdlib>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "lab_orders/common/svix.h"
#include "lab_orders/webhooks/poco_transport.h"
#include "support/node_receiver.h"

namespace lab_orders::testing {
namespace {

using namespace std::chrono_literals;
using nlohmann::json;
using std::chrono::system_clock;
using webhooks::CurrentSecret;
using webhooks::DeliveryResult;
using webhooks::DeliverySigner;
using webhooks::RetiringSecret;

// An event as brands get it: their own order id and metadata echoed back. No PHI.
std::string EventBody(const std::string& order_id, const std::string& external_order_id,
                      const json& metadata, const std::string& type = "order.created") {
  return json{{"type", type},
              {"timestamp", "2030-01-07T15:00:00+00:00"},
              {"data",
               {{"order", {{"id", order_id}, {"status", "received"}}},
                {"external_order_id", external_order_id},
                {"metadata", metadata}}}}
      .dump();
}

class NpmVerifiedDeliveryTest : public NodeReceiverTest {
 protected:
  // One attempt, signed now (the package checks the timestamp against its own clock).
  DeliveryResult Deliver(NodeReceiver& receiver, const DeliverySigner& signer,
                         const std::string& message_id, const std::string& body) {
    return transport_.Post(webhooks::SignedWebhookRequest(
        receiver.Url("/brand/webhooks"), body, signer.Sign(message_id, system_clock::now(), body)));
  }

  const std::string old_secret_ = NewWebhookSecret();
  const std::string new_secret_ = NewWebhookSecret();
  webhooks::SystemHostResolver resolver_;
  webhooks::DestinationPolicy policy_{webhooks::DestinationMode::kDevelopment, resolver_};
  webhooks::PocoWebhookTransport transport_{policy_};
};

TEST_F(NpmVerifiedDeliveryTest, EveryDeliveryVerifiesAndEchoesTheBrandsIds) {
  NodeReceiver receiver({new_secret_});
  const DeliverySigner signer({CurrentSecret(new_secret_)});
  struct Sent {
    std::string message_id;
    std::string external_order_id;
    json metadata;
  };
  const std::vector<Sent> sent = {
      {"msg_order1_created", "brand-order-1", {{"clinic", "north"}, {"priority", 2}}},
      {"msg_order2_created", "brand-order-2", json::object()},
      {"msg_order1_booked", "brand-order-1", {{"clinic", "north"}, {"priority", 2}}},
      {"msg_order3_created", "brand-order-3", {{"note", "unicode \u00e9\u2713 and \"quotes\""}}}};
  for (const Sent& event : sent) {
    DeliveryResult result = Deliver(
        receiver, signer, event.message_id,
        EventBody("order-" + event.external_order_id, event.external_order_id, event.metadata));
    EXPECT_EQ(result.status, 200) << event.message_id << " " << result.error_summary;
  }

  json deliveries = receiver.Deliveries();
  ASSERT_EQ(deliveries.size(), sent.size());
  for (std::size_t i = 0; i < sent.size(); ++i) {
    SCOPED_TRACE(sent[i].message_id);
    EXPECT_EQ(deliveries[i]["webhook_id"], sent[i].message_id);
    EXPECT_TRUE(deliveries[i]["verified"].get<bool>()) << deliveries[i]["failures"].dump();
    EXPECT_EQ(deliveries[i]["secret_index"], 0);
    EXPECT_EQ(deliveries[i]["body"]["data"]["external_order_id"], sent[i].external_order_id);
    EXPECT_EQ(deliveries[i]["body"]["data"]["metadata"], sent[i].metadata);
  }
}

TEST_F(NpmVerifiedDeliveryTest, AReceiverWithAnotherSecretDoesNotVerify) {
  NodeReceiver receiver({old_secret_});
  DeliveryResult result =
      Deliver(receiver, DeliverySigner({CurrentSecret(new_secret_)}), "msg_wrong_secret",
              EventBody("order-1", "brand-order-1", json::object()));
  EXPECT_EQ(result.status, 401);
  json deliveries = receiver.Deliveries();
  ASSERT_EQ(deliveries.size(), 1u);
  EXPECT_FALSE(deliveries[0]["verified"].get<bool>());
}

TEST_F(NpmVerifiedDeliveryTest, RetriesKeepTheWebhookIdAndVerifyEachTime) {
  NodeReceiver receiver({new_secret_});
  receiver.Script(json::array({500, json{{"status", 503}, {"retry_after", "7"}}, 200}));
  const DeliverySigner signer({CurrentSecret(new_secret_)});
  const std::string body = EventBody("order-1", "brand-order-1", {{"k", "v"}});
  DeliveryResult first = Deliver(receiver, signer, "msg_retried", body);
  DeliveryResult second = Deliver(receiver, signer, "msg_retried", body);
  DeliveryResult third = Deliver(receiver, signer, "msg_retried", body);
  EXPECT_EQ(first.status, 500);
  EXPECT_EQ(second.status, 503);
  EXPECT_EQ(second.retry_after, "7");
  EXPECT_EQ(third.status, 200);

  json deliveries = receiver.Deliveries();
  ASSERT_EQ(deliveries.size(), 3u);
  for (const json& delivery : deliveries) {
    EXPECT_EQ(delivery["webhook_id"], "msg_retried");
    EXPECT_TRUE(delivery["verified"].get<bool>());
    EXPECT_EQ(delivery["body"]["data"]["external_order_id"], "brand-order-1");
    EXPECT_EQ(delivery["body"]["data"]["metadata"], json({{"k", "v"}}));
  }
}

TEST_F(NpmVerifiedDeliveryTest, DuringARotationReceiversHoldingEitherSecretVerify) {
  NodeReceiver old_only({old_secret_});
  NodeReceiver new_only({new_secret_});
  NodeReceiver unrelated({NewWebhookSecret()});
  const DeliverySigner signer(
      {CurrentSecret(new_secret_), RetiringSecret(old_secret_, system_clock::now() - 1h)});
  const std::string body = EventBody("order-9", "brand-order-9", {{"rotation", true}});

  EXPECT_EQ(Deliver(old_only, signer, "msg_rotation", body).status, 200);
  EXPECT_EQ(Deliver(new_only, signer, "msg_rotation", body).status, 200);
  EXPECT_EQ(Deliver(unrelated, signer, "msg_rotation", body).status, 401);

  for (NodeReceiver* receiver : {&old_only, &new_only}) {
    json deliveries = receiver->Deliveries();
    ASSERT_EQ(deliveries.size(), 1u);
    EXPECT_TRUE(deliveries[0]["verified"].get<bool>()) << deliveries[0]["failures"].dump();
    EXPECT_EQ(deliveries[0]["signatures"], 2);
    EXPECT_EQ(deliveries[0]["body"]["data"]["external_order_id"], "brand-order-9");
    EXPECT_EQ(deliveries[0]["body"]["data"]["metadata"], json({{"rotation", true}}));
  }
}

TEST_F(NpmVerifiedDeliveryTest, AfterTheOverlapOnlyTheNewSecretVerifies) {
  NodeReceiver old_only({old_secret_});
  NodeReceiver new_only({new_secret_});
  // Rotated 24 hours ago: the old secret no longer signs.
  const DeliverySigner signer(
      {CurrentSecret(new_secret_), RetiringSecret(old_secret_, system_clock::now() - 24h)});
  const std::string body = EventBody("order-9", "brand-order-9", json::object());

  EXPECT_EQ(Deliver(old_only, signer, "msg_after_rotation", body).status, 401);
  EXPECT_EQ(Deliver(new_only, signer, "msg_after_rotation", body).status, 200);
  EXPECT_EQ(new_only.Deliveries()[0]["signatures"], 1);
}

TEST_F(NpmVerifiedDeliveryTest, AReceiverHoldingBothSecretsVerifiesWithTheFirstThatMatches) {
  NodeReceiver both({old_secret_, new_secret_});
  EXPECT_EQ(Deliver(both, DeliverySigner({CurrentSecret(new_secret_)}), "msg_new_only",
                    EventBody("order-1", "brand-order-1", json::object()))
                .status,
            200);
  json deliveries = both.Deliveries();
  ASSERT_EQ(deliveries.size(), 1u);
  EXPECT_EQ(deliveries[0]["secret_index"], 1);
}

}  // namespace
}  // namespace lab_orders::testing
