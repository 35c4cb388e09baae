#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "lab_orders/common/encoding.h"
#include "lab_orders/common/error.h"
#include "lab_orders/http/openapi_document.h"
#include "lab_orders/model/order_events.h"
#include "lab_orders/store/sqlite_store.h"
#include "lab_orders/webhooks/endpoint_service.h"
#include "lab_orders/webhooks/signer.h"
#include "mocks/mock_host_resolver.h"
#include "support/fakes.h"
#include "support/store_fixtures.h"

namespace lab_orders::webhooks {
namespace {

using namespace std::chrono_literals;
using nlohmann::json;
using ::testing::NiceMock;
using ::testing::Return;

const auto kT0 = std::chrono::sys_days{std::chrono::year{2024} / 5 / 1} + 12h;

class EndpointServiceTest : public ::testing::Test {
 protected:
  EndpointServiceTest()
      : store_(":memory:", store::PhiCipher(RandomBytes(32))),
        clock_(kT0),
        policy_(DestinationMode::kProduction, resolver_),
        service_(store_, policy_, clock_, ids_,
                 http::OpenApiComponentSchema("WebhookEndpointRequest")) {
    service_.OnDeliveriesDue([this] { ++wakes_; });
    store_.Migrate();
    ON_CALL(resolver_, Resolve("hooks.example.com"))
        .WillByDefault(Return(std::vector<IpAddress>{*IpAddress::Parse("93.184.216.34")}));
    ON_CALL(resolver_, Resolve("internal.example.com"))
        .WillByDefault(Return(std::vector<IpAddress>{*IpAddress::Parse("10.0.0.8")}));
  }

  std::vector<FieldViolation> Refusal(const json& body) {
    try {
      service_.Create("brand-1", body);
    } catch (const AppError& error) {
      EXPECT_EQ(error.code(), ErrorCode::kValidationError);
      return error.details();
    }
    ADD_FAILURE() << "accepted " << body;
    return {};
  }

