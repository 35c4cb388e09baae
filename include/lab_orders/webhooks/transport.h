#pragma once

// One HTTP POST of a webhook to a brand's endpoint. An interface, so the dispatcher's tests
// script answers and failures (tests/mocks/mock_webhook_transport.h).

#include <chrono>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "lab_orders/webhooks/signer.h"

namespace lab_orders::webhooks {

struct WebhookRequest {
  std::string url;
  std::string body;  // JSON: the exact bytes that were signed
  std::vector<std::pair<std::string, std::string>> headers;
};

// The request for one attempt: body with its webhook-id, webhook-timestamp and
// webhook-signature.
WebhookRequest SignedWebhookRequest(std::string url, std::string body,
                                    const SignatureHeaders& signature);

enum class TransportError {
  kDestinationRefused,  // the URL, or the address it led to, is not allowed (destination_policy.h)
  kConnectionFailed,    // refused, reset, or closed before an answer
  kTimeout,             // no answer within the timeout
  kTlsFailure,          // handshake or certificate verification failed
  kMalformedResponse,   // an answer that is not HTTP
};

const char* TransportErrorName(TransportError error);

struct DeliveryResult {
  int status = 0;                          // the HTTP status; 0 when no answer came
  std::optional<std::string> retry_after;  // the answer's Retry-After header, as sent
  std::optional<TransportError> error;     // set when no answer came
  // For logs and the deliveries list: what failed. Never the response body, a header's value or
  // the URL (its query may hold a token).
  std::string error_summary;
  std::chrono::milliseconds latency{0};
};

class WebhookTransport {
 public:
  virtual ~WebhookTransport() = default;
  // Sends request.body byte for byte with request.headers, once: redirects are answers, not
  // followed; the response body is never kept.
  virtual DeliveryResult Post(const WebhookRequest& request) = 0;
};

}  // namespace lab_orders::webhooks
