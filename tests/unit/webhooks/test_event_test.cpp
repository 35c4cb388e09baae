// The webhook test event: sent at once to one of the brand's endpoints, signed as a delivery is,
// and answered with what the receiver did; another brand's endpoint is not found.

#include "lab_orders/webhooks/test_event.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "lab_orders/common/encoding.h"
#include "lab_orders/common/error.h"
#include "lab_orders/http/openapi_document.h"
#include "lab_orders/store/sqlite_store.h"
#include "lab_orders/webhooks/endpoint_service.h"
#include "lab_orders/webhooks/signer.h"
#include "mocks/mock_host_resolver.h"
#include "mocks/mock_webhook_transport.h"
#include "support/fakes.h"

namespace lab_orders::webhooks {
namespace {

using namespace std::chrono_literals;
using nlohmann::json;
using ::testing::_;
using ::testing::DoAll;
using ::testing::NiceMock;
using ::testing::Return;
using ::testing::SaveArg;

const auto kT0 = std::chrono::sys_days{std::chrono::year{2024} / 5 / 1} + 12h;

class TestEventSenderTest : public ::testing::Test {
 protected:
  TestEventSenderTest()
      : store_(":memory:", store::PhiCipher(RandomBytes(32))),
        clock_(kT0),
        policy_(DestinationMode::kProduction, resolver_),
        endpoints_(store_, policy_, clock_, ids_,
                   http::OpenApiComponentSchema("WebhookEndpointRequest")),
        sender_(store_, transport_, clock_, ids_) {
    store_.Migrate();
    ON_CALL(resolver_, Resolve("hooks.example.com"))
        .WillByDefault(Return(std::vector<IpAddress>{*IpAddress::Parse("93.184.216.34")}));
  }

  // An endpoint of brand-1 taking one event type only: the test event goes all the same.
  json Register() {
    return endpoints_.Create("brand-1", {{"url", "https://hooks.example.com/in"},
                                         {"event_types", {"lab_order.completed"}}});
  }

  std::string Header(const WebhookRequest& request, const std::string& name) {
    for (const auto& [key, value] : request.headers) {
      if (key == name) return value;
    }
    return "";
  }

  store::SqliteStore store_;
  testing::FakeClock clock_;
  testing::CountingIdGenerator ids_;
  NiceMock<testing::MockHostResolver> resolver_;
  DestinationPolicy policy_;
  EndpointService endpoints_;
  testing::MockWebhookTransport transport_;
  TestEventSender sender_;
};

TEST_F(TestEventSenderTest, SendsASignedTestEventAndSaysWhatTheReceiverDid) {
  const json endpoint = Register();
  WebhookRequest sent;
  DeliveryResult answered;
  answered.status = 204;
  answered.latency = 12ms;
  EXPECT_CALL(transport_, Post(_)).WillOnce(DoAll(SaveArg<0>(&sent), Return(answered)));

  const json result = sender_.Send("brand-1", endpoint["id"]);

  EXPECT_EQ(result["delivered"], true);
  EXPECT_EQ(result["status_code"], 204);
  EXPECT_EQ(result["latency_ms"], 12);
  EXPECT_EQ(result["error"], nullptr);
  EXPECT_EQ(sent.url, "https://hooks.example.com/in");
  const json body = json::parse(sent.body);
  EXPECT_EQ(body["type"], "webhook.test");
  EXPECT_EQ(body["data"]["endpoint_id"], endpoint["id"]);
  EXPECT_EQ(body["timestamp"], FormatRfc3339(kT0));
  // Signed as a receiver holding the endpoint's secret checks it, with the id answered.
  const SignatureHeaders headers{Header(sent, "webhook-id"), Header(sent, "webhook-timestamp"),
                                 Header(sent, "webhook-signature")};
  EXPECT_EQ(headers.id, result["webhook_id"]);
  EXPECT_EQ(VerifySignatureHeaders(endpoint["secret"].get<std::string>(), headers, sent.body, kT0),
            WebhookSigner::Verdict::kValid);
}

TEST_F(TestEventSenderTest, AReceiverThatFailsIsReportedNotRetried) {
  const json endpoint = Register();
  DeliveryResult refused;
  refused.error = TransportError::kConnectionFailed;
  refused.error_summary = "connection refused";
  DeliveryResult server_error;
  server_error.status = 500;
  EXPECT_CALL(transport_, Post(_)).WillOnce(Return(refused)).WillOnce(Return(server_error));

  const json no_answer = sender_.Send("brand-1", endpoint["id"]);
  EXPECT_EQ(no_answer["delivered"], false);
  EXPECT_EQ(no_answer["status_code"], nullptr);
  EXPECT_EQ(no_answer["error"], "connection_failed");
  const json failed = sender_.Send("brand-1", endpoint["id"]);
  EXPECT_EQ(failed["delivered"], false);
  EXPECT_EQ(failed["status_code"], 500);
  EXPECT_EQ(failed["error"], nullptr);
  EXPECT_NE(failed["webhook_id"], no_answer["webhook_id"]);  // each test is its own message
}

// Under an Idempotency-Key the event's id is recorded before it is sent: an attempt resumed after
// a crash sends the same webhook-id, which a receiver that deduplicates takes once.
TEST_F(TestEventSenderTest, AnAttemptResumedUnderAKeySendsTheSameWebhookId) {
  const json endpoint = Register();
  std::vector<std::string> ids;
  DeliveryResult answered;
  answered.status = 204;
  EXPECT_CALL(transport_, Post(_)).Times(2).WillRepeatedly([&](const WebhookRequest& sent) {
    ids.push_back(Header(sent, "webhook-id"));
    return answered;
  });
  std::vector<std::string> saved;
  store::ActionCheckpoint first{std::nullopt,
                                [&](const std::string& text) { saved.push_back(text); }};
  const json sent = sender_.Send("brand-1", endpoint["id"], &first);
  ASSERT_EQ(saved.size(), 1u);
  EXPECT_EQ(json::parse(saved[0])["webhook_id"], sent["webhook_id"]);

  store::ActionCheckpoint resumed{saved[0],
                                  [&](const std::string& text) { saved.push_back(text); }};
  const json again = sender_.Send("brand-1", endpoint["id"], &resumed);
  EXPECT_EQ(again["webhook_id"], sent["webhook_id"]);
  ASSERT_EQ(ids.size(), 2u);
  EXPECT_EQ(ids[0], ids[1]);
  EXPECT_EQ(saved.size(), 1u) << "nothing more to record";
}

TEST_F(TestEventSenderTest, AnotherBrandsOrAnUnknownEndpointIsNotFoundAndNothingIsSent) {
  const json endpoint = Register();
  EXPECT_CALL(transport_, Post(_)).Times(0);
  for (const auto& [brand, id] : std::vector<std::pair<std::string, std::string>>{
           {"brand-2", endpoint["id"]}, {"brand-1", "ep_unknown"}}) {
    try {
      sender_.Send(brand, id);
      ADD_FAILURE() << brand << " " << id;
    } catch (const AppError& error) {
      EXPECT_EQ(error.code(), ErrorCode::kNotFound);
    }
  }
}

}  // namespace
}  // namespace lab_orders::webhooks
