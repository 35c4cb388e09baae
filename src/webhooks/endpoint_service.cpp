#include "lab_orders/webhooks/endpoint_service.h"

#include <spdlog/spdlog.h>

#include <set>
#include <vector>

#include "lab_orders/common/encoding.h"
#include "lab_orders/common/error.h"
#include "lab_orders/common/svix.h"
#include "lab_orders/model/order_events.h"
#include "lab_orders/webhooks/signer.h"

namespace lab_orders::webhooks {
namespace {

using nlohmann::json;

AppError Invalid(std::vector<FieldViolation> violations) {
  const std::string count = std::to_string(violations.size()) + " violations";
  return AppError(ErrorCode::kValidationError, "The request body is not valid.", count,
                  std::move(violations));
}

AppError NotFound(const char* what) {
  return AppError(ErrorCode::kNotFound, std::string("No such ") + what + ".");
}

// The schema allows only known types, each once; absent: every type (stored as none).
std::vector<std::string> EventTypesOf(const json& body) {
  auto found = body.find("event_types");
  if (found == body.end()) return {};
  return found->get<std::vector<std::string>>();
}

json OptionalTime(const std::optional<store::TimePoint>& at) {
  return at ? json(FormatRfc3339(*at)) : json(nullptr);
}

// The endpoint and its current secret: the answer that shows the secret, this once.
json WithSecret(const store::WebhookEndpoint& endpoint) {
  json answer = EndpointService::Endpoint(endpoint);
  answer["secret"] = endpoint.secret;
  return answer;
}

}  // namespace

EndpointService::EndpointService(store::WebhookStore& store, const DestinationPolicy& policy,
                                 const Clock& clock, IdGenerator& ids,
                                 const nlohmann::json& request_schema)
    : store_(store), policy_(policy), clock_(clock), ids_(ids), request_schema_(request_schema) {}

json EndpointService::Endpoint(const store::WebhookEndpoint& endpoint) {
  return {
      {"id", endpoint.id},
      {"url", endpoint.url},
      {"event_types", endpoint.event_types.empty() ? model::EventTypes() : endpoint.event_types},
      {"disabled", endpoint.disabled},
      {"previous_secret_expires_at", OptionalTime(endpoint.previous_secret_expires_at)},
      {"created_at", FormatRfc3339(endpoint.created_at)}};
}

json EndpointService::Delivery(const store::WebhookDeliveryRecord& delivery) {
  json attempts = json::array();
  for (const store::WebhookAttempt& attempt : delivery.attempts) {
    attempts.push_back({{"attempt", attempt.attempt},
                        {"attempted_at", FormatRfc3339(attempt.attempted_at)},
                        {"status_code", attempt.status ? json(*attempt.status) : json(nullptr)},
                        {"error", attempt.error.empty() ? json(nullptr) : json(attempt.error)},
                        {"latency_ms", attempt.latency_ms}});
  }
  return {{"id", delivery.id},
          {"endpoint_id", delivery.endpoint_id},
          {"webhook_id", delivery.event_id},
          {"event_type", delivery.event_type},
          {"order_id", delivery.order_id},
          {"status", delivery.state},
          {"attempt_count", delivery.attempt_count},
          {"next_attempt_at", OptionalTime(delivery.next_attempt_at)},
          {"created_at", FormatRfc3339(delivery.created_at)},
          {"attempts", attempts}};
}

json EndpointService::Create(const std::string& brand_id, const json& body,
                             store::ActionCheckpoint* key) {
  if (!body.is_object()) throw Invalid({{"", "must be a JSON object"}});
  if (std::vector<FieldViolation> violations = request_schema_.Validate(body);
      !violations.empty()) {
    throw Invalid(std::move(violations));
  }
  const std::string url = body.at("url").get<std::string>();
  DestinationCheck check = policy_.CheckEndpoint(url);
  if (!check.ok()) throw Invalid({{"/url", check.refusal().message}});

  // Under an Idempotency-Key the id is recorded first, and that it was made once it is: an attempt
  // resumed after the endpoint was made (its answer lost) answers with that endpoint instead of
  // making a second, and one made and deleted since is not made again.
  std::optional<std::string> id = SavedField(key, "endpoint_id");
  if (id) {
    if (std::optional<store::WebhookEndpoint> made = FindEndpoint(brand_id, *id)) {
      return WithSecret(*made);
    }
    if (SavedField(key, "made")) throw NotFound("webhook endpoint");
  } else {
    id = "ep_" + ids_.NewUuid();
    if (key) key->save(json{{"endpoint_id", *id}}.dump());
  }
  store::WebhookEndpoint endpoint;
  endpoint.id = *id;
  endpoint.brand_id = brand_id;
  endpoint.url = url;
  endpoint.event_types = EventTypesOf(body);
  endpoint.secret = NewWebhookSecret();
  endpoint.created_at = clock_.Now();
  store_.CreateWebhookEndpoint(endpoint);
  if (key) key->save(json{{"endpoint_id", endpoint.id}, {"made", "yes"}}.dump());
  spdlog::info("webhook endpoint {} registered for brand {}", endpoint.id, brand_id);
  DeliveriesDue();
  return WithSecret(endpoint);
}

json EndpointService::List(const std::string& brand_id) {
  json data = json::array();
  for (const store::WebhookEndpoint& endpoint : store_.ListWebhookEndpoints(brand_id)) {
    data.push_back(Endpoint(endpoint));
  }
  return {{"data", data}};
}

void EndpointService::Delete(const std::string& brand_id, const std::string& id) {
  if (!store_.DeleteWebhookEndpoint(brand_id, id)) throw NotFound("webhook endpoint");
  spdlog::info("webhook endpoint {} of brand {} deleted", id, brand_id);
}

json EndpointService::RotateSecret(const std::string& brand_id, const std::string& id,
                                   store::ActionCheckpoint* key) {
  // Under an Idempotency-Key the new secret's digest is recorded first: an attempt resumed after
  // the rotation (its answer lost) answers with that secret instead of rotating again, which
  // would retire the secret receivers still verify with.
  if (key) {
    // Looked up first, so that an unknown endpoint is refused before anything is recorded.
    std::optional<store::WebhookEndpoint> endpoint = FindEndpoint(brand_id, id);
    if (!endpoint) throw NotFound("webhook endpoint");
    const std::optional<std::string> rotated_to = SavedField(key, "secret_sha256");
    if (rotated_to == HexEncode(Sha256(endpoint->secret))) return WithSecret(*endpoint);
    if (endpoint->previous_secret && rotated_to == HexEncode(Sha256(*endpoint->previous_secret))) {
      // Rotated by this request, then again by another: its secret still signs, as the previous.
      json answer = Endpoint(*endpoint);
      answer["secret"] = *endpoint->previous_secret;
      return answer;
    }
  }
  const std::string secret = NewWebhookSecret();
  if (key) key->save(json{{"secret_sha256", HexEncode(Sha256(secret))}}.dump());
  std::optional<store::WebhookEndpoint> endpoint =
      store_.RotateWebhookSecret(brand_id, id, secret, clock_.Now() + kRotationOverlap);
  if (!endpoint) throw NotFound("webhook endpoint");
  spdlog::info("webhook endpoint {} of brand {}: secret rotated", id, brand_id);
  return WithSecret(*endpoint);
}

std::optional<store::WebhookEndpoint> EndpointService::FindEndpoint(const std::string& brand_id,
                                                                    const std::string& id) {
  // A brand has a handful of endpoints: its list, with their secrets, is read whole.
  for (store::WebhookEndpoint& endpoint : store_.ListWebhookEndpoints(brand_id)) {
    if (endpoint.id == id) return std::move(endpoint);
  }
  return std::nullopt;
}

json EndpointService::Deliveries(const std::string& brand_id, const std::string& endpoint_id,
                                 int limit, const std::optional<std::string>& cursor) {
  // One more than asked: whether there is a next page.
  std::optional<std::vector<store::WebhookDeliveryRecord>> page =
      store_.ListWebhookDeliveries(brand_id, endpoint_id, limit + 1, cursor);
  if (!page) throw NotFound("webhook endpoint");
  json data = json::array();
  for (std::size_t i = 0; i < page->size() && int(i) < limit; ++i) {
    data.push_back(Delivery((*page)[i]));
  }
  json next = nullptr;
  if (int(page->size()) > limit) next = (*page)[std::size_t(limit) - 1].id;
  return {{"data", data}, {"has_more", !next.is_null()}, {"next_cursor", next}};
}

json EndpointService::Resend(const std::string& brand_id, const std::string& delivery_id) {
  std::optional<store::WebhookDeliveryRecord> delivery =
      store_.ResendWebhookDelivery(brand_id, delivery_id, clock_.Now());
  if (!delivery) throw NotFound("webhook delivery");
  spdlog::info("webhook delivery {} ({}) of brand {} resent", delivery_id, delivery->event_id,
               brand_id);
  DeliveriesDue();
  return Delivery(*delivery);
}

void EndpointService::DeliveriesDue() const {
  if (deliveries_due_) deliveries_due_();
}

}  // namespace lab_orders::webhooks
