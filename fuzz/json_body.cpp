// An order body as the service reads it: strict JSON (depth limit, repeated members, UTF-8), then
// the order request's schema and the lab's rules. Every input ends in an answer, never a crash.

#include <cstddef>
#include <cstdint>
#include <fstream>
#include <memory>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string_view>
#include <variant>

#include "lab_orders/common/clock.h"
#include "lab_orders/common/strict_json.h"
#include "lab_orders/orders/request_validator.h"

namespace {

class FixedClock final : public lab_orders::Clock {
 public:
  std::chrono::system_clock::time_point Now() const override {
    return std::chrono::system_clock::time_point(std::chrono::seconds(1796256000));  // 2026-12
  }
};

std::unique_ptr<lab_orders::orders::RequestValidator> validator;
FixedClock clock_at;

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  std::ifstream file(LAB_ORDERS_OPENAPI_PATH);
  std::stringstream text;
  text << file.rdbuf();
  const nlohmann::json document = nlohmann::json::parse(text.str());
  validator = std::make_unique<lab_orders::orders::RequestValidator>(
      document.at("components").at("schemas").at("LabOrderRequest"), clock_at);
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  auto parsed = lab_orders::ParseStrictJson(text, 32);
  if (auto* body = std::get_if<nlohmann::json>(&parsed)) {
    auto verdict = validator->Validate(*body);
    if (auto* violations = std::get_if<std::vector<lab_orders::FieldViolation>>(&verdict)) {
      if (violations->empty()) __builtin_trap();  // refused, so something must be named
    }
  }
  return 0;
}
