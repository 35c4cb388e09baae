#include "lab_orders/webhooks/test_event.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <vector>

#include "lab_orders/common/encoding.h"
#include "lab_orders/common/error.h"
#include "lab_orders/webhooks/attempt_verdict.h"
#include "lab_orders/webhooks/signer.h"

namespace lab_orders::webhooks {

using nlohmann::json;

TestEventSender::TestEventSender(store::WebhookStore& store, WebhookTransport& transport,
                                 const Clock& clock, IdGenerator& ids)
    : store_(store), transport_(transport), clock_(clock), ids_(ids) {}

json TestEventSender::Send(const std::string& brand_id, const std::string& endpoint_id,
                           store::ActionCheckpoint* key) {
  // A brand has a handful of endpoints: its list, with their secrets, is read whole.
  std::vector<store::WebhookEndpoint> endpoints = store_.ListWebhookEndpoints(brand_id);
  auto endpoint = std::find_if(endpoints.begin(), endpoints.end(),
                               [&](const auto& candidate) { return candidate.id == endpoint_id; });
  if (endpoint == endpoints.end()) {
    throw AppError(ErrorCode::kNotFound, "No such webhook endpoint.");
  }
  const auto now = clock_.Now();
  // Under an Idempotency-Key the event's id is recorded before it is sent: a resumed attempt sends
  // it with the same webhook-id, which a receiver that deduplicates takes once.
  std::string webhook_id = SavedField(key, "webhook_id").value_or("");
  if (webhook_id.empty()) {
    webhook_id = "msg_" + ids_.NewUuid();
    if (key) key->save(json{{"webhook_id", webhook_id}}.dump());
  }
  const std::string body = json{{"type", kTestEventType},
                                {"timestamp", FormatRfc3339(now)},
                                {"data", {{"endpoint_id", endpoint->id}}}}
                               .dump();
  const SignatureHeaders signature =
      DeliverySigner(EndpointSigningSecrets(*endpoint)).Sign(webhook_id, now, body);
  const DeliveryResult result =
      transport_.Post(SignedWebhookRequest(endpoint->url, body, signature));
  const bool delivered = ClassifyAttempt(result) == AttemptVerdict::kDelivered;
  spdlog::info("webhook test event {} to endpoint {} of brand {}: {}", webhook_id, endpoint->id,
               brand_id, delivered ? "delivered" : "not delivered");
  return {{"webhook_id", webhook_id},
          {"delivered", delivered},
          {"status_code", result.status != 0 ? json(result.status) : json(nullptr)},
          {"latency_ms", result.latency.count()},
          {"error", result.error ? json(TransportErrorName(*result.error)) : json(nullptr)}};
}

}  // namespace lab_orders::webhooks
