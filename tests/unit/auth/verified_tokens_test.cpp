// A token verified once is kept: its next use checks only its time claims, exactly as a full
// verification would, and only the same bytes (signature included) find it.

#include "auth/verified_tokens.h"

#include <gtest/gtest.h>

#include <chrono>
#include <nlohmann/json.hpp>
#include <string>

#include "lab_orders/auth/jwt.h"
#include "support/fakes.h"

namespace lab_orders::auth {
namespace {

using namespace std::chrono_literals;
using nlohmann::json;

constexpr long long kNowSeconds = 1'700'000'000;
const std::chrono::system_clock::time_point kNow{std::chrono::seconds(kNowSeconds)};
const std::string kSecret = "test-hs256-secret-0123456789abcdef";

json Claims(long long expires_in) {
  return {{"sub", "user-1"},
          {"brand_id", "brand-1"},
          {"scope", "labs:orders:write"},
          {"exp", kNowSeconds + expires_in}};
}

std::string Outcome(const std::variant<Principal, AuthFailure>& verdict) {
  if (const auto* failure = std::get_if<AuthFailure>(&verdict)) return AuthFailureName(*failure);
  return std::get<Principal>(verdict).brand_id;
}

class VerifiedTokenReuseTest : public ::testing::Test {
 protected:
  VerifiedTokenReuseTest() : verifier_(Settings(), clock_) {}
  static JwtSettings Settings() {
    JwtSettings settings;
    settings.hs256_secret = kSecret;
    settings.not_before_leeway = 60s;
    return settings;
  }
  testing::FakeClock clock_{kNow};
  JwtVerifier verifier_;
};

TEST_F(VerifiedTokenReuseTest, AKeptTokenStillExpiresOnTime) {
  const std::string token = MintHs256(kSecret, Claims(600));
  EXPECT_EQ(Outcome(verifier_.Verify(token)), "brand-1");
  clock_.Advance(600s - 1ms);  // the last moment before exp (which has no leeway)
  EXPECT_EQ(Outcome(verifier_.Verify(token)), "brand-1");
  clock_.Advance(1ms);
  EXPECT_EQ(Outcome(verifier_.Verify(token)), "expired");
  EXPECT_EQ(Outcome(verifier_.Verify(token)), "expired");
}

TEST_F(VerifiedTokenReuseTest, ANotYetValidTokenIsKeptOnlyOnceValid) {
  json claims = Claims(3600);
  claims["nbf"] = kNowSeconds + 120;
  const std::string token = MintHs256(kSecret, claims);
  EXPECT_EQ(Outcome(verifier_.Verify(token)), "not_yet_valid");
  clock_.Advance(60s);  // nbf minus the leeway
  EXPECT_EQ(Outcome(verifier_.Verify(token)), "brand-1");
  EXPECT_EQ(Outcome(verifier_.Verify(token)), "brand-1");
}

TEST_F(VerifiedTokenReuseTest, OnlyTheSameBytesFindAKeptToken) {
  const std::string token = MintHs256(kSecret, Claims(600));
  ASSERT_EQ(Outcome(verifier_.Verify(token)), "brand-1");
  // The same claims signed with another secret, and the kept token with a byte changed.
  EXPECT_EQ(Outcome(verifier_.Verify(MintHs256("another-secret-0123456789abcdefgh", Claims(600)))),
            "bad_signature");
  std::string tampered = token;
  tampered.back() = tampered.back() == 'A' ? 'B' : 'A';
  EXPECT_EQ(Outcome(verifier_.Verify(tampered)), "bad_signature");
  std::string prefixed = token + "x";
  EXPECT_NE(Outcome(verifier_.Verify(prefixed)), "brand-1");
}

TEST(VerifiedTokensTest, KeepsUpToItsCapacityAndNoLongTokens) {
  VerifiedTokens tokens(16);  // one a shard
  const VerifiedToken verified{Principal{"u", "b", {}}, 1.0, std::nullopt};
  for (int i = 0; i < 100; ++i) tokens.Remember("token-" + std::to_string(i), verified);
  int kept = 0;
  for (int i = 0; i < 100; ++i) kept += tokens.Find("token-" + std::to_string(i)).has_value();
  EXPECT_LE(kept, 16);
  EXPECT_TRUE(tokens.Find("token-99").has_value());
  const std::string long_token(VerifiedTokens::kMaxTokenBytes + 1, 'x');
  tokens.Remember(long_token, verified);
  EXPECT_FALSE(tokens.Find(long_token).has_value());
}

}  // namespace
}  // namespace lab_orders::auth
