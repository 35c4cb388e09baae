// GET /metrics over real sockets: the real lab-orders binary against a real junction-sim makes an
// order, books its appointment, answers a replay, both idempotency conflicts and signed Junction
// webhooks, then shows every metric family with non-zero counts, in the Prometheus text format,
// with no patient data and no ids in it.

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <chrono>
#include <future>
#include <iostream>
#include <map>
#include <regex>
#include <sstream>
#include <thread>

#include "support/order_bodies.h"
#include "support/service_process.h"
#include "support/sim_process.h"
#include "support/webhooks.h"

namespace lab_orders::testing {
namespace {

using nlohmann::json;
using std::chrono::milliseconds;
using std::chrono::steady_clock;
using ::testing::HasSubstr;

constexpr const char* kWebhookSecret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
constexpr const char* kBrand = "brand-metrics";
constexpr const char* kUser = "user-metrics-7";
constexpr const char* kPatient = "patient-metrics-9";
constexpr const char* kKey = "metrics-key-31";

// name{labels} -> value, for every sample line.
std::map<std::string, double> Samples(const std::string& text) {
  std::map<std::string, double> samples;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) {
    if (line.empty() || line[0] == '#') continue;
    size_t space = line.rfind(' ');
    samples[line.substr(0, space)] = std::stod(line.substr(space + 1));
  }
  return samples;
}

// The sum of the samples of a series name (name, or name_count for a histogram) whose labels
// include every one of labels.
double Total(const std::map<std::string, double>& samples, const std::string& name,
             const std::vector<std::string>& labels = {}) {
  double total = 0;
  for (const auto& [series, value] : samples) {
    if (series.substr(0, series.find('{')) != name) continue;
    bool all = true;
    for (const std::string& label : labels) all = all && series.find(label) != std::string::npos;
    if (all) total += value;
  }
  return total;
}

class MetricsEndpointTest : public ::testing::Test {
 protected:
  void SetUp() override {
    sim_ = std::make_unique<SimProcess>();
    service_ = std::make_unique<ServiceProcess>(
        sim_->base_url(), FastWorkflow({{"JUNCTION_WEBHOOK_SECRET", kWebhookSecret}}));
    token_ = service_->Token(kBrand, kUser);
  }

  HttpReply CreateOrder(const json& body) {
    return service_->Post("/v1/labs/orders", body.dump(),
                          {{"Authorization", "Bearer " + token_}, {"Idempotency-Key", kKey}});
  }

  json WaitForStatus(const std::string& id, const std::string& status) {
    json order = service_->WaitForOrderStatus(token_, id, status);
    EXPECT_EQ(order["status"], status) << "order never reached " << status << ": " << order.dump();
    return order;
  }

  HttpReply DeliverWebhook(const std::string& id, const std::string& body,
                           const std::string& secret = kWebhookSecret) {
    return service_->Post("/v1/webhooks/junction", body, SignedWebhookHeaders(secret, id, body));
  }

