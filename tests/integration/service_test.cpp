// The real lab-orders binary against a real junction-sim, over sockets: POST /v1/labs/orders
// end to end, every error code, idempotency, crash recovery, upstream faults, hostile input.

#include <Poco/Net/StreamSocket.h>
#include <Poco/Pipe.h>
#include <Poco/PipeStream.h>
#include <Poco/StreamCopier.h>
#include <gtest/gtest.h>

#include <atomic>
#include <fstream>
#include <thread>

#include "lab_orders/sim/openapi_validator.h"
#include "support/service_process.h"
#include "support/sim_process.h"

namespace lab_orders::testing {
namespace {

using nlohmann::json;

// Distinctive patient data: none of it may ever appear in a log line or the database file.
constexpr const char* kFirstName = "Quetzalia";
constexpr const char* kLastName = "Vandermolen";
constexpr const char* kEmail = "quetzalia.vandermolen@example.org";
constexpr const char* kPhoneDigits = "6025550187";
constexpr const char* kDob = "1987-06-05";
constexpr const char* kStreet = "742 Evergreen Terrace";

json OrderBody(const std::string& panel = "pcos") {
  return {{"panel_slug", panel},
          {"patient",
           {{"first_name", kFirstName},
            {"last_name", kLastName},
            {"dob", kDob},
            {"email", kEmail},
            {"phone", std::string("(602) 555-0187")},
            {"sex", "female"}}},
          {"address",
           {{"line1", kStreet},
            {"city", "Phoenix"},
            {"state", "AZ"},
            {"zip", "85004"},
            {"country", "US"}}},
          {"total_cents", 18900},
          {"currency", "USD"},
          {"patient_id", "patient-42"}};
}

json ContractSchema(const std::string& name) {
  std::ifstream file(std::string(PROJECT_SOURCE_DIR) + "/schemas/" + name);
  return json::parse(file);
}

class ServiceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    sim_ = std::make_unique<SimProcess>();
    service_ = std::make_unique<ServiceProcess>(sim_->base_url(), ExtraEnvironment());
    token_ = service_->Token("brand-a", "user-1");
  }

  void TearDown() override {
    // No patient data anywhere the service writes, whatever the test did.
    std::string log = service_->Log();
    std::string database = service_->DatabaseBytes();
    for (const char* secret : {kFirstName, kLastName, kEmail, kPhoneDigits, kDob, kStreet}) {
      EXPECT_EQ(log.find(secret), std::string::npos) << secret << " in the service log";
      EXPECT_EQ(database.find(secret), std::string::npos) << secret << " in the database file";
    }
  }

  virtual std::map<std::string, std::string> ExtraEnvironment() { return {}; }

  HttpReply Create(const json& body, const std::string& key, const std::string& token = "") {
    return service_->Post("/v1/labs/orders", body.dump(),
                          {{"Authorization", "Bearer " + (token.empty() ? token_ : token)},
                           {"Idempotency-Key", key}});
  }

  // The body must not carry Junction's words or any patient data.
  void ExpectCleanError(const HttpReply& reply, const std::string& code) {
    json body = reply.Json();
    EXPECT_EQ(body["error"], code) << reply.body;
    EXPECT_TRUE(body["message"].is_string());
    EXPECT_FALSE(body["request_id"].get<std::string>().empty());
    EXPECT_EQ(reply.headers.at("X-Request-Id"), body["request_id"]);
    for (const char* secret : {kFirstName, kLastName, kEmail, kPhoneDigits, kDob, kStreet,
                               "\"detail\"", "Internal Server Error", "Service Unavailable"}) {
      EXPECT_EQ(reply.body.find(secret), std::string::npos) << secret << " in " << reply.body;
    }
  }

  std::unique_ptr<SimProcess> sim_;
  std::unique_ptr<ServiceProcess> service_;
  std::string token_;
};

