#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace lab_orders {

std::string Base64Encode(std::string_view bytes);
// Standard alphabet with padding; nullopt on any invalid character or length.
std::optional<std::string> Base64Decode(std::string_view text);
std::string HexEncode(std::string_view bytes);

std::string HmacSha256(std::string_view key, std::string_view message);
std::string Sha256(std::string_view message);
// Equality that takes the same time wherever the inputs differ.
bool ConstantTimeEquals(std::string_view a, std::string_view b);

std::string RandomBytes(std::size_t count);

}  // namespace lab_orders
