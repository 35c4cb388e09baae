// The JWT verifier: failure names and scopes, its settings, and each algorithm it accepts (HS256,
// RS256, ES256) with tokens made, tampered with or signed by another key; minting with a private
// key. Algorithms it never accepts, the claims and malformed tokens are in jwt_claims_test.cpp.

#include "unit/auth/jwt_test_fixture.h"

namespace lab_orders::auth {
namespace {

using namespace jwt_test_support;  // the fixture, its constants and helpers

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

}  // namespace
}  // namespace lab_orders::auth
