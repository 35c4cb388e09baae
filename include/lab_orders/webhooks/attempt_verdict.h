#pragma once

// What one delivery attempt's result means for the message and its endpoint. Pure.

#include "lab_orders/webhooks/transport.h"

namespace lab_orders::webhooks {

enum class AttemptVerdict {
  kDelivered,     // 2xx
  kEndpointGone,  // 410 Gone: the endpoint is disabled, nothing more is sent to it
  kRedirected,    // 3xx: a failure, retried (redirects are not followed)
  kFailed,        // any other status, a timeout, a connection or TLS error: retried
};

AttemptVerdict ClassifyAttempt(const DeliveryResult& result);

// Whether the message is tried again (while the retry schedule lasts).
bool IsRetried(AttemptVerdict verdict);

const char* AttemptVerdictName(AttemptVerdict verdict);

}  // namespace lab_orders::webhooks
