#pragma once

#include <chrono>
#include <map>
#include <string>

#include "lab_orders/common/svix.h"

namespace lab_orders::testing {

// The Svix headers of a Junction webhook delivery with this id and body, signed now.
inline std::map<std::string, std::string> SignedWebhookHeaders(const std::string& secret,
                                                               const std::string& id,
                                                               const std::string& body) {
  long long now = std::chrono::duration_cast<std::chrono::seconds>(
                      std::chrono::system_clock::now().time_since_epoch())
                      .count();
  return {{"svix-id", id},
          {"svix-timestamp", std::to_string(now)},
          {"svix-signature", WebhookSigner(secret).Sign(id, now, body)}};
}

}  // namespace lab_orders::testing
