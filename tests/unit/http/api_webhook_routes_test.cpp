// The brand webhook routes of http::Api over a real (in-memory) store: the scope, the brand from
// the token, every answer's status and shape, the route labels (templates, never ids) and the
// dispatcher woken when deliveries may be due.

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <map>
#include <nlohmann/json.hpp>
#include <string>

#include "lab_orders/auth/jwt.h"
#include "lab_orders/common/change_notifier.h"
#include "lab_orders/common/encoding.h"
#include "lab_orders/common/metrics.h"
#include "lab_orders/http/api.h"
#include "lab_orders/http/openapi_document.h"
#include "lab_orders/orders/order_service.h"
#include "lab_orders/orders/request_validator.h"
#include "lab_orders/store/sqlite_store.h"
#include "lab_orders/webhooks/endpoint_service.h"
#include "lab_orders/workflow/order_actions.h"
#include "lab_orders/workflow/order_workflow.h"
#include "mocks/mock_host_resolver.h"
#include "mocks/mock_junction_client.h"
#include "support/fakes.h"
#include "support/store_fixtures.h"

namespace lab_orders::http {
namespace {

using namespace std::chrono_literals;
using nlohmann::json;
using ::testing::NiceMock;
using ::testing::Return;

const auto kT0 = std::chrono::sys_days{std::chrono::year{2024} / 5 / 1} + 12h;
const std::string kJwtSecret = "api-webhook-routes-test-secret-0123456789";
constexpr const char* kScope = "labs:webhooks:manage";

auth::JwtSettings JwtSettings() {
  auth::JwtSettings settings;
  settings.hs256_secret = kJwtSecret;
  return settings;
}

class ApiWebhookRoutesTest : public ::testing::Test {
 protected:
  ApiWebhookRoutesTest()
      : store_(":memory:", store::PhiCipher(RandomBytes(32))),
        clock_(kT0),
        verifier_(JwtSettings(), clock_),
        validator_(LabOrderRequestSchema(), clock_),
        orders_(store_, junction_, validator_, {}, clock_, ids_),
        workflow_(store_, junction_, clock_, ids_, {}),
        actions_(store_, junction_, workflow_, clock_, ids_, changes_, {}),
        policy_(webhooks::DestinationMode::kProduction, resolver_),
        endpoints_(store_, policy_, clock_, ids_, OpenApiComponentSchema("WebhookEndpointRequest")),
        api_(orders_, actions_, nullptr, verifier_, store_) {
    store_.Migrate();
    ON_CALL(resolver_, Resolve("hooks.example.com"))
        .WillByDefault(
            Return(std::vector<webhooks::IpAddress>{*webhooks::IpAddress::Parse("93.184.216.34")}));
    endpoints_.OnDeliveriesDue([this] { ++wakes_; });
    api_.ServeWebhookEndpointsWith(endpoints_);
    api_.KeepActionKeysIn(store_, clock_, 60s);
    api_.UseMetrics(registry_);
  }

  std::string Token(const std::string& brand, const std::string& scope = kScope) {
    const long long now =
        std::chrono::duration_cast<std::chrono::seconds>(kT0.time_since_epoch()).count();
    return auth::MintHs256(
        kJwtSecret,
        {{"sub", "user-1"}, {"brand_id", brand}, {"scope", scope}, {"exp", now + 3600}});
  }

  // Answers as the server would see them, counted in the metrics as the server counts them.
  ApiResponse Call(const std::string& method, const std::string& path, const std::string& body = "",
                   const std::string& brand = "brand-1", const std::string& scope = kScope,
                   const std::map<std::string, std::string>& headers = {}) {
    ApiRequest request;
    request.method = method;
    const std::size_t question = path.find('?');
    request.path = path.substr(0, question);
    if (question != std::string::npos) request.query = path.substr(question + 1);
    request.headers["authorization"] = "Bearer " + Token(brand, scope);
    if (!body.empty()) request.headers["content-type"] = "application/json";
    request.body = body;
    request.request_id = "req-1";
    for (const auto& [name, value] : headers) request.headers[name] = value;
    ApiResponse response = api_.Handle(request);
    api_.RecordRequest(method, response, 1ms);
    return response;
  }