TEST_F(ServiceTest, ValidOrderIsCreatedAndMatchesTheContract) {
  HttpReply reply = Create(OrderBody(), "key-valid");
  ASSERT_EQ(reply.status, 201) << reply.body;
  json body = reply.Json();
  sim::OpenApiValidator validator(json::object());
  EXPECT_TRUE(
      validator.Validate(ContractSchema("lab-order-201.schema.json"), body, json::array()).empty())
      << reply.body;
  EXPECT_EQ(body["status"], "ordered");
  EXPECT_EQ(body["brand_id"], "brand-a");
  EXPECT_EQ(body["user_id"], "user-1");
  EXPECT_EQ(body["patient_id"], "patient-42");
  EXPECT_TRUE(body.contains("appointment") && body["appointment"].is_null());
  EXPECT_EQ(reply.headers["Content-Type"], "application/json; charset=utf-8");

  // What Junction received: ids only in client_user_id, Junction's field names and formats.
  // (The appointment workflow goes on calling Junction after the 201; see workflow_test.)
  // First, whether a phlebotomist serves the patient's ZIP (Coverage first).
  json calls = sim_->Calls();
  ASSERT_GE(calls.size(), 3u);
  EXPECT_EQ(calls[0]["operation"], "area_info");
  EXPECT_EQ(calls[0]["query"], "zip_code=85004");
  EXPECT_EQ(calls[1]["operation"], "create_user");
  EXPECT_EQ(calls[2]["operation"], "create_order");
  EXPECT_EQ(calls[1]["body"]["client_user_id"], "brand-a:patient-42");
  json order = calls[2]["body"];
  EXPECT_EQ(order["patient_details"]["phone_number"], "+16025550187");
  EXPECT_EQ(order["patient_details"]["gender"], "female");
  EXPECT_EQ(order["patient_address"]["zip"], "85004");
  EXPECT_EQ(order["collection_method"], "at_home_phlebotomy");
  EXPECT_EQ(body["collection_method"], "at_home_phlebotomy");
  EXPECT_EQ(calls[2]["idempotency_key"], "lab-orders:" + body["id"].get<std::string>());

  HttpReply fetched = service_->Get("/v1/labs/orders/" + body["id"].get<std::string>(),
                                    {{"Authorization", "Bearer " + token_}});
  ASSERT_EQ(fetched.status, 200);
  EXPECT_EQ(fetched.Json()["junction_order_id"], body["junction_order_id"]);
}

TEST_F(ServiceTest, EachPanelIsOrderedWithItsLabTest) {
  for (const char* panel :
       {"pcos", "fertility", "hashimotos", "wellness", "hormone_metabolic", "performance"}) {
    HttpReply reply = Create(OrderBody(panel), std::string("panel-") + panel);
    EXPECT_EQ(reply.status, 201) << panel << ": " << reply.body;
  }
  EXPECT_EQ(sim_->Calls("create_order").size(), 6u);
  EXPECT_EQ(sim_->Calls("create_user").size(), 1u) << "the Junction user is made once";
}

