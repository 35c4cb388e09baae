#pragma once

// A signed "webhook.test" event sent at once to one of a brand's endpoints, so that a developer
// can check a receiver (POST /v1/webhooks/endpoints/{id}/test). It is no order's event: it goes
// through no outbox and is sent once, with no retry, and the answer says what the receiver did.

#include <nlohmann/json.hpp>
#include <string>

#include "lab_orders/common/clock.h"
#include "lab_orders/common/ids.h"
#include "lab_orders/store/action_key_store.h"
#include "lab_orders/store/webhook_store.h"
#include "lab_orders/webhooks/transport.h"

namespace lab_orders::webhooks {

inline constexpr const char* kTestEventType = "webhook.test";

class TestEventSender {
 public:
  TestEventSender(store::WebhookStore& store, WebhookTransport& transport, const Clock& clock,
                  IdGenerator& ids);

  // Sends {"type": "webhook.test", "timestamp", "data": {"endpoint_id"}} signed as every
  // delivery is (both secrets during a rotation), whatever event types the endpoint takes.
  // {"webhook_id", "delivered", "status_code", "latency_ms", "error"}: delivered for a 2xx;
  // status_code null and error set when no answer came. AppError kNotFound for another brand's
  // or an unknown endpoint.
  // key: the request's Idempotency-Key, or nullptr; a resumed attempt sends the same webhook-id.
  nlohmann::json Send(const std::string& brand_id, const std::string& endpoint_id,
                      store::ActionCheckpoint* key = nullptr);

 private:
  store::WebhookStore& store_;
  WebhookTransport& transport_;
  const Clock& clock_;
  IdGenerator& ids_;
};

}  // namespace lab_orders::webhooks
