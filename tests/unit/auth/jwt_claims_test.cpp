// The JWT verifier's refusals beyond a signature: algorithms never accepted (none in any case,
// every other), each claim (exp, nbf, iss, aud, sub, brand, scope) and malformed tokens.

#include "unit/auth/jwt_test_fixture.h"

namespace lab_orders::auth {
namespace {

using namespace jwt_test_support;  // the fixture, its constants and helpers

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
