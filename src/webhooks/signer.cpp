#include "lab_orders/webhooks/signer.h"

#include <algorithm>
#include <stdexcept>

namespace lab_orders::webhooks {

SigningSecret CurrentSecret(std::string secret) {
  return SigningSecret{std::move(secret), std::nullopt};
}

std::vector<SigningSecret> EndpointSigningSecrets(const store::WebhookEndpoint& endpoint) {
  std::vector<SigningSecret> secrets = {CurrentSecret(endpoint.secret)};
  if (endpoint.previous_secret && endpoint.previous_secret_expires_at) {
    secrets.push_back(
        SigningSecret{*endpoint.previous_secret, *endpoint.previous_secret_expires_at});
  }
  return secrets;
}

SigningSecret RetiringSecret(std::string secret, std::chrono::system_clock::time_point rotated_at) {
  return SigningSecret{std::move(secret), rotated_at + kRotationOverlap};
}

DeliverySigner::DeliverySigner(const std::vector<SigningSecret>& secrets) {
  auto is_current = [](const SigningSecret& s) { return !s.retires_at.has_value(); };
  if (std::count_if(secrets.begin(), secrets.end(), is_current) != 1) {
    throw std::invalid_argument("a webhook endpoint needs exactly one current secret");
  }
  // WebhookSigner names what is wrong with a secret without quoting it.
  for (const SigningSecret& secret : secrets) {
    Key key{WebhookSigner(secret.secret), secret.retires_at};
    if (is_current(secret)) {
      keys_.insert(keys_.begin(), std::move(key));
    } else {
      keys_.push_back(std::move(key));
    }
  }
}

SignatureHeaders DeliverySigner::Sign(std::string_view message_id,
                                      std::chrono::system_clock::time_point at,
                                      std::string_view body) const {
  const long long timestamp =
      std::chrono::duration_cast<std::chrono::seconds>(at.time_since_epoch()).count();
  SignatureHeaders headers{std::string(message_id), std::to_string(timestamp), ""};
  for (const Key& key : keys_) {
    if (key.retires_at && *key.retires_at <= at) continue;
    if (!headers.signature.empty()) headers.signature += ' ';
    headers.signature += key.signer.Sign(message_id, timestamp, body);
  }
  return headers;
}

WebhookSigner::Verdict VerifySignatureHeaders(std::string_view secret,
                                              const SignatureHeaders& headers,
                                              std::string_view body,
                                              std::chrono::system_clock::time_point now,
                                              std::chrono::seconds tolerance) {
  return WebhookSigner(secret).Verify(headers.id, headers.timestamp, headers.signature, body, now,
                                      tolerance);
}

}  // namespace lab_orders::webhooks
