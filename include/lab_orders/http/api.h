#pragma once

// The HTTP surface of the contract (HTTP surface) as plain request -> response logic; the POCO
// server in server.h only moves bytes. Every error leaves through ErrorResponse, the one mapping to
// HTTP.

#include <atomic>
#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "lab_orders/auth/jwt.h"
#include "lab_orders/common/change_notifier.h"
#include "lab_orders/common/clock.h"
#include "lab_orders/common/error.h"
#include "lab_orders/common/metrics.h"
#include "lab_orders/http/request_reader.h"
#include "lab_orders/orders/booking_links.h"
#include "lab_orders/orders/order_service.h"
#include "lab_orders/orders/result_service.h"
#include "lab_orders/orders/venues.h"
#include "lab_orders/store/store.h"
#include "lab_orders/webhooks/endpoint_service.h"
#include "lab_orders/webhooks/test_event.h"
#include "lab_orders/workflow/junction_webhook.h"
#include "lab_orders/workflow/order_actions.h"

namespace lab_orders::http {

struct ApiRequest {
  std::string method;
  std::string path;
  std::string query;                           // raw, without '?'
  std::map<std::string, std::string> headers;  // names in lower case
  std::string body;
  std::string request_id;
  // The client's IP address (the socket's peer): what per-client rate limits count by.
  std::string client_address;
};

struct ApiResponse {
  int status = 200;
  std::string body;
  // A body compiled into the binary (static storage), sent from where it lies and never copied:
  // a reader of the 1.4 MB reference page then holds a few hundred bytes of head, not a copy.
  // Set only from the compiled-in documents, never from a std::string; body stays empty.
  std::string_view static_body;
  std::vector<std::pair<std::string, std::string>> headers;
  // For the access log: the route template and the brand, never the raw path or PHI.
  std::string route;
  std::string brand_id;

  // The body the wire carries.
  std::string_view Body() const {
    return static_body.empty() ? std::string_view(body) : static_body;
  }
};

ApiResponse ErrorResponse(const AppError& error, const std::string& request_id);

// The patient's booking page and its links (issue 19; src/http/booking_page.h).
struct BookingPageSettings {
  std::map<std::string, std::string> panel_names;  // panel_slug -> what the patient reads
  // The origin the pages are served from (LAB_ORDERS_PUBLIC_BASE_URL's): a form posted from any
  // other is refused. "" accepts the request's own Host.
  std::string public_origin;
  // Page, status and booking requests: per client address, and per link.
  // (An address may be a clinic's, or a carrier's, shared by many patients.)
  double per_address_per_second = 5;
  int per_address_burst = 120;
  double per_link_per_second = 1;
  int per_link_burst = 30;
  // Links made (POST /v1/labs/orders/{id}/booking-url): per API token, and per client address.
  double mint_per_token_per_second = 1;
  int mint_per_token_burst = 20;
  double mint_per_address_per_second = 2;
  int mint_per_address_burst = 60;
};

class ActionKeys;
class BookingPage;

class Api {
 public:
  // webhooks: nullptr when JUNCTION_WEBHOOK_SECRET is not set (the endpoint answers 404).
  // wake_workflow: tells the job runner work was queued.
  Api(orders::OrderService& orders, workflow::OrderActions& actions,
      workflow::JunctionWebhookReceiver* webhooks, const auth::JwtVerifier& verifier,
      store::StoreSchema& store, std::function<void()> wake_workflow = {});

  ~Api();

  // Never throws: every failure becomes the JSON error envelope.
  ApiResponse Handle(const ApiRequest& request) const;

  // The answers that need no thread of their own, for the server's I/O thread: /healthz, and a
  // replay of an order whose key's answer is in memory (its bytes repeating the first request).
  // nullopt for everything else, which Handle answers on a worker, errors included. Reads the
  // request as read off the wire: nothing is copied for a request it leaves to a worker.
  std::optional<ApiResponse> HandleAtOnce(const ReadRequest& request,
                                          const std::string& request_id) const;
  // Whether HandleAtOnce may answer the request at all, from its request line alone: the server
  // asks first, so that a request left to a worker costs the I/O thread nothing more.
  static bool MayAnswerAtOnce(const ReadRequest& request);

