#pragma once

// Delivers the outbox (store.h, brand webhooks): claims due deliveries, signs each with the time
// of the attempt (webhook-id stable across attempts), sends it once, records the attempt and
// reschedules per the retry schedule (Retry-After honoured, 410 disables the endpoint, a redirect
// is a failure). At least once, and in order per order and endpoint: the store hands out an
// order's next event only after the one before it is done. The same code on one node or many.

#include <chrono>
#include <string>

#include "lab_orders/common/backoff.h"
#include "lab_orders/common/clock.h"
#include "lab_orders/common/metrics.h"
#include "lab_orders/store/webhook_store.h"
#include "lab_orders/webhooks/retry_schedule.h"
#include "lab_orders/webhooks/transport.h"

namespace lab_orders::webhooks {

struct DispatcherSettings {
  std::string owner;  // this process's lease owner name (unique per process)
  int batch = 16;     // deliveries claimed per pass
  // How long a claimed delivery is ours: past the transport's 15 s timeout, with room.
  std::chrono::milliseconds lease{60000};
  RetrySchedule schedule;
};

class Dispatcher {
 public:
  Dispatcher(store::WebhookStore& store, WebhookTransport& transport, const Clock& clock,
             DispatcherSettings settings, JitterSource jitter = RandomJitter());

  // Claims what is due and delivers it, one after another; returns how many were attempted.
  // Store failures propagate (the caller's loop logs them and tries again).
  int RunOnce();

  // Counts each recorded attempt in lab_orders_webhook_deliveries_total{outcome}: delivered,
  // retry, gave_up (the retries ran out) or disabled (a 410). Call before the first RunOnce.
  void UseMetrics(metrics::Registry& registry);

 private:
  void Deliver(const store::WebhookDelivery& delivery);

  store::WebhookStore& store_;
  WebhookTransport& transport_;
  const Clock& clock_;
  DispatcherSettings settings_;
  JitterSource jitter_;
  metrics::CounterFamily* outcomes_ = nullptr;
};

}  // namespace lab_orders::webhooks
