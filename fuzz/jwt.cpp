// A bearer token as the service verifies it (HS256 here, with issuer and audience checked):
// anything but a token signed with the key is refused, without a crash.

#include "lab_orders/auth/jwt.h"

#include <cstddef>
#include <cstdint>
#include <string_view>
#include <variant>

namespace {

class FixedClock final : public lab_orders::Clock {
 public:
  std::chrono::system_clock::time_point Now() const override {
    return std::chrono::system_clock::time_point(std::chrono::seconds(1796256000));
  }
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static FixedClock clock;
  static lab_orders::auth::JwtVerifier verifier(
      {std::string("fuzzing-secret-of-at-least-thirty-two-bytes"), std::nullopt,
       std::string("issuer"), std::string("audience")},
      clock);
  const std::string_view token(reinterpret_cast<const char*>(data), size);
  auto verdict = verifier.Verify(token);
  // The fuzzer cannot forge an HMAC-SHA256: a token it made that verifies is a bug.
  if (std::holds_alternative<lab_orders::auth::Principal>(verdict)) __builtin_trap();
  return 0;
}
