#pragma once

#include <optional>
#include <string>

namespace lab_orders::orders {

// The Idempotency-Key header's value: 1 to 255 printable ASCII characters, bare or as an RFC 8941
// string; nullopt for anything else.
std::optional<std::string> ParseIdempotencyKey(const std::string& header);

}  // namespace lab_orders::orders
