#pragma once

// Bearer token verification for the contract (HTTP surface). Implemented on OpenSSL directly:
// Poco::JWT 1.11 checks no claims, compares HMACs in variable time and signs ES384/ES512 wrongly.

#include <chrono>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "lab_orders/common/clock.h"

namespace lab_orders::auth {

class VerifiedTokens;

struct Principal {
  std::string user_id;              // "sub"
  std::string brand_id;             // "brand_id"
  std::vector<std::string> scopes;  // "scope", space-separated

  bool HasScope(std::string_view scope) const;
};

struct JwtSettings {
  std::optional<std::string> hs256_secret;  // LAB_ORDERS_JWT_SECRET
  std::optional<std::string>
      public_key_pem;                   // contents of LAB_ORDERS_JWT_PUBLIC_KEY (RSA or EC P-256)
  std::optional<std::string> issuer;    // LAB_ORDERS_JWT_ISSUER
  std::optional<std::string> audience;  // LAB_ORDERS_JWT_AUDIENCE
  // Clock skew allowed on nbf (a token minted on a clock slightly ahead of ours). exp has none:
  // a token is refused from its expiry on, as RFC 7519 §4.1.4 says.
  std::chrono::seconds not_before_leeway{60};
};

enum class AuthFailure {
  kMalformed,            // not three base64url parts of JSON
  kAlgorithmNotAllowed,  // none, or an algorithm the configuration does not enable
  kBadSignature,
  kExpired,      // exp missing, or now or past
  kNotYetValid,  // nbf in the future beyond the leeway
  kWrongIssuer,
  kWrongAudience,
  kMissingClaims,  // sub or brand_id missing or not strings
};
const char* AuthFailureName(AuthFailure failure);

class JwtVerifier {
 public:
  // Throws std::invalid_argument when neither a secret nor a key is set, or the PEM is not an
  // RSA or P-256 public key.
  JwtVerifier(JwtSettings settings, const Clock& clock);
  ~JwtVerifier();
  JwtVerifier(const JwtVerifier&) = delete;
  JwtVerifier& operator=(const JwtVerifier&) = delete;

  // A token that verified is kept (up to a few thousand), so its next use checks only its
  // time claims: clients send the same token on every request until it expires.
  std::variant<Principal, AuthFailure> Verify(std::string_view token) const;

 private:
  struct Keys;
  std::variant<Principal, AuthFailure> VerifyFully(std::string_view token) const;
  // exp (exactly) and nbf (with the leeway) against the clock.
  std::optional<AuthFailure> CheckTimes(double expires_at, std::optional<double> not_before) const;

  JwtSettings settings_;
  const Clock& clock_;
  std::unique_ptr<Keys> keys_;
  std::unique_ptr<VerifiedTokens> verified_;
};

// An HS256 token with these claims (for `lab-orders token` and tests).
std::string MintHs256(std::string_view secret, const nlohmann::json& claims);
// RS256 / ES256 tokens signed with a PEM private key (tests).
std::string MintWithPrivateKey(std::string_view algorithm, std::string_view private_key_pem,
                               const nlohmann::json& claims);

}  // namespace lab_orders::auth