TEST_F(ServiceTest, ClientErrorsEachHaveTheirCode) {
  auto auth = [&](std::map<std::string, std::string> headers) {
    headers["Authorization"] = "Bearer " + token_;
    return headers;
  };
  ExpectCleanError(
      service_->Post("/v1/labs/orders", "{\"panel_slug\": ", auth({{"Idempotency-Key", "k"}})),
      "invalid_json");
  json invalid = OrderBody();
  invalid["patient"]["email"] = "not-an-email";
  invalid["address"]["zip"] = "8500";
  HttpReply validation = Create(invalid, "key-invalid");
  ASSERT_EQ(validation.status, 400);
  ExpectCleanError(validation, "validation_error");
  std::set<std::string> paths;
  json validation_body = validation.Json();
  for (const json& detail : validation_body["details"]) paths.insert(detail["path"]);
  EXPECT_TRUE(paths.count("/patient/email") && paths.count("/address/zip")) << validation.body;
  // A member named twice means different things to different parsers: refused, by its path.
  std::string twice = OrderBody().dump();
  twice.insert(1, R"("panel_slug":"pcos",)");
  HttpReply repeated =
      service_->Post("/v1/labs/orders", twice, auth({{"Idempotency-Key", "key-twice"}}));
  ASSERT_EQ(repeated.status, 400) << repeated.body;
  ExpectCleanError(repeated, "validation_error");
  EXPECT_EQ(repeated.Json()["details"][0]["path"], "/panel_slug") << repeated.body;

  HttpReply missing_key = service_->Post("/v1/labs/orders", OrderBody().dump(), auth({}));
  EXPECT_EQ(missing_key.status, 400);
  ExpectCleanError(missing_key, "idempotency_key_missing");
  HttpReply bad_key =
      service_->Post("/v1/labs/orders", OrderBody().dump(),
                     auth({{"Idempotency-Key", std::string(256, 'k')}}));  // over 255

  EXPECT_EQ(bad_key.status, 400);
  ExpectCleanError(bad_key, "idempotency_key_invalid");

  HttpReply no_token =
      service_->Post("/v1/labs/orders", OrderBody().dump(), {{"Idempotency-Key", "k"}});
  EXPECT_EQ(no_token.status, 401);
  ExpectCleanError(no_token, "unauthenticated");
  std::string forged = token_;
  forged[forged.size() - 3] = forged[forged.size() - 3] == 'A' ? 'B' : 'A';
  EXPECT_EQ(Create(OrderBody(), "k", forged).status, 401);
  std::string none =
      "eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0."
      "eyJzdWIiOiJ1IiwiYnJhbmRfaWQiOiJiIiwiZXhwIjo0MDAwMDAwMDAwfQ.";
  EXPECT_EQ(Create(OrderBody(), "k", none).status, 401);

  HttpReply forbidden =
      Create(OrderBody(), "k", service_->Token("brand-a", "u", "labs:orders:read"));
  EXPECT_EQ(forbidden.status, 403);
  ExpectCleanError(forbidden, "forbidden");

  HttpReply media =
      service_->Post("/v1/labs/orders", OrderBody().dump(),
                     auth({{"Idempotency-Key", "k"}, {"Content-Type", "text/plain"}}));
  EXPECT_EQ(media.status, 415);
  ExpectCleanError(media, "unsupported_media_type");

  HttpReply large = service_->Post("/v1/labs/orders", std::string(70 * 1024, ' '),
                                   auth({{"Idempotency-Key", "k"}}));
  EXPECT_EQ(large.status, 413);
  ExpectCleanError(large, "payload_too_large");

  EXPECT_EQ(service_->Get("/v1/labs/orders/nope", auth({})).status, 404);
  EXPECT_EQ(sim_->Calls().size(), 0u) << "nothing reaches Junction for refused requests";
  // The refused requests left the keys free.
  EXPECT_EQ(Create(OrderBody(), "key-invalid").status, 201);
}

TEST_F(ServiceTest, ReplaysTheFirstAnswerAndRefusesADifferentBody) {
  HttpReply first = Create(OrderBody(), "key-replay");
  ASSERT_EQ(first.status, 201);
  json reordered = json::parse(OrderBody().dump(2));  // same content, other whitespace
  HttpReply again = service_->Post(
      "/v1/labs/orders", reordered.dump(4),
      {{"Authorization", "Bearer " + token_}, {"Idempotency-Key", "\"key-replay\""}});
  EXPECT_EQ(again.status, 201);
  EXPECT_EQ(again.body, first.body);
  EXPECT_EQ(again.headers["Idempotent-Replayed"], "true");

  json changed = OrderBody();
  changed["total_cents"] = 100;
  HttpReply reused = Create(changed, "key-replay");
  EXPECT_EQ(reused.status, 422);
  ExpectCleanError(reused, "idempotency_key_reused");

  HttpReply other_brand = Create(OrderBody(), "key-replay", service_->Token("brand-b", "user-9"));
  ASSERT_EQ(other_brand.status, 201);
  EXPECT_NE(other_brand.Json()["id"], first.Json()["id"]);
  EXPECT_EQ(sim_->Calls("create_order").size(), 2u);
}

