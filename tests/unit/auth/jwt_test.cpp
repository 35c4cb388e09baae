#include "lab_orders/auth/jwt.h"

#include <gtest/gtest.h>

#include <chrono>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "lab_orders/common/encoding.h"
#include "support/fakes.h"
#include "support/key_pairs.h"

namespace lab_orders::auth {
namespace {

using namespace std::chrono_literals;
using lab_orders::testing::FakeClock;
using nlohmann::json;
using testing::GenerateEc;
using testing::GenerateRsa;
using testing::KeyPair;
using testing::ToPems;

constexpr long long kNowSeconds = 1'700'000'000;
const std::chrono::system_clock::time_point kNow{std::chrono::seconds(kNowSeconds)};
const std::string kSecret = "test-hs256-secret-0123456789abcdef";  // 34 bytes: over the minimum

// ---- keys -----------------------------------------------------------------------------------

// RSA generation is slow: each key is made once for the whole binary.
const KeyPair& RsaKey() {
  static const KeyPair key = GenerateRsa(2048);
  return key;
}
const KeyPair& OtherRsaKey() {
  static const KeyPair key = GenerateRsa(2048);
  return key;
}
const KeyPair& EcKey() {
  static const KeyPair key = GenerateEc("P-256");
  return key;
}
const KeyPair& OtherEcKey() {
  static const KeyPair key = GenerateEc("P-256");
  return key;
}

// ---- tokens ---------------------------------------------------------------------------------

json ValidClaims() {
  return {{"sub", "user-1"},
          {"brand_id", "brand-1"},
          {"exp", kNowSeconds + 3600},
          {"scope", "labs:orders:read labs:orders:write"}};
}

json ClaimsWith(const std::string& name, json value) {
  json claims = ValidClaims();
  claims[name] = std::move(value);
  return claims;
}

json ClaimsWithout(const std::string& name) {
  json claims = ValidClaims();
  claims.erase(name);
  return claims;
}

// Any header and payload text, HS256-signed with `secret` whatever the header says: for headers
// that MintHs256 would never write.
std::string SignedWithHeader(const std::string& header, const std::string& payload,
                             const std::string& secret = kSecret) {
  std::string signing_input = Base64UrlEncode(header) + "." + Base64UrlEncode(payload);
  return signing_input + "." + Base64UrlEncode(HmacSha256(secret, signing_input));
}

std::string Unsigned(const std::string& header, const std::string& payload,
                     const std::string& signature_bytes = "") {
  return Base64UrlEncode(header) + "." + Base64UrlEncode(payload) + "." +
         Base64UrlEncode(signature_bytes);
}

struct TokenParts {
  std::string header, payload, signature;  // still base64url
};

TokenParts Split(const std::string& token) {
  std::size_t first = token.find('.');
  std::size_t second = token.find('.', first + 1);
  return {token.substr(0, first), token.substr(first + 1, second - first - 1),
          token.substr(second + 1)};
}

std::string Join(const TokenParts& parts) {
  return parts.header + "." + parts.payload + "." + parts.signature;
}

// The same signature on a payload saying something else.
std::string WithPayload(const std::string& token, const json& claims) {
  TokenParts parts = Split(token);
  parts.payload = Base64UrlEncode(claims.dump());
  return Join(parts);
}

std::string WithSignatureBytes(const std::string& token, const std::string& signature_bytes) {
  TokenParts parts = Split(token);
  parts.signature = Base64UrlEncode(signature_bytes);
  return Join(parts);
}

std::string SignatureBytes(const std::string& token) {
  return Base64UrlDecode(Split(token).signature).value();
}

// Flips bits in the first signature byte, so the encoding stays canonical base64url.
std::string WithTamperedSignature(const std::string& token) {
  std::string signature = SignatureBytes(token);
  signature[0] = static_cast<char>(signature[0] ^ 0x5a);
  return WithSignatureBytes(token, signature);
}

// ---- verdicts -------------------------------------------------------------------------------

// "ok" or the failure's name, so a wrong verdict reads plainly in the test output.
std::string Outcome(const std::variant<Principal, AuthFailure>& verdict) {
  if (const auto* failure = std::get_if<AuthFailure>(&verdict)) return AuthFailureName(*failure);
  return "ok";
}

JwtSettings Hs256Settings() {
  JwtSettings settings;
  settings.hs256_secret = kSecret;
  return settings;
}

JwtSettings PublicKeySettings(const KeyPair& key) {
  JwtSettings settings;
  settings.public_key_pem = key.public_pem;
  return settings;
}

JwtSettings BothSettings(const KeyPair& key) {
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

// ---- names and scopes -------------------------------------------------------------------------

TEST(JwtAuthFailureNameTest, NamesEveryFailureInSnakeCase) {
  EXPECT_STREQ(AuthFailureName(AuthFailure::kMalformed), "malformed");
  EXPECT_STREQ(AuthFailureName(AuthFailure::kAlgorithmNotAllowed), "algorithm_not_allowed");
  EXPECT_STREQ(AuthFailureName(AuthFailure::kBadSignature), "bad_signature");
  EXPECT_STREQ(AuthFailureName(AuthFailure::kExpired), "expired");
  EXPECT_STREQ(AuthFailureName(AuthFailure::kNotYetValid), "not_yet_valid");
  EXPECT_STREQ(AuthFailureName(AuthFailure::kWrongIssuer), "wrong_issuer");
  EXPECT_STREQ(AuthFailureName(AuthFailure::kWrongAudience), "wrong_audience");
  EXPECT_STREQ(AuthFailureName(AuthFailure::kMissingClaims), "missing_claims");
}

TEST(JwtPrincipalTest, HasScopeMatchesWholeScopesExactly) {
  Principal principal{.user_id = "u", .brand_id = "b", .scopes = {"labs:orders:read"}};
  EXPECT_TRUE(principal.HasScope("labs:orders:read"));
  EXPECT_FALSE(principal.HasScope("labs:orders:write"));
  EXPECT_FALSE(principal.HasScope("labs:orders"));
  EXPECT_FALSE(principal.HasScope("LABS:ORDERS:READ"));
  EXPECT_FALSE(principal.HasScope("labs:orders:read "));
  EXPECT_FALSE(principal.HasScope(""));
}

// ---- construction -------------------------------------------------------------------------------

TEST(JwtConstructorTest, ThrowsWithNeitherSecretNorKey) {
  FakeClock clock(kNow);
  EXPECT_THROW(JwtVerifier(JwtSettings{}, clock), std::invalid_argument);
}

TEST(JwtConstructorTest, ThrowsOnPemThatIsNotAPublicKey) {
  FakeClock clock(kNow);
  for (const std::string& pem : std::vector<std::string>{
           "", "not a key at all",
           "-----BEGIN PUBLIC KEY-----\nbm90IGEga2V5\n-----END PUBLIC KEY-----\n",
           "-----BEGIN CERTIFICATE-----\nbm90IGEgY2VydA==\n-----END CERTIFICATE-----\n",
           RsaKey().private_pem,  // a private key is not what this setting holds
       }) {
    JwtSettings settings;
    settings.public_key_pem = pem;
    EXPECT_THROW(JwtVerifier(settings, clock), std::invalid_argument) << pem.substr(0, 40);
  }
}

TEST(JwtConstructorTest, ThrowsOnKeysOtherThanRsaOrP256) {
  FakeClock clock(kNow);
  EXPECT_THROW(JwtVerifier(PublicKeySettings(GenerateEc("P-384")), clock), std::invalid_argument);
  EXPECT_THROW(
      JwtVerifier(PublicKeySettings(ToPems(EVP_PKEY_Q_keygen(nullptr, nullptr, "ED25519"))), clock),
      std::invalid_argument);
  // RFC 7518 §3.3: RS256 keys are 2048 bits or more.
  EXPECT_THROW(JwtVerifier(PublicKeySettings(GenerateRsa(1024)), clock), std::invalid_argument);
}

TEST(JwtConstructorTest, ThrowsOnWeakOrMisusedSettings) {
  FakeClock clock(kNow);
  JwtSettings short_secret;
  short_secret.hs256_secret = std::string(31, 'k');  // RFC 7518 §3.2 wants 32 bytes or more
  EXPECT_THROW(JwtVerifier(short_secret, clock), std::invalid_argument);

  JwtSettings secret_is_public_key = PublicKeySettings(RsaKey());
  secret_is_public_key.hs256_secret = RsaKey().public_pem;
  EXPECT_THROW(JwtVerifier(secret_is_public_key, clock), std::invalid_argument);

  JwtSettings negative_leeway = Hs256Settings();
  negative_leeway.not_before_leeway = -1s;
  EXPECT_THROW(JwtVerifier(negative_leeway, clock), std::invalid_argument);
}

TEST(JwtConstructorTest, AcceptsEachSupportedConfiguration) {
  FakeClock clock(kNow);
  EXPECT_NO_THROW(JwtVerifier(Hs256Settings(), clock));
  EXPECT_NO_THROW(JwtVerifier(PublicKeySettings(RsaKey()), clock));
  EXPECT_NO_THROW(JwtVerifier(PublicKeySettings(EcKey()), clock));
  EXPECT_NO_THROW(JwtVerifier(BothSettings(EcKey()), clock));
}

// ---- HS256 --------------------------------------------------------------------------------------

using JwtHs256Test = JwtTestBase;

TEST_F(JwtHs256Test, AcceptsAValidTokenAndReadsThePrincipal) {
  Principal principal = VerifyOk(Hs256Settings(), MintHs256(kSecret, ValidClaims()));
  EXPECT_EQ(principal.user_id, "user-1");
  EXPECT_EQ(principal.brand_id, "brand-1");
  EXPECT_EQ(principal.scopes, (std::vector<std::string>{"labs:orders:read", "labs:orders:write"}));
}

TEST_F(JwtHs256Test, MintsTheStandardHeader) {
  std::string token = MintHs256(kSecret, ValidClaims());
  EXPECT_EQ(Base64UrlDecode(Split(token).header), R"({"alg":"HS256","typ":"JWT"})");
  EXPECT_EQ(SignatureBytes(token).size(), 32u);
  EXPECT_THROW(MintHs256("", ValidClaims()), std::invalid_argument);
  EXPECT_THROW(MintHs256(kSecret, json::array()), std::invalid_argument);
}

TEST_F(JwtHs256Test, VerifiesTheRfc7515AppendixA1Example) {
  // An outside vector: the exact bytes signed, \r\n and all, not a re-serialisation.
  const std::string token =
      "eyJ0eXAiOiJKV1QiLA0KICJhbGciOiJIUzI1NiJ9."
      "eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFtcGxlLmNvbS9pc19yb290Ijp0cnVl"
      "fQ."
      "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
  JwtSettings settings;
  settings.hs256_secret =
      Base64UrlDecode(
          "AyM1SysPpbyDfgZld3umj1qzKObwVMkoqQ-EstJQLr_T-1qS0gZH75aKtMN3Yj0iPS4hc"
          "gUuTwjAzZr1Z9CAow")
          .value();
  settings.issuer = "joe";
  // The second before its exp (1300819380), from which on it has expired.
  FakeClock before_expiry(std::chrono::system_clock::time_point{1300819379s});
  JwtVerifier verifier(settings, before_expiry);
  // Signature, exp and iss all pass; the example simply has no sub or brand_id.
  EXPECT_EQ(Outcome(verifier.Verify(token)), "missing_claims");
}

TEST_F(JwtHs256Test, RejectsATamperedPayload) {
  std::string token = MintHs256(kSecret, ValidClaims());
  EXPECT_EQ(Verify(Hs256Settings(), WithPayload(token, ClaimsWith("brand_id", "brand-2"))),
            "bad_signature");
}

TEST_F(JwtHs256Test, RejectsATamperedSignature) {
  std::string token = MintHs256(kSecret, ValidClaims());
  EXPECT_EQ(Verify(Hs256Settings(), WithTamperedSignature(token)), "bad_signature");
  std::string signature = SignatureBytes(token);
  EXPECT_EQ(Verify(Hs256Settings(), WithSignatureBytes(token, signature.substr(0, 31))),
            "bad_signature");
  EXPECT_EQ(Verify(Hs256Settings(), WithSignatureBytes(token, signature + '\0')), "bad_signature");
  EXPECT_EQ(Verify(Hs256Settings(), WithSignatureBytes(token, "")), "bad_signature");
}

TEST_F(JwtHs256Test, RejectsATokenSignedWithAnotherSecret) {
  EXPECT_EQ(Verify(Hs256Settings(), MintHs256(kSecret + "x", ValidClaims())), "bad_signature");
}

TEST_F(JwtHs256Test, IsNotAllowedWhenOnlyAPublicKeyIsConfigured) {
  // The classic confusion attack: HMAC keyed with the (public) PEM text.
  for (const KeyPair* key : {&RsaKey(), &EcKey()}) {
    EXPECT_EQ(Verify(PublicKeySettings(*key), MintHs256(key->public_pem, ValidClaims())),
              "algorithm_not_allowed");
  }
}

TEST_F(JwtHs256Test, PublicKeyAsHmacSecretIsABadSignatureWhenBothAreConfigured) {
  for (const KeyPair* key : {&RsaKey(), &EcKey()}) {
    EXPECT_EQ(Verify(BothSettings(*key), MintHs256(key->public_pem, ValidClaims())),
              "bad_signature");
    EXPECT_EQ(Verify(BothSettings(*key), MintHs256(kSecret, ValidClaims())), "ok");
  }
}

TEST_F(JwtHs256Test, AcceptsTypJwtOrNoTyp) {
  std::string payload = ValidClaims().dump();
  EXPECT_EQ(Verify(Hs256Settings(), SignedWithHeader(R"({"alg":"HS256"})", payload)), "ok");
  EXPECT_EQ(Verify(Hs256Settings(), SignedWithHeader(R"({"typ":"JWT","alg":"HS256"})", payload)),
            "ok");
  // Media type names ignore case (RFC 7515 §4.1.9).
  EXPECT_EQ(Verify(Hs256Settings(), SignedWithHeader(R"({"alg":"HS256","typ":"jwt"})", payload)),
            "ok");
  // Unknown header members such as "kid" are ignored: no key is ever looked up from the token.
  EXPECT_EQ(Verify(Hs256Settings(), SignedWithHeader(R"({"alg":"HS256","kid":"k1"})", payload)),
            "ok");
}

TEST_F(JwtHs256Test, RejectsOtherTypAndCriticalExtensions) {
  std::string payload = ValidClaims().dump();
  for (const char* header : {
           R"({"alg":"HS256","typ":"JWS"})",
           R"({"alg":"HS256","typ":"at+jwt"})",
           R"({"alg":"HS256","typ":""})",
           R"({"alg":"HS256","typ":1})",
           R"({"alg":"HS256","typ":null})",
           R"({"alg":"HS256","crit":["exp"],"exp":1})",
       }) {
    EXPECT_EQ(Verify(Hs256Settings(), SignedWithHeader(header, payload)), "malformed") << header;
  }
}

// ---- RS256 --------------------------------------------------------------------------------------

using JwtRs256Test = JwtTestBase;

TEST_F(JwtRs256Test, AcceptsAValidToken) {
  std::string token = MintWithPrivateKey("RS256", RsaKey().private_pem, ValidClaims());
  EXPECT_EQ(Base64UrlDecode(Split(token).header), R"({"alg":"RS256","typ":"JWT"})");
  EXPECT_EQ(SignatureBytes(token).size(), 256u);
  Principal principal = VerifyOk(PublicKeySettings(RsaKey()), token);
  EXPECT_EQ(principal.user_id, "user-1");
  EXPECT_EQ(principal.brand_id, "brand-1");
  EXPECT_EQ(Verify(BothSettings(RsaKey()), token), "ok");
}

TEST_F(JwtRs256Test, RejectsATamperedPayload) {
  std::string token = MintWithPrivateKey("RS256", RsaKey().private_pem, ValidClaims());
  EXPECT_EQ(Verify(PublicKeySettings(RsaKey()), WithPayload(token, ClaimsWith("sub", "admin"))),
            "bad_signature");
}

TEST_F(JwtRs256Test, RejectsATamperedOrTruncatedSignature) {
  std::string token = MintWithPrivateKey("RS256", RsaKey().private_pem, ValidClaims());
  EXPECT_EQ(Verify(PublicKeySettings(RsaKey()), WithTamperedSignature(token)), "bad_signature");
  EXPECT_EQ(Verify(PublicKeySettings(RsaKey()),
                   WithSignatureBytes(token, SignatureBytes(token).substr(1))),
            "bad_signature");
  EXPECT_EQ(Verify(PublicKeySettings(RsaKey()), WithSignatureBytes(token, "")), "bad_signature");
}

TEST_F(JwtRs256Test, RejectsATokenFromAnotherKey) {
  std::string token = MintWithPrivateKey("RS256", OtherRsaKey().private_pem, ValidClaims());
  EXPECT_EQ(Verify(PublicKeySettings(RsaKey()), token), "bad_signature");
}

TEST_F(JwtRs256Test, IsNotAllowedWithoutAnRsaKey) {
  std::string token = MintWithPrivateKey("RS256", RsaKey().private_pem, ValidClaims());
  EXPECT_EQ(Verify(Hs256Settings(), token), "algorithm_not_allowed");
  EXPECT_EQ(Verify(PublicKeySettings(EcKey()), token), "algorithm_not_allowed");
}

// ---- ES256 --------------------------------------------------------------------------------------

using JwtEs256Test = JwtTestBase;

TEST_F(JwtEs256Test, AcceptsAValidToken) {
  std::string token = MintWithPrivateKey("ES256", EcKey().private_pem, ValidClaims());
  EXPECT_EQ(Base64UrlDecode(Split(token).header), R"({"alg":"ES256","typ":"JWT"})");
  Principal principal = VerifyOk(PublicKeySettings(EcKey()), token);
  EXPECT_EQ(principal.user_id, "user-1");
  EXPECT_EQ(principal.brand_id, "brand-1");
  EXPECT_EQ(Verify(BothSettings(EcKey()), token), "ok");
}

TEST_F(JwtEs256Test, MintsFixedWidthSignaturesThatVerify) {
  // About one r (or s) in 256 is short by a byte; mint until both have needed left padding.
  JwtVerifier verifier(PublicKeySettings(EcKey()), clock_);
  bool padded_r = false, padded_s = false;
  for (int i = 0; i < 20'000 && !(padded_r && padded_s); ++i) {
    std::string token = MintWithPrivateKey("ES256", EcKey().private_pem, ClaimsWith("jti", i));
    std::string signature = SignatureBytes(token);
    ASSERT_EQ(signature.size(), 64u);
    ASSERT_EQ(Outcome(verifier.Verify(token)), "ok") << token;
    padded_r = padded_r || signature[0] == '\0';
    padded_s = padded_s || signature[32] == '\0';
  }
  EXPECT_TRUE(padded_r);
  EXPECT_TRUE(padded_s);
}

TEST_F(JwtEs256Test, RejectsSignaturesThatAreNot64Bytes) {
  std::string token = MintWithPrivateKey("ES256", EcKey().private_pem, ValidClaims());
  std::string signature = SignatureBytes(token);
  for (const std::string& wrong : {signature.substr(0, 63), signature + '\0',
                                   std::string(1, '\0') + signature, std::string()}) {
    EXPECT_EQ(Verify(PublicKeySettings(EcKey()), WithSignatureBytes(token, wrong)), "bad_signature")
        << wrong.size() << " bytes";
  }
}

TEST_F(JwtEs256Test, RejectsDerEncodedSignatures) {
  // The usual issuer bug: OpenSSL's DER output sent as is. Built by hand as a SEQUENCE of two
  // INTEGERs; only its length matters here, so each simply gets a 0x00 sign prefix.
  std::string raw = SignatureBytes(MintWithPrivateKey("ES256", EcKey().private_pem, ValidClaims()));
  auto integer = [](const std::string& magnitude) {
    return std::string("\x02\x21\x00", 3) + magnitude;
  };
  std::string body = integer(raw.substr(0, 32)) + integer(raw.substr(32));
  std::string der = std::string("\x30", 1) + static_cast<char>(body.size()) + body;
  std::string token = MintWithPrivateKey("ES256", EcKey().private_pem, ValidClaims());
  EXPECT_EQ(Verify(PublicKeySettings(EcKey()), WithSignatureBytes(token, der)), "bad_signature");
}

TEST_F(JwtEs256Test, RejectsTamperedZeroOrForeignSignatures) {
  std::string token = MintWithPrivateKey("ES256", EcKey().private_pem, ValidClaims());
  EXPECT_EQ(Verify(PublicKeySettings(EcKey()), WithTamperedSignature(token)), "bad_signature");
  EXPECT_EQ(Verify(PublicKeySettings(EcKey()), WithSignatureBytes(token, std::string(64, '\0'))),
            "bad_signature");
  EXPECT_EQ(Verify(PublicKeySettings(EcKey()), WithSignatureBytes(token, std::string(64, '\xff'))),
            "bad_signature");
  EXPECT_EQ(Verify(PublicKeySettings(EcKey()), WithPayload(token, ClaimsWith("sub", "admin"))),
            "bad_signature");
  EXPECT_EQ(Verify(PublicKeySettings(EcKey()),
                   MintWithPrivateKey("ES256", OtherEcKey().private_pem, ValidClaims())),
            "bad_signature");
}

TEST_F(JwtEs256Test, IsNotAllowedWithoutAP256Key) {
  std::string token = MintWithPrivateKey("ES256", EcKey().private_pem, ValidClaims());
  EXPECT_EQ(Verify(Hs256Settings(), token), "algorithm_not_allowed");
  EXPECT_EQ(Verify(PublicKeySettings(RsaKey()), token), "algorithm_not_allowed");
}

// ---- minting with a private key
// ------------------------------------------------------------------

TEST(JwtMintTest, RefusesUnsupportedAlgorithmsAndMismatchedKeys) {
  EXPECT_THROW(MintWithPrivateKey("HS256", RsaKey().private_pem, ValidClaims()),
               std::invalid_argument);
  EXPECT_THROW(MintWithPrivateKey("ES384", EcKey().private_pem, ValidClaims()),
               std::invalid_argument);
  EXPECT_THROW(MintWithPrivateKey("RS256", EcKey().private_pem, ValidClaims()),
               std::invalid_argument);
  EXPECT_THROW(MintWithPrivateKey("ES256", RsaKey().private_pem, ValidClaims()),
               std::invalid_argument);
  EXPECT_THROW(MintWithPrivateKey("ES256", GenerateEc("P-384").private_pem, ValidClaims()),
               std::invalid_argument);
  EXPECT_THROW(MintWithPrivateKey("RS256", RsaKey().public_pem, ValidClaims()),
               std::invalid_argument);
  EXPECT_THROW(MintWithPrivateKey("RS256", RsaKey().private_pem, json("claims")),
               std::invalid_argument);
}

// ---- algorithms that are never accepted
// ------------------------------------------------------------

using JwtAlgorithmTest = JwtTestBase;

TEST_F(JwtAlgorithmTest, RefusesNoneInAnyCaseWithOrWithoutASignature) {
  std::string payload = ValidClaims().dump();
  for (const char* alg : {"none", "None", "NONE", "nOnE"}) {
    std::string header = json{{"alg", alg}, {"typ", "JWT"}}.dump();
    for (const JwtSettings& settings : {Hs256Settings(), BothSettings(RsaKey())}) {
      // The usual form: an empty signature part.
      EXPECT_EQ(Verify(settings, Unsigned(header, payload)), "algorithm_not_allowed") << alg;
      // A signature part that would pass as HS256.
      EXPECT_EQ(Verify(settings, SignedWithHeader(header, payload)), "algorithm_not_allowed")
          << alg;
      // No signature part at all is not even a JWS.
      EXPECT_EQ(Verify(settings, Base64UrlEncode(header) + "." + Base64UrlEncode(payload)),
                "malformed")
          << alg;
    }
  }
}

TEST_F(JwtAlgorithmTest, RefusesEveryOtherAlgorithm) {
  std::string payload = ValidClaims().dump();
  for (const char* alg : {"hs256", "Hs256", "HS384", "HS512", "RS384", "RS512", "PS256", "ES384",
                          "ES512", "ES256K", "EdDSA", "HS256 ", ""}) {
    EXPECT_EQ(Verify(BothSettings(RsaKey()), SignedWithHeader(json{{"alg", alg}}.dump(), payload)),
              "algorithm_not_allowed")
        << "\"" << alg << "\"";
  }
}

// ---- claims
// ---------------------------------------------------------------------------------------

using JwtClaimsTest = JwtTestBase;

// exp has no leeway (the nbf leeway is for clocks ahead of ours, not for tokens past their
// time): from its expiry on, a token is refused (RFC 7519 §4.1.4: "on or after").
TEST_F(JwtClaimsTest, ExpiryIsExactWhateverTheNotBeforeLeeway) {
  std::string token = MintHs256(kSecret, ClaimsWith("exp", kNowSeconds + 1));
  EXPECT_EQ(Verify(Hs256Settings(), token), "ok");
  EXPECT_EQ(Verify(Hs256Settings(), MintHs256(kSecret, ClaimsWith("exp", kNowSeconds))), "expired");
  // NumericDate may carry a fraction (RFC 7519 §2).
  EXPECT_EQ(Verify(Hs256Settings(), MintHs256(kSecret, ClaimsWith("exp", kNowSeconds - 0.5))),
            "expired");
  EXPECT_EQ(Verify(Hs256Settings(), MintHs256(kSecret, ClaimsWith("exp", kNowSeconds + 0.5))),
            "ok");
  clock_.Advance(999ms);
  EXPECT_EQ(Verify(Hs256Settings(), token), "ok");
  clock_.Advance(1ms);
  EXPECT_EQ(Verify(Hs256Settings(), token), "expired");
}

TEST_F(JwtClaimsTest, MissingOrNonNumericExpIsExpired) {
  EXPECT_EQ(Verify(Hs256Settings(), MintHs256(kSecret, ClaimsWithout("exp"))), "expired");
  for (const json& exp : {json(std::to_string(kNowSeconds + 3600)), json(true), json(nullptr),
                          json::array({kNowSeconds + 3600}), json::object()}) {
    EXPECT_EQ(Verify(Hs256Settings(), MintHs256(kSecret, ClaimsWith("exp", exp))), "expired")
        << exp.dump();
  }
}

TEST_F(JwtClaimsTest, NotBeforeHonoursTheLeeway) {
  EXPECT_EQ(Verify(Hs256Settings(), MintHs256(kSecret, ClaimsWith("nbf", kNowSeconds + 60))), "ok");
  EXPECT_EQ(Verify(Hs256Settings(), MintHs256(kSecret, ClaimsWith("nbf", kNowSeconds + 61))),
            "not_yet_valid");
  EXPECT_EQ(Verify(Hs256Settings(), MintHs256(kSecret, ClaimsWith("nbf", kNowSeconds + 60.001))),
            "not_yet_valid");
  EXPECT_EQ(Verify(Hs256Settings(), MintHs256(kSecret, ClaimsWith("nbf", kNowSeconds - 600))),
            "ok");
  EXPECT_EQ(Verify(Hs256Settings(), MintHs256(kSecret, ClaimsWith("nbf", "0"))), "not_yet_valid");
  std::string future = MintHs256(kSecret, ClaimsWith("nbf", kNowSeconds + 61));
  clock_.Advance(1s);
  EXPECT_EQ(Verify(Hs256Settings(), future), "ok");
}

TEST_F(JwtClaimsTest, IssuerMustMatchWhenConfigured) {
  JwtSettings settings = Hs256Settings();
  settings.issuer = "https://auth.example.com";
  EXPECT_EQ(Verify(settings, MintHs256(kSecret, ClaimsWith("iss", "https://auth.example.com"))),
            "ok");
  for (const json& iss : {json("https://auth.example.com/"), json("https://evil.example.com"),
                          json(""), json(nullptr), json::array({"https://auth.example.com"})}) {
    EXPECT_EQ(Verify(settings, MintHs256(kSecret, ClaimsWith("iss", iss))), "wrong_issuer")
        << iss.dump();
  }
  EXPECT_EQ(Verify(settings, MintHs256(kSecret, ValidClaims())), "wrong_issuer");
  // Unconfigured, any issuer will do.
  EXPECT_EQ(Verify(Hs256Settings(), MintHs256(kSecret, ClaimsWith("iss", "anyone"))), "ok");
}

TEST_F(JwtClaimsTest, AudienceMayBeAStringOrAnArrayContainingIt) {
  JwtSettings settings = Hs256Settings();
  settings.audience = "lab-orders";
  for (const json& aud :
       {json("lab-orders"), json::array({"lab-orders"}), json::array({"billing", "lab-orders"})}) {
    EXPECT_EQ(Verify(settings, MintHs256(kSecret, ClaimsWith("aud", aud))), "ok") << aud.dump();
  }
  for (const json& aud : {json("billing"), json("LAB-ORDERS"), json::array({"billing"}),
                          json::array(), json::array({json::array({"lab-orders"})}), json(42),
                          json(nullptr), json{{"lab-orders", true}}}) {
    EXPECT_EQ(Verify(settings, MintHs256(kSecret, ClaimsWith("aud", aud))), "wrong_audience")
        << aud.dump();
  }
  EXPECT_EQ(Verify(settings, MintHs256(kSecret, ValidClaims())), "wrong_audience");
  EXPECT_EQ(Verify(Hs256Settings(), MintHs256(kSecret, ClaimsWith("aud", "billing"))), "ok");
}

TEST_F(JwtClaimsTest, SubjectAndBrandMustBeNonEmptyStrings) {
  EXPECT_EQ(Verify(Hs256Settings(), MintHs256(kSecret, ClaimsWithout("sub"))), "missing_claims");
  EXPECT_EQ(Verify(Hs256Settings(), MintHs256(kSecret, ClaimsWithout("brand_id"))),
            "missing_claims");
  for (const char* name : {"sub", "brand_id"}) {
    for (const json& value : {json(""), json(42), json(nullptr), json::array({"x"})}) {
      EXPECT_EQ(Verify(Hs256Settings(), MintHs256(kSecret, ClaimsWith(name, value))),
                "missing_claims")
          << name << " = " << value.dump();
    }
  }
}

TEST_F(JwtClaimsTest, ScopeIsOptionalAndSplitOnSpaces) {
  auto scopes_of = [&](const json& claims) {
    return VerifyOk(Hs256Settings(), MintHs256(kSecret, claims)).scopes;
  };
  using Scopes = std::vector<std::string>;
  EXPECT_EQ(scopes_of(ClaimsWithout("scope")), Scopes{});
  EXPECT_EQ(scopes_of(ClaimsWith("scope", "")), Scopes{});
  EXPECT_EQ(scopes_of(ClaimsWith("scope", "labs:orders:read")), Scopes{"labs:orders:read"});
  EXPECT_EQ(scopes_of(ClaimsWith("scope", "  a  b c ")), (Scopes{"a", "b", "c"}));
  EXPECT_EQ(Verify(Hs256Settings(), MintHs256(kSecret, ClaimsWith("scope", json::array({"a"})))),
            "missing_claims");
}

TEST_F(JwtClaimsTest, SignatureIsCheckedBeforeAnyClaim) {
  JwtSettings settings = Hs256Settings();
  settings.issuer = "issuer";
  settings.audience = "audience";
  for (const json& claims : {ClaimsWith("exp", kNowSeconds - 3600), ClaimsWithout("exp"),
                             ClaimsWith("nbf", kNowSeconds + 3600), ClaimsWith("iss", "other"),
                             ClaimsWithout("sub"), ClaimsWith("brand_id", 7)}) {
    EXPECT_EQ(Verify(settings, MintHs256(kSecret + "x", claims)), "bad_signature") << claims.dump();
  }
}

// ---- malformed tokens -------------------------------------------------------------------------

using JwtMalformedTest = JwtTestBase;

TEST_F(JwtMalformedTest, RejectsTokensThatAreNotThreeParts) {
  std::string token = MintHs256(kSecret, ValidClaims());
  TokenParts parts = Split(token);
  for (const std::string& wrong : std::vector<std::string>{
           "", ".", "..", "...", "abc", parts.header + "." + parts.payload, token + ".",
           token + "." + parts.signature, "." + parts.payload + "." + parts.signature, " " + token,
           token + " ", token + "\n"}) {
    EXPECT_EQ(Verify(Hs256Settings(), wrong), "malformed") << "\"" << wrong << "\"";
  }
}

TEST_F(JwtMalformedTest, RejectsPartsThatAreNotBase64Url) {
  std::string token = MintHs256(kSecret, ValidClaims());
  TokenParts parts = Split(token);
  auto with = [](TokenParts changed) { return Join(changed); };
  for (const std::string& wrong : std::vector<std::string>{
           "!!!.@@@.###",
           with({"%%" + parts.header, parts.payload, parts.signature}),
           with({parts.header, parts.payload + "*", parts.signature}),
           with({parts.header, parts.payload, parts.signature + "="}),   // padding
           with({parts.header, parts.payload, parts.signature + "AA"}),  // impossible length
           with({parts.header, parts.payload, parts.signature.substr(0, 42) + "l"}),  // stray bits
           with({parts.header, parts.payload + "==", parts.signature}),
       }) {
    EXPECT_EQ(Verify(Hs256Settings(), wrong), "malformed") << wrong;
  }
  // The standard alphabet's "+" and "/" are not base64url.
  std::string standard = Base64Encode(SignatureBytes(token));
  EXPECT_EQ(Verify(Hs256Settings(), with({parts.header, parts.payload, standard})), "malformed");
}

TEST_F(JwtMalformedTest, RejectsHeadersAndPayloadsThatAreNotJsonObjects) {
  std::string header = R"({"alg":"HS256","typ":"JWT"})";
  std::string payload = ValidClaims().dump();
  for (const std::string not_object :
       {"", "null", "42", "\"text\"", "[]", "[{\"alg\":\"HS256\"}]", "{", "{\"alg\":\"HS256\",}",
        "{'alg':'HS256'}", "{\"alg\":\"HS256\"} trailing", "{\"a\":\"\xff\"}"}) {
    EXPECT_EQ(Verify(Hs256Settings(), SignedWithHeader(not_object, payload)), "malformed")
        << "header " << not_object;
    EXPECT_EQ(Verify(Hs256Settings(), SignedWithHeader(header, not_object)), "malformed")
        << "payload " << not_object;
  }
}

TEST_F(JwtMalformedTest, RejectsHeadersWithoutAStringAlg) {
  std::string payload = ValidClaims().dump();
  for (const char* header : {R"({})", R"({"typ":"JWT"})", R"({"alg":null})", R"({"alg":256})",
                             R"({"alg":["HS256"]})", R"({"ALG":"HS256"})"}) {
    EXPECT_EQ(Verify(Hs256Settings(), SignedWithHeader(header, payload)), "malformed") << header;
  }
}

TEST_F(JwtMalformedTest, RejectsDuplicateMemberNames) {
  // Which "alg" or "brand_id" wins must not depend on the JSON parser.
  std::string payload = ValidClaims().dump();
  EXPECT_EQ(Verify(Hs256Settings(), SignedWithHeader(R"({"alg":"none","alg":"HS256"})", payload)),
            "malformed");
  std::string duplicated_brand = payload;
  duplicated_brand.insert(1, R"("brand_id":"brand-2",)");
  EXPECT_EQ(Verify(Hs256Settings(), SignedWithHeader(R"({"alg":"HS256"})", duplicated_brand)),
            "malformed");
  // The same name in different objects is fine.
  EXPECT_EQ(Verify(Hs256Settings(), MintHs256(kSecret, ClaimsWith("ext", {{"sub", "x"}}))), "ok");
}

TEST_F(JwtMalformedTest, RejectsDuplicateMemberNamesAtAnyDepth) {
  std::string header = R"({"alg":"HS256"})";
  std::string payload = ValidClaims().dump();
  for (const char* claim : {R"("ext":{"a":1,"a":2},)", R"("ext":[{"a":1},{"b":1,"b":1}],)",
                            R"("ext":{"in":{"a":{},"a":[]}},)"}) {
    std::string nested = payload;
    nested.insert(1, claim);
    EXPECT_EQ(Verify(Hs256Settings(), SignedWithHeader(header, nested)), "malformed") << claim;
  }
  // Equal names in sibling objects, and many members, are fine.
  std::string siblings = payload;
  siblings.insert(1, R"("ext":[{"a":1,"b":2},{"a":1,"b":2}],"more":{"a":{"a":1}},)");
  EXPECT_EQ(Verify(Hs256Settings(), SignedWithHeader(header, siblings)), "ok");
}

TEST_F(JwtMalformedTest, AcceptsUpTo8KiBAndRefusesAnythingLonger) {
  // Grow a filler claim until the token crosses 8 KiB, noting the longest token that fits.
  std::string longest_fitting, first_too_long;
  for (std::size_t filler = 5900; first_too_long.empty(); ++filler) {
    std::string token = MintHs256(kSecret, ClaimsWith("filler", std::string(filler, 'x')));
    (token.size() <= 8192 ? longest_fitting : first_too_long) = token;
  }
  EXPECT_EQ(longest_fitting.size(), 8192u);
  EXPECT_EQ(Verify(Hs256Settings(), longest_fitting), "ok");
  EXPECT_EQ(Verify(Hs256Settings(), first_too_long), "malformed");
  // 100 KB, validly signed, is refused on its size alone.
  EXPECT_EQ(Verify(Hs256Settings(),
                   MintHs256(kSecret, ClaimsWith("filler", std::string(100 * 1024, 'x')))),
            "malformed");
  EXPECT_EQ(Verify(Hs256Settings(), std::string(100 * 1024, 'A')), "malformed");
}

}  // namespace
}  // namespace lab_orders::auth
