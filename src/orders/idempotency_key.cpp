#include "lab_orders/orders/idempotency_key.h"

namespace lab_orders::orders {

std::optional<std::string> ParseIdempotencyKey(const std::string& header) {
  std::string key = header;
  if (key.size() >= 2 && key.front() == '"' && key.back() == '"') {
    // RFC 8941 sf-string: backslash escapes only \" and \\.
    std::string unquoted;
    for (size_t i = 1; i + 1 < key.size(); ++i) {
      char c = key[i];
      if (c == '\\') {
        if (i + 2 >= key.size() || (key[i + 1] != '"' && key[i + 1] != '\\')) return std::nullopt;
        unquoted += key[++i];
      } else if (c == '"') {
        return std::nullopt;
      } else {
        unquoted += c;
      }
    }
    key = unquoted;
  }
  if (key.empty() || key.size() > 255) return std::nullopt;
  for (char c : key) {
    if (c < 0x20 || c > 0x7E) return std::nullopt;
  }
  return key;
}

AppError IdempotencyKeyInvalid() {
  return AppError(ErrorCode::kIdempotencyKeyInvalid,
                  "The Idempotency-Key must be 1 to 255 printable ASCII characters.");
}

AppError IdempotencyKeyReused() {
  return AppError(ErrorCode::kIdempotencyKeyReused,
                  "This Idempotency-Key was used with a different request.");
}

AppError IdempotencyKeyInProgress() {
  AppError busy(ErrorCode::kIdempotencyRequestInProgress,
                "A request with this Idempotency-Key is still being processed.");
  busy.retry_after_seconds = 1;
  return busy;
}

}  // namespace lab_orders::orders