TEST_F(ServiceTest, EchoesTheBrandsOwnIdsAndCountsThemInTheFingerprint) {
  json body = OrderBody();
  body["external_order_id"] = "acme-order-1001";
  body["metadata"] = {{"campaign", "spring"}, {"clinic", "phoenix-1"}};
  HttpReply created = Create(body, "key-echo");
  ASSERT_EQ(created.status, 201) << created.body;
  EXPECT_EQ(created.Json()["external_order_id"], "acme-order-1001");
  EXPECT_EQ(created.Json()["metadata"], body["metadata"]);
  HttpReply fetched = service_->Get("/v1/labs/orders/" + created.Json()["id"].get<std::string>(),
                                    {{"Authorization", "Bearer " + token_}});
  ASSERT_EQ(fetched.status, 200);
  EXPECT_EQ(fetched.Json()["external_order_id"], "acme-order-1001");
  EXPECT_EQ(fetched.Json()["metadata"], body["metadata"]);

  json changed = body;
  changed["metadata"]["campaign"] = "autumn";
  EXPECT_EQ(Create(changed, "key-echo").status, 422);
  changed = body;
  changed["external_order_id"] = "acme-order-1002";
  EXPECT_EQ(Create(changed, "key-echo").status, 422);

  HttpReply plain = Create(OrderBody(), "key-plain");
  ASSERT_EQ(plain.status, 201);
  EXPECT_TRUE(plain.Json()["external_order_id"].is_null());
  EXPECT_EQ(plain.Json()["metadata"], json::object());
  // The brand's values never reach the log.
  EXPECT_EQ(service_->Log().find("phoenix-1"), std::string::npos);
  EXPECT_EQ(service_->Log().find("acme-order-1001"), std::string::npos);
}

TEST_F(ServiceTest, FiftyConcurrentDuplicatesMakeOneJunctionOrder) {
  // Junction is slow, so the duplicates arrive while the first is still working.
  sim_->LoadScript({{"operations", {{"create_order", {{{"delay_ms", 300}}}}}}});
  std::vector<std::thread> threads;
  std::vector<HttpReply> replies(50);
  for (int i = 0; i < 50; ++i) {
    threads.emplace_back([&, i] { replies[i] = Create(OrderBody(), "key-concurrent"); });
  }
  for (auto& thread : threads) thread.join();
  std::string created_body;
  int created = 0, in_progress = 0;
  for (const HttpReply& reply : replies) {
    if (reply.status == 201) {
      ++created;
      if (created_body.empty()) created_body = reply.body;
      EXPECT_EQ(reply.body, created_body);
    } else {
      EXPECT_EQ(reply.status, 409) << reply.body;
      EXPECT_EQ(reply.Json()["error"], "idempotency_request_in_progress");
      EXPECT_TRUE(reply.headers.count("Retry-After"));
      ++in_progress;
    }
  }
  EXPECT_GE(created, 1);
  EXPECT_EQ(created + in_progress, 50);
  EXPECT_EQ(sim_->Calls("create_order").size(), 1u);
}

TEST_F(ServiceTest, KilledAfterJunctionOrderedResumesWithTheSameOrder) {
  // Junction makes the order, then its answer never comes back: the service is killed there.
  sim_->LoadScript(
      {{"operations",
        {{"create_order",
          {{{"call", 1}, {"fault", "hang"}, {"hang_ms", 30000}, {"when", "after"}}}}}}});
  std::thread request([&] {
    try {
      Create(OrderBody(), "key-crash");
    } catch (const std::exception&) {
      // The connection dies with the service.
    }
  });
  sim_->Admin("GET", "/_sim/calls?operation=create_order&wait_handled=1&timeout_ms=20000");
  service_->Kill();
  request.join();

  service_->Start();
  HttpReply retried = Create(OrderBody(), "key-crash");
  ASSERT_EQ(retried.status, 201) << retried.body;
  json calls = sim_->Calls("create_order");
  ASSERT_EQ(calls.size(), 2u);
  EXPECT_EQ(calls[0]["idempotency_key"], calls[1]["idempotency_key"]);
  // One order at Junction: the resend was answered from Junction's idempotency store.
  HttpReply junction_order =
      sim_->Junction("GET", "/v3/order/" + retried.Json()["junction_order_id"].get<std::string>());
  EXPECT_EQ(junction_order.status, 200);
  EXPECT_EQ(sim_->Stats()["operations"]["create_order"], 2);
  HttpReply replay = Create(OrderBody(), "key-crash");
  EXPECT_EQ(replay.body, retried.body);
}

