#pragma once

// Signs outgoing webhooks to brands the Standard Webhooks way (webhook-id, webhook-timestamp,
// webhook-signature), reusing the Svix signer the Junction receiver verifies with: same scheme,
// other header names. During a secret rotation the old and the new secret both sign.

#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "lab_orders/common/svix.h"
#include "lab_orders/store/webhook_store.h"

namespace lab_orders::webhooks {

// How long a rotated-out secret goes on signing beside the new one, so a brand can switch its
// receiver over at leisure.
inline constexpr std::chrono::hours kRotationOverlap{24};

struct SigningSecret {
  std::string secret;  // "whsec_" + base64
  // When it stops signing: set on the old secret of a rotation; nullopt for the current one.
  std::optional<std::chrono::system_clock::time_point> retires_at;
};

// The secret an endpoint signs with now.
SigningSecret CurrentSecret(std::string secret);
// The old secret of a rotation made at rotated_at: it signs for kRotationOverlap more.
SigningSecret RetiringSecret(std::string secret, std::chrono::system_clock::time_point rotated_at);

// The three Standard Webhooks headers of one delivery attempt.
struct SignatureHeaders {
  std::string id;         // webhook-id: the same on every attempt of a message
  std::string timestamp;  // webhook-timestamp: Unix seconds of this attempt
  std::string signature;  // webhook-signature: "v1,<base64>", space-separated when several
};

class DeliverySigner {
 public:
  // Exactly one current secret (no retires_at) and any number of retiring ones. Throws
  // std::invalid_argument otherwise or when a secret is malformed; the message never holds a
  // secret.
  explicit DeliverySigner(const std::vector<SigningSecret>& secrets);

  // Signs body, the exact bytes that will be sent, as of at: the current secret first, then
  // each retiring secret that has not retired by then.
  SignatureHeaders Sign(std::string_view message_id, std::chrono::system_clock::time_point at,
                        std::string_view body) const;

 private:
  struct Key {
    WebhookSigner signer;
    std::optional<std::chrono::system_clock::time_point> retires_at;
  };
  std::vector<Key> keys_;  // the current one first
};

// What an endpoint signs with now: its current secret, and during a rotation the old one until
// it retires.
std::vector<SigningSecret> EndpointSigningSecrets(const store::WebhookEndpoint& endpoint);

// Verifies headers as a receiver holding secret would (any one v1 signature matching, compared
// in constant time, the timestamp within tolerance of now). For tests and tooling: production
// receivers are the brands'.
WebhookSigner::Verdict VerifySignatureHeaders(
    std::string_view secret, const SignatureHeaders& headers, std::string_view body,
    std::chrono::system_clock::time_point now,
    std::chrono::seconds tolerance = std::chrono::minutes(5));

}  // namespace lab_orders::webhooks
