#include "lab_orders/webhooks/attempt_verdict.h"

namespace lab_orders::webhooks {

AttemptVerdict ClassifyAttempt(const DeliveryResult& result) {
  if (result.error) return AttemptVerdict::kFailed;
  if (result.status >= 200 && result.status < 300) return AttemptVerdict::kDelivered;
  if (result.status == 410) return AttemptVerdict::kEndpointGone;
  if (result.status >= 300 && result.status < 400) return AttemptVerdict::kRedirected;
  return AttemptVerdict::kFailed;
}

bool IsRetried(AttemptVerdict verdict) {
  return verdict == AttemptVerdict::kRedirected || verdict == AttemptVerdict::kFailed;
}

const char* AttemptVerdictName(AttemptVerdict verdict) {
  switch (verdict) {
    case AttemptVerdict::kDelivered:
      return "delivered";
    case AttemptVerdict::kEndpointGone:
      return "endpoint_gone";
    case AttemptVerdict::kRedirected:
      return "redirected";
    case AttemptVerdict::kFailed:
      return "failed";
  }
  return "failed";
}

}  // namespace lab_orders::webhooks