// A cancel under a key: Junction cancels the order, then its answer never comes back, and the
// service is killed there. The retry under the same key, after the restart, finds Junction
// refusing a second cancel of an order it has cancelled, takes that as the cancel, and answers
// 200; a third try replays that answer.
TEST_F(ServiceTest, KilledWhileJunctionCancelsTheRetryUnderItsKeyIsTheCancel) {
  HttpReply created = Create(OrderBody(), "key-order-to-cancel");
  ASSERT_EQ(created.status, 201) << created.body;
  const std::string cancel =
      "/v1/labs/orders/" + created.Json()["id"].get<std::string>() + "/cancel";
  const std::map<std::string, std::string> headers = {{"Authorization", "Bearer " + token_},
                                                      {"Idempotency-Key", "key-cancel-crash"}};
  sim_->LoadScript(
      {{"operations",
        {{"cancel_order",
          {{{"call", 1}, {"fault", "hang"}, {"hang_ms", 30000}, {"when", "after"}}}}}}});
  std::thread request([&] {
    try {
      service_->Post(cancel, "", headers);
    } catch (const std::exception&) {
      // The connection dies with the service.
    }
  });
  sim_->Admin("GET", "/_sim/calls?operation=cancel_order&wait_handled=1&timeout_ms=20000");
  service_->Kill();
  request.join();

  service_->Start();
  HttpReply retried = service_->Post(cancel, "", headers);
  ASSERT_EQ(retried.status, 200) << retried.body;
  EXPECT_EQ(retried.Json()["status"], "cancelled");
  // The first, and at most one more, which Junction refused (unless the workflow learnt of the
  // cancel first, and the retry found the order cancelled).
  const json calls = sim_->Calls("cancel_order");
  ASSERT_LE(calls.size(), 2u);
  if (calls.size() == 2) {
    EXPECT_EQ(calls[1]["outcome"], 400);
  }
  HttpReply junction_order =
      sim_->Junction("GET", "/v3/order/" + created.Json()["junction_order_id"].get<std::string>());
  EXPECT_EQ(junction_order.Json()["last_event"]["status"],
            "cancelled.at_home_phlebotomy.cancelled");
  HttpReply replay = service_->Post(cancel, "", headers);
  EXPECT_EQ(replay.body, retried.body);
  EXPECT_EQ(replay.headers.at("Idempotent-Replayed"), "true");
}

struct UpstreamFault {
  const char* name;
  json rule;
  const char* expected_code;
};

class ServiceUpstreamFaultTest : public ServiceTest,
                                 public ::testing::WithParamInterface<UpstreamFault> {};

TEST_P(ServiceUpstreamFaultTest, EarnsItsCodeAndTheRetrySucceeds) {
  const UpstreamFault& fault = GetParam();
  json rule = fault.rule;
  if (!rule.contains("calls")) rule["call"] = 1;
  sim_->LoadScript({{"operations", {{"create_order", json::array({rule})}}}});
  HttpReply failed = Create(OrderBody(), "key-fault");
  EXPECT_EQ(failed.status, 502) << failed.body;
  ExpectCleanError(failed, fault.expected_code);

  HttpReply retried = Create(OrderBody(), "key-fault");
  ASSERT_EQ(retried.status, 201) << retried.body;
  EXPECT_EQ(sim_->Calls("create_user").size(), 1u) << "the user step is not repeated";
}

INSTANTIATE_TEST_SUITE_P(
    EveryFault, ServiceUpstreamFaultTest,
    ::testing::Values(
        UpstreamFault{"server_error",
                      {{"status", 500}, {"body", {{"detail", "Internal Server Error"}}}},
                      "junction_upstream_error"},
        UpstreamFault{
            "unavailable", {{"fault", "unavailable"}, {"retry_after", 4}}, "junction_unavailable"},
        UpstreamFault{"rate_limited",
                      {{"fault", "rate_limited"}, {"retry_after", 4}},
                      "junction_unavailable"},
        UpstreamFault{"timeout", {{"fault", "hang"}, {"hang_ms", 10000}}, "junction_timeout"},
        // The client reopens a dropped pooled connection once for an idempotent call: both go.
        UpstreamFault{"reset", {{"fault", "reset"}, {"calls", {1, 2}}}, "junction_unavailable"},
        UpstreamFault{"malformed_json", {{"fault", "malformed_json"}}, "junction_upstream_error"}),
    [](const ::testing::TestParamInfo<UpstreamFault>& info) { return info.param.name; });

TEST_F(ServiceTest, RateLimitedAnswerCarriesRetryAfter) {
  sim_->LoadScript(
      {{"operations",
        {{"create_user", {{{"call", 1}, {"fault", "rate_limited"}, {"retry_after", 9}}}}}}});
  HttpReply failed = Create(OrderBody(), "key-busy");
  ASSERT_EQ(failed.status, 502);
  EXPECT_EQ(failed.headers["Retry-After"], "9");
}