  std::unique_ptr<SimProcess> sim_;
  std::unique_ptr<ServiceProcess> service_;
  std::string token_;
};

TEST_F(MetricsEndpointTest, EveryFamilyCountsARealRunWithoutPhiOrIds) {
  // A brand webhook endpoint where nothing listens: each attempt fails and is retried.
  const std::string webhooks_token = service_->Token(kBrand, kUser, "labs:webhooks:manage");
  const std::map<std::string, std::string> webhooks_auth = {
      {"Authorization", "Bearer " + webhooks_token}, {"Content-Type", "application/json"}};
  HttpReply endpoint = service_->Post("/v1/webhooks/endpoints",
                                      R"({"url": "http://127.0.0.1:9/hooks"})", webhooks_auth);
  ASSERT_EQ(endpoint.status, 201) << endpoint.body;
  const std::string endpoint_id = endpoint.Json()["id"];

  // Junction is slow to create the order, so a second request with the key finds it in progress.
  sim_->LoadScript({{"operations", {{"create_order", {{{"from_call", 1}, {"delay_ms", 1500}}}}}}});
  auto first =
      std::async(std::launch::async, [&] { return CreateOrder(WorkflowOrderBody(kPatient)); });
  sim_->Admin("GET", "/_sim/calls?operation=create_user&wait_handled=1&timeout_ms=10000");
  HttpReply in_progress = CreateOrder(WorkflowOrderBody(kPatient));
  EXPECT_EQ(in_progress.status, 409) << in_progress.body;
  EXPECT_EQ(in_progress.Json()["error"], "idempotency_request_in_progress");
  HttpReply created = first.get();
  ASSERT_EQ(created.status, 201) << created.body;
  json order = created.Json();
  std::string order_id = order["id"];
  std::string junction_order_id = order["junction_order_id"];
  json scheduled = WaitForStatus(order_id, "appointment_scheduled");

  // The same request again is a replay; the key with another body is refused.
  HttpReply replay = CreateOrder(WorkflowOrderBody(kPatient));
  EXPECT_EQ(replay.status, 201);
  EXPECT_EQ(replay.headers["Idempotent-Replayed"], "true");
  HttpReply reused = CreateOrder(WorkflowOrderBody("patient-other"));
  EXPECT_EQ(reused.status, 422) << reused.body;

  // A verified webhook of a type the workflow does not act on, one it cannot read (acknowledged
  // all the same: Junction would retry it for days), and a forged one.
  json ignored_event = {{"event_type", "labtest.order.deleted"},
                        {"data", {{"id", junction_order_id}}}};
  EXPECT_EQ(DeliverWebhook("msg_metrics_ignored", ignored_event.dump()).status, 200);
  json unreadable_event = {{"event_type", "labtest.result.critical"},
                           {"data", {{"id", junction_order_id}}}};
  EXPECT_EQ(DeliverWebhook("msg_metrics_unreadable", unreadable_event.dump()).status, 200);
  EXPECT_EQ(DeliverWebhook("msg_metrics_forged", ignored_event.dump(),
                           "whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD")
                .status,
            401);
  EXPECT_EQ(service_->Get("/v1/no/such/route").status, 404);

  // The order's first event has been attempted (its delivery log says so) before the scrape.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  bool attempted = false;
  while (!attempted && std::chrono::steady_clock::now() < deadline) {
    HttpReply log =
        service_->Get("/v1/webhooks/endpoints/" + endpoint_id + "/deliveries", webhooks_auth);
    ASSERT_EQ(log.status, 200) << log.body;
    const json page = log.Json();
    for (const json& delivery : page["data"]) attempted |= delivery["attempt_count"] > 0;
  }
  ASSERT_TRUE(attempted) << "no webhook delivery was attempted";

  // Scraped twice: the first scrape is counted by the second.
  EXPECT_EQ(service_->Get("/metrics").status, 200);
  HttpReply scrape = service_->Get("/metrics");
  ASSERT_EQ(scrape.status, 200) << scrape.body;
  EXPECT_EQ(scrape.headers["Content-Type"], "text/plain; version=0.0.4; charset=utf-8");
  const std::string& text = scrape.body;
  std::map<std::string, double> samples = Samples(text);

  // Every family, with its # TYPE, and non-zero samples where this run made them.
  for (const auto& [family, type] : std::map<std::string, std::string>{
           {"lab_orders_http_requests_total", "counter"},
           {"lab_orders_http_request_duration_seconds", "histogram"},
           {"lab_orders_junction_calls_total", "counter"},
           {"lab_orders_junction_call_duration_seconds", "histogram"},
           {"lab_orders_jobs_total", "counter"},
           {"lab_orders_jobs_queued", "gauge"},
           {"lab_orders_idempotency_total", "counter"},
           {"lab_orders_junction_webhooks_total", "counter"},
           {"lab_orders_webhook_deliveries_total", "counter"}}) {
    EXPECT_THAT(text, HasSubstr("# HELP " + family + " "));
    EXPECT_THAT(text, HasSubstr("# TYPE " + family + " " + type + "\n"));
    std::string series = type == "histogram" ? family + "_count" : family;
    EXPECT_GT(Total(samples, series), 0) << family << " has no non-zero sample";
  }

  // Requests by route template, method and status; latency by route.
  const std::string requests = "lab_orders_http_requests_total";
  EXPECT_EQ(
      Total(samples, requests, {"route=\"/v1/labs/orders\"", "method=\"POST\"", "status=\"201\""}),
      2);  // the create and its replay
  EXPECT_EQ(Total(samples, requests, {"route=\"/v1/labs/orders\"", "status=\"409\""}), 1);
  EXPECT_EQ(Total(samples, requests, {"route=\"/v1/labs/orders\"", "status=\"422\""}), 1);
  EXPECT_GE(Total(samples, requests,
                  {"route=\"/v1/labs/orders/{id}\"", "method=\"GET\"", "status=\"200\""}),
            1);
  EXPECT_EQ(Total(samples, requests, {"route=\"/v1/webhooks/junction\"", "status=\"200\""}), 2);
  EXPECT_EQ(Total(samples, requests, {"route=\"/v1/webhooks/junction\"", "status=\"401\""}), 1);
  EXPECT_EQ(Total(samples, requests, {"route=\"unknown\"", "status=\"404\""}), 1);
  EXPECT_EQ(Total(samples, requests, {"route=\"/metrics\"", "status=\"200\""}), 1);
  EXPECT_EQ(Total(samples, "lab_orders_http_request_duration_seconds_count",
                  {"route=\"/v1/labs/orders\""}),
            4);
  EXPECT_EQ(samples["lab_orders_http_request_duration_seconds_bucket{route=\"/v1/labs/orders\","
                    "le=\"+Inf\"}"],
            4);
  EXPECT_GT(
      Total(samples, "lab_orders_http_request_duration_seconds_sum", {"route=\"/v1/labs/orders\""}),
      1.0);  // the create waited 1.5 s for Junction

  // Junction calls by operation and outcome, with latency.
  const std::string calls = "lab_orders_junction_calls_total";
  for (const char* operation :
       {"create_user", "create_order", "get_order", "availability", "book_appointment"}) {
    EXPECT_GE(Total(samples, calls,
                    {std::string("operation=\"") + operation + "\"", "outcome=\"success\""}),
              1)
        << operation;
    EXPECT_GE(Total(samples, "lab_orders_junction_call_duration_seconds_count",
                    {std::string("operation=\"") + operation + "\""}),
              1)
        << operation;
  }
  EXPECT_EQ(Total(samples, calls, {"operation=\"create_order\""}), 1);
  EXPECT_EQ(samples["lab_orders_junction_call_duration_seconds_bucket{operation=\"create_order\","
                    "le=\"1\"}"],
            0);  // it took 1.5 s

  // Jobs by kind and result; the queue read from the store: the booked order waits to reconcile.
  EXPECT_GE(Total(samples, "lab_orders_jobs_total", {"kind=\"book_appointment\""}), 1);
  EXPECT_GE(Total(samples, "lab_orders_jobs_total", {"result=\"done\""}), 1);
  EXPECT_EQ(samples["lab_orders_jobs_queued{kind=\"reconcile\"}"], 1);
  EXPECT_EQ(samples["lab_orders_jobs_queued{kind=\"book_appointment\"}"], 0);

  // Idempotency and webhooks.
  EXPECT_EQ(samples["lab_orders_idempotency_total{result=\"replayed\"}"], 1);
  EXPECT_EQ(samples["lab_orders_idempotency_total{result=\"conflict_in_progress\"}"], 1);
  EXPECT_EQ(samples["lab_orders_idempotency_total{result=\"key_reused\"}"], 1);
  EXPECT_EQ(samples["lab_orders_junction_webhooks_total{verdict=\"ignored\"}"], 1);
  EXPECT_EQ(samples["lab_orders_junction_webhooks_total{verdict=\"unreadable_body\"}"], 1);
  EXPECT_EQ(samples["lab_orders_junction_webhooks_total{verdict=\"bad_signature\"}"], 1);
  EXPECT_GE(samples["lab_orders_webhook_deliveries_total{outcome=\"retry\"}"], 1);
  EXPECT_EQ(samples["lab_orders_webhook_deliveries_total{outcome=\"delivered\"}"], 0);
  EXPECT_GE(samples["lab_orders_http_requests_total{route=\"/v1/webhooks/endpoints/{id}/"
                    "deliveries\",method=\"GET\",status=\"200\"}"],
            1);

  // Text format 0.0.4, line by line.
  static const std::regex comment(R"(# (HELP|TYPE) lab_orders_[a-z_]+ .+)");
  static const std::regex sample(
      R"(lab_orders_[a-z_]+(\{([a-z_]+="[^"\\\n]*",)*[a-z_]+="[^"\\\n]*"\})? [0-9.e+-]+)");
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) {
    EXPECT_TRUE(std::regex_match(line, comment) || std::regex_match(line, sample)) << line;
  }

