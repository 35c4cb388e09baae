// The Idempotency-Key header as the service reads it (a token or an RFC 8941 string): a key it
// accepts is 1 to 255 printable ASCII characters.

#include "lab_orders/orders/idempotency_key.h"

#include <cstddef>
#include <cstdint>
#include <string>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string header(reinterpret_cast<const char*>(data), size);
  if (auto key = lab_orders::orders::ParseIdempotencyKey(header)) {
    if (key->empty() || key->size() > 255) __builtin_trap();
    for (char c : *key) {
      if (c < 0x20 || c > 0x7E) __builtin_trap();
    }
  }
  return 0;
}
