#pragma once

#include <string>

namespace lab_orders {

class IdGenerator {
 public:
  virtual ~IdGenerator() = default;
  virtual std::string NewUuid() = 0;
};

// Random (version 4) UUIDs from the system's cryptographic generator.
class RandomIdGenerator final : public IdGenerator {
 public:
  std::string NewUuid() override;
};

std::string NewRandomUuid();
bool IsUuid(const std::string& text);

}  // namespace lab_orders
