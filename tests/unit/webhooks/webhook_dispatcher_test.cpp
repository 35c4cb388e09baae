#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "lab_orders/common/encoding.h"
#include "lab_orders/store/sqlite_store.h"
#include "lab_orders/webhooks/dispatcher.h"
#include "lab_orders/webhooks/signer.h"
#include "mocks/mock_webhook_transport.h"
#include "support/fakes.h"
#include "support/store_fixtures.h"

namespace lab_orders::webhooks {
namespace {

using namespace std::chrono_literals;
using nlohmann::json;
using ::testing::_;
using ::testing::Invoke;

const auto kT0 = std::chrono::sys_days{std::chrono::year{2024} / 5 / 1} + 12h;
constexpr char kSecret[] = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
constexpr char kOldSecret[] = "whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD";

class DispatcherTest : public ::testing::Test {
 protected:
  DispatcherTest()
      : store_(":memory:", store::PhiCipher(RandomBytes(32))),
        clock_(kT0),
        dispatcher_(store_, transport_, clock_, Settings(), [] { return 0.5; }) {
    store_.Migrate();
    dispatcher_.UseMetrics(registry_);
  }

  // Two retries (5 s, then 5 min, 10% jitter at its middle): three attempts in all.
  static DispatcherSettings Settings() {
    DispatcherSettings settings;
    settings.owner = "dispatcher-test";
    settings.schedule.delays = {5s, 5min};
    return settings;
  }

  void AddEndpoint(std::optional<std::string> previous_secret = std::nullopt) {
    store::WebhookEndpoint endpoint;
    endpoint.id = "ep-1";
    endpoint.brand_id = "brand-1";
    endpoint.url = "https://hooks.example.com/in";
    endpoint.secret = kSecret;
    if (previous_secret) {
      endpoint.previous_secret = previous_secret;
      endpoint.previous_secret_expires_at = kT0 + 24h;
    }
    endpoint.created_at = kT0;
    store_.CreateWebhookEndpoint(endpoint);
  }

  // An order made at Junction: its lab_order.created event is in the outbox.
  void AddOrder(const std::string& id) {
    model::LabOrder order = testing::ExampleOrder(id, "brand-1", kT0);
    order.external_order_id = "ext-" + id;
    testing::AddJunctionOrder(store_, "brand-1", id, kT0, &order);
  }

  // The outcome's count as GET /metrics renders it.
  std::uint64_t Counted(const std::string& outcome) const {
    const std::string text = registry_.RenderPrometheus();
    const std::string series = "lab_orders_webhook_deliveries_total{outcome=\"" + outcome + "\"} ";
    const std::size_t at = text.find(series);
    if (at == std::string::npos) return 0;
    return std::stoull(text.substr(at + series.size()));
  }

  // Answers each Post with the next status, recording what was sent.
  void Answer(std::vector<int> statuses, std::optional<std::string> retry_after = std::nullopt) {
    EXPECT_CALL(transport_, Post(_))
        .Times(int(statuses.size()))
        .WillRepeatedly(Invoke([this, statuses, retry_after](const WebhookRequest& request) {
          sent_.push_back(request);
          DeliveryResult result;
          result.status = statuses[sent_.size() - 1 - answered_before_];
          result.retry_after = retry_after;
          result.latency = 7ms;
          return result;
        }));
  }

  std::map<std::string, std::string> Headers(const WebhookRequest& request) {
    return {request.headers.begin(), request.headers.end()};
  }

