// ActionKeys over a mock store: what each outcome of an action does to its key. A 2xx is stored
// and replayed; a refusal frees the key unless the action recorded something first; anything else
// leaves it to resume; the claim's own refusals and replays never run the action.

#include "http/action_keys.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <stdexcept>
#include <string>

#include "lab_orders/common/error.h"
#include "lab_orders/orders/order_service.h"
#include "mocks/mock_action_key_store.h"
#include "support/fakes.h"

namespace lab_orders::http {
namespace {

using namespace std::chrono_literals;
using nlohmann::json;
using ::testing::_;
using ::testing::Field;
using ::testing::Return;
using ::testing::StrictMock;

const store::TimePoint kT0 = std::chrono::sys_days{std::chrono::year{2024} / 5 / 1} + 12h;
constexpr char kRoute[] = "/v1/labs/orders/{id}/cancel";
constexpr char kPath[] = "/v1/labs/orders/order-1/cancel";

ApiRequest Request(const std::optional<std::string>& key, const std::string& body = "") {
  ApiRequest request;
  request.method = "POST";
  request.path = kPath;
  request.body = body;
  if (key) request.headers["idempotency-key"] = *key;
  return request;
}

store::ActionClaim ClaimOf(store::ClaimResult result,
                           std::optional<std::string> checkpoint = std::nullopt) {
  store::ActionClaim claim{result, {}, std::move(checkpoint)};
  claim.record.response_status = 200;
  claim.record.response_body = R"({"status":"cancelled"})";
  return claim;
}

ApiResponse Ok() {
  ApiResponse response;
  response.body = R"({"status":"cancelled"})";
  return response;
}

class ActionKeysTest : public ::testing::Test {
 protected:
  ActionKeysTest() : clock_(kT0), keys_(store_, clock_, 60s) {}

  ApiResponse Run(const ApiRequest& request,
                  const std::function<ApiResponse(store::ActionCheckpoint*)>& act,
                  const std::optional<json>& body = std::nullopt) {
    return keys_.Run(request, "brand-1", kRoute, body, act);
  }

