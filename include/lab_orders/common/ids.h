#pragma once

#include <string>

namespace lab_orders {

class IdGenerator {
 public:
  virtual ~IdGenerator() = default;
  virtual std::string NewUuid() = 0;
};

// Time-ordered (version 7) UUIDs, their 74 random bits from the system's cryptographic
// generator: ids sort in the order they were made.
class RandomIdGenerator final : public IdGenerator {
 public:
  std::string NewUuid() override;
};

std::string NewRandomUuid();  // version 4
// A version 4 UUID to correlate a request's log lines: unique but not secret, so drawn from a
// per-thread generator seeded once from the system's, without a call into OpenSSL per request.
// Never an id anything is authorised or looked up by.
std::string NewRequestId();
std::string NewTimeOrderedUuid();  // version 7: sorts by creation time (to the millisecond)
bool IsUuid(const std::string& text);

}  // namespace lab_orders
