// The Store's brand webhooks: endpoints, the outbox written with the order changes, and the
// delivery claims (in order per order and endpoint), on every backend.

#include <gtest/gtest.h>

#include <memory>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <vector>

#include "lab_orders/common/clock.h"
#include "lab_orders/store/sql_store.h"
#include "support/store_backends.h"
#include "support/store_fixtures.h"

namespace lab_orders::store {
namespace {

using namespace std::chrono_literals;
using nlohmann::json;
using testing::StoreBackend;

const TimePoint kT0 = std::chrono::sys_days{std::chrono::year{2024} / 5 / 1} + 12h;
const std::string kPhiKey(32, 'p');

class StoreWebhooksTest : public testing::StoreDatabaseTest,
                          public ::testing::WithParamInterface<StoreBackend> {
 protected:
  StoreBackend Backend() const override { return GetParam(); }
  void TearDown() override {
    store_.reset();
    testing::StoreDatabaseTest::TearDown();
  }
  SqlStore& Store() {
    if (!store_) {
      store_ = database().Open(PhiCipher(kPhiKey), "");
      store_->Migrate();
    }
    return *store_;
  }

  WebhookEndpoint AddEndpoint(const std::string& id, std::vector<std::string> types = {},
                              const std::string& brand = "b") {
    WebhookEndpoint endpoint;
    endpoint.id = id;
    endpoint.brand_id = brand;
    endpoint.url = "https://hooks.example.com/" + id;
    endpoint.event_types = std::move(types);
    endpoint.secret = "whsec_c2VjcmV0LW9mLSIgKyBpZA==";
    endpoint.created_at = kT0;
    Store().CreateWebhookEndpoint(endpoint);
    return endpoint;
  }

  // An order of brand "b" made at Junction (lab_order.created), and its step job claimed.
  Job AddOrder(const std::string& order_id) {
    const std::string key = "key-" + order_id;
    EXPECT_EQ(Store().ClaimKey("b", key, "fp", kT0, kT0 + 30s).result, ClaimResult::kNew);
    orders::LabOrder order = testing::ExampleOrder(order_id, "b", kT0);
    order.external_order_id = "ext-" + order_id;
    order.metadata = {{"k", "v"}};
    Store().RecordOrder(key, order);
    Store().SaveJunctionOrder("b", key, order_id, "jo-" + order_id, "ordered", kT0,
                              NewJob{"step-" + order_id, kJobAwaitRequisition, order_id, "", kT0});
    Job step;
    EXPECT_EQ(Store().ClaimOrderStep(order_id, kT0, kT0 + 1h, "w", &step), OrderJobClaim::kClaimed);
    return step;
  }

  // Moves the order to status through its step job (which stays queued, claimed again).
  void ChangeStatus(Job& step, const std::string& status, TimePoint at) {
    orders::LabOrder order = *Store().GetOrderById(step.order_id);
    order.status = status;
    order.updated_at = FormatRfc3339(at);
    JobOutcome outcome;
    outcome.expected_order_version = order.version;
    outcome.order_update = order;
    outcome.retry_at = kT0;
    Store().CompleteJob(step, outcome);
    ASSERT_EQ(Store().ClaimOrderStep(step.order_id, kT0, kT0 + 1h, "w", &step),
              OrderJobClaim::kClaimed);
  }

  std::vector<WebhookDelivery> Claim(TimePoint now, const std::string& owner = "d1") {
    return Store().ClaimDueDeliveries(now, now + 30s, owner, 100);
  }

  void Finish(const WebhookDelivery& delivery, DeliveryOutcome::Next next, TimePoint at,
              std::optional<int> status = 200, TimePoint retry_at = {}) {
    DeliveryOutcome outcome;
    outcome.next = next;
    outcome.attempted_at = at;
    outcome.status = status;
    outcome.latency_ms = 12;
    outcome.retry_at = retry_at;
    Store().FinishDeliveryAttempt(delivery, outcome);
  }

  std::unique_ptr<SqlStore> store_;
};

INSTANTIATE_TEST_SUITE_P(Backends, StoreWebhooksTest, testing::AllStoreBackends(),
                         testing::StoreBackendParamName);

TEST_P(StoreWebhooksTest, EndpointsRoundTripWithSealedSecrets) {
  WebhookEndpoint endpoint = AddEndpoint("ep-1", {"lab_order.created"});
  AddEndpoint("ep-other", {}, "other-brand");
  std::vector<WebhookEndpoint> listed = Store().ListWebhookEndpoints("b");
  ASSERT_EQ(listed.size(), 1u);
  EXPECT_EQ(listed[0].id, "ep-1");
  EXPECT_EQ(listed[0].url, endpoint.url);
  EXPECT_EQ(listed[0].event_types, endpoint.event_types);
  EXPECT_EQ(listed[0].secret, endpoint.secret);
  EXPECT_FALSE(listed[0].disabled);
  EXPECT_EQ(listed[0].created_at, kT0);
  EXPECT_EQ(database().QueryText("SELECT COUNT(*) FROM webhook_endpoints WHERE secret LIKE "
                                 "'%whsec_%'"),
            "0");
  EXPECT_FALSE(Store().DeleteWebhookEndpoint("other-brand", "ep-1"));
  EXPECT_TRUE(Store().DeleteWebhookEndpoint("b", "ep-1"));
  EXPECT_TRUE(Store().ListWebhookEndpoints("b").empty());
}

TEST_P(StoreWebhooksTest, EventsCommitWithTheOrderChangeAndFanOutBySubscription) {
  AddEndpoint("ep-all");
  AddEndpoint("ep-updates", {"lab_order.updated"});
  Job step = AddOrder("o1");
  ChangeStatus(step, "appointment_pending", kT0 + 1s);

  std::vector<WebhookDelivery> due = Claim(kT0 + 2s);
  // ep-all gets created first (updated waits behind it); ep-updates gets its only event.
  ASSERT_EQ(due.size(), 2u);
  std::set<std::string> seen;
  for (const WebhookDelivery& delivery : due) {
    seen.insert(delivery.endpoint.id + " " + delivery.event_type);
    json envelope = json::parse(delivery.payload);
    EXPECT_EQ(envelope["type"], delivery.event_type);
    EXPECT_EQ(envelope["data"]["external_order_id"], "ext-o1");
    EXPECT_EQ(envelope["data"]["metadata"], json({{"k", "v"}}));
    EXPECT_EQ(envelope["data"]["order"]["id"], "o1");
    EXPECT_EQ(delivery.event_id.rfind("msg_", 0), 0u);
    EXPECT_EQ(delivery.endpoint.secret, "whsec_c2VjcmV0LW9mLSIgKyBpZA==");
  }
  EXPECT_EQ(seen,
            (std::set<std::string>{"ep-all lab_order.created", "ep-updates lab_order.updated"}));
  EXPECT_EQ(database().QueryText("SELECT COUNT(*) FROM webhook_events WHERE order_id = 'o1'"), "2");
}

TEST_P(StoreWebhooksTest, AnOrdersEventsGoOneAtATimeInOrderAndRetriesKeepTheirId) {
  AddEndpoint("ep");
  Job step = AddOrder("o1");
  ChangeStatus(step, "appointment_pending", kT0 + 1s);
  ChangeStatus(step, "appointment_scheduled", kT0 + 2s);

  std::vector<WebhookDelivery> first = Claim(kT0 + 3s);
  ASSERT_EQ(first.size(), 1u);
  EXPECT_EQ(first[0].event_type, "lab_order.created");
  EXPECT_TRUE(Claim(kT0 + 3s, "d2").empty()) << "leased: nobody else takes it";
  Finish(first[0], DeliveryOutcome::Next::kRetry, kT0 + 4s, 500, kT0 + 9s);
  EXPECT_TRUE(Claim(kT0 + 5s).empty()) << "the head waits for its retry; the rest wait behind";

  std::vector<WebhookDelivery> again = Claim(kT0 + 9s);
  ASSERT_EQ(again.size(), 1u);
  EXPECT_EQ(again[0].event_id, first[0].event_id);
  EXPECT_EQ(again[0].payload, first[0].payload);
  EXPECT_EQ(again[0].attempts, 1);
  Finish(again[0], DeliveryOutcome::Next::kDelivered, kT0 + 9s);

  std::vector<WebhookDelivery> second = Claim(kT0 + 10s);
  ASSERT_EQ(second.size(), 1u);
  EXPECT_EQ(json::parse(second[0].payload)["data"]["status"], "appointment_pending");
  Finish(second[0], DeliveryOutcome::Next::kGiveUp, kT0 + 10s, std::nullopt);
  std::vector<WebhookDelivery> third = Claim(kT0 + 11s);
  ASSERT_EQ(third.size(), 1u) << "a delivery given up on no longer holds the order back";
  EXPECT_EQ(json::parse(third[0].payload)["data"]["status"], "appointment_scheduled");
  EXPECT_THROW(Finish(first[0], DeliveryOutcome::Next::kDelivered, kT0 + 11s), LeaseLost);
  EXPECT_EQ(database().QueryText("SELECT COUNT(*) FROM webhook_attempts"), "3");
}

TEST_P(StoreWebhooksTest, AnExpiredLeaseIsClaimedAgainAndA410DisablesTheEndpoint) {
  AddEndpoint("ep");
  AddOrder("o1");
  ASSERT_EQ(Claim(kT0 + 1s).size(), 1u);
  std::vector<WebhookDelivery> retaken = Claim(kT0 + 1s + 31s, "d2");
  ASSERT_EQ(retaken.size(), 1u) << "its dispatcher died: the lease ran out";
  Finish(retaken[0], DeliveryOutcome::Next::kDisableEndpoint, kT0 + 40s, 410);
  EXPECT_TRUE(Store().ListWebhookEndpoints("b")[0].disabled);
  AddOrder("o2");
  EXPECT_TRUE(Claim(kT0 + 1h).empty()) << "a disabled endpoint gets nothing";
}

TEST_P(StoreWebhooksTest, OrdersOfOtherBrandsOrWithoutEndpointsWriteEventsButNoDeliveries) {
  AddEndpoint("ep-other", {}, "other-brand");
  AddOrder("o1");
  EXPECT_EQ(database().QueryText("SELECT COUNT(*) FROM webhook_events"), "1");
  EXPECT_TRUE(Claim(kT0 + 1s).empty());
}

}  // namespace
}  // namespace lab_orders::store
