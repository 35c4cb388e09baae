#include "lab_orders/http/api.h"

#include <Poco/Net/HTMLForm.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>
#include <string_view>

#include "http/action_keys.h"
#include "http/api_helpers.h"
#include "http/booking_page.h"
#include "lab_orders/common/strict_json.h"
#include "lab_orders/http/error_status.h"
#include "lab_orders/http/openapi_document.h"
#include "lab_orders/http/reference_page.h"
#include "lab_orders/model/order_status.h"

namespace lab_orders::http {

using nlohmann::json;
using namespace api_detail;

ApiResponse ErrorResponse(const AppError& error, const std::string& request_id) {
  json body = {{"error", ErrorCodeName(error.code())},
               {"message", error.what()},
               {"request_id", request_id}};
  if (!error.details().empty()) {
    json details = json::array();
    for (const FieldViolation& violation : error.details()) {
      details.push_back({{"path", violation.path}, {"message", violation.message}});
    }
    body["details"] = details;
  }
  ApiResponse response = JsonResponse(HttpStatusFor(error.code()), body);
  if (error.retry_after_seconds) {
    response.headers.emplace_back("Retry-After", std::to_string(*error.retry_after_seconds));
  }
  if (!error.allowed_methods.empty()) response.headers.emplace_back("Allow", error.allowed_methods);
  if (error.code() == ErrorCode::kUnauthenticated) {
    response.headers.emplace_back("WWW-Authenticate", "Bearer");
  }
  return response;
}

Api::Api(orders::OrderService& orders, workflow::OrderActions& actions,
         workflow::JunctionWebhookReceiver* webhooks, const auth::JwtVerifier& verifier,
         store::StoreSchema& store, std::function<void()> wake_workflow)
    : orders_(orders),
      actions_(actions),
      webhooks_(webhooks),
      verifier_(verifier),
      store_(store),
      wake_workflow_(std::move(wake_workflow)) {}

Api::~Api() = default;

void Api::WaitForChangesWith(ChangeNotifier& changes) {
  changes_ = &changes;
  if (booking_page_) booking_page_->WaitForChangesWith(changes);
}

void Api::ServeBookingLinksWith(orders::BookingLinks& links, const Clock& clock,
                                BookingPageSettings settings) {
  booking_page_ = std::make_unique<BookingPage>(links, actions_, clock, std::move(settings));
  if (changes_) booking_page_->WaitForChangesWith(*changes_);
}

void Api::KeepActionKeysIn(store::ActionKeyStore& store, const Clock& clock,
                           std::chrono::seconds lease) {
  action_keys_ = std::make_unique<ActionKeys>(store, clock, lease);
  if (registry_) action_keys_->UseMetrics(*registry_);
}

ApiResponse Api::Act(const ApiRequest& request, const std::string& brand_id, std::string_view route,
                     const std::optional<json>& body,
                     const std::function<ApiResponse(store::ActionCheckpoint*)>& act) const {
  if (!action_keys_) return act(nullptr);
  return action_keys_->Run(request, brand_id, route, body, act);
}

void Api::UseMetrics(metrics::Registry& registry) {
  registry_ = &registry;
  if (action_keys_) action_keys_->UseMetrics(registry);
  std::vector<metrics::LabelSpec> route = {{"route", RouteTemplates()}};
  requests_ =
      &registry.Counter("lab_orders_http_requests_total",
                        "HTTP requests answered, by route template, method and status.",
                        {route[0],
                         {"method", {"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"}},
                         {"status", metrics::HttpStatusValues()}});
  request_durations_ = &registry.Histogram(
      "lab_orders_http_request_duration_seconds",
      "Time from a request's arrival to its answer being sent, in seconds.", route);
  webhook_verdicts_ = &registry.Counter("lab_orders_junction_webhooks_total",
                                        "Junction webhook deliveries received, by verdict.",
                                        {{"verdict", WebhookVerdictNames()}});
}

void Api::RecordRequest(const std::string& method, const ApiResponse& response,
                        std::chrono::duration<double> latency) const {
  if (requests_ == nullptr) return;
  const std::string& route = response.route.empty() ? kUnknownRoute : response.route;
  requests_->Inc({route, method, std::to_string(response.status)});
  request_durations_->Observe({route}, latency.count());
}

auth::Principal Api::Authenticate(const ApiRequest& request, const char* scope) const {
  return Authenticate(Header(request, "authorization"), scope);
}

auth::Principal Api::Authenticate(std::string_view header, const char* scope) const {
  constexpr std::string_view prefix = "Bearer ";
  if (header.size() <= prefix.size() ||
      !std::equal(prefix.begin(), prefix.end(), header.begin(),
                  [](char a, char b) { return std::tolower(a) == std::tolower(b); })) {
    throw AppError(ErrorCode::kUnauthenticated, "A Bearer token is required.");
  }
  auto verified = verifier_.Verify(header.substr(prefix.size()));
  if (auto* failure = std::get_if<auth::AuthFailure>(&verified)) {
    throw AppError(ErrorCode::kUnauthenticated, TokenFailureMessage(*failure),
                   auth::AuthFailureName(*failure));
  }
  auth::Principal principal = std::get<auth::Principal>(verified);
  // Brand ids become part of Junction's client_user_id ("<brand>:<id>"): no separators in them.
  bool plain_brand = principal.brand_id.size() <= 64 &&
                     std::all_of(principal.brand_id.begin(), principal.brand_id.end(), [](char c) {
                       return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_';
                     });
  if (!plain_brand) {
    throw AppError(ErrorCode::kUnauthenticated, "The token's brand_id is not a usable id.",
                   "brand_id with separators");
  }
  if (!principal.HasScope(scope)) {
    throw AppError(ErrorCode::kForbidden, std::string("The token lacks the scope ") + scope + ".");
  }
  return principal;
}

ApiResponse Api::Handle(const ApiRequest& request) const {
  // Route fills in the route template and the brand as soon as it knows them, for the access log.
  ApiResponse context;
  auto with_context = [&](ApiResponse answer) {
    answer.route = context.route;
    answer.brand_id = context.brand_id;
    answer.headers.emplace_back("X-Request-Id", request.request_id);
    return answer;
  };
  try {
    if (shutting_down_ && request.path != "/healthz") {
      throw AppError(ErrorCode::kShuttingDown, "The service is shutting down; retry shortly.");
    }
    return with_context(Route(request, context));
  } catch (const AppError& error) {
    if (HttpStatusFor(error.code()) >= 500) {
      spdlog::warn("request {} failed: {} ({})", request.request_id, ErrorCodeName(error.code()),
                   error.log_detail());
    }
    return with_context(ErrorResponse(error, request.request_id));
  } catch (const store::StoreUnavailable& e) {
    spdlog::error("request {}: store unavailable: {}", request.request_id, e.what());
    return with_context(ErrorResponse(
        AppError(ErrorCode::kStoreUnavailable, "The service cannot reach its database; retry."),
        request.request_id));
  } catch (const std::exception& e) {
    spdlog::error("request {}: unexpected error: {}", request.request_id, e.what());
    return with_context(ErrorResponse(
        AppError(ErrorCode::kInternalError, "Something went wrong; retry."), request.request_id));
  }
}

bool Api::MayAnswerAtOnce(const ReadRequest& request) {
  return request.target == "/healthz" ||
         (request.method == "POST" && request.target == "/v1/labs/orders");
}

std::optional<ApiResponse> Api::HandleAtOnce(const ReadRequest& request,
                                             const std::string& request_id) const {
  if (!MayAnswerAtOnce(request)) return std::nullopt;
  if (request.target == "/healthz") {
    ApiRequest probe;
    probe.method = request.method;
    probe.path = request.target;
    probe.request_id = request_id;
    return Handle(probe);
  }
  if (shutting_down_) return std::nullopt;
  const std::string* key = request.Field("idempotency-key");
  const std::string* authorization = request.Field("authorization");
  const std::string* content_type = request.Field("content-type");
  if (key == nullptr || authorization == nullptr || content_type == nullptr) return std::nullopt;
  // Every check the worker's path makes, in the same order; any failure is the worker's to
  // answer, so that an error is produced in one place.
  try {
    const auth::Principal principal = Authenticate(*authorization, "labs:orders:write");
    RequireJsonMedia(*content_type);
    std::optional<orders::StoredAnswer> replay =
        orders_.ReplayFromMemory(principal, *key, request.body);
    if (!replay) return std::nullopt;
    ApiResponse response;
    response.status = replay->status;
    response.body = std::move(replay->body);
    response.headers.emplace_back("Idempotent-Replayed", "true");
    response.headers.emplace_back("X-Request-Id", request_id);
    response.route = "/v1/labs/orders";
    response.brand_id = principal.brand_id;
    return response;
  } catch (const std::exception&) {
    return std::nullopt;
  }
}

ApiResponse Api::Route(const ApiRequest& request, ApiResponse& context) const {
  const std::string& method = request.method;
  const std::string& path = request.path;
  auto only = [&](std::string_view allowed) { RequireMethod(request, allowed); };
  if (path == "/healthz") {
    context.route = "/healthz";
    only("GET");
    return JsonResponse(200, {{"status", "ok"}});
  }
  if (path == "/readyz") {
    context.route = "/readyz";
    only("GET");
    if (!store_.Ready()) {
      throw AppError(ErrorCode::kStoreUnavailable, "The database is not ready.");
    }
    return JsonResponse(200, {{"status", "ready"}});
  }
  if (path == "/metrics") {
    context.route = "/metrics";
    only("GET");
    if (registry_ == nullptr) throw AppError(ErrorCode::kNotFound, "Metrics are not enabled.");
    ApiResponse response;
    response.body = registry_->RenderPrometheus();
    response.headers.emplace_back("Content-Type", metrics::kPrometheusContentType);
    return response;
  }
  if (path == "/openapi.json") {
    context.route = "/openapi.json";
    only("GET");
    ApiResponse response;
    static const std::string_view document = OpenApiDocumentText();  // measured once
    response.static_body = document;
    return response;
  }
  if (path == "/docs") {
    context.route = "/docs";
    only("GET");
    ApiResponse response;
    static const std::string_view page = ReferencePageText();  // measured once
    response.static_body = page;
    response.headers.emplace_back("Content-Type", "text/html; charset=utf-8");
    response.headers.emplace_back("Content-Security-Policy", kReferencePagePolicy);
    response.headers.emplace_back("X-Content-Type-Options", "nosniff");
    response.headers.emplace_back("Referrer-Policy", "no-referrer");
    return response;
  }
  if (path == "/v1/labs/orders") {
    context.route = "/v1/labs/orders";
    if (method == "POST") {
      auth::Principal principal = Authenticate(request, "labs:orders:write");
      context.brand_id = principal.brand_id;
      RequireJsonMedia(request);
      // Parsed only when needed: a retry repeating its key's first request is answered from
      // its bytes.
      orders::StoredAnswer answer =
          orders_.CreateOrder(principal, OptionalHeader(request, "idempotency-key"),
                              {request.body, [&request] { return ParseJsonText(request); }});
      ApiResponse response;
      response.status = answer.status;
      response.body = answer.body;
      if (answer.replayed) response.headers.emplace_back("Idempotent-Replayed", "true");
      return response;
    }
    only("GET, POST");
    auth::Principal principal = Authenticate(request, "labs:orders:read");
    context.brand_id = principal.brand_id;
    Poco::Net::HTMLForm query;
    ParseQuery(request, &query);
    std::optional<std::string> status;
    if (query.has("status")) status = query.get("status");
    if (status && !model::IsOrderStatus(*status)) {
      std::string allowed;
      for (std::string_view known : model::kOrderStatuses) {
        allowed += (allowed.empty() ? "" : ", ") + std::string(known);
      }
      throw AppError(ErrorCode::kValidationError, "The query is not valid.", "",
                     {{"/status", "must be one of " + allowed}});
    }
    return JsonResponse(200,
                        orders_.ListOrders(principal, status, PageLimit(query), Cursor(query)));
  }
  if (path == "/v1/labs/venues" && venues_ != nullptr) {
    context.route = "/v1/labs/venues";
    only("GET");
    context.brand_id = Authenticate(request, "labs:orders:read").brand_id;
    Poco::Net::HTMLForm query;
    ParseQuery(request, &query);
    const std::string zip = query.get("zip", "");
    const bool zip_ok = zip.size() == 5 && std::all_of(zip.begin(), zip.end(),
                                                       [](char c) { return c >= '0' && c <= '9'; });
    const int radius = query.has("radius") ? WholeNumber(query.get("radius"), 3).value_or(0) : 25;
    std::vector<FieldViolation> violations;
    if (!zip_ok) violations.push_back({"/zip", "is required: a 5-digit US ZIP code"});
    if (!orders::Venues::IsAllowedRadius(radius)) {
      violations.push_back({"/radius", "must be 10, 20, 25, 50 or 100 (miles)"});
    }
    if (!violations.empty()) {
      throw AppError(ErrorCode::kValidationError, "The query is not valid.", "",
                     std::move(violations));
    }
    return JsonResponse(200, venues_->Near(zip, radius));
  }
  if (path == "/v1/labs/cancellation-reasons") {
    context.route = "/v1/labs/cancellation-reasons";
    only("GET");
    context.brand_id = Authenticate(request, "labs:orders:read").brand_id;
    Poco::Net::HTMLForm query;
    ParseQuery(request, &query);
    // A service center's appointments have reasons of their own.
    const std::string channel = query.get("collection_method", model::kAtHome);
    if (channel != model::kAtHome && channel != model::kWalkIn) {
      throw AppError(ErrorCode::kValidationError, "The query is not valid.", "",
                     {{"/collection_method", "must be at_home_phlebotomy or walk_in"}});
    }
    return JsonResponse(200, actions_.CancellationReasons(channel));
  }
  if (path == "/v1/webhooks/junction") {
    context.route = "/v1/webhooks/junction";
    only("POST");
    return JunctionWebhook(request);
  }
  if (path.rfind("/v1/webhooks/", 0) == 0) return BrandWebhookRoute(request, context);
  if (path.rfind("/book/", 0) == 0 && booking_page_) return booking_page_->Serve(request, context);
  std::string order_id, action;
  if (IsResourcePath(path, "/v1/labs/orders/", &order_id, &action)) {
    return OrderRoute(request, order_id, action, context);
  }
  context.route = "unknown";
  throw AppError(ErrorCode::kNotFound, "No such route.");
}

ApiResponse Api::OrderRoute(const ApiRequest& request, const std::string& order_id,
                            const std::string& action, ApiResponse& context) const {
  auto only = [&](std::string_view allowed) { RequireMethod(request, allowed); };
  auto principal_for = [&](const char* scope) {
    auth::Principal principal = Authenticate(request, scope);
    context.brand_id = principal.brand_id;
    return principal;
  };
  if (action.empty()) {
    context.route = "/v1/labs/orders/{id}";
    only("GET");
    auth::Principal principal = principal_for("labs:orders:read");
    json order = orders_.GetOrder(principal, order_id);
    Poco::Net::HTMLForm query;
    ParseQuery(request, &query);
    if (!query.has("wait_status") || changes_ == nullptr) return JsonResponse(200, order);
    // Long poll: answer once the order reaches one of these statuses, or when the wait is over
    // (the order as it stands then; the client reads its status).
    std::set<std::string> wanted;
    std::istringstream statuses(query.get("wait_status"));
    for (std::string status; std::getline(statuses, status, ',');) wanted.insert(status);
    const int wait_ms = WaitMilliseconds(query, 10000);
    changes_->WaitUntil(
        [&] {
          order = orders_.GetOrder(principal, order_id);
          return wanted.contains(order.value("status", ""));
        },
        std::chrono::steady_clock::now() + std::chrono::milliseconds(wait_ms));
    return JsonResponse(200, order);
  }
  if (action == "/cancel") {
    context.route = "/v1/labs/orders/{id}/cancel";
    only("POST");
    const auth::Principal principal = principal_for("labs:orders:write");
    return Act(request, principal.brand_id, context.route, std::nullopt,
               [&](store::ActionCheckpoint* checkpoint) {
                 return JsonResponse(200, actions_.Cancel(principal, order_id, checkpoint));
               });
  }
  if (action == "/appointment/availability") {
    context.route = "/v1/labs/orders/{id}/appointment/availability";
    only("GET");
    const auth::Principal principal = principal_for("labs:orders:read");
    Poco::Net::HTMLForm query;
    ParseQuery(request, &query);
    std::optional<std::string> site_code;
    if (query.has("site_code")) {
      site_code = query.get("site_code");
      const bool valid = !site_code->empty() && site_code->size() <= 32 &&
                         site_code->find_first_not_of(
                             "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrs"
                             "tuvwxyz0123456789-_") == std::string::npos;
      if (!valid) {
        throw AppError(ErrorCode::kValidationError, "The query is not valid.", "",
                       {{"/site_code", "must be a site_code from GET /v1/labs/venues"}});
      }
    }
    return JsonResponse(200, actions_.Availability(principal, order_id, site_code));
  }
  if (action == "/appointment") {
    context.route = "/v1/labs/orders/{id}/appointment";
    only("POST");
    const auth::Principal principal = principal_for("labs:orders:write");
    const json body = ParseJsonBody(request);
    return Act(request, principal.brand_id, context.route, body,
               [&](store::ActionCheckpoint* checkpoint) {
                 return JsonResponse(200, actions_.Book(principal, order_id, body, checkpoint));
               });
  }
  if (action == "/appointment/cancel") {
    context.route = "/v1/labs/orders/{id}/appointment/cancel";
    only("POST");
    const auth::Principal principal = principal_for("labs:orders:write");
    const json body = ParseJsonBody(request);
    return Act(request, principal.brand_id, context.route, body,
               [&](store::ActionCheckpoint* checkpoint) {
                 return JsonResponse(
                     200, actions_.CancelAppointment(principal, order_id, body, checkpoint));
               });
  }
  if (action == "/booking-url") {
    context.route = "/v1/labs/orders/{id}/booking-url";
    only("POST");
    const auth::Principal principal = principal_for("labs:orders:write");
    if (!booking_page_) {
      throw AppError(ErrorCode::kNotFound,
                     "Booking links are not enabled on this service: it needs "
                     "LAB_ORDERS_PUBLIC_BASE_URL.");
    }
    // The body is optional: {"expires_in_seconds"} for a link shorter-lived than the default.
    std::optional<json> body;
    if (!request.body.empty()) body = ParseJsonBody(request);
    return Act(request, principal.brand_id, context.route, body, [&](store::ActionCheckpoint*) {
      return JsonResponse(201, booking_page_->Mint(request, principal, order_id, body));
    });
  }
  if ((action == "/result" || action == "/result/pdf") && results_ != nullptr) {
    context.route = "/v1/labs/orders/{id}" + action;
    only("GET");
    const auth::Principal principal = principal_for(kResultsScope);
    ApiResponse response;
    // Results are PHI: no cache along the way keeps a copy.
    response.headers.emplace_back("Cache-Control", "no-store");
    if (action == "/result") {
      response.body = results_->Latest(principal, order_id, request.request_id).dump();
    } else {
      response.body = results_->Pdf(principal, order_id, request.request_id);
      response.headers.emplace_back("Content-Type", "application/pdf");
      response.headers.emplace_back("Content-Disposition", "inline; filename=\"result.pdf\"");
    }
    return response;
  }
  context.route = "unknown";
  throw AppError(ErrorCode::kNotFound, "No such route.");
}

}  // namespace lab_orders::http
