#include "lab_orders/webhooks/transport.h"

namespace lab_orders::webhooks {

WebhookRequest SignedWebhookRequest(std::string url, std::string body,
                                    const SignatureHeaders& signature) {
  return WebhookRequest{std::move(url),
                        std::move(body),
                        {{"webhook-id", signature.id},
                         {"webhook-timestamp", signature.timestamp},
                         {"webhook-signature", signature.signature}}};
}

const char* TransportErrorName(TransportError error) {
  switch (error) {
    case TransportError::kDestinationRefused:
      return "destination_refused";
    case TransportError::kConnectionFailed:
      return "connection_failed";
    case TransportError::kTimeout:
      return "timeout";
    case TransportError::kTlsFailure:
      return "tls_failure";
    case TransportError::kMalformedResponse:
      return "malformed_response";
  }
  return "connection_failed";
}

}  // namespace lab_orders::webhooks
