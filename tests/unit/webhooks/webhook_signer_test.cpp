#include <gtest/gtest.h>

#include <chrono>
#include <stdexcept>
#include <string>

#include "lab_orders/webhooks/signer.h"
#include "support/webhook_vectors.h"

namespace lab_orders::webhooks {
namespace {

using namespace testing::webhook_vectors;
using std::chrono::seconds;
using std::chrono::system_clock;
using Verdict = WebhookSigner::Verdict;

system_clock::time_point At(long long unix_seconds) {
  return system_clock::time_point{seconds{unix_seconds}};
}

SignatureHeaders HeadersA(const std::string& signature) {
  return SignatureHeaders{kIdA, std::to_string(kTimestampA), signature};
}

SignatureHeaders HeadersB(const std::string& signature) {
  return SignatureHeaders{kIdB, std::to_string(kTimestampB), signature};
}

TEST(DeliverySignerTest, ReproducesVectorA) {
  const SignatureHeaders headers =
      DeliverySigner({CurrentSecret(kSecretA)}).Sign(kIdA, At(kTimestampA), kBodyA);
  EXPECT_EQ(headers.id, kIdA);
  EXPECT_EQ(headers.timestamp, "1614265330");
  EXPECT_EQ(headers.signature, kSignatureA);
}

TEST(DeliverySignerTest, ReproducesVectorB) {
  const SignatureHeaders headers =
      DeliverySigner({CurrentSecret(kSecretB)}).Sign(kIdB, At(kTimestampB), kBodyB);
  EXPECT_EQ(headers.timestamp, "1649367553");
  EXPECT_EQ(headers.signature, kSignatureB);
}

TEST(DeliverySignerTest, SignsTheTimestampOfTheAttemptInWholeSeconds) {
  const auto at = At(kTimestampA) + std::chrono::milliseconds(999);
  EXPECT_EQ(DeliverySigner({CurrentSecret(kSecretA)}).Sign(kIdA, at, kBodyA).signature,
            kSignatureA);
}

TEST(DeliverySignerTest, VerifiesTheVectors) {
  EXPECT_EQ(VerifySignatureHeaders(kSecretA, HeadersA(kSignatureA), kBodyA, At(kTimestampA)),
            Verdict::kValid);
  EXPECT_EQ(VerifySignatureHeaders(kSecretB, HeadersB(kSignatureB), kBodyB, At(kTimestampB)),
            Verdict::kValid);
}

TEST(DeliverySignerTest, RefusesTheNegativeVectors) {
  EXPECT_EQ(VerifySignatureHeaders(kSecretA, HeadersA(kSignatureALastCharChanged), kBodyA,
                                   At(kTimestampA)),
            Verdict::kBadSignature);
  EXPECT_EQ(VerifySignatureHeaders(kSecretB, HeadersB(kWrongSignatureB), kBodyB, At(kTimestampB)),
            Verdict::kBadSignature);
  EXPECT_EQ(
      VerifySignatureHeaders(kSecretB, HeadersB(kThreeWrongSignaturesB), kBodyB, At(kTimestampB)),
      Verdict::kBadSignature);
}

TEST(DeliverySignerTest, MultiSignatureHeaderWithJunkAndV2Verifies) {
  const std::string header = std::string(kJunkSignature) + " v2," +
                             std::string(kJunkSignature).substr(3) + " " + kSignatureA;
  EXPECT_EQ(VerifySignatureHeaders(kSecretA, HeadersA(header), kBodyA, At(kTimestampA)),
            Verdict::kValid);
}

TEST(DeliverySignerTest, VerifierHasAFiveMinuteTolerance) {
  const SignatureHeaders headers = HeadersA(kSignatureA);
  EXPECT_EQ(VerifySignatureHeaders(kSecretA, headers, kBodyA, At(kTimestampA + 300)),
            Verdict::kValid);
  EXPECT_EQ(VerifySignatureHeaders(kSecretA, headers, kBodyA, At(kTimestampA + 301)),
            Verdict::kTimestampOutOfTolerance);
  EXPECT_EQ(VerifySignatureHeaders(kSecretA, headers, kBodyA, At(kTimestampA - 301)),
            Verdict::kTimestampOutOfTolerance);
}

// Rotation: the new secret is current, the old one retires a day after the rotation.
class RotationTest : public ::testing::Test {
 protected:
  const system_clock::time_point rotated_at_ = At(kTimestampA) - std::chrono::hours(1);
  const DeliverySigner signer_{{CurrentSecret(kSecretB), RetiringSecret(kSecretA, rotated_at_)}};
};

TEST_F(RotationTest, BothSecretsSignDuringTheOverlapCurrentFirst) {
  const SignatureHeaders headers = signer_.Sign(kIdA, At(kTimestampA), kBodyA);
  const std::string by_new = WebhookSigner(kSecretB).Sign(kIdA, kTimestampA, kBodyA);
  EXPECT_EQ(headers.signature, by_new + " " + kSignatureA);
}

TEST_F(RotationTest, AReceiverHoldingEitherSecretVerifies) {
  const SignatureHeaders headers = signer_.Sign(kIdA, At(kTimestampA), kBodyA);
  EXPECT_EQ(VerifySignatureHeaders(kSecretA, headers, kBodyA, At(kTimestampA)), Verdict::kValid);
  EXPECT_EQ(VerifySignatureHeaders(kSecretB, headers, kBodyA, At(kTimestampA)), Verdict::kValid);
  EXPECT_EQ(
      VerifySignatureHeaders("whsec_" + std::string(32, 'A'), headers, kBodyA, At(kTimestampA)),
      Verdict::kBadSignature);
}

TEST_F(RotationTest, TheOldSecretStopsSigningTwentyFourHoursAfterTheRotation) {
  const auto last_moment = rotated_at_ + std::chrono::hours(24) - seconds(1);
  const auto retired = rotated_at_ + std::chrono::hours(24);
  EXPECT_NE(signer_.Sign(kIdA, last_moment, kBodyA).signature.find(' '), std::string::npos);
  const SignatureHeaders after = signer_.Sign(kIdA, retired, kBodyA);
  EXPECT_EQ(after.signature.find(' '), std::string::npos);
  EXPECT_EQ(VerifySignatureHeaders(kSecretB, after, kBodyA, retired), Verdict::kValid);
  EXPECT_EQ(VerifySignatureHeaders(kSecretA, after, kBodyA, retired), Verdict::kBadSignature);
}

TEST(DeliverySignerTest, NeedsExactlyOneCurrentSecret) {
  const auto rotated_at = At(kTimestampA);
  EXPECT_THROW(DeliverySigner({}), std::invalid_argument);
  EXPECT_THROW(DeliverySigner({RetiringSecret(kSecretA, rotated_at)}), std::invalid_argument);
  EXPECT_THROW(DeliverySigner({CurrentSecret(kSecretA), CurrentSecret(kSecretB)}),
               std::invalid_argument);
}

TEST(DeliverySignerTest, AMalformedSecretIsRefusedWithoutBeingQuoted) {
  const std::string malformed = "whsec_not*base64!";
  try {
    DeliverySigner signer({CurrentSecret(malformed)});
    FAIL() << "a malformed secret was accepted";
  } catch (const std::invalid_argument& e) {
    EXPECT_EQ(std::string(e.what()).find("not*base64"), std::string::npos) << e.what();
  }
}

TEST(DeliverySignerTest, ANewSecretSignsAndVerifies) {
  const std::string secret = NewWebhookSecret();
  const SignatureHeaders headers =
      DeliverySigner({CurrentSecret(secret)}).Sign("msg_1", At(kTimestampA), "{}");
  EXPECT_EQ(VerifySignatureHeaders(secret, headers, "{}", At(kTimestampA)), Verdict::kValid);
}

}  // namespace
}  // namespace lab_orders::webhooks
