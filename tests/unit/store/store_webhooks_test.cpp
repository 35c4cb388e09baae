// The Store's brand webhooks: endpoints, the outbox written with the order changes, and the
// delivery claims (in order per order and endpoint), on every backend.

#include <gtest/gtest.h>

#include <map>
#include <memory>
#include <mutex>
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
    model::LabOrder order = testing::ExampleOrder(order_id, "b", kT0);
    order.external_order_id = "ext-" + order_id;
    order.metadata = {{"k", "v"}};
    testing::AddJunctionOrder(Store(), "b", order_id, kT0, &order);
    Job step;
    EXPECT_EQ(Store().ClaimOrderStep(order_id, kT0, kT0 + 1h, "w", &step), OrderJobClaim::kClaimed);
    return step;
  }

  // Moves the order to status through its step job (which stays queued, claimed again).
  void ChangeStatus(Job& step, const std::string& status, TimePoint at) {
    model::LabOrder order = *Store().GetOrderById(step.order_id);
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

  // An order with three events: created at kT0, updated at kT0 + 1s and kT0 + 2s.
  void AddOrderWithTwoUpdates(const std::string& order_id) {
    Job step = AddOrder(order_id);
    ChangeStatus(step, "appointment_pending", kT0 + 1s);
    ChangeStatus(step, "appointment_scheduled", kT0 + 2s);
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
  AddOrderWithTwoUpdates("o1");

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

TEST_P(StoreWebhooksTest, ARotationSignsWithBothSecretsUntilTheOldOneExpires) {
  WebhookEndpoint endpoint = AddEndpoint("ep");
  const std::string second = "whsec_c2Vjb25kLXNlY3JldC1vZi10aGUtZW5kcG9pbnQ=";
  std::optional<WebhookEndpoint> rotated =
      Store().RotateWebhookSecret("b", "ep", second, kT0 + 24h);
  ASSERT_TRUE(rotated.has_value());
  EXPECT_EQ(rotated->secret, second);
  EXPECT_EQ(rotated->previous_secret, endpoint.secret);
  EXPECT_EQ(rotated->previous_secret_expires_at, kT0 + 24h);
  EXPECT_FALSE(Store().RotateWebhookSecret("other-brand", "ep", "whsec_eA==", kT0 + 24h));
  EXPECT_FALSE(Store().RotateWebhookSecret("b", "no-such-endpoint", "whsec_eA==", kT0 + 24h));

  AddOrder("o1");
  std::vector<WebhookDelivery> due = Claim(kT0 + 1s);
  ASSERT_EQ(due.size(), 1u);
  EXPECT_EQ(due[0].endpoint.secret, second);
  EXPECT_EQ(due[0].endpoint.previous_secret, endpoint.secret);
  EXPECT_EQ(due[0].endpoint.previous_secret_expires_at, kT0 + 24h);
  EXPECT_EQ(database().QueryText("SELECT COUNT(*) FROM webhook_endpoints WHERE secret LIKE "
                                 "'%whsec_%' OR previous_secret LIKE '%whsec_%'"),
            "0");

  // Rotating again: the secret of the first rotation becomes the old one, the first is gone.
  const std::string third = "whsec_dGhpcmQtc2VjcmV0LW9mLXRoZS1lbmRwb2ludA==";
  ASSERT_TRUE(Store().RotateWebhookSecret("b", "ep", third, kT0 + 30h));
  WebhookEndpoint listed = Store().ListWebhookEndpoints("b").at(0);
  EXPECT_EQ(listed.secret, third);
  EXPECT_EQ(listed.previous_secret, second);
  EXPECT_EQ(listed.previous_secret_expires_at, kT0 + 30h);
}

TEST_P(StoreWebhooksTest, TheDeliveryLogListsAttemptsNewestFirstWithACursor) {
  AddEndpoint("ep");
  AddOrderWithTwoUpdates("o1");
  std::vector<WebhookDelivery> first = Claim(kT0 + 3s);
  ASSERT_EQ(first.size(), 1u);
  Finish(first[0], DeliveryOutcome::Next::kRetry, kT0 + 3s, 500, kT0 + 8s);
  std::vector<WebhookDelivery> again = Claim(kT0 + 8s);
  ASSERT_EQ(again.size(), 1u);
  DeliveryOutcome timeout;
  timeout.next = DeliveryOutcome::Next::kDelivered;  // what follows does not matter here
  timeout.attempted_at = kT0 + 8s;
  timeout.latency_ms = 15000;
  timeout.error = "timeout";
  Store().FinishDeliveryAttempt(again[0], timeout);

  auto page = Store().ListWebhookDeliveries("b", "ep", 2, std::nullopt);
  ASSERT_TRUE(page.has_value());
  ASSERT_EQ(page->size(), 2u);
  EXPECT_EQ((*page)[0].event_type, "lab_order.updated");
  EXPECT_EQ((*page)[0].created_at, kT0 + 2s);
  EXPECT_EQ((*page)[0].state, "pending");
  EXPECT_EQ((*page)[0].next_attempt_at, kT0 + 2s);
  EXPECT_TRUE((*page)[0].attempts.empty());
  EXPECT_EQ((*page)[1].created_at, kT0 + 1s);

  auto rest = Store().ListWebhookDeliveries("b", "ep", 2, page->back().id);
  ASSERT_TRUE(rest.has_value());
  ASSERT_EQ(rest->size(), 1u);
  const WebhookDeliveryRecord& created = (*rest)[0];
  EXPECT_EQ(created.id, first[0].id);
  EXPECT_EQ(created.event_id, first[0].event_id);
  EXPECT_EQ(created.endpoint_id, "ep");
  EXPECT_EQ(created.order_id, "o1");
  EXPECT_EQ(created.event_type, "lab_order.created");
  EXPECT_EQ(created.state, "delivered");
  EXPECT_FALSE(created.next_attempt_at.has_value());
  EXPECT_EQ(created.attempt_count, 2);
  ASSERT_EQ(created.attempts.size(), 2u);
  EXPECT_EQ(created.attempts[0].attempt, 1);
  EXPECT_EQ(created.attempts[0].attempted_at, kT0 + 3s);
  EXPECT_EQ(created.attempts[0].status, 500);
  EXPECT_EQ(created.attempts[0].latency_ms, 12);
  EXPECT_EQ(created.attempts[0].error, "");
  EXPECT_EQ(created.attempts[1].attempt, 2);
  EXPECT_EQ(created.attempts[1].status, std::nullopt);
  EXPECT_EQ(created.attempts[1].latency_ms, 15000);
  EXPECT_EQ(created.attempts[1].error, "timeout");

  EXPECT_TRUE(Store().ListWebhookDeliveries("b", "ep", 100, created.id)->empty());
  EXPECT_TRUE(Store().ListWebhookDeliveries("b", "ep", 100, "dlv_unknown")->empty());
  EXPECT_EQ(Store().ListWebhookDeliveries("b", "ep", 100, std::nullopt)->size(), 3u);
  EXPECT_FALSE(Store().ListWebhookDeliveries("other-brand", "ep", 100, std::nullopt));
  EXPECT_FALSE(Store().ListWebhookDeliveries("b", "no-such-endpoint", 100, std::nullopt));
}

TEST_P(StoreWebhooksTest, ALogListsOnlyTheLatestAttemptsOfADelivery) {
  AddEndpoint("ep");
  AddOrder("o1");
  for (int attempt = 1; attempt <= kListedAttempts + 2; ++attempt) {
    const TimePoint at = kT0 + std::chrono::seconds(attempt);
    std::vector<WebhookDelivery> due = Claim(at);
    ASSERT_EQ(due.size(), 1u) << attempt;
    Finish(due[0], DeliveryOutcome::Next::kRetry, at, 500, at);
  }
  WebhookDeliveryRecord record = Store().ListWebhookDeliveries("b", "ep", 1, std::nullopt)->at(0);
  EXPECT_EQ(record.attempt_count, kListedAttempts + 2);
  ASSERT_EQ(record.attempts.size(), std::size_t(kListedAttempts));
  EXPECT_EQ(record.attempts.front().attempt, 3);
  EXPECT_EQ(record.attempts.back().attempt, kListedAttempts + 2);
}

TEST_P(StoreWebhooksTest, AResendIsDueNowWithTheSameIdAndAFreshRetrySchedule) {
  AddEndpoint("ep");
  AddOrder("o1");
  std::vector<WebhookDelivery> first = Claim(kT0 + 1s);
  ASSERT_EQ(first.size(), 1u);
  EXPECT_EQ(first[0].scheduled_attempts, 0);
  Finish(first[0], DeliveryOutcome::Next::kRetry, kT0 + 1s, 500, kT0 + 6s);
  std::vector<WebhookDelivery> second = Claim(kT0 + 6s);
  ASSERT_EQ(second.size(), 1u);
  EXPECT_EQ(second[0].scheduled_attempts, 1);
  Finish(second[0], DeliveryOutcome::Next::kGiveUp, kT0 + 6s, 500);
  EXPECT_TRUE(Claim(kT0 + 1h).empty());

  EXPECT_FALSE(Store().ResendWebhookDelivery("other-brand", first[0].id, kT0 + 2h));
  EXPECT_FALSE(Store().ResendWebhookDelivery("b", "dlv_unknown", kT0 + 2h));
  std::optional<WebhookDeliveryRecord> resent =
      Store().ResendWebhookDelivery("b", first[0].id, kT0 + 2h);
  ASSERT_TRUE(resent.has_value());
  EXPECT_EQ(resent->state, "pending");
  EXPECT_EQ(resent->next_attempt_at, kT0 + 2h);
  EXPECT_EQ(resent->attempt_count, 2);
  EXPECT_TRUE(Claim(kT0 + 2h - 1s).empty()) << "due at the resend, not before";

  std::vector<WebhookDelivery> again = Claim(kT0 + 2h);
  ASSERT_EQ(again.size(), 1u);
  EXPECT_EQ(again[0].event_id, first[0].event_id);
  EXPECT_EQ(again[0].payload, first[0].payload);
  EXPECT_EQ(again[0].attempts, 2);
  EXPECT_EQ(again[0].scheduled_attempts, 0) << "the retry schedule starts again";
  Finish(again[0], DeliveryOutcome::Next::kDelivered, kT0 + 2h);
  WebhookDeliveryRecord record = Store().ListWebhookDeliveries("b", "ep", 1, std::nullopt)->at(0);
  EXPECT_EQ(record.state, "delivered");
  EXPECT_EQ(record.attempt_count, 3);

  // A delivered one can be sent again too.
  ASSERT_TRUE(Store().ResendWebhookDelivery("b", first[0].id, kT0 + 3h));
  ASSERT_EQ(Claim(kT0 + 3h).size(), 1u);
}

TEST_P(StoreWebhooksTest, AResendToAnEndpointA410DisabledEnablesItAgain) {
  AddEndpoint("ep");
  AddOrder("o1");
  std::vector<WebhookDelivery> due = Claim(kT0 + 1s);
  ASSERT_EQ(due.size(), 1u);
  Finish(due[0], DeliveryOutcome::Next::kDisableEndpoint, kT0 + 1s, 410);
  ASSERT_TRUE(Store().ListWebhookEndpoints("b")[0].disabled);

  ASSERT_TRUE(Store().ResendWebhookDelivery("b", due[0].id, kT0 + 1h));
  EXPECT_FALSE(Store().ListWebhookEndpoints("b")[0].disabled);
  std::vector<WebhookDelivery> again = Claim(kT0 + 1h);
  ASSERT_EQ(again.size(), 1u);
  EXPECT_EQ(again[0].event_id, due[0].event_id);
}

TEST_P(StoreWebhooksTest, AResendLeavesAnAttemptInFlightToFinish) {
  AddEndpoint("ep");
  AddOrder("o1");
  std::vector<WebhookDelivery> due = Claim(kT0 + 1s);
  ASSERT_EQ(due.size(), 1u);
  ASSERT_TRUE(Store().ResendWebhookDelivery("b", due[0].id, kT0 + 2s));
  EXPECT_TRUE(Claim(kT0 + 2s, "d2").empty()) << "still leased to the first dispatcher";
  Finish(due[0], DeliveryOutcome::Next::kDelivered, kT0 + 3s);
  EXPECT_EQ(Store().ListWebhookDeliveries("b", "ep", 1, std::nullopt)->at(0).state, "delivered");
}

TEST_P(StoreWebhooksTest, EventsOfTheSameMomentAreLoggedInTheOrdersSequence) {
  AddEndpoint("ep");
  for (const char* order_id : {"o1", "o2"}) {
    Job step = AddOrder(order_id);
    ChangeStatus(step, "appointment_pending", kT0);
    ChangeStatus(step, "appointment_scheduled", kT0);
  }
  std::vector<WebhookDeliveryRecord> log;
  std::optional<std::string> cursor;
  do {  // a page at a time, so the cursor is walked across equal times
    std::vector<WebhookDeliveryRecord> page = *Store().ListWebhookDeliveries("b", "ep", 1, cursor);
    if (page.empty()) break;
    log.push_back(page[0]);
    cursor = page[0].id;
  } while (log.size() < 10);
  ASSERT_EQ(log.size(), 6u);
  for (const char* order_id : {"o1", "o2"}) {
    std::vector<std::string> types;
    for (const WebhookDeliveryRecord& record : log) {
      if (record.order_id == order_id) types.push_back(record.event_type);
    }
    EXPECT_EQ(types, (std::vector<std::string>{"lab_order.updated", "lab_order.updated",
                                               "lab_order.created"}))
        << order_id;
  }
}

TEST_P(StoreWebhooksTest, ReleaseAllDeliveryLeasesMakesAnAttemptInFlightDueAgain) {
  AddEndpoint("ep");
  AddOrder("o1");
  std::vector<WebhookDelivery> held = Claim(kT0 + 1s);
  ASSERT_EQ(held.size(), 1u);
  EXPECT_TRUE(Claim(kT0 + 2s, "d2").empty());
  EXPECT_EQ(Store().ReleaseAllDeliveryLeases(), 1);
  EXPECT_EQ(Store().ReleaseAllDeliveryLeases(), 0);
  std::vector<WebhookDelivery> again = Claim(kT0 + 2s, "d2");
  ASSERT_EQ(again.size(), 1u) << "due at once, not when the lease would have run out";
  EXPECT_EQ(again[0].event_id, held[0].event_id);
  EXPECT_THROW(Finish(held[0], DeliveryOutcome::Next::kDelivered, kT0 + 3s), LeaseLost);
}

// Dispatchers on several replicas (on SQLite connections to one file, on PostgreSQL pools that
// skip the rows another has locked): every event is attempted exactly once, and each order's
// events one at a time, in their order.
TEST_P(StoreWebhooksTest, DispatchersOnManyStoresDeliverEachEventOnceInOrderPerOrder) {
  constexpr int kOrders = 12;
  constexpr int kStores = 4;
  AddEndpoint("ep");
  for (int i = 0; i < kOrders; ++i) AddOrderWithTwoUpdates("o" + std::to_string(i));
  std::vector<std::unique_ptr<SqlStore>> stores;
  for (int i = 0; i < kStores; ++i) stores.push_back(database().Open(PhiCipher(kPhiKey), ""));

  std::mutex mutex;
  std::vector<std::string> attempted;                    // event ids, as delivered
  std::map<std::string, std::vector<std::string>> seen;  // order id: its events, as delivered
  const TimePoint now = kT0 + 1min;
  testing::ExpectNoErrors(testing::RunTogether(kStores, [&](int i) {
    const std::string owner = "dispatcher-" + std::to_string(i);
    for (int idle = 0; idle < 200;) {
      std::vector<WebhookDelivery> claimed = stores[i]->ClaimDueDeliveries(now, now + 1h, owner, 2);
      if (claimed.empty()) {
        std::lock_guard lock(mutex);
        if (attempted.size() == size_t(kOrders * 3)) return;
        ++idle;  // another dispatcher holds the rest; their successors come due as it finishes
        continue;
      }
      for (const WebhookDelivery& delivery : claimed) {
        {
          std::lock_guard lock(mutex);
          attempted.push_back(delivery.event_id);
          const json status = json::parse(delivery.payload)["data"]["status"];
          seen[delivery.order_id].push_back(
              delivery.event_type +
              (status.is_string() ? " " + status.get<std::string>() : std::string()));
        }
        DeliveryOutcome outcome;
        outcome.next = DeliveryOutcome::Next::kDelivered;
        outcome.attempted_at = now;
        outcome.status = 200;
        stores[i]->FinishDeliveryAttempt(delivery, outcome);
      }
    }
  }));
  std::set<std::string> distinct(attempted.begin(), attempted.end());
  EXPECT_EQ(attempted.size(), distinct.size()) << "an event was handed to two dispatchers";
  EXPECT_EQ(distinct.size(), size_t(kOrders * 3));
  for (const auto& [order_id, events] : seen) {
    EXPECT_EQ(events, (std::vector<std::string>{"lab_order.created",
                                                "lab_order.updated appointment_pending",
                                                "lab_order.updated appointment_scheduled"}))
        << order_id;
  }
  EXPECT_EQ(database().QueryText("SELECT COUNT(*) FROM webhook_attempts"),
            std::to_string(kOrders * 3));
}

}  // namespace
}  // namespace lab_orders::store