TEST_F(ServiceTest, HostileBodiesGetA4xxAndTheServiceKeepsAnswering) {
  std::map<std::string, std::string> headers = {{"Authorization", "Bearer " + token_},
                                                {"Idempotency-Key", "key-hostile"}};
  EXPECT_EQ(service_->Post("/v1/labs/orders", std::string(1 << 20, 'x'), headers).status, 413);
  json long_string = OrderBody();
  long_string["patient"]["first_name"] = std::string(100000, 'a');
  EXPECT_EQ(service_->Post("/v1/labs/orders", long_string.dump(), headers).status, 413)
      << "100 000 characters are over the body limit";
  json long_field = OrderBody();
  long_field["address"]["zip"] = std::string(20000, '9');
  EXPECT_EQ(service_->Post("/v1/labs/orders", long_field.dump(), headers).status, 400);
  std::string deep = std::string(10000, '[') + std::string(10000, ']');
  EXPECT_EQ(service_->Post("/v1/labs/orders", deep, headers).status, 400);
  std::string invalid_utf8 = OrderBody().dump();
  invalid_utf8.replace(invalid_utf8.find(kFirstName), 3, "\xff\xfe\xc3");
  HttpReply bad_utf8 = service_->Post("/v1/labs/orders", invalid_utf8, headers);
  EXPECT_EQ(bad_utf8.status, 400);
  EXPECT_EQ(bad_utf8.Json()["error"], "invalid_json");
  EXPECT_EQ(service_->Get("/healthz").status, 200);
  EXPECT_EQ(Create(OrderBody(), "key-hostile").status, 201);
}

TEST_F(ServiceTest, ChunkedBodyOverTheLimitIs413) {
  Poco::Net::StreamSocket socket(Poco::Net::SocketAddress("127.0.0.1", service_->port()));
  socket.setReceiveTimeout(Poco::Timespan(20, 0));
  std::string head = "POST /v1/labs/orders HTTP/1.1\r\nHost: t\r\nAuthorization: Bearer " + token_ +
                     "\r\nIdempotency-Key: chunked\r\nContent-Type: application/json\r\n"
                     "Transfer-Encoding: chunked\r\n\r\n";
  socket.sendBytes(head.data(), int(head.size()));
  std::string chunk(8192, ' ');
  char size_line[32];
  std::snprintf(size_line, sizeof size_line, "%zx\r\n", chunk.size());
  for (int i = 0; i < 10; ++i) {  // 80 KiB, no Content-Length to check up front
    std::string piece = size_line + chunk + "\r\n";
    socket.sendBytes(piece.data(), int(piece.size()));
  }
  socket.sendBytes("0\r\n\r\n", 5);
  char buffer[64] = {};
  int received = socket.receiveBytes(buffer, sizeof buffer - 1);
  EXPECT_EQ(std::string(buffer, size_t(std::max(received, 0))).substr(0, 12), "HTTP/1.1 413");
  EXPECT_EQ(service_->Get("/healthz").status, 200);
}

TEST_F(ServiceTest, ListsTheBrandsOrdersNewestFirstWithACursor) {
  for (int i = 0; i < 5; ++i)
    ASSERT_EQ(Create(OrderBody(), "list-" + std::to_string(i)).status, 201);
  ASSERT_EQ(Create(OrderBody(), "list-x", service_->Token("brand-b", "user-2")).status, 201);
  std::map<std::string, std::string> auth = {{"Authorization", "Bearer " + token_}};
  json first = service_->Get("/v1/labs/orders?limit=3", auth).Json();
  ASSERT_EQ(first["data"].size(), 3u);
  ASSERT_TRUE(first["next_cursor"].is_string());
  EXPECT_EQ(first["has_more"], true);
  json second =
      service_
          ->Get("/v1/labs/orders?limit=3&cursor=" + first["next_cursor"].get<std::string>(), auth)
          .Json();
  ASSERT_EQ(second["data"].size(), 2u);
  EXPECT_TRUE(second["next_cursor"].is_null());
  EXPECT_EQ(second["has_more"], false);
  for (const json& order : second["data"]) EXPECT_EQ(order["brand_id"], "brand-a");
  EXPECT_EQ(service_->Get("/v1/labs/orders?limit=0", auth).status, 400);
  // A status there is not lists nothing silently: it is refused, naming the ones there are.
  HttpReply unknown_status = service_->Get("/v1/labs/orders?status=shipped", auth);
  ASSERT_EQ(unknown_status.status, 400);
  const json violation = unknown_status.Json()["details"][0];
  EXPECT_EQ(violation["path"], "/status");
  EXPECT_NE(violation["message"].get<std::string>().find("received, ordered, "), std::string::npos);
  EXPECT_EQ(service_->Get("/v1/labs/orders?status=ordered", auth).status, 200);
  // The route takes GET and POST, and a 405 says so.
  HttpReply put = HttpCall(service_->port(), "PUT", "/v1/labs/orders", "", auth);
  EXPECT_EQ(put.status, 405);
  EXPECT_EQ(put.headers["Allow"], "GET, POST");
  std::string other_id =
      service_
          ->Get("/v1/labs/orders", {{"Authorization", "Bearer " + service_->Token("brand-b", "u")}})
          .Json()["data"][0]["id"];
  EXPECT_EQ(service_->Get("/v1/labs/orders/" + other_id, auth).status, 404);
}

