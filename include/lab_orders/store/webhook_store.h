#pragma once

// Brand webhooks: endpoints, and the outbox of events with their deliveries and attempts.

#include <optional>
#include <string>
#include <vector>

#include "lab_orders/store/store_errors.h"

namespace lab_orders::store {

// Where a brand receives its events. The secrets are sealed at rest like PHI.
struct WebhookEndpoint {
  std::string id;
  std::string brand_id;
  std::string url;
  std::vector<std::string> event_types;  // the types it receives; empty: every type
  std::string secret;                    // "whsec_..."
  // The secret a rotation replaced, signing beside the new one until it expires.
  std::optional<std::string> previous_secret;
  std::optional<TimePoint> previous_secret_expires_at;
  bool disabled = false;  // a 410 from the receiver disables it: nothing more is sent
  TimePoint created_at;
};

// One event (outbox row) to one endpoint, as a dispatcher claims it: the exact bytes to send and
// the endpoint's address and secrets as they are now.
struct WebhookDelivery {
  std::string id;
  std::string event_id;  // "msg_...": the webhook-id, the same on every attempt
  std::string event_type;
  std::string order_id;
  std::string payload;  // the envelope, sent byte for byte on every attempt
  int attempts = 0;     // attempts made before this one
  // Of those, the ones since the retry schedule last started (at creation, or a resend).
  int scheduled_attempts = 0;
  WebhookEndpoint endpoint;
  std::string lease_owner;
};

// What one attempt did and what follows, committed by FinishDeliveryAttempt.
struct DeliveryOutcome {
  enum class Next {
    kDelivered,        // 2xx: done
    kRetry,            // due again at retry_at
    kGiveUp,           // retries exhausted: failed (later events of the order go on)
    kDisableEndpoint,  // 410: failed, and the endpoint is disabled
  };
  Next next = Next::kRetry;
  TimePoint attempted_at;
  std::optional<int> status;  // the receiver's HTTP status, when it answered
  std::int64_t latency_ms = 0;
  std::string error;   // "" or a short code (timeout, connection_failed, redirect, ...), no body
  TimePoint retry_at;  // when kRetry
};

// One attempt of a delivery, as the brand's delivery log shows it.
struct WebhookAttempt {
  int attempt = 0;  // 1 for the first
  TimePoint attempted_at;
  std::optional<int> status;  // the receiver's HTTP status, when it answered
  std::int64_t latency_ms = 0;
  std::string error;  // "" or the short code of DeliveryOutcome::error
};

// A delivery as the brand's delivery log shows it: no payload, no secret.
struct WebhookDeliveryRecord {
  std::string id;
  std::string endpoint_id;
  std::string event_id;  // the webhook-id
  std::string event_type;
  std::string order_id;
  std::string state;  // "pending", "delivered" or "failed"
  int attempt_count = 0;
  std::optional<TimePoint> next_attempt_at;  // while pending
  TimePoint created_at;
  std::vector<WebhookAttempt> attempts;  // the latest kListedAttempts, oldest first
};

// How many of a delivery's attempts its record lists (resends can make many).
inline constexpr int kListedAttempts = 10;

class WebhookStore {
 public:
  virtual ~WebhookStore() = default;

  // Order events are written by OrderStore's and JobStore's commits, in their own transactions
  // (the outbox): SaveJunctionOrder writes lab_order.created, CompleteJob and CheckpointOrder
  // the events of the change they write (model::OrderEventsFor), each fanned out to a delivery
  // per enabled endpoint of the brand that takes its type.
  virtual void CreateWebhookEndpoint(const WebhookEndpoint& endpoint) = 0;
  // The brand's endpoints, oldest first (deleted ones are gone).
  virtual std::vector<WebhookEndpoint> ListWebhookEndpoints(const std::string& brand_id) = 0;
  // False when the brand has no such endpoint. Its pending deliveries are dropped.
  virtual bool DeleteWebhookEndpoint(const std::string& brand_id, const std::string& id) = 0;
  // Leases up to limit due deliveries to owner until lease_until. A delivery is due when its
  // time has come, its endpoint is enabled and no earlier event of the same order is still
  // pending for the same endpoint: each endpoint gets an order's events in order.
  virtual std::vector<WebhookDelivery> ClaimDueDeliveries(TimePoint now, TimePoint lease_until,
                                                          const std::string& owner, int limit) = 0;
  // Records the attempt and what follows. Throws LeaseLost when owner no longer holds it.
  virtual void FinishDeliveryAttempt(const WebhookDelivery& delivery,
                                     const DeliveryOutcome& outcome) = 0;
  // Makes secret the endpoint's current one, the one it replaces signing beside it until
  // previous_expires_at (the old secret of an earlier rotation goes). The endpoint as it is now,
  // or nullopt when the brand has no such endpoint.
  virtual std::optional<WebhookEndpoint> RotateWebhookSecret(const std::string& brand_id,
                                                             const std::string& id,
                                                             const std::string& secret,
                                                             TimePoint previous_expires_at) = 0;
  // The endpoint's deliveries, newest first (event times are whole seconds: within one, by the
  // order's sequence), at most limit; cursor is the last id of the previous page. nullopt when
  // the brand has no such endpoint.
  virtual std::optional<std::vector<WebhookDeliveryRecord>> ListWebhookDeliveries(
      const std::string& brand_id, const std::string& endpoint_id, int limit,
      const std::optional<std::string>& cursor) = 0;
  // Makes the brand's delivery pending and due at now, with its retry schedule started afresh
  // and the same webhook-id; a 410-disabled endpoint is enabled again (else nothing would go).
  // An attempt in flight finishes as it would have. nullopt when the brand has no such delivery.
  virtual std::optional<WebhookDeliveryRecord> ResendWebhookDelivery(const std::string& brand_id,
                                                                     const std::string& id,
                                                                     TimePoint now) = 0;
};

}  // namespace lab_orders::store
