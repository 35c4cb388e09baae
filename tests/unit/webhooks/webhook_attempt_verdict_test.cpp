#include <gtest/gtest.h>

#include "lab_orders/webhooks/attempt_verdict.h"

namespace lab_orders::webhooks {
namespace {

DeliveryResult Answer(int status) {
  DeliveryResult result;
  result.status = status;
  return result;
}

DeliveryResult NoAnswer(TransportError error) {
  DeliveryResult result;
  result.error = error;
  return result;
}

TEST(AttemptVerdictTest, TwoHundredsAreDelivered) {
  for (int status : {200, 201, 202, 204, 299}) {
    EXPECT_EQ(ClassifyAttempt(Answer(status)), AttemptVerdict::kDelivered) << status;
  }
  EXPECT_FALSE(IsRetried(AttemptVerdict::kDelivered));
}

TEST(AttemptVerdictTest, GoneDisablesTheEndpointWithoutRetrying) {
  EXPECT_EQ(ClassifyAttempt(Answer(410)), AttemptVerdict::kEndpointGone);
  EXPECT_FALSE(IsRetried(AttemptVerdict::kEndpointGone));
}

TEST(AttemptVerdictTest, RedirectsAreFailuresAndRetried) {
  for (int status : {300, 301, 302, 303, 307, 308}) {
    EXPECT_EQ(ClassifyAttempt(Answer(status)), AttemptVerdict::kRedirected) << status;
  }
  EXPECT_TRUE(IsRetried(AttemptVerdict::kRedirected));
}

TEST(AttemptVerdictTest, OtherStatusesAreRetried) {
  for (int status : {100, 400, 401, 403, 404, 409, 429, 500, 502, 503, 504}) {
    EXPECT_EQ(ClassifyAttempt(Answer(status)), AttemptVerdict::kFailed) << status;
  }
  EXPECT_TRUE(IsRetried(AttemptVerdict::kFailed));
}

TEST(AttemptVerdictTest, NoAnswerIsRetried) {
  for (TransportError error :
       {TransportError::kTimeout, TransportError::kConnectionFailed, TransportError::kTlsFailure,
        TransportError::kMalformedResponse, TransportError::kDestinationRefused}) {
    EXPECT_EQ(ClassifyAttempt(NoAnswer(error)), AttemptVerdict::kFailed)
        << TransportErrorName(error);
  }
}

TEST(AttemptVerdictTest, NamesForTheDeliveriesList) {
  EXPECT_STREQ(AttemptVerdictName(AttemptVerdict::kDelivered), "delivered");
  EXPECT_STREQ(AttemptVerdictName(AttemptVerdict::kEndpointGone), "endpoint_gone");
  EXPECT_STREQ(AttemptVerdictName(AttemptVerdict::kRedirected), "redirected");
  EXPECT_STREQ(AttemptVerdictName(AttemptVerdict::kFailed), "failed");
}

}  // namespace
}  // namespace lab_orders::webhooks