  store::SqliteStore store_;
  testing::FakeClock clock_;
  metrics::Registry registry_;
  ::testing::StrictMock<testing::MockWebhookTransport> transport_;
  Dispatcher dispatcher_;
  std::vector<WebhookRequest> sent_;
  std::size_t answered_before_ = 0;
};

TEST_F(DispatcherTest, DeliversSignedWithTheAttemptTimeAndRetriesWithTheSameId) {
  AddEndpoint();
  AddOrder("o1");
  Answer({500, 200});
  EXPECT_EQ(dispatcher_.RunOnce(), 1);
  EXPECT_EQ(dispatcher_.RunOnce(), 0) << "not due before its retry";
  clock_.Advance(5s);
  EXPECT_EQ(dispatcher_.RunOnce(), 1);
  EXPECT_EQ(dispatcher_.RunOnce(), 0) << "delivered";

  ASSERT_EQ(sent_.size(), 2u);
  EXPECT_EQ(sent_[0].url, "https://hooks.example.com/in");
  EXPECT_EQ(sent_[0].body, sent_[1].body);
  auto first = Headers(sent_[0]), second = Headers(sent_[1]);
  EXPECT_EQ(first["webhook-id"], second["webhook-id"]);
  EXPECT_EQ(first["webhook-timestamp"], std::to_string(std::chrono::system_clock::to_time_t(kT0)));
  EXPECT_EQ(second["webhook-timestamp"],
            std::to_string(std::chrono::system_clock::to_time_t(kT0 + 5s)));
  SignatureHeaders headers{second["webhook-id"], second["webhook-timestamp"],
                           second["webhook-signature"]};
  EXPECT_EQ(VerifySignatureHeaders(kSecret, headers, sent_[1].body, kT0 + 5s),
            WebhookSigner::Verdict::kValid);
  json body = json::parse(sent_[1].body);
  EXPECT_EQ(body["type"], "lab_order.created");
  EXPECT_EQ(body["data"]["external_order_id"], "ext-o1");
  EXPECT_EQ(Counted("retry"), 1u);
  EXPECT_EQ(Counted("delivered"), 1u);
}

TEST_F(DispatcherTest, DuringARotationBothSecretsVerify) {
  AddEndpoint(kOldSecret);
  AddOrder("o1");
  Answer({200});
  dispatcher_.RunOnce();
  ASSERT_EQ(sent_.size(), 1u);
  auto sent = Headers(sent_[0]);
  SignatureHeaders headers{sent["webhook-id"], sent["webhook-timestamp"],
                           sent["webhook-signature"]};
  for (const char* secret : {kSecret, kOldSecret}) {
    EXPECT_EQ(VerifySignatureHeaders(secret, headers, sent_[0].body, kT0),
              WebhookSigner::Verdict::kValid)
        << secret;
  }
}

TEST_F(DispatcherTest, RetryAfterIsHonouredAndA410DisablesTheEndpoint) {
  AddEndpoint();
  AddOrder("o1");
  Answer({503}, "120");
  dispatcher_.RunOnce();
  clock_.Advance(60s);
  EXPECT_EQ(dispatcher_.RunOnce(), 0) << "Retry-After: 120 is a floor over the 5 s";
  clock_.Advance(61s);
  answered_before_ = sent_.size();
  ::testing::Mock::VerifyAndClearExpectations(&transport_);
  Answer({410});
  EXPECT_EQ(dispatcher_.RunOnce(), 1);
  EXPECT_TRUE(store_.ListWebhookEndpoints("brand-1")[0].disabled);
  AddOrder("o2");
  clock_.Advance(1h);
  EXPECT_EQ(dispatcher_.RunOnce(), 0);
  EXPECT_EQ(Counted("retry"), 1u);
  EXPECT_EQ(Counted("disabled"), 1u);
}

TEST_F(DispatcherTest, GivesUpWhenTheScheduleRunsOutAndAResendStartsItAgain) {
  AddEndpoint();
  AddOrder("o1");
  Answer({500, 500, 500, 500, 200});
  EXPECT_EQ(dispatcher_.RunOnce(), 1);
  clock_.Advance(5s);
  EXPECT_EQ(dispatcher_.RunOnce(), 1);
  clock_.Advance(6min);
  EXPECT_EQ(dispatcher_.RunOnce(), 1);
  clock_.Advance(1h);
  EXPECT_EQ(dispatcher_.RunOnce(), 0) << "given up after the third attempt";
  EXPECT_EQ(Counted("retry"), 2u);
  EXPECT_EQ(Counted("gave_up"), 1u);

  store::WebhookDeliveryRecord record =
      store_.ListWebhookDeliveries("brand-1", "ep-1", 1, std::nullopt)->at(0);
  ASSERT_TRUE(store_.ResendWebhookDelivery("brand-1", record.id, clock_.Now()));
  EXPECT_EQ(dispatcher_.RunOnce(), 1);
  EXPECT_EQ(Counted("retry"), 3u) << "a resent delivery has its retries again";
  clock_.Advance(5s);
  EXPECT_EQ(dispatcher_.RunOnce(), 1);
  EXPECT_EQ(dispatcher_.RunOnce(), 0);
  EXPECT_EQ(Counted("delivered"), 1u);
  ASSERT_EQ(sent_.size(), 5u);
  for (const WebhookRequest& request : sent_) {
    EXPECT_EQ(Headers(request)["webhook-id"], record.event_id);
  }
}

}  // namespace
}  // namespace lab_orders::webhooks
