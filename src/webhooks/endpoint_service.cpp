#include "lab_orders/webhooks/endpoint_service.h"

#include <spdlog/spdlog.h>

#include <set>
#include <vector>

#include "lab_orders/app/error.h"
#include "lab_orders/common/svix.h"
#include "lab_orders/webhooks/order_events.h"

namespace lab_orders::webhooks {
namespace {

using nlohmann::json;

AppError Invalid(const std::string& path, const std::string& message) {
  return AppError(ErrorCode::kValidationError, "The request body is not valid.", "1 violations",
                  {{path, message}});
}

std::vector<std::string> EventTypesOf(const json& body) {
  auto found = body.find("event_types");
  if (found == body.end() || found->is_null()) return {};  // every type
  if (!found->is_array() || found->empty()) {
    throw Invalid("/event_types", "must be a non-empty list of event types");
  }
  std::set<std::string> seen;
  std::vector<std::string> types;
  for (const json& type : *found) {
    if (!type.is_string() || !IsEventType(type.get<std::string>())) {
      throw Invalid("/event_types", "must list only known event types");
    }
    if (seen.insert(type.get<std::string>()).second) types.push_back(type.get<std::string>());
  }
  return types;
}

}  // namespace

EndpointService::EndpointService(store::Store& store, const DestinationPolicy& policy,
                                 const Clock& clock, IdGenerator& ids)
    : store_(store), policy_(policy), clock_(clock), ids_(ids) {}

json EndpointService::Endpoint(const store::WebhookEndpoint& endpoint) {
  return {{"id", endpoint.id},
          {"url", endpoint.url},
          {"event_types", endpoint.event_types.empty() ? EventTypes() : endpoint.event_types},
          {"disabled", endpoint.disabled},
          {"created_at", FormatRfc3339(endpoint.created_at)}};
}

json EndpointService::Create(const std::string& brand_id, const json& body) {
  if (!body.is_object()) throw Invalid("", "must be a JSON object");
  auto url = body.find("url");
  if (url == body.end() || !url->is_string() || url->get_ref<const std::string&>().empty()) {
    throw Invalid("/url", "is required: the https:// URL events are sent to");
  }
  DestinationCheck check = policy_.CheckEndpoint(url->get<std::string>());
  if (!check.ok()) throw Invalid("/url", check.refusal().message);

  store::WebhookEndpoint endpoint;
  endpoint.id = "ep_" + ids_.NewUuid();
  endpoint.brand_id = brand_id;
  endpoint.url = url->get<std::string>();
  endpoint.event_types = EventTypesOf(body);
  endpoint.secret = NewWebhookSecret();
  endpoint.created_at = clock_.Now();
  store_.CreateWebhookEndpoint(endpoint);
  spdlog::info("webhook endpoint {} registered for brand {}", endpoint.id, brand_id);
  json answer = Endpoint(endpoint);
  answer["secret"] = endpoint.secret;
  return answer;
}

json EndpointService::List(const std::string& brand_id) {
  json data = json::array();
  for (const store::WebhookEndpoint& endpoint : store_.ListWebhookEndpoints(brand_id)) {
    data.push_back(Endpoint(endpoint));
  }
  return {{"data", data}};
}

void EndpointService::Delete(const std::string& brand_id, const std::string& id) {
  if (!store_.DeleteWebhookEndpoint(brand_id, id)) {
    throw AppError(ErrorCode::kNotFound, "No such webhook endpoint.");
  }
  spdlog::info("webhook endpoint {} of brand {} deleted", id, brand_id);
}

}  // namespace lab_orders::webhooks