  StrictMock<testing::MockActionKeyStore> store_;
  testing::FakeClock clock_;
  ActionKeys keys_;
};

TEST_F(ActionKeysTest, WithoutAKeyTheActionRunsAsItIs) {
  bool ran = false;
  Run(Request(std::nullopt), [&](store::ActionCheckpoint* key) {
    EXPECT_EQ(key, nullptr);
    ran = true;
    return Ok();
  });
  EXPECT_TRUE(ran);
}

TEST_F(ActionKeysTest, ASuccessIsStoredUnderTheKeyClaimedForThisRequest) {
  const std::string digest = orders::RequestBodyDigest("POST", kPath, "");
  EXPECT_CALL(store_, ClaimActionKey("brand-1", "k", std::string_view(kRoute),
                                     store::RequestIdentity(digest, digest), kT0, kT0 + 60s))
      .WillOnce(Return(ClaimOf(store::ClaimResult::kNew)));
  EXPECT_CALL(store_, FinishActionKey("brand-1", "k", kT0 + 60s, 200, R"({"status":"cancelled"})"));
  Run(Request("k", "ignored: the route reads no body"), [](store::ActionCheckpoint* key) {
    EXPECT_NE(key, nullptr);
    EXPECT_FALSE(key->saved.has_value());
    return Ok();
  });
}

TEST_F(ActionKeysTest, ARouteThatReadsABodyIsKnownByItsCanonicalForm) {
  const json body = {{"booking_key", "k-1"}};
  const std::string bytes = R"({ "booking_key" : "k-1" })";
  EXPECT_CALL(store_, ClaimActionKey(
                          _, _, _,
                          store::RequestIdentity(orders::RequestFingerprint("POST", kPath, body),
                                                 orders::RequestBodyDigest("POST", kPath, bytes)),
                          _, _))
      .WillOnce(Return(ClaimOf(store::ClaimResult::kNew)));
  EXPECT_CALL(store_, FinishActionKey(_, _, _, _, _));
  Run(
      Request("k", bytes), [](store::ActionCheckpoint*) { return Ok(); }, body);
}

TEST_F(ActionKeysTest, TheClaimsOwnAnswersNeverRunTheAction) {
  auto never = [](store::ActionCheckpoint*) -> ApiResponse {
    ADD_FAILURE() << "the action ran";
    return Ok();
  };
  EXPECT_CALL(store_, ClaimActionKey(_, _, _, _, _, _))
      .WillOnce(Return(ClaimOf(store::ClaimResult::kFinished)))
      .WillOnce(Return(ClaimOf(store::ClaimResult::kInProgress)))
      .WillOnce(Return(ClaimOf(store::ClaimResult::kFingerprintMismatch)));
  ApiResponse replay = Run(Request("k"), never);
  EXPECT_EQ(replay.status, 200);
  EXPECT_EQ(replay.body, R"({"status":"cancelled"})");
  EXPECT_THAT(replay.headers, ::testing::Contains(std::pair<std::string, std::string>(
                                  "Idempotent-Replayed", "true")));
  try {
    Run(Request("k"), never);
    ADD_FAILURE() << "no 409";
  } catch (const AppError& error) {
    EXPECT_EQ(error.code(), ErrorCode::kIdempotencyRequestInProgress);
    EXPECT_EQ(error.retry_after_seconds, 1);
  }
  try {
    Run(Request("k"), never);
    ADD_FAILURE() << "no 422";
  } catch (const AppError& error) {
    EXPECT_EQ(error.code(), ErrorCode::kIdempotencyKeyReused);
  }
  try {
    Run(Request(std::string(256, 'k')), never);
    ADD_FAILURE() << "no 400";
  } catch (const AppError& error) {
    EXPECT_EQ(error.code(), ErrorCode::kIdempotencyKeyInvalid);
  }
}

TEST_F(ActionKeysTest, ARefusalFreesTheKeyUnlessTheActionRecordedSomething) {
  auto refuse = [](store::ActionCheckpoint*) -> ApiResponse {
    throw AppError(ErrorCode::kOrderNotCancellable, "no");
  };
  EXPECT_CALL(store_, ClaimActionKey(_, _, _, _, _, _))
      .WillOnce(Return(ClaimOf(store::ClaimResult::kNew)))
      .WillOnce(Return(ClaimOf(store::ClaimResult::kNew)))
      .WillOnce(Return(ClaimOf(store::ClaimResult::kResumed, R"({"webhook_id":"msg_1"})")));
  EXPECT_CALL(store_, ForgetActionKey("brand-1", "k", kT0 + 60s));
  EXPECT_THROW(Run(Request("k"), refuse), AppError);

  EXPECT_CALL(store_, CheckpointActionKey("brand-1", "k", kT0 + 60s, "{}"));
  EXPECT_CALL(store_, ReleaseActionKey("brand-1", "k", kT0 + 60s)).Times(2);
  EXPECT_THROW(Run(Request("k"),
                   [](store::ActionCheckpoint* key) -> ApiResponse {
                     key->save("{}");
                     throw AppError(ErrorCode::kSlotUnavailable, "taken");
                   }),
               AppError);
  EXPECT_THROW(Run(Request("k"),
                   [](store::ActionCheckpoint* key) -> ApiResponse {
                     EXPECT_EQ(key->saved, R"({"webhook_id":"msg_1"})");
                     throw AppError(ErrorCode::kOrderNotCancellable, "no");
                   }),
               AppError);
}

TEST_F(ActionKeysTest, AFailureThatIsNotARefusalLeavesTheKeyToResume) {
  EXPECT_CALL(store_, ClaimActionKey(_, _, _, _, _, _))
      .WillRepeatedly(Return(ClaimOf(store::ClaimResult::kNew)));
  EXPECT_CALL(store_, ReleaseActionKey("brand-1", "k", kT0 + 60s)).Times(2);
  EXPECT_THROW(Run(Request("k"),
                   [](store::ActionCheckpoint*) -> ApiResponse {
                     throw AppError(ErrorCode::kJunctionTimeout, "slow");
                   }),
               AppError);
  EXPECT_THROW(
      Run(Request("k"),
          [](store::ActionCheckpoint*) -> ApiResponse { throw std::runtime_error("disk"); }),
      std::runtime_error);
}

TEST_F(ActionKeysTest, AnAnswerThatCannotBeStoredIsStillGiven) {
  EXPECT_CALL(store_, ClaimActionKey(_, _, _, _, _, _))
      .WillOnce(Return(ClaimOf(store::ClaimResult::kNew)));
  EXPECT_CALL(store_, FinishActionKey(_, _, _, _, _)).WillOnce([] {
    throw std::runtime_error("store gone");
  });
  EXPECT_CALL(store_, ReleaseActionKey("brand-1", "k", kT0 + 60s));  // a retry resumes at once
  EXPECT_EQ(Run(Request("k"), [](store::ActionCheckpoint*) { return Ok(); }).status, 200);
}

TEST_F(ActionKeysTest, AnAttemptThatLostItsLeaseStopsAsAKeyStillAtWork) {
  EXPECT_CALL(store_, ClaimActionKey(_, _, _, _, _, _))
      .WillOnce(Return(ClaimOf(store::ClaimResult::kNew)));
  EXPECT_CALL(store_, CheckpointActionKey(_, _, _, _)).WillOnce([] {
    throw store::LeaseLost("taken over");
  });
  EXPECT_CALL(store_, ReleaseActionKey(_, _, _)).Times(0);
  bool called_junction = false;
  try {
    Run(Request("k"), [&](store::ActionCheckpoint* key) -> ApiResponse {
      key->save("{}");
      called_junction = true;
      return Ok();
    });
    ADD_FAILURE() << "no 409";
  } catch (const AppError& error) {
    EXPECT_EQ(error.code(), ErrorCode::kIdempotencyRequestInProgress);
  }
  EXPECT_FALSE(called_junction);
}

}  // namespace
}  // namespace lab_orders::http
