#include <gtest/gtest.h>

#include "lab_orders/junction/result.h"
#include "mocks/mock_junction_client.h"

namespace lab_orders::testing {
namespace {

using junction::CallError;
using junction::Outcome;
using junction::Result;
using ::testing::Return;

TEST(JunctionResultTest, HoldsAValueOrAnError) {
  Result<int> value = 7;
  EXPECT_TRUE(value.ok());
  EXPECT_EQ(value.outcome(), Outcome::kSuccess);
  EXPECT_EQ(value.value(), 7);

  CallError error;
  error.outcome = Outcome::kRateLimited;
  error.retry_after_seconds = 3;
  Result<int> failed = error;
  EXPECT_FALSE(failed.ok());
  EXPECT_EQ(failed.outcome(), Outcome::kRateLimited);
  EXPECT_EQ(failed.error().retry_after_seconds, 3);
  EXPECT_THROW(failed.value(), std::bad_variant_access);
}

TEST(JunctionResultTest, EveryOutcomeHasAStableName) {
  std::set<std::string> names;
  for (int i = 0; i <= int(Outcome::kTlsFailure); ++i) {
    names.insert(junction::OutcomeName(Outcome(i)));
  }
  EXPECT_EQ(names.size(), size_t(int(Outcome::kTlsFailure) + 1));
  EXPECT_EQ(names.count("unknown"), 0u);
}

TEST(JunctionResultTest, MockStandsInForTheClient) {
  MockJunctionClient client;
  CallError conflict;
  conflict.outcome = Outcome::kUserConflict;
  conflict.existing_user_id = "u-1";
  EXPECT_CALL(client, CreateUser).WillOnce(Return(Result<junction::User>(conflict)));
  junction::JunctionClient& as_interface = client;
  auto result = as_interface.CreateUser({"brand:patient"});
  EXPECT_EQ(result.error().existing_user_id, "u-1");
}

}  // namespace
}  // namespace lab_orders::testing
