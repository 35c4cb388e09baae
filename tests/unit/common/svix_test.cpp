#include "lab_orders/common/svix.h"

#include <gtest/gtest.h>

#include <chrono>
#include <optional>
#include <set>
#include <stdexcept>
#include <string>

#include "lab_orders/common/encoding.h"
#include "support/webhook_vectors.h"

namespace lab_orders {
namespace {

using std::chrono::seconds;
using std::chrono::system_clock;
using Verdict = WebhookSigner::Verdict;

using namespace testing::webhook_vectors;

system_clock::time_point At(long long unix_seconds) {
  return system_clock::time_point{seconds{unix_seconds}};
}

Verdict VerifyA(const std::string& signature_header, system_clock::time_point now = At(kTimestampA),
                const std::string& body = kBodyA) {
  return WebhookSigner(kSecretA).Verify(kIdA, std::to_string(kTimestampA), signature_header, body,
                                        now);
}

Verdict VerifyB(const std::string& signature_header) {
  return WebhookSigner(kSecretB).Verify(kIdB, std::to_string(kTimestampB), signature_header, kBodyB,
                                        At(kTimestampB));
}

TEST(WebhookSignerTest, SignsVectorA) {
  EXPECT_EQ(WebhookSigner(kSecretA).Sign(kIdA, kTimestampA, kBodyA), kSignatureA);
}

TEST(WebhookSignerTest, SignsVectorB) {
  EXPECT_EQ(WebhookSigner(kSecretB).Sign(kIdB, kTimestampB, kBodyB), kSignatureB);
}

TEST(WebhookSignerTest, SignatureCoversIdTimestampAndBody) {
  WebhookSigner signer(kSecretA);
  EXPECT_NE(signer.Sign("msg_other", kTimestampA, kBodyA), kSignatureA);
  EXPECT_NE(signer.Sign(kIdA, kTimestampA + 1, kBodyA), kSignatureA);
  // The body is signed byte for byte: re-serialising without the space changes it.
  EXPECT_NE(signer.Sign(kIdA, kTimestampA, R"({"test":2432232314})"), kSignatureA);
}

TEST(WebhookSignerTest, VerifiesVectorA) { EXPECT_EQ(VerifyA(kSignatureA), Verdict::kValid); }

TEST(WebhookSignerTest, VerifiesVectorB) { EXPECT_EQ(VerifyB(kSignatureB), Verdict::kValid); }

TEST(WebhookSignerTest, RejectsVectorAWithLastCharacterChanged) {
  EXPECT_EQ(VerifyA(kSignatureALastCharChanged), Verdict::kBadSignature);
}

TEST(WebhookSignerTest, RejectsVectorAWithReserializedBody) {
  EXPECT_EQ(VerifyA(kSignatureA, At(kTimestampA), R"({"test":2432232314})"),
            Verdict::kBadSignature);
}

TEST(WebhookSignerTest, RejectsVectorASignedWithAnotherSecret) {
  EXPECT_EQ(WebhookSigner(kSecretB).Verify(kIdA, std::to_string(kTimestampA), kSignatureA, kBodyA,
                                           At(kTimestampA)),
            Verdict::kBadSignature);
}

TEST(WebhookSignerTest, RejectsRustSuiteSingleNegative) {
  EXPECT_EQ(VerifyB(kWrongSignatureB), Verdict::kBadSignature);
}

TEST(WebhookSignerTest, RejectsRustSuiteHeaderOfThreeWrongSignatures) {
  EXPECT_EQ(VerifyB(kThreeWrongSignaturesB), Verdict::kBadSignature);
}

TEST(WebhookSignerTest, MultiSignatureHeaderWithJunkAndV2VerifiesWhenValidOneIsPresent) {
  const std::string junk = kJunkSignature;
  const std::string v2 = "v2,Ceo5qEr07ixe2NLpvHk3FH9bwy/WavXrAFQ/9tdO6mc=";
  EXPECT_EQ(VerifyA(junk + " " + v2 + " " + kSignatureA + " " + junk), Verdict::kValid);
  EXPECT_EQ(VerifyA(v2 + " " + junk + " " + kSignatureA), Verdict::kValid);
  EXPECT_EQ(VerifyA(std::string(kSignatureA) + " " + junk + " " + v2), Verdict::kValid);
}

TEST(WebhookSignerTest, MultiSignatureHeaderWithoutValidOneIsRejected) {
  const std::string junk = kJunkSignature;
  EXPECT_EQ(VerifyA(junk + " v2,abc " + kSignatureALastCharChanged), Verdict::kBadSignature);
}

TEST(WebhookSignerTest, ValidSignatureUnderAnotherVersionIsSkipped) {
  const std::string valid_base64 = std::string(kSignatureA).substr(3);
  EXPECT_EQ(VerifyA("v2," + valid_base64), Verdict::kBadSignature);
  EXPECT_EQ(VerifyA(valid_base64), Verdict::kBadSignature);
}

TEST(WebhookSignerTest, AcceptsTimestampsUpToFiveMinutesEitherSide) {
  EXPECT_EQ(VerifyA(kSignatureA, At(kTimestampA + 300)), Verdict::kValid);
  EXPECT_EQ(VerifyA(kSignatureA, At(kTimestampA - 300)), Verdict::kValid);
}

TEST(WebhookSignerTest, RejectsTimestampsMoreThanFiveMinutesAway) {
  // The message is too old...
  EXPECT_EQ(VerifyA(kSignatureA, At(kTimestampA + 301)), Verdict::kTimestampOutOfTolerance);
  // ...or from too far in the future.
  EXPECT_EQ(VerifyA(kSignatureA, At(kTimestampA - 301)), Verdict::kTimestampOutOfTolerance);
}

TEST(WebhookSignerTest, TimestampIsCheckedBeforeTheSignature) {
  EXPECT_EQ(VerifyA(kSignatureALastCharChanged, At(kTimestampA + 3600)),
            Verdict::kTimestampOutOfTolerance);
}

TEST(WebhookSignerTest, HonoursACustomTolerance) {
  WebhookSigner signer(kSecretA);
  const std::string timestamp = std::to_string(kTimestampA);
  EXPECT_EQ(signer.Verify(kIdA, timestamp, kSignatureA, kBodyA, At(kTimestampA + 10), seconds{10}),
            Verdict::kValid);
  EXPECT_EQ(signer.Verify(kIdA, timestamp, kSignatureA, kBodyA, At(kTimestampA + 11), seconds{10}),
            Verdict::kTimestampOutOfTolerance);
}

TEST(WebhookSignerTest, SignedTimestampMustMatchTheHeader) {
  // A replay with a fresh timestamp header but the old signature must fail.
  WebhookSigner signer(kSecretA);
  EXPECT_EQ(signer.Verify(kIdA, std::to_string(kTimestampA + 60), kSignatureA, kBodyA,
                          At(kTimestampA + 60)),
            Verdict::kBadSignature);
}

TEST(WebhookSignerTest, MalformedHeadersAreReportedAsSuch) {
  WebhookSigner signer(kSecretA);
  const auto now = At(kTimestampA);
  const std::string timestamp = std::to_string(kTimestampA);
  EXPECT_EQ(signer.Verify("", timestamp, kSignatureA, kBodyA, now), Verdict::kMalformedHeaders);
  EXPECT_EQ(signer.Verify(kIdA, timestamp, "", kBodyA, now), Verdict::kMalformedHeaders);
  for (const char* bad_timestamp : {"", "abc", "-1614265330", "+1614265330", " 1614265330",
                                    "1614265330 ", "1614265330.5", "16142653300000000000000"}) {
    EXPECT_EQ(signer.Verify(kIdA, bad_timestamp, kSignatureA, kBodyA, now),
              Verdict::kMalformedHeaders)
        << "timestamp header \"" << bad_timestamp << "\"";
  }
}

TEST(WebhookSignerTest, SignatureHeaderWithoutUsableEntriesIsABadSignature) {
  for (const char* header : {"v1,", "v1", ",", "   ", "v1,not base64 at all"}) {
    EXPECT_EQ(VerifyA(header), Verdict::kBadSignature) << "signature header \"" << header << "\"";
  }
}

TEST(WebhookSignerTest, BadSecretsThrow) {
  EXPECT_THROW(WebhookSigner("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"), std::invalid_argument);
  EXPECT_THROW(WebhookSigner("whsec_"), std::invalid_argument);
  EXPECT_THROW(WebhookSigner("whsec_not*base64!"), std::invalid_argument);
  EXPECT_THROW(WebhookSigner("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaS"), std::invalid_argument);
  EXPECT_THROW(WebhookSigner("WHSEC_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"), std::invalid_argument);
  EXPECT_THROW(WebhookSigner(""), std::invalid_argument);
}

TEST(NewWebhookSecretTest, IsWhsecAndBase64OfThirtyTwoRandomBytes) {
  const std::string secret = NewWebhookSecret();
  ASSERT_EQ(secret.rfind("whsec_", 0), 0u);
  std::optional<std::string> key = Base64Decode(secret.substr(6));
  ASSERT_TRUE(key.has_value());
  EXPECT_EQ(key->size(), 32u);
  EXPECT_NO_THROW(WebhookSigner{secret});
}

TEST(NewWebhookSecretTest, EachSecretIsNew) {
  std::set<std::string> secrets;
  for (int i = 0; i < 100; ++i) secrets.insert(NewWebhookSecret());
  EXPECT_EQ(secrets.size(), 100u);
}

}  // namespace
}  // namespace lab_orders
