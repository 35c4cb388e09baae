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

std::string NewRandomUuid();       // version 4
std::string NewTimeOrderedUuid();  // version 7: sorts by creation time (to the millisecond)
bool IsUuid(const std::string& text);

}  // namespace lab_orders