  json Register(const std::string& brand = "brand-1") {
    ApiResponse created = Call("POST", "/v1/webhooks/endpoints",
                               json{{"url", "https://hooks.example.com/in"}}.dump(), brand);
    EXPECT_EQ(created.status, 201) << created.body;
    return json::parse(created.body);
  }

  store::SqliteStore store_;
  testing::FakeClock clock_;
  testing::CountingIdGenerator ids_;
  auth::JwtVerifier verifier_;
  orders::RequestValidator validator_;
  NiceMock<testing::MockJunctionClient> junction_;
  orders::OrderService orders_;
  workflow::OrderWorkflow workflow_;
  ChangeNotifier changes_;
  workflow::OrderActions actions_;
  NiceMock<testing::MockHostResolver> resolver_;
  webhooks::DestinationPolicy policy_;
  webhooks::EndpointService endpoints_;
  Api api_;
  metrics::Registry registry_;
  int wakes_ = 0;
};

TEST_F(ApiWebhookRoutesTest, AnEndpointIsRegisteredListedRotatedAndDeleted) {
  json created = Register();
  const std::string id = created["id"];
  EXPECT_EQ(created["url"], "https://hooks.example.com/in");
  EXPECT_EQ(created["secret"].get<std::string>().rfind("whsec_", 0), 0u);
  EXPECT_EQ(wakes_, 1);

  ApiResponse listed = Call("GET", "/v1/webhooks/endpoints");
  ASSERT_EQ(listed.status, 200);
  json data = json::parse(listed.body)["data"];
  ASSERT_EQ(data.size(), 1u);
  EXPECT_EQ(data[0]["id"], id);
  EXPECT_EQ(listed.body.find("whsec_"), std::string::npos) << "a list never shows a secret";

  ApiResponse rotated = Call("POST", "/v1/webhooks/endpoints/" + id + "/rotate-secret");
  ASSERT_EQ(rotated.status, 200) << rotated.body;
  json rotation = json::parse(rotated.body);
  EXPECT_NE(rotation["secret"], created["secret"]);
  EXPECT_EQ(rotation["previous_secret_expires_at"], FormatRfc3339(kT0 + 24h));

  ApiResponse log = Call("GET", "/v1/webhooks/endpoints/" + id + "/deliveries?limit=5");
  ASSERT_EQ(log.status, 200);
  EXPECT_EQ(json::parse(log.body),
            json({{"data", json::array()}, {"has_more", false}, {"next_cursor", nullptr}}));

  EXPECT_EQ(Call("DELETE", "/v1/webhooks/endpoints/" + id, "", "brand-2").status, 404)
      << "another brand's endpoint is not found";
  ApiResponse deleted = Call("DELETE", "/v1/webhooks/endpoints/" + id);
  EXPECT_EQ(deleted.status, 204);
  EXPECT_EQ(deleted.body, "");
  EXPECT_EQ(Call("DELETE", "/v1/webhooks/endpoints/" + id).status, 404);
  EXPECT_EQ(Call("POST", "/v1/webhooks/endpoints/" + id + "/rotate-secret").status, 404);
  EXPECT_EQ(Call("GET", "/v1/webhooks/endpoints/" + id + "/deliveries").status, 404);
}

TEST_F(ApiWebhookRoutesTest, AResendIsAcceptedForTheBrandsOwnDeliveryAndWakesTheDispatcher) {
  json created = Register();
  testing::AddJunctionOrder(store_, "brand-1", "o1", kT0);
  json log = json::parse(
      Call("GET", "/v1/webhooks/endpoints/" + created["id"].get<std::string>() + "/deliveries")
          .body);
  ASSERT_EQ(log["data"].size(), 1u);
  const json delivery = log["data"][0];
  EXPECT_EQ(delivery["event_type"], "lab_order.created");
  EXPECT_EQ(delivery["order_id"], "o1");

  const std::string resend =
      "/v1/webhooks/deliveries/" + delivery["id"].get<std::string>() + "/resend";
  EXPECT_EQ(Call("POST", resend, "", "brand-2").status, 404);
  const int wakes = wakes_;
  ApiResponse accepted = Call("POST", resend);
  ASSERT_EQ(accepted.status, 202) << accepted.body;
  EXPECT_EQ(json::parse(accepted.body)["webhook_id"], delivery["webhook_id"]);
  EXPECT_EQ(json::parse(accepted.body)["status"], "pending");
  EXPECT_EQ(wakes_, wakes + 1);
  EXPECT_EQ(Call("POST", "/v1/webhooks/deliveries/dlv_unknown/resend").status, 404);
}

// Under an Idempotency-Key a registration and a rotation happen once: the retry replays the first
// answer, secret included, and a second rotation cannot retire the secret receivers verify with.
TEST_F(ApiWebhookRoutesTest, RegistrationAndRotationUnderAKeyHappenOnce) {
  const std::string body = json{{"url", "https://hooks.example.com/in"}}.dump();
  const std::map<std::string, std::string> key = {{"idempotency-key", "register-1"}};
  ApiResponse first = Call("POST", "/v1/webhooks/endpoints", body, "brand-1", kScope, key);
  ApiResponse again = Call("POST", "/v1/webhooks/endpoints", body, "brand-1", kScope, key);
  ASSERT_EQ(first.status, 201) << first.body;
  EXPECT_EQ(again.status, 201);
  EXPECT_EQ(again.body, first.body);
  EXPECT_THAT(again.headers, ::testing::Contains(std::pair<std::string, std::string>(
                                 "Idempotent-Replayed", "true")));
  EXPECT_EQ(store_.ListWebhookEndpoints("brand-1").size(), 1u);
  // The same body written otherwise is the same request; another body is not.
  EXPECT_EQ(Call("POST", "/v1/webhooks/endpoints", "{ \"url\" : \"https://hooks.example.com/in\" }",
                 "brand-1", kScope, key)
                .body,
            first.body);
  ApiResponse other =
      Call("POST", "/v1/webhooks/endpoints",
           json{{"url", "https://hooks.example.com/other"}}.dump(), "brand-1", kScope, key);
  EXPECT_EQ(other.status, 422);
  EXPECT_EQ(json::parse(other.body)["error"], "idempotency_key_reused");

  const std::string id = json::parse(first.body)["id"];
  const std::string original = json::parse(first.body)["secret"];
  const std::map<std::string, std::string> rotate_key = {{"idempotency-key", "rotate-1"}};
  const std::string rotate = "/v1/webhooks/endpoints/" + id + "/rotate-secret";
  ApiResponse rotated = Call("POST", rotate, "", "brand-1", kScope, rotate_key);
  ApiResponse retried = Call("POST", rotate, "", "brand-1", kScope, rotate_key);
  ASSERT_EQ(rotated.status, 200) << rotated.body;
  EXPECT_EQ(retried.body, rotated.body);
  const store::WebhookEndpoint stored = store_.ListWebhookEndpoints("brand-1").at(0);
  EXPECT_EQ(stored.secret, json::parse(rotated.body)["secret"]);
  EXPECT_EQ(stored.previous_secret, original) << "rotated once: the original still signs";
  // A key is one request: the registration's key on the rotation is refused.
  EXPECT_EQ(Call("POST", rotate, "", "brand-1", kScope, key).status, 422);
}

TEST_F(ApiWebhookRoutesTest, AKeyIsFreedByARefusalThatDidNothingAndRefusedWhenMalformed) {
  const std::map<std::string, std::string> key = {{"idempotency-key", "k-1"}};
  ApiResponse missing =
      Call("POST", "/v1/webhooks/endpoints/ep_missing/rotate-secret", "", "brand-1", kScope, key);
  EXPECT_EQ(missing.status, 404);
  ApiResponse invalid = Call("POST", "/v1/webhooks/endpoints", json{{"url", 5}}.dump(), "brand-1",
                             kScope, {{"idempotency-key", "k-2"}});
  EXPECT_EQ(invalid.status, 400);
  // Both keys are free: a corrected request under each is new.
  const std::string body = json{{"url", "https://hooks.example.com/in"}}.dump();
  EXPECT_EQ(Call("POST", "/v1/webhooks/endpoints", body, "brand-1", kScope, key).status, 201);
  EXPECT_EQ(
      Call("POST", "/v1/webhooks/endpoints", body, "brand-1", kScope, {{"idempotency-key", "k-2"}})
          .status,
      201);

  ApiResponse malformed = Call("POST", "/v1/webhooks/endpoints", body, "brand-1", kScope,
                               {{"idempotency-key", std::string(256, 'k')}});
  EXPECT_EQ(malformed.status, 400);
  EXPECT_EQ(json::parse(malformed.body)["error"], "idempotency_key_invalid");
  // Without a key, each request is its own.
  Call("POST", "/v1/webhooks/endpoints", body);
  EXPECT_EQ(store_.ListWebhookEndpoints("brand-1").size(), 3u);
}

TEST_F(ApiWebhookRoutesTest, EveryRouteWantsTheWebhooksScopeAndAToken) {
  const std::string id = Register()["id"];
  const std::vector<std::pair<std::string, std::string>> routes = {
      {"POST", "/v1/webhooks/endpoints"},
      {"GET", "/v1/webhooks/endpoints"},
      {"DELETE", "/v1/webhooks/endpoints/" + id},
      {"POST", "/v1/webhooks/endpoints/" + id + "/rotate-secret"},
      {"GET", "/v1/webhooks/endpoints/" + id + "/deliveries"},
      {"POST", "/v1/webhooks/deliveries/dlv_1/resend"}};
  for (const auto& [method, path] : routes) {
    ApiResponse forbidden =
        Call(method, path, "{}", "brand-1", "labs:orders:read labs:orders:write");
    EXPECT_EQ(forbidden.status, 403) << method << " " << path;
    EXPECT_NE(forbidden.body.find("labs:webhooks:manage"), std::string::npos);
    ApiRequest anonymous{method, path, "", {}, "", "req-2", ""};
    EXPECT_EQ(api_.Handle(anonymous).status, 401) << method << " " << path;
  }
  EXPECT_EQ(store_.ListWebhookEndpoints("brand-1").size(), 1u);
}

TEST_F(ApiWebhookRoutesTest, BadRequestsGetTheirCodes) {
  ApiResponse invalid = Call(
      "POST", "/v1/webhooks/endpoints",
      json{{"url", "https://hooks.example.com/in"}, {"event_types", {"lab_order.created", "nope"}}}
          .dump());
  ASSERT_EQ(invalid.status, 400);
  json error = json::parse(invalid.body);
  EXPECT_EQ(error["error"], "validation_error");
  EXPECT_EQ(error["details"][0]["path"], "/event_types/1");

  ApiResponse plain_http =
      Call("POST", "/v1/webhooks/endpoints", json{{"url", "http://hooks.example.com/"}}.dump());
  ASSERT_EQ(plain_http.status, 400);
  EXPECT_EQ(json::parse(plain_http.body)["details"][0]["path"], "/url");

  EXPECT_EQ(Call("POST", "/v1/webhooks/endpoints", "{").status, 400);
  ApiRequest text{"POST", "/v1/webhooks/endpoints", "", {}, "url", "req-3", ""};
  text.headers = {{"authorization", "Bearer " + Token("brand-1")}, {"content-type", "text/plain"}};
  EXPECT_EQ(api_.Handle(text).status, 415);

  const std::string id = Register()["id"];
  EXPECT_EQ(Call("GET", "/v1/webhooks/endpoints/" + id + "/deliveries?limit=0").status, 400);
  EXPECT_EQ(Call("GET", "/v1/webhooks/endpoints/" + id + "/deliveries?limit=101").status, 400);
  // A 405 names every method the route takes, in its message and its Allow header.
  ApiResponse put = Call("PUT", "/v1/webhooks/endpoints");
  EXPECT_EQ(put.status, 405);
  EXPECT_EQ(json::parse(put.body)["message"], "Use GET or POST.");
  EXPECT_THAT(put.headers,
              ::testing::Contains(std::pair<std::string, std::string>("Allow", "GET, POST")));
  ApiResponse get_one = Call("GET", "/v1/webhooks/endpoints/" + id);
  EXPECT_EQ(get_one.status, 405);
  EXPECT_EQ(json::parse(get_one.body)["message"], "Use DELETE.");
  EXPECT_THAT(get_one.headers,
              ::testing::Contains(std::pair<std::string, std::string>("Allow", "DELETE")));
  EXPECT_EQ(Call("GET", "/v1/webhooks/deliveries/dlv_1/resend").status, 405);
  EXPECT_EQ(Call("GET", "/v1/webhooks/endpoints/" + id + "/other").status, 404);
}

// A token whose signature holds is the issuer's own: the 401 says what is wrong with it. One whose
// signature does not says only that it is not valid.
TEST_F(ApiWebhookRoutesTest, ARefusedTokenSaysWhyOnceItsSignatureHolds) {
  const long long now =
      std::chrono::duration_cast<std::chrono::seconds>(kT0.time_since_epoch()).count();
  auto message_for = [&](const std::string& token) {
    ApiRequest request;
    request.method = "GET";
    request.path = "/v1/webhooks/endpoints";
    request.headers["authorization"] = "Bearer " + token;
    request.request_id = "req-token";
    ApiResponse response = api_.Handle(request);
    EXPECT_EQ(response.status, 401);
    return json::parse(response.body)["message"].get<std::string>();
  };
  const json claims = {{"sub", "user-1"}, {"brand_id", "brand-1"}, {"scope", kScope}};
  json expired = claims;
  expired["exp"] = now - 1;
  EXPECT_EQ(message_for(auth::MintHs256(kJwtSecret, expired)),
            "The token has expired (or has no exp).");
  json early = claims;
  early["exp"] = now + 3600;
  early["nbf"] = now + 600;
  EXPECT_EQ(message_for(auth::MintHs256(kJwtSecret, early)), "The token is not valid yet (nbf).");
  json no_brand = {{"sub", "user-1"}, {"scope", kScope}, {"exp", now + 3600}};
  EXPECT_EQ(message_for(auth::MintHs256(kJwtSecret, no_brand)), "The token lacks sub or brand_id.");
  // Expired and signed with another secret: nothing about its times is told.
  EXPECT_EQ(message_for(auth::MintHs256(std::string(40, 'x'), expired)), "The token is not valid.");
}

TEST_F(ApiWebhookRoutesTest, RoutesAreLabelledByTemplateNeverById) {
  const std::string id = Register()["id"];
  EXPECT_EQ(Call("GET", "/v1/webhooks/endpoints").route, "/v1/webhooks/endpoints");
  EXPECT_EQ(Call("GET", "/v1/webhooks/endpoints/" + id + "/deliveries").route,
            "/v1/webhooks/endpoints/{id}/deliveries");
  EXPECT_EQ(Call("POST", "/v1/webhooks/endpoints/" + id + "/rotate-secret").route,
            "/v1/webhooks/endpoints/{id}/rotate-secret");
  EXPECT_EQ(Call("POST", "/v1/webhooks/deliveries/dlv_1/resend").route,
            "/v1/webhooks/deliveries/{id}/resend");
  ApiResponse deleted = Call("DELETE", "/v1/webhooks/endpoints/" + id);
  EXPECT_EQ(deleted.route, "/v1/webhooks/endpoints/{id}");
  EXPECT_EQ(deleted.brand_id, "brand-1");

  const std::string metrics = registry_.RenderPrometheus();
  EXPECT_NE(metrics.find("route=\"/v1/webhooks/endpoints/{id}\",method=\"DELETE\",status=\"204\""),
            std::string::npos)
      << metrics;
  EXPECT_NE(metrics.find("route=\"/v1/webhooks/deliveries/{id}/resend\""), std::string::npos);
  EXPECT_EQ(metrics.find(id), std::string::npos) << "no id ever becomes a label";
  EXPECT_EQ(metrics.find("route=\"other\""), std::string::npos);
}

}  // namespace
}  // namespace lab_orders::http