  // No patient data, and no id of any order, user, patient, brand, key or message.
  std::string appointment_id = scheduled["appointment"].value("id", "appointment-id-missing");
  std::vector<std::string> secrets(std::begin(kWorkflowPatientSecrets),
                                   std::end(kWorkflowPatientSecrets));
  secrets.insert(secrets.end(),
                 {"602-555-0144", "Phoenix", order_id, junction_order_id, appointment_id, kBrand,
                  kUser, kPatient, kKey, "msg_metrics", token_, endpoint_id, webhooks_token});
  for (const std::string& secret : secrets) {
    EXPECT_EQ(text.find(secret), std::string::npos) << secret << " appears in /metrics";
  }

  std::cout << "---- GET /metrics ----\n" << text << "---- end ----" << std::endl;
}

TEST_F(MetricsEndpointTest, OnlyGetAndNoAuthentication) {
  HttpReply scrape = service_->Get("/metrics");
  EXPECT_EQ(scrape.status, 200);
  EXPECT_THAT(scrape.body, HasSubstr("# TYPE lab_orders_http_requests_total counter\n"));
  HttpReply post = service_->Post("/metrics", "{}", {{"Content-Type", "application/json"}});
  EXPECT_EQ(post.status, 405);
  HttpReply after = service_->Get("/metrics");
  EXPECT_THAT(after.body,
              HasSubstr("lab_orders_http_requests_total{route=\"/metrics\",method=\"POST\","
                        "status=\"405\"} 1\n"));
}

}  // namespace
}  // namespace lab_orders::testing