  store::SqliteStore store_;
  testing::FakeClock clock_;
  testing::CountingIdGenerator ids_;
  NiceMock<testing::MockHostResolver> resolver_;
  DestinationPolicy policy_;
  EndpointService service_;
  int wakes_ = 0;
};

TEST_F(EndpointServiceTest, CreateShowsTheSecretOnceAndListNever) {
  json created = service_.Create(
      "brand-1", {{"url", "https://hooks.example.com/in"}, {"event_types", {"lab_order.created"}}});
  EXPECT_EQ(created["url"], "https://hooks.example.com/in");
  EXPECT_EQ(created["event_types"], json({"lab_order.created"}));
  EXPECT_EQ(created["disabled"], false);
  const std::string secret = created["secret"];
  ASSERT_EQ(secret.rfind("whsec_", 0), 0u);
  EXPECT_EQ(Base64Decode(secret.substr(6)).value_or("").size(), 32u);

  json listed = service_.List("brand-1");
  ASSERT_EQ(listed["data"].size(), 1u);
  EXPECT_EQ(listed["data"][0]["id"], created["id"]);
  EXPECT_FALSE(listed["data"][0].contains("secret"));
  EXPECT_TRUE(service_.List("brand-2")["data"].empty());

  json every = service_.Create("brand-1", {{"url", "https://hooks.example.com/all"}});
  EXPECT_EQ(every["event_types"].size(), model::EventTypes().size());
  EXPECT_NE(every["secret"], created["secret"]);
  EXPECT_EQ(every["previous_secret_expires_at"], nullptr);
  EXPECT_EQ(wakes_, 2) << "each registration wakes the dispatcher";
}

// Under an Idempotency-Key, an attempt resumed after the endpoint was made (or the secret
// rotated) answers with what the attempt before made, and makes nothing more.
TEST_F(EndpointServiceTest, AnAttemptResumedUnderAKeyAnswersWithWhatTheOneBeforeMade) {
  std::vector<std::string> saved;
  auto record = [&](const std::string& text) { saved.push_back(text); };
  const json body = {{"url", "https://hooks.example.com/in"}};
  store::ActionCheckpoint first{std::nullopt, record};
  const json created = service_.Create("brand-1", body, &first);
  ASSERT_EQ(saved.size(), 2u);
  EXPECT_EQ(json::parse(saved[0]), (json{{"endpoint_id", created["id"]}}));
  EXPECT_EQ(json::parse(saved[1]), (json{{"endpoint_id", created["id"]}, {"made", "yes"}}));
  store::ActionCheckpoint resumed{saved[1], record};
  EXPECT_EQ(service_.Create("brand-1", body, &resumed), created);
  EXPECT_EQ(service_.List("brand-1")["data"].size(), 1u);
  // Recorded but never made (the crash came first): made now, under the recorded id.
  store::ActionCheckpoint unmade{json{{"endpoint_id", "ep_recorded"}}.dump(), record};
  EXPECT_EQ(service_.Create("brand-1", body, &unmade)["id"], "ep_recorded");
  // Made, then deleted by the brand: not made again.
  service_.Delete("brand-1", "ep_recorded");
  store::ActionCheckpoint deleted{json{{"endpoint_id", "ep_recorded"}, {"made", "yes"}}.dump(),
                                  record};
  EXPECT_THROW(service_.Create("brand-1", body, &deleted), AppError);
  EXPECT_EQ(service_.List("brand-1")["data"].size(), 1u);

  saved.clear();
  const std::string id = created["id"];
  store::ActionCheckpoint rotation{std::nullopt, record};
  const json rotated = service_.RotateSecret("brand-1", id, &rotation);
  ASSERT_EQ(saved.size(), 1u);
  store::ActionCheckpoint rotation_resumed{saved[0], record};
  EXPECT_EQ(service_.RotateSecret("brand-1", id, &rotation_resumed), rotated);
  const store::WebhookEndpoint stored = store_.ListWebhookEndpoints("brand-1").at(0);
  EXPECT_EQ(stored.previous_secret, created["secret"]) << "rotated once";
  EXPECT_EQ(saved.size(), 1u);
  // Rotated again by another request since: the resumed one still rotates no more, and answers
  // with its own secret, which signs on as the previous one.
  const json other = service_.RotateSecret("brand-1", id);
  EXPECT_EQ(service_.RotateSecret("brand-1", id, &rotation_resumed)["secret"], rotated["secret"]);
  EXPECT_EQ(store_.ListWebhookEndpoints("brand-1").at(0).secret, other["secret"]);
}

TEST_F(EndpointServiceTest, RefusesBadUrlsAndEventTypesNamingTheField) {
  for (const json& body :
       {json({{"url", "http://hooks.example.com/in"}}), json({{"url", "https://10.0.0.1/"}}),
        json({{"url", "https://internal.example.com/"}}), json({{"url", 5}}), json::object()}) {
    std::vector<FieldViolation> details = Refusal(body);
    ASSERT_EQ(details.size(), 1u) << body;
    EXPECT_EQ(details[0].path, "/url") << body;
  }
  for (const json& types : {json::array(), json({"job.created"}), json("lab_order.created"),
                            json({"lab_order.created", "lab_order.created"})}) {
    std::vector<FieldViolation> details =
        Refusal({{"url", "https://hooks.example.com/in"}, {"event_types", types}});
    ASSERT_EQ(details.size(), 1u) << types;
    EXPECT_EQ(details[0].path.rfind("/event_types", 0), 0u) << details[0].path;
  }
  std::vector<FieldViolation> unknown =
      Refusal({{"url", "https://hooks.example.com/in"}, {"events", json::array()}});
  ASSERT_EQ(unknown.size(), 1u);
  EXPECT_EQ(unknown[0].path, "/events");
  EXPECT_EQ(unknown[0].message, "is not a field of this request");
  std::vector<FieldViolation> listed = Refusal(
      {{"url", "https://hooks.example.com/in"}, {"event_types", {"lab_order.created", "job.x"}}});
  ASSERT_EQ(listed.size(), 1u);
  EXPECT_EQ(listed[0].path, "/event_types/1");
  EXPECT_EQ(
      listed[0].message.rfind("must be one of: lab_order.created, lab_order.channel_changed", 0),
      0u)
      << listed[0].message;
  EXPECT_TRUE(service_.List("brand-1")["data"].empty());
}

TEST_F(EndpointServiceTest, DeleteIsScopedToTheBrand) {
  json created = service_.Create("brand-1", {{"url", "https://hooks.example.com/in"}});
  EXPECT_THROW(service_.Delete("brand-2", created["id"]), AppError);
  service_.Delete("brand-1", created["id"]);
  EXPECT_TRUE(service_.List("brand-1")["data"].empty());
  EXPECT_THROW(service_.Delete("brand-1", created["id"]), AppError);
}

TEST_F(EndpointServiceTest, ARotationShowsTheNewSecretOnceAndWhenTheOldOneStopsSigning) {
  json created = service_.Create("brand-1", {{"url", "https://hooks.example.com/in"}});
  clock_.Advance(1h);
  json rotated = service_.RotateSecret("brand-1", created["id"]);
  EXPECT_EQ(rotated["id"], created["id"]);
  EXPECT_NE(rotated["secret"], created["secret"]);
  EXPECT_EQ(rotated["secret"].get<std::string>().rfind("whsec_", 0), 0u);
  EXPECT_EQ(rotated["previous_secret_expires_at"], FormatRfc3339(kT0 + 1h + kRotationOverlap));
  store::WebhookEndpoint stored = store_.ListWebhookEndpoints("brand-1").at(0);
  EXPECT_EQ(stored.secret, rotated["secret"]);
  EXPECT_EQ(stored.previous_secret, created["secret"]);

  json listed = service_.List("brand-1")["data"][0];
  EXPECT_FALSE(listed.contains("secret"));
  EXPECT_EQ(listed["previous_secret_expires_at"], rotated["previous_secret_expires_at"]);
  EXPECT_THROW(service_.RotateSecret("brand-2", created["id"]), AppError);
}

TEST_F(EndpointServiceTest, TheDeliveryLogPagesNewestFirstAndAResendWakesTheDispatcher) {
  json created = service_.Create("brand-1", {{"url", "https://hooks.example.com/in"}});
  const std::string endpoint_id = created["id"];
  // Two orders made at Junction: two lab_order.created deliveries.
  for (const char* order_id : {"o1", "o2"}) {
    testing::AddJunctionOrder(store_, "brand-1", order_id, kT0);
  }
  std::vector<store::WebhookDelivery> due = store_.ClaimDueDeliveries(kT0, kT0 + 30s, "d", 10);
  ASSERT_EQ(due.size(), 2u);
  for (const store::WebhookDelivery& delivery : due) {
    store::DeliveryOutcome outcome;
    outcome.next = store::DeliveryOutcome::Next::kGiveUp;
    outcome.attempted_at = kT0;
    outcome.status = 503;
    outcome.latency_ms = 40;
    store_.FinishDeliveryAttempt(delivery, outcome);
  }

  json first = service_.Deliveries("brand-1", endpoint_id, 1, std::nullopt);
  ASSERT_EQ(first["data"].size(), 1u);
  ASSERT_TRUE(first["next_cursor"].is_string());
  EXPECT_EQ(first["has_more"], true);
  json second = service_.Deliveries("brand-1", endpoint_id, 1, first["next_cursor"]);
  ASSERT_EQ(second["data"].size(), 1u);
  EXPECT_EQ(second["next_cursor"], nullptr);
  EXPECT_EQ(second["has_more"], false);
  EXPECT_NE(first["data"][0]["id"], second["data"][0]["id"]);
  const json delivery = second["data"][0];
  EXPECT_EQ(delivery["endpoint_id"], endpoint_id);
  EXPECT_EQ(delivery["event_type"], "lab_order.created");
  EXPECT_EQ(delivery["status"], "failed");
  EXPECT_EQ(delivery["next_attempt_at"], nullptr);
  EXPECT_EQ(delivery["attempt_count"], 1);
  EXPECT_EQ(delivery["attempts"], json::array({{{"attempt", 1},
                                                {"attempted_at", FormatRfc3339(kT0)},
                                                {"status_code", 503},
                                                {"error", nullptr},
                                                {"latency_ms", 40}}}));
  EXPECT_EQ(delivery["webhook_id"].get<std::string>().rfind("msg_", 0), 0u);
  EXPECT_FALSE(delivery.contains("payload"));
  EXPECT_THROW(service_.Deliveries("brand-2", endpoint_id, 10, std::nullopt), AppError);

  const int wakes = wakes_;
  clock_.Advance(1h);
  json resent = service_.Resend("brand-1", delivery["id"]);
  EXPECT_EQ(resent["status"], "pending");
  EXPECT_EQ(resent["webhook_id"], delivery["webhook_id"]);
  EXPECT_EQ(resent["next_attempt_at"], FormatRfc3339(kT0 + 1h));
  EXPECT_EQ(wakes_, wakes + 1);
  EXPECT_THROW(service_.Resend("brand-2", delivery["id"]), AppError);
  EXPECT_EQ(wakes_, wakes + 1);
}

}  // namespace
}  // namespace lab_orders::webhooks
