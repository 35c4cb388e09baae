#include <Poco/Net/HTMLForm.h>
#include <spdlog/spdlog.h>

#include <nlohmann/json.hpp>

#include "http/api_helpers.h"
#include "lab_orders/http/api.h"

// The webhook routes: the brand's endpoints (/v1/webhooks/endpoints...) and Junction's own
// (/v1/webhooks/junction).
namespace lab_orders::http {

using nlohmann::json;
using namespace api_detail;

ApiResponse Api::BrandWebhookRoute(const ApiRequest& request, ApiResponse& context) const {
  auto only = [&](std::string_view allowed) { RequireMethod(request, allowed); };
  auto brand = [&] {
    context.brand_id = Authenticate(request, kWebhooksScope).brand_id;
    if (endpoints_ == nullptr) throw AppError(ErrorCode::kNotFound, "No such route.");
    return context.brand_id;
  };
  const std::string& path = request.path;
  std::string id, action;
  if (path == "/v1/webhooks/endpoints") {
    context.route = "/v1/webhooks/endpoints";
    if (request.method == "POST") {
      const std::string brand_id = brand();
      const json body = ParseJsonBody(request);
      return Act(request, brand_id, context.route, body, [&](store::ActionCheckpoint* checkpoint) {
        return JsonResponse(201, endpoints_->Create(brand_id, body, checkpoint));
      });
    }
    only("GET, POST");
    return JsonResponse(200, endpoints_->List(brand()));
  }
  if (IsResourcePath(path, "/v1/webhooks/endpoints/", &id, &action)) {
    if (action.empty()) {
      context.route = "/v1/webhooks/endpoints/{id}";
      only("DELETE");
      const std::string brand_id = brand();
      endpoints_->Delete(brand_id, id);
      ApiResponse response;
      response.status = 204;
      return response;
    }
    if (action == "/test") {
      context.route = "/v1/webhooks/endpoints/{id}/test";
      only("POST");
      const std::string brand_id = brand();
      if (test_events_ == nullptr) throw AppError(ErrorCode::kNotFound, "No such route.");
      return Act(request, brand_id, context.route, std::nullopt,
                 [&](store::ActionCheckpoint* checkpoint) {
                   return JsonResponse(200, test_events_->Send(brand_id, id, checkpoint));
                 });
    }
    if (action == "/rotate-secret") {
      context.route = "/v1/webhooks/endpoints/{id}/rotate-secret";
      only("POST");
      const std::string brand_id = brand();
      return Act(request, brand_id, context.route, std::nullopt,
                 [&](store::ActionCheckpoint* checkpoint) {
                   return JsonResponse(200, endpoints_->RotateSecret(brand_id, id, checkpoint));
                 });
    }
    if (action == "/deliveries") {
      context.route = "/v1/webhooks/endpoints/{id}/deliveries";
      only("GET");
      const std::string brand_id = brand();
      Poco::Net::HTMLForm query;
      ParseQuery(request, &query);
      return JsonResponse(200,
                          endpoints_->Deliveries(brand_id, id, PageLimit(query), Cursor(query)));
    }
  }
  if (IsResourcePath(path, "/v1/webhooks/deliveries/", &id, &action) && action == "/resend") {
    context.route = "/v1/webhooks/deliveries/{id}/resend";
    only("POST");
    const std::string brand_id = brand();
    return Act(request, brand_id, context.route, std::nullopt, [&](store::ActionCheckpoint*) {
      return JsonResponse(202, endpoints_->Resend(brand_id, id));
    });
  }
  context.route = "unknown";
  throw AppError(ErrorCode::kNotFound, "No such route.");
}

ApiResponse Api::JunctionWebhook(const ApiRequest& request) const {
  if (webhooks_ == nullptr) {
    throw AppError(ErrorCode::kNotFound,
                   "Junction webhooks are not configured (JUNCTION_WEBHOOK_SECRET).");
  }
  workflow::WebhookHeaders headers{Header(request, "svix-id"), Header(request, "svix-timestamp"),
                                   Header(request, "svix-signature")};
  workflow::WebhookVerdict verdict = webhooks_->Receive(headers, request.body);
  if (webhook_verdicts_) webhook_verdicts_->Inc({workflow::WebhookVerdictName(verdict)});
  // The svix-id is Junction's message id: safe to log, and what its dashboard shows.
  std::string log_id = headers.id.size() <= 64 ? headers.id : headers.id.substr(0, 64);
  spdlog::info("junction webhook {}: {}", log_id, workflow::WebhookVerdictName(verdict));
  switch (verdict) {
    case workflow::WebhookVerdict::kAccepted:
      if (wake_workflow_) wake_workflow_();
      return JsonResponse(200, {{"received", true}});
    case workflow::WebhookVerdict::kDuplicate:
      return JsonResponse(200, {{"received", true}, {"duplicate", true}});
    case workflow::WebhookVerdict::kIgnored:
    case workflow::WebhookVerdict::kUnknownOrder:
      return JsonResponse(200, {{"received", true}, {"ignored", true}});
    case workflow::WebhookVerdict::kUnreadableBody:
      // Answered 200: Junction retries anything else for days, and each retry reads the same.
      // Counted (lab_orders_junction_webhooks_total) and logged by svix-id for an operator.
      spdlog::warn("junction webhook {}: signed but unreadable; acknowledged, not applied", log_id);
      return JsonResponse(200, {{"received", true}, {"unreadable", true}});
    case workflow::WebhookVerdict::kBadSignature:
    case workflow::WebhookVerdict::kStaleTimestamp:
    case workflow::WebhookVerdict::kMalformedHeaders:
      break;
  }
  throw AppError(ErrorCode::kInvalidSignature,
                 "The webhook signature does not verify (svix-id, svix-timestamp, "
                 "svix-signature; 5-minute tolerance).",
                 workflow::WebhookVerdictName(verdict));
}

}  // namespace lab_orders::http
