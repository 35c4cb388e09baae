#pragma once

// The fixture of the JWT verifier's tests (jwt_test.cpp, jwt_claims_test.cpp): keys of each kind,
// tokens made and taken apart, tampered with, and each verdict's name.

#include <gtest/gtest.h>

#include <chrono>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "lab_orders/auth/jwt.h"
#include "lab_orders/common/encoding.h"
#include "support/fakes.h"
#include "support/key_pairs.h"

namespace lab_orders::auth::jwt_test_support {

using namespace std::chrono_literals;
using lab_orders::testing::FakeClock;
using nlohmann::json;
using testing::GenerateEc;
using testing::GenerateRsa;
using testing::KeyPair;
using testing::ToPems;

inline constexpr long long kNowSeconds = 1'700'000'000;
inline const std::chrono::system_clock::time_point kNow{std::chrono::seconds(kNowSeconds)};
inline const std::string kSecret =
    "test-hs256-secret-0123456789abcdef";  // 34 bytes: over the minimum

// ---- keys -----------------------------------------------------------------------------------

// RSA generation is slow: each key is made once for the whole binary.
inline const KeyPair& RsaKey() {
  static const KeyPair key = GenerateRsa(2048);
  return key;
}
inline const KeyPair& OtherRsaKey() {
  static const KeyPair key = GenerateRsa(2048);
  return key;
}
inline const KeyPair& EcKey() {
  static const KeyPair key = GenerateEc("P-256");
  return key;
}
inline const KeyPair& OtherEcKey() {
  static const KeyPair key = GenerateEc("P-256");
  return key;
}

// ---- tokens ---------------------------------------------------------------------------------

inline json ValidClaims() {
  return {{"sub", "user-1"},
          {"brand_id", "brand-1"},
          {"exp", kNowSeconds + 3600},
          {"scope", "labs:orders:read labs:orders:write"}};
}

inline json ClaimsWith(const std::string& name, json value) {
  json claims = ValidClaims();
  claims[name] = std::move(value);
  return claims;
}

inline json ClaimsWithout(const std::string& name) {
  json claims = ValidClaims();
  claims.erase(name);
  return claims;
}

// Any header and payload text, HS256-signed with `secret` whatever the header says: for headers
// that MintHs256 would never write.
inline std::string SignedWithHeader(const std::string& header, const std::string& payload,
                                    const std::string& secret = kSecret) {
  std::string signing_input = Base64UrlEncode(header) + "." + Base64UrlEncode(payload);
  return signing_input + "." + Base64UrlEncode(HmacSha256(secret, signing_input));
}

inline std::string Unsigned(const std::string& header, const std::string& payload,
                            const std::string& signature_bytes = "") {
  return Base64UrlEncode(header) + "." + Base64UrlEncode(payload) + "." +
         Base64UrlEncode(signature_bytes);
}

struct TokenParts {
  std::string header, payload, signature;  // still base64url
};

inline TokenParts Split(const std::string& token) {
  std::size_t first = token.find('.');
  std::size_t second = token.find('.', first + 1);
  return {token.substr(0, first), token.substr(first + 1, second - first - 1),
          token.substr(second + 1)};
}

inline std::string Join(const TokenParts& parts) {
  return parts.header + "." + parts.payload + "." + parts.signature;
}

// The same signature on a payload saying something else.
inline std::string WithPayload(const std::string& token, const json& claims) {
  TokenParts parts = Split(token);
  parts.payload = Base64UrlEncode(claims.dump());
  return Join(parts);
}

inline std::string WithSignatureBytes(const std::string& token,
                                      const std::string& signature_bytes) {
  TokenParts parts = Split(token);
  parts.signature = Base64UrlEncode(signature_bytes);
  return Join(parts);
}

inline std::string SignatureBytes(const std::string& token) {
  return Base64UrlDecode(Split(token).signature).value();
}

// Flips bits in the first signature byte, so the encoding stays canonical base64url.
inline std::string WithTamperedSignature(const std::string& token) {
  std::string signature = SignatureBytes(token);
  signature[0] = static_cast<char>(signature[0] ^ 0x5a);
  return WithSignatureBytes(token, signature);
}

// ---- verdicts -------------------------------------------------------------------------------

// "ok" or the failure's name, so a wrong verdict reads plainly in the test output.
inline std::string Outcome(const std::variant<Principal, AuthFailure>& verdict) {
  if (const auto* failure = std::get_if<AuthFailure>(&verdict)) return AuthFailureName(*failure);
  return "ok";
}

inline JwtSettings Hs256Settings() {
  JwtSettings settings;
  settings.hs256_secret = kSecret;
  return settings;
}

inline JwtSettings PublicKeySettings(const KeyPair& key) {
  JwtSettings settings;
  settings.public_key_pem = key.public_pem;
  return settings;
}

inline JwtSettings BothSettings(const KeyPair& key) {
  JwtSettings settings = PublicKeySettings(key);
  settings.hs256_secret = kSecret;
  return settings;
}

class JwtTestBase : public ::testing::Test {
 protected:
  std::string Verify(const JwtSettings& settings, const std::string& token) const {
    JwtVerifier verifier(settings, clock_);
    return Outcome(verifier.Verify(token));
  }
  Principal VerifyOk(const JwtSettings& settings, const std::string& token) const {
    JwtVerifier verifier(settings, clock_);
    auto verdict = verifier.Verify(token);
    if (const auto* principal = std::get_if<Principal>(&verdict)) return *principal;
    ADD_FAILURE() << "expected a principal, got " << Outcome(verdict);
    return {};
  }

  FakeClock clock_{kNow};
};

}  // namespace lab_orders::auth::jwt_test_support
