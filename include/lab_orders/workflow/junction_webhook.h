#pragma once

// POST /v1/webhooks/junction: Svix verification, deduplication by svix-id, and a queued job.
// The answer must be fast: nothing here calls Junction, and the work runs on the job runner.

#include <chrono>
#include <string>

#include "lab_orders/common/clock.h"
#include "lab_orders/common/ids.h"
#include "lab_orders/common/svix.h"
#include "lab_orders/store/job_store.h"

namespace lab_orders::workflow {

struct WebhookHeaders {
  std::string id;         // svix-id
  std::string timestamp;  // svix-timestamp
  std::string signature;  // svix-signature
};

enum class WebhookVerdict {
  kAccepted,          // verified, new, queued
  kDuplicate,         // verified, svix-id seen before: nothing changes
  kIgnored,           // verified, a type the workflow does not act on
  kUnknownOrder,      // verified, for a Junction order this service did not make: ignored
  kBadSignature,      // no v1 signature matches
  kStaleTimestamp,    // more than the tolerance away from now
  kMalformedHeaders,  // a svix-* header missing or unreadable
  // verified, but not JSON or not the shape of its type: acknowledged (Junction would retry it
  // for days, and a retry reads the same) and counted, for an operator to look into
  kUnreadableBody,
};
const char* WebhookVerdictName(WebhookVerdict verdict);

class JunctionWebhookReceiver {
 public:
  // secret: JUNCTION_WEBHOOK_SECRET ("whsec_..."); throws std::invalid_argument when malformed.
  JunctionWebhookReceiver(const std::string& secret, store::JobStore& store, const Clock& clock,
                          IdGenerator& ids,
                          std::chrono::seconds tolerance = std::chrono::minutes(5));

  // Verifies the raw body bytes as sent, then parses; a verified, new event of a handled type
  // for a known order is recorded with its svix-id and queued as a junction_event job in one
  // transaction. Throws StoreUnavailable when the store cannot take it (the caller answers 503
  // and Junction retries).
  WebhookVerdict Receive(const WebhookHeaders& headers, const std::string& raw_body);

 private:
  WebhookSigner signer_;
  store::JobStore& store_;
  const Clock& clock_;
  IdGenerator& ids_;
  std::chrono::seconds tolerance_;
};

}  // namespace lab_orders::workflow