  // Serves GET /metrics from registry, counts requests (RecordRequest) and Junction webhook
  // verdicts in it. Call before serving; without it /metrics is 404 and nothing is counted.
  void UseMetrics(metrics::Registry& registry);
  // Serves the brand webhook routes (/v1/webhooks/endpoints..., /v1/webhooks/deliveries/...)
  // with endpoints; without it they answer 404.
  void ServeWebhookEndpointsWith(webhooks::EndpointService& endpoints) { endpoints_ = &endpoints; }
  // Serves POST /v1/webhooks/endpoints/{id}/test with sender; without it that route is 404.
  void SendTestEventsWith(webhooks::TestEventSender& sender) { test_events_ = &sender; }
  // Keeps the Idempotency-Keys of the actions (every POST but order creation, which keeps its
  // own) in store, each leased for lease while its action runs. Without it those routes take no
  // key.
  void KeepActionKeysIn(store::ActionKeyStore& store, const Clock& clock,
                        std::chrono::seconds lease);
  // Serves GET /v1/labs/orders/{id}/result and .../result/pdf with results; without it they
  // answer 404.
  void ServeResultsWith(orders::ResultService& results) { results_ = &results; }
  // Serves GET /v1/labs/venues with venues; without it the route answers 404.
  void ServeVenuesWith(orders::Venues& venues) { venues_ = &venues; }
  // Lets GET /v1/labs/orders/{id}?wait_status=a,b[&wait_ms=N] wait for the order to change (and
  // the booking page's status route, once served).
  void WaitForChangesWith(ChangeNotifier& changes);
  // Serves POST /v1/labs/orders/{id}/booking-url and the patient's page, /book/... . Without it
  // the first answers 404 (booking links are off) and the page does not exist.
  void ServeBookingLinksWith(orders::BookingLinks& links, const Clock& clock,
                             BookingPageSettings settings);

  // The server's report of a request it answered: lab_orders_http_requests_total{route,method,
  // status} and lab_orders_http_request_duration_seconds{route}. Labels come from the route
  // template and bounded sets only, never from the raw path.
  void RecordRequest(const std::string& method, const ApiResponse& response,
                     std::chrono::duration<double> latency) const;

  // After this, new requests get 503 shutting_down while in-flight ones finish.
  void BeginShutdown() { shutting_down_ = true; }

 private:
  ApiResponse Route(const ApiRequest& request, ApiResponse& response) const;
  auth::Principal Authenticate(const ApiRequest& request, const char* scope) const;
  // authorization: the Authorization field's value ("" when absent).
  auth::Principal Authenticate(std::string_view authorization, const char* scope) const;
  ApiResponse OrderRoute(const ApiRequest& request, const std::string& order_id,
                         const std::string& action, ApiResponse& context) const;
  ApiResponse JunctionWebhook(const ApiRequest& request) const;
  // /v1/webhooks/endpoints[/{id}[/action]] and /v1/webhooks/deliveries/{id}/resend.
  ApiResponse BrandWebhookRoute(const ApiRequest& request, ApiResponse& context) const;
  // Runs an action under the request's Idempotency-Key (ActionKeys::Run), or as it is.
  ApiResponse Act(const ApiRequest& request, const std::string& brand_id, std::string_view route,
                  const std::optional<nlohmann::json>& body,
                  const std::function<ApiResponse(store::ActionCheckpoint*)>& act) const;

  orders::OrderService& orders_;
  workflow::OrderActions& actions_;
  workflow::JunctionWebhookReceiver* webhooks_;
  const auth::JwtVerifier& verifier_;
  store::StoreSchema& store_;
  std::function<void()> wake_workflow_;
  ChangeNotifier* changes_ = nullptr;
  webhooks::EndpointService* endpoints_ = nullptr;
  webhooks::TestEventSender* test_events_ = nullptr;
  orders::ResultService* results_ = nullptr;
  orders::Venues* venues_ = nullptr;
  std::unique_ptr<ActionKeys> action_keys_;
  std::unique_ptr<BookingPage> booking_page_;
  std::atomic<bool> shutting_down_{false};
  metrics::Registry* registry_ = nullptr;
  metrics::CounterFamily* requests_ = nullptr;
  metrics::HistogramFamily* request_durations_ = nullptr;
  metrics::CounterFamily* webhook_verdicts_ = nullptr;
};

// The largest request body accepted (the contract (HTTP surface)).
inline constexpr std::size_t kMaxRequestBody = 64 * 1024;

}  // namespace lab_orders::http
