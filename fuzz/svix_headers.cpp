// Junction's webhook signature headers as the service checks them: id, timestamp and signature
// header and body taken from the input (split at NUL bytes). Only a true signature verifies.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "lab_orders/common/svix.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const lab_orders::WebhookSigner signer("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw");
  std::string_view rest(reinterpret_cast<const char*>(data), size);
  std::vector<std::string_view> parts;
  for (int i = 0; i < 3; ++i) {
    const std::size_t nul = rest.find('\0');
    parts.push_back(rest.substr(0, nul));
    rest = nul == std::string_view::npos ? std::string_view() : rest.substr(nul + 1);
  }
  const auto now = std::chrono::system_clock::time_point(std::chrono::seconds(1796256000));
  const auto verdict = signer.Verify(parts[0], parts[1], parts[2], rest, now);
  if (verdict == lab_orders::WebhookSigner::Verdict::kValid) {
    // Valid only if one of the signatures sent is the one the key makes for these bytes.
    const std::string expected = signer.Sign(parts[0], std::stoll(std::string(parts[1])), rest);
    std::string_view signatures = parts[2];
    bool found = false;
    while (!signatures.empty() && !found) {
      const std::size_t space = signatures.find(' ');
      found = signatures.substr(0, space) == expected;
      signatures = space == std::string_view::npos ? "" : signatures.substr(space + 1);
    }
    if (!found) __builtin_trap();
  }
  return 0;
}