TEST_F(ServiceTest, HealthAndReadinessAndAGracefulStop) {
  EXPECT_EQ(service_->Get("/healthz").status, 200);
  EXPECT_EQ(service_->Get("/readyz").status, 200);
  HttpReply with_id =
      HttpCall(service_->port(), "GET", "/healthz", "", {{"X-Request-Id", "trace-123"}});
  EXPECT_EQ(with_id.headers["X-Request-Id"], "trace-123");
  // A slow order is in flight when SIGTERM arrives: it still finishes, then the process exits 0.
  sim_->LoadScript({{"operations", {{"create_order", {{{"delay_ms", 500}}}}}}});
  HttpReply in_flight;
  std::thread request([&] { in_flight = Create(OrderBody(), "key-graceful"); });
  sim_->Admin("GET", "/_sim/calls?operation=create_user&wait_handled=1&timeout_ms=20000");
  EXPECT_EQ(service_->Terminate(), 0);
  request.join();
  EXPECT_EQ(in_flight.status, 201) << in_flight.body;
  service_->Start();  // for TearDown's checks and the destructor
}

class ServiceShutdownTest : public ServiceTest {
 protected:
  std::map<std::string, std::string> ExtraEnvironment() override {
    return {{"LAB_ORDERS_SHUTDOWN_GRACE_MS", "3000"}};
  }
};

TEST_F(ServiceShutdownTest, NewRequestsDuringTheDrainGetShuttingDown) {
  Poco::Process::requestTermination(service_->pid());
  // Requests race the signal: the first ones may still be served; within the drain window one
  // is refused. Each try is a full round trip, so this waits on the service, not on a timer.
  HttpReply refused;
  for (int attempt = 0; attempt < 5000 && refused.status != 503; ++attempt) {
    refused = Create(OrderBody(), "key-drain-" + std::to_string(attempt));
  }
  ASSERT_EQ(refused.status, 503) << refused.body;
  ExpectCleanError(refused, "shutting_down");
  EXPECT_EQ(service_->Get("/readyz").status, 503);
  EXPECT_EQ(service_->Wait(), 0);
  service_->Start();  // for TearDown's checks and the destructor
}

class ProductionConfigTest : public ::testing::Test {};

TEST_F(ProductionConfigTest, MissingSecretsStopStartUpNamingTheVariable) {
  Poco::Pipe err;
  Poco::Process::Env env = {{"LAB_ORDERS_ENV", "production"},
                            {"LAB_ORDERS_LISTEN", "127.0.0.1:0"},
                            {"PATH", "/usr/bin:/bin"}};
  Poco::ProcessHandle handle =
      Poco::Process::launch(LAB_ORDERS_BINARY, {"serve"}, "/tmp", nullptr, nullptr, &err, env);
  Poco::PipeInputStream stream(err);
  std::string message;
  Poco::StreamCopier::copyToString(stream, message);
  EXPECT_EQ(handle.wait(), 2);
  EXPECT_NE(message.find("LAB_ORDERS_JWT_SECRET"), std::string::npos) << message;
}

}  // namespace
}  // namespace lab_orders::testing
