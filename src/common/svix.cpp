#include "lab_orders/common/svix.h"

#include <stdexcept>

#include "lab_orders/common/encoding.h"

namespace lab_orders {
namespace {
constexpr std::string_view kSecretPrefix = "whsec_";
constexpr std::size_t kNewSecretBytes = 32;

bool ParseSeconds(std::string_view text, long long* out) {
  if (text.empty() || text.size() > 18) return false;
  long long value = 0;
  for (char c : text) {
    if (c < '0' || c > '9') return false;
    value = value * 10 + (c - '0');
  }
  *out = value;
  return true;
}
}  // namespace

std::string NewWebhookSecret() {
  return std::string(kSecretPrefix) + Base64Encode(RandomBytes(kNewSecretBytes));
}

WebhookSigner::WebhookSigner(std::string_view secret) {
  if (secret.substr(0, kSecretPrefix.size()) != kSecretPrefix) {
    throw std::invalid_argument("webhook secret must start with whsec_");
  }
  auto key = Base64Decode(secret.substr(kSecretPrefix.size()));
  if (!key || key->empty()) throw std::invalid_argument("webhook secret is not valid base64");
  key_ = *key;
}

std::string WebhookSigner::Sign(std::string_view message_id, long long timestamp_seconds,
                                std::string_view body) const {
  std::string content;
  content.reserve(message_id.size() + body.size() + 24);
  content.append(message_id).append(".").append(std::to_string(timestamp_seconds)).append(".");
  content.append(body);
  return "v1," + Base64Encode(HmacSha256(key_, content));
}

WebhookSigner::Verdict WebhookSigner::Verify(std::string_view message_id,
                                             std::string_view timestamp_header,
                                             std::string_view signature_header,
                                             std::string_view body,
                                             std::chrono::system_clock::time_point now,
                                             std::chrono::seconds tolerance) const {
  long long timestamp = 0;
  if (message_id.empty() || signature_header.empty() ||
      !ParseSeconds(timestamp_header, &timestamp)) {
    return Verdict::kMalformedHeaders;
  }
  long long now_seconds =
      std::chrono::duration_cast<std::chrono::seconds>(now.time_since_epoch()).count();
  if (timestamp < now_seconds - tolerance.count() || timestamp > now_seconds + tolerance.count()) {
    return Verdict::kTimestampOutOfTolerance;
  }
  std::string expected = Sign(message_id, timestamp, body);
  size_t pos = 0;
  while (pos < signature_header.size()) {
    size_t end = signature_header.find(' ', pos);
    if (end == std::string_view::npos) end = signature_header.size();
    std::string_view candidate = signature_header.substr(pos, end - pos);
    if (candidate.substr(0, 3) == "v1," && ConstantTimeEquals(candidate, expected)) {
      return Verdict::kValid;
    }
    pos = end + 1;
  }
  return Verdict::kBadSignature;
}

}  // namespace lab_orders
