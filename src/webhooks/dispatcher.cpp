#include "lab_orders/webhooks/dispatcher.h"

#include <spdlog/spdlog.h>

#include <vector>

#include "lab_orders/webhooks/attempt_verdict.h"
#include "lab_orders/webhooks/signer.h"

namespace lab_orders::webhooks {

Dispatcher::Dispatcher(store::WebhookStore& store, WebhookTransport& transport, const Clock& clock,
                       DispatcherSettings settings, JitterSource jitter)
    : store_(store),
      transport_(transport),
      clock_(clock),
      settings_(std::move(settings)),
      jitter_(std::move(jitter)) {}

namespace {

const char* OutcomeName(store::DeliveryOutcome::Next next) {
  switch (next) {
    case store::DeliveryOutcome::Next::kDelivered:
      return "delivered";
    case store::DeliveryOutcome::Next::kRetry:
      return "retry";
    case store::DeliveryOutcome::Next::kGiveUp:
      return "gave_up";
    case store::DeliveryOutcome::Next::kDisableEndpoint:
      return "disabled";
  }
  return "retry";
}

}  // namespace

void Dispatcher::UseMetrics(metrics::Registry& registry) {
  outcomes_ = &registry.Counter(
      "lab_orders_webhook_deliveries_total",
      "Attempts to deliver brand webhooks, by what followed (delivered, retry, gave_up, disabled).",
      {{"outcome", {"delivered", "retry", "gave_up", "disabled"}}});
}

int Dispatcher::RunOnce() {
  const auto now = clock_.Now();
  std::vector<store::WebhookDelivery> due =
      store_.ClaimDueDeliveries(now, now + settings_.lease, settings_.owner, settings_.batch);
  for (const store::WebhookDelivery& delivery : due) Deliver(delivery);
  return static_cast<int>(due.size());
}

void Dispatcher::Deliver(const store::WebhookDelivery& delivery) {
  using Next = store::DeliveryOutcome::Next;
  const store::WebhookEndpoint& endpoint = delivery.endpoint;
  const auto attempted_at = clock_.Now();
  const SignatureHeaders signature = DeliverySigner(EndpointSigningSecrets(endpoint))
                                         .Sign(delivery.event_id, attempted_at, delivery.payload);
  const DeliveryResult result =
      transport_.Post(SignedWebhookRequest(endpoint.url, delivery.payload, signature));
  const AttemptVerdict verdict = ClassifyAttempt(result);

  store::DeliveryOutcome outcome;
  outcome.attempted_at = attempted_at;
  if (result.status != 0) outcome.status = result.status;
  outcome.latency_ms = result.latency.count();
  if (result.error) outcome.error = TransportErrorName(*result.error);
  if (verdict == AttemptVerdict::kDelivered) {
    outcome.next = Next::kDelivered;
  } else if (verdict == AttemptVerdict::kEndpointGone) {
    outcome.next = Next::kDisableEndpoint;
  } else if (auto delay = NextAttemptDelay(settings_.schedule, delivery.scheduled_attempts + 1,
                                           jitter_, result.retry_after, attempted_at)) {
    outcome.next = Next::kRetry;
    outcome.retry_at = attempted_at + *delay;
  } else {
    outcome.next = Next::kGiveUp;
  }
  try {
    store_.FinishDeliveryAttempt(delivery, outcome);
  } catch (const store::LeaseLost&) {
    // Another dispatcher took it after our lease ran out: its attempt counts, ours is void.
    spdlog::warn("webhook delivery {} (event {}) outlived its lease", delivery.id,
                 delivery.event_id);
    return;
  }
  if (outcomes_ != nullptr) outcomes_->Inc({OutcomeName(outcome.next)});
  // Ids, the verdict and the status only: never the URL, the body or a secret.
  spdlog::info("webhook {} {} to endpoint {} for order {}: {} (status {}, attempt {}, {} ms)",
               delivery.event_id, delivery.event_type, endpoint.id, delivery.order_id,
               AttemptVerdictName(verdict), result.status, delivery.attempts + 1,
               result.latency.count());
}

}  // namespace lab_orders::webhooks
