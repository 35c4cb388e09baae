#pragma once

#include <optional>
#include <string>

#include "lab_orders/common/error.h"

namespace lab_orders::orders {

// The Idempotency-Key header's value: 1 to 255 printable ASCII characters, bare or as an RFC 8941
// string; nullopt for anything else.
std::optional<std::string> ParseIdempotencyKey(const std::string& header);

// The refusals every route that takes a key gives, in the same words.
AppError IdempotencyKeyInvalid();
AppError IdempotencyKeyReused();
AppError IdempotencyKeyInProgress();  // with Retry-After: 1

}  // namespace lab_orders::orders
