#pragma once

// A brand's webhook endpoints (scope labs:webhooks:manage): register one (its URL checked by the
// destination policy, its secret made here and shown once), list them (never their secrets),
// delete one, rotate its secret, read its delivery log and resend a delivery. Plain logic: the
// HTTP surface maps its JSON and AppErrors.

#include <functional>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "lab_orders/common/clock.h"
#include "lab_orders/common/ids.h"
#include "lab_orders/common/schema_validator.h"
#include "lab_orders/store/action_key_store.h"
#include "lab_orders/store/webhook_store.h"
#include "lab_orders/webhooks/destination_policy.h"

namespace lab_orders::webhooks {

class EndpointService {
 public:
  // request_schema: #/components/schemas/WebhookEndpointRequest of schemas/openapi.json.
  EndpointService(store::WebhookStore& store, const DestinationPolicy& policy, const Clock& clock,
                  IdGenerator& ids, const nlohmann::json& request_schema);

  // Called when deliveries may have become due (an endpoint registered, a delivery resent), so
  // the dispatcher goes now rather than at its next interval.
  void OnDeliveriesDue(std::function<void()> callback) { deliveries_due_ = std::move(callback); }

  // {"url", "event_types"?} (event_types: a non-empty list of known types; absent: all of them).
  // The endpoint as Endpoint() shows it, plus "secret" ("whsec_" + 32 random bytes), this once.
  // AppError kValidationError naming the field otherwise.
  // key: the request's Idempotency-Key, or nullptr; an attempt resumed under it after the
  // endpoint was made answers with that endpoint, its secret included.
  nlohmann::json Create(const std::string& brand_id, const nlohmann::json& body,
                        store::ActionCheckpoint* key = nullptr);
  // {"data": [endpoint, ...]}, oldest first.
  nlohmann::json List(const std::string& brand_id);
  // AppError kNotFound for another brand's or an unknown id.
  void Delete(const std::string& brand_id, const std::string& id);
  // A new secret: the endpoint as Endpoint() shows it, plus "secret", this once. The old secret
  // signs beside it for kRotationOverlap ("previous_secret_expires_at"). AppError kNotFound for
  // another brand's or an unknown id.
  // key as for Create: a resumed attempt after the rotation answers with its secret, and rotates
  // no more.
  nlohmann::json RotateSecret(const std::string& brand_id, const std::string& id,
                              store::ActionCheckpoint* key = nullptr);
  // {"data": [delivery, ...], "next_cursor"}: the endpoint's deliveries, newest first, limit
  // (1..100) a page. AppError kNotFound for another brand's or an unknown endpoint.
  nlohmann::json Deliveries(const std::string& brand_id, const std::string& endpoint_id, int limit,
                            const std::optional<std::string>& cursor);
  // Sends the delivery again now, with the same webhook-id and a fresh retry schedule: the
  // delivery as Delivery() shows it. AppError kNotFound for another brand's or an unknown id.
  nlohmann::json Resend(const std::string& brand_id, const std::string& delivery_id);

  // {"id", "url", "event_types", "disabled", "previous_secret_expires_at", "created_at"}: never
  // a secret.
  static nlohmann::json Endpoint(const store::WebhookEndpoint& endpoint);
  // {"id", "endpoint_id", "webhook_id", "event_type", "order_id", "status", "attempt_count",
  // "next_attempt_at", "created_at", "attempts": [{"attempt", "attempted_at", "status_code",
  // "error", "latency_ms"}]}: no payload.
  static nlohmann::json Delivery(const store::WebhookDeliveryRecord& delivery);

 private:
  void DeliveriesDue() const;
  std::optional<store::WebhookEndpoint> FindEndpoint(const std::string& brand_id,
                                                     const std::string& id);

  store::WebhookStore& store_;
  const DestinationPolicy& policy_;
  const Clock& clock_;
  IdGenerator& ids_;
  SchemaValidator request_schema_;
  std::function<void()> deliveries_due_;
};

}  // namespace lab_orders::webhooks
