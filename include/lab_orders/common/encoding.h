#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace lab_orders {

std::string Base64Encode(std::string_view bytes);
// Standard alphabet with padding; nullopt on any invalid character or length.
std::optional<std::string> Base64Decode(std::string_view text);
// RFC 4648 §5 URL-safe alphabet without padding, as JWS uses it.
std::string Base64UrlEncode(std::string_view bytes);
// Strict: nullopt on '=', '+', '/', any other invalid character, an impossible length, or unused
// trailing bits that are not zero (so each byte string has exactly one accepted encoding).
std::optional<std::string> Base64UrlDecode(std::string_view text);
std::string HexEncode(std::string_view bytes);

std::string HmacSha256(std::string_view key, std::string_view message);
std::string Sha256(std::string_view message);
// Equality that takes the same time wherever the inputs differ.
bool ConstantTimeEquals(std::string_view a, std::string_view b);

std::string RandomBytes(std::size_t count);

}  // namespace lab_orders
