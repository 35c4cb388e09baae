#pragma once

#include <chrono>
#include <string>
#include <string_view>

#include "lab_orders/common/clock.h"

namespace lab_orders {

// Svix / Standard Webhooks signing: HMAC-SHA256 over "id.timestamp.body" keyed by the base64
// decoding of the secret after "whsec_", sent as "v1,<base64>".
class WebhookSigner {
 public:
  // Throws std::invalid_argument when the secret is not "whsec_" + base64.
  explicit WebhookSigner(std::string_view secret);

  std::string Sign(std::string_view message_id, long long timestamp_seconds,
                   std::string_view body) const;

  enum class Verdict { kValid, kBadSignature, kTimestampOutOfTolerance, kMalformedHeaders };
  // Tries every space-separated "v1,<sig>" in signature_header; other versions are skipped.
  Verdict Verify(std::string_view message_id, std::string_view timestamp_header,
                 std::string_view signature_header, std::string_view body,
                 std::chrono::system_clock::time_point now,
                 std::chrono::seconds tolerance = std::chrono::minutes(5)) const;

 private:
  std::string key_;
};

// A fresh secret for a new or rotated endpoint: "whsec_" + base64 of 32 bytes from OpenSSL's
// RAND_bytes.
std::string NewWebhookSecret();

}  // namespace lab_orders
