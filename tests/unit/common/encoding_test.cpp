#include "lab_orders/common/encoding.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "lab_orders/common/clock.h"
#include "lab_orders/common/ids.h"

namespace lab_orders {
namespace {

using namespace std::chrono_literals;
using std::chrono::system_clock;

system_clock::time_point Midnight(std::chrono::year_month_day day) {
  return std::chrono::sys_days{day};
}

// ---- base64 -------------------------------------------------------------------------------

TEST(Base64Test, EncodesRfc4648Vectors) {
  EXPECT_EQ(Base64Encode(""), "");
  EXPECT_EQ(Base64Encode("f"), "Zg==");
  EXPECT_EQ(Base64Encode("fo"), "Zm8=");
  EXPECT_EQ(Base64Encode("foo"), "Zm9v");
  EXPECT_EQ(Base64Encode("foob"), "Zm9vYg==");
  EXPECT_EQ(Base64Encode("fooba"), "Zm9vYmE=");
  EXPECT_EQ(Base64Encode("foobar"), "Zm9vYmFy");
}

TEST(Base64Test, DecodesRfc4648Vectors) {
  EXPECT_EQ(Base64Decode(""), std::string());
  EXPECT_EQ(Base64Decode("Zg=="), "f");
  EXPECT_EQ(Base64Decode("Zm8="), "fo");
  EXPECT_EQ(Base64Decode("Zm9v"), "foo");
  EXPECT_EQ(Base64Decode("Zm9vYg=="), "foob");
  EXPECT_EQ(Base64Decode("Zm9vYmE="), "fooba");
  EXPECT_EQ(Base64Decode("Zm9vYmFy"), "foobar");
}

TEST(Base64Test, UsesTheStandardAlphabetForHighBits) {
  EXPECT_EQ(Base64Encode("\xfb\xff"), "+/8=");
  EXPECT_EQ(Base64Decode("+/8="), "\xfb\xff");
}

TEST(Base64Test, RoundTripsEveryByteValueAtEveryLength) {
  std::string all_bytes;
  for (int value = 0; value < 256; ++value) all_bytes += char(value);
  for (size_t length = 0; length <= all_bytes.size(); ++length) {
    std::string bytes = all_bytes.substr(all_bytes.size() - length);
    auto decoded = Base64Decode(Base64Encode(bytes));
    ASSERT_TRUE(decoded.has_value()) << "length " << length;
    EXPECT_EQ(*decoded, bytes) << "length " << length;
  }
}

TEST(Base64Test, RejectsInvalidInput) {
  for (const char* text : {
           "Zg",        // unpadded
           "Zg=",       // wrong length
           "Zm9vY",     // wrong length
           "Zm9v\n",    // whitespace
           "Zm 9",      // whitespace
           "Zm9-",      // URL-safe alphabet
           "Zm9_",      // URL-safe alphabet
           "Zg=a",      // data after padding
           "Z===",      // too much padding
           "====",      // only padding
           "Zg==Zm9v",  // padding before the last group
           "Zm=v",      // padding in the middle
           "Zm9v*A==",  // invalid character
       }) {
    EXPECT_EQ(Base64Decode(text), std::nullopt) << "\"" << text << "\"";
  }
}

// ---- base64url ------------------------------------------------------------------------------

TEST(Base64UrlTest, EncodesRfc4648VectorsWithoutPadding) {
  EXPECT_EQ(Base64UrlEncode(""), "");
  EXPECT_EQ(Base64UrlEncode("f"), "Zg");
  EXPECT_EQ(Base64UrlEncode("fo"), "Zm8");
  EXPECT_EQ(Base64UrlEncode("foo"), "Zm9v");
  EXPECT_EQ(Base64UrlEncode("foob"), "Zm9vYg");
  EXPECT_EQ(Base64UrlEncode("fooba"), "Zm9vYmE");
  EXPECT_EQ(Base64UrlEncode("foobar"), "Zm9vYmFy");
}

TEST(Base64UrlTest, DecodesUnpaddedRfc4648Vectors) {
  EXPECT_EQ(Base64UrlDecode(""), std::string());
  EXPECT_EQ(Base64UrlDecode("Zg"), "f");
  EXPECT_EQ(Base64UrlDecode("Zm8"), "fo");
  EXPECT_EQ(Base64UrlDecode("Zm9v"), "foo");
  EXPECT_EQ(Base64UrlDecode("Zm9vYg"), "foob");
  EXPECT_EQ(Base64UrlDecode("Zm9vYmE"), "fooba");
  EXPECT_EQ(Base64UrlDecode("Zm9vYmFy"), "foobar");
}

TEST(Base64UrlTest, UsesTheUrlSafeAlphabetForHighBits) {
  EXPECT_EQ(Base64UrlEncode("\xfb\xff"), "-_8");
  EXPECT_EQ(Base64UrlDecode("-_8"), "\xfb\xff");
  // The JWS example header of RFC 7515 appendix A.1.
  EXPECT_EQ(Base64UrlDecode("eyJ0eXAiOiJKV1QiLA0KICJhbGciOiJIUzI1NiJ9"),
            "{\"typ\":\"JWT\",\r\n \"alg\":\"HS256\"}");
}

TEST(Base64UrlTest, RoundTripsEveryByteValueAtEveryLength) {
  std::string all_bytes;
  for (int value = 0; value < 256; ++value) all_bytes += char(value);
  for (size_t length = 0; length <= all_bytes.size(); ++length) {
    std::string bytes = all_bytes.substr(all_bytes.size() - length);
    std::string text = Base64UrlEncode(bytes);
    EXPECT_EQ(text.find_first_of("+/="), std::string::npos) << "length " << length;
    auto decoded = Base64UrlDecode(text);
    ASSERT_TRUE(decoded.has_value()) << "length " << length;
    EXPECT_EQ(*decoded, bytes) << "length " << length;
  }
}

TEST(Base64UrlTest, RejectsInvalidInput) {
  for (const char* text : {
           "Zg==",    // padding
           "Zm8=",    // padding
           "Z",       // a single leftover character is never a whole byte
           "Zm9vY",   // same, after a full group
           "+_8",     // standard alphabet
           "-/8",     // standard alphabet
           "Zm9v\n",  // whitespace
           "Zm 9",    // whitespace
           "Zm9v*A",  // invalid character
           "Zh",      // unused trailing bits set ("f" is "Zg")
           "Zm9",     // unused trailing bits set ("fo" is "Zm8")
       }) {
    EXPECT_EQ(Base64UrlDecode(text), std::nullopt) << "\"" << text << "\"";
  }
}

// ---- hex, hashes, comparison ----------------------------------------------------------------

TEST(HexEncodeTest, EncodesLowerCaseTwoDigitsPerByte) {
  EXPECT_EQ(HexEncode(""), "");
  EXPECT_EQ(HexEncode(std::string("\x00\x0f\x10\xab\xff", 5)), "000f10abff");
}

TEST(Sha256Test, MatchesKnownVectors) {
  EXPECT_EQ(HexEncode(Sha256("abc")),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(HexEncode(Sha256("")),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
}

TEST(HmacSha256Test, MatchesRfc4231TestCase2) {
  EXPECT_EQ(HexEncode(HmacSha256("Jefe", "what do ya want for nothing?")),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
}

TEST(HmacSha256KeyTest, MatchesRfc4231AndTheOneShotForManyMessages) {
  HmacSha256Key jefe("Jefe");
  EXPECT_EQ(HexEncode(jefe.Sign("what do ya want for nothing?")),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
  // Test case 6: a key longer than SHA-256's block is hashed first.
  HmacSha256Key long_key(std::string(131, '\xaa'));
  EXPECT_EQ(HexEncode(long_key.Sign("Test Using Larger Than Block-Size Key - Hash Key First")),
            "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54");
  // The key is kept, never consumed: every message signs as on its own.
  for (const std::string& message :
       std::vector<std::string>{"", "a", std::string(1000, 'x'), std::string("\0z", 2)}) {
    EXPECT_EQ(jefe.Sign(message), HmacSha256("Jefe", message));
  }
}

TEST(HmacSha256KeyTest, SignsFromManyThreadsAtOnce) {
  HmacSha256Key key("a-secret-of-at-least-thirty-two-bytes!!");
  const std::string expected = HmacSha256("a-secret-of-at-least-thirty-two-bytes!!", "message");
  std::atomic<int> wrong{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 2000; ++i) {
        if (key.Sign("message") != expected) ++wrong;
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  EXPECT_EQ(wrong.load(), 0);
}

TEST(ConstantTimeEqualsTest, ComparesContentAndLength) {
  EXPECT_TRUE(ConstantTimeEquals("", ""));
  EXPECT_TRUE(ConstantTimeEquals("signature", "signature"));
  EXPECT_FALSE(ConstantTimeEquals("signature", "signaturX"));
  EXPECT_FALSE(ConstantTimeEquals("Xignature", "signature"));
  EXPECT_FALSE(ConstantTimeEquals("signature", "signatur"));
  EXPECT_FALSE(ConstantTimeEquals("", "a"));
  EXPECT_TRUE(ConstantTimeEquals(std::string("a\0b", 3), std::string("a\0b", 3)));
  EXPECT_FALSE(ConstantTimeEquals(std::string("a\0b", 3), std::string("a\0c", 3)));
}

TEST(RandomBytesTest, ReturnsTheRequestedCountAndDiffersBetweenCalls) {
  EXPECT_EQ(RandomBytes(0).size(), 0u);
  EXPECT_EQ(RandomBytes(32).size(), 32u);
  // 256 random bits colliding would mean the generator is broken.
  EXPECT_NE(RandomBytes(32), RandomBytes(32));
}

// ---- dates ----------------------------------------------------------------------------------

TEST(ParseDateTest, AcceptsRealDatesAsMidnightUtc) {
  system_clock::time_point parsed;
  ASSERT_TRUE(ParseDate("2024-02-29", &parsed));
  EXPECT_EQ(parsed, Midnight(2024y / std::chrono::February / 29));
  ASSERT_TRUE(ParseDate("2000-02-29", &parsed));  // divisible by 400: a leap year
  EXPECT_EQ(parsed, Midnight(2000y / std::chrono::February / 29));
  ASSERT_TRUE(ParseDate("1970-01-01", &parsed));
  EXPECT_EQ(parsed, system_clock::time_point{});
  ASSERT_TRUE(ParseDate("2023-12-31", &parsed));
  EXPECT_EQ(parsed, Midnight(2023y / std::chrono::December / 31));
}

TEST(ParseDateTest, RejectsImpossibleOrMisformattedDates) {
  for (const char* text : {"2023-02-29", "1900-02-29", "2024-04-31", "2024-13-01", "2024-00-10",
                           "2024-01-00", "0000-01-01", "2024-2-01", "2024-02-1", "24-02-01",
                           "2024/02/01", "2024-02-01T00:00:00Z", "2024-02-0a", " 2024-02-01", ""}) {
    system_clock::time_point parsed{};
    EXPECT_FALSE(ParseDate(text, &parsed)) << "\"" << text << "\"";
  }
}

TEST(ParseDateTest, LeavesTheOutputAloneOnFailure) {
  system_clock::time_point parsed = Midnight(2030y / 1 / 1);
  EXPECT_FALSE(ParseDate("2023-02-29", &parsed));
  EXPECT_EQ(parsed, Midnight(2030y / 1 / 1));
}

TEST(FormatDateTest, FormatsTheUtcDay) {
  EXPECT_EQ(FormatDate(Midnight(2024y / std::chrono::February / 29) + 23h + 59min), "2024-02-29");
}

// ---- RFC 3339 ---------------------------------------------------------------------------------

class ParseRfc3339Test : public ::testing::Test {
 protected:
  const system_clock::time_point noon_ = Midnight(2024y / std::chrono::March / 1) + 12h;
};

TEST_F(ParseRfc3339Test, ParsesUtcWithZ) {
  system_clock::time_point parsed;
  ASSERT_TRUE(ParseRfc3339("2024-03-01T12:34:56Z", &parsed));
  EXPECT_EQ(parsed, noon_ + 34min + 56s);
  ASSERT_TRUE(ParseRfc3339("2024-03-01t12:00:00z", &parsed));
  EXPECT_EQ(parsed, noon_);
  ASSERT_TRUE(ParseRfc3339("2024-03-01 12:00:00Z", &parsed));
  EXPECT_EQ(parsed, noon_);
}

TEST_F(ParseRfc3339Test, AppliesNumericOffsets) {
  system_clock::time_point parsed;
  ASSERT_TRUE(ParseRfc3339("2024-03-01T12:00:00+00:00", &parsed));
  EXPECT_EQ(parsed, noon_);
  ASSERT_TRUE(ParseRfc3339("2024-03-01T14:00:00+02:00", &parsed));
  EXPECT_EQ(parsed, noon_);
  ASSERT_TRUE(ParseRfc3339("2024-03-01T06:30:00-05:30", &parsed));
  EXPECT_EQ(parsed, noon_);
  // An offset can move the instant across a day boundary.
  ASSERT_TRUE(ParseRfc3339("2024-02-29T23:00:00-13:00", &parsed));
  EXPECT_EQ(parsed, noon_);
}

TEST_F(ParseRfc3339Test, KeepsFractionsDownToMicroseconds) {
  system_clock::time_point parsed;
  ASSERT_TRUE(ParseRfc3339("2024-03-01T12:00:00.5Z", &parsed));
  EXPECT_EQ(parsed, noon_ + 500ms);
  ASSERT_TRUE(ParseRfc3339("2024-03-01T12:00:00.000123+00:00", &parsed));
  EXPECT_EQ(parsed, noon_ + 123us);
  // Digits past microseconds are dropped, not rounded.
  ASSERT_TRUE(ParseRfc3339("2024-03-01T12:00:00.123456789Z", &parsed));
  EXPECT_EQ(parsed, noon_ + 123456us);
  ASSERT_TRUE(ParseRfc3339("2024-03-01T14:00:00.25+02:00", &parsed));
  EXPECT_EQ(parsed, noon_ + 250ms);
}

TEST_F(ParseRfc3339Test, RejectsMalformedDateTimes) {
  for (const char* text : {
           "2024-03-01T12:00:00",         // no offset
           "2024-03-01",                  // date only
           "2024-03-01T12:00Z",           // no seconds
           "2024-03-01T24:00:00Z",        // hour out of range
           "2024-03-01T12:60:00Z",        // minute out of range
           "2024-03-01T12:00:61Z",        // second out of range
           "2023-02-29T12:00:00Z",        // not a real day
           "2024-03-01X12:00:00Z",        // bad separator
           "2024-03-01T12:00:00.Z",       // fraction without digits
           "2024-03-01T12:00:00+0200",    // offset without colon
           "2024-03-01T12:00:00+02",      // offset without minutes
           "2024-03-01T12:00:00+24:00",   // offset hour out of range
           "2024-03-01T12:00:00+02:60",   // offset minute out of range
           "2024-03-01T12:00:00Zjunk",    // trailing text
           "2024-03-01T12:00:00+02:00 ",  // trailing space
       }) {
    system_clock::time_point parsed{};
    EXPECT_FALSE(ParseRfc3339(text, &parsed)) << "\"" << text << "\"";
  }
}

TEST(FormatRfc3339Test, FormatsUtcWithPlusZeroOffsetAndWholeSeconds) {
  EXPECT_EQ(FormatRfc3339(system_clock::time_point{}), "1970-01-01T00:00:00+00:00");
  EXPECT_EQ(FormatRfc3339(Midnight(2024y / std::chrono::February / 29) + 13h + 5min + 9s + 999ms),
            "2024-02-29T13:05:09+00:00");
  EXPECT_EQ(FormatRfc3339(system_clock::time_point{} - 1ms), "1969-12-31T23:59:59+00:00");
}

TEST(FormatRfc3339Test, RoundTripsThroughParse) {
  const auto instant = Midnight(2031y / std::chrono::July / 4) + 7h + 8min + 9s;
  system_clock::time_point parsed;
  ASSERT_TRUE(ParseRfc3339(FormatRfc3339(instant), &parsed));
  EXPECT_EQ(parsed, instant);
}

// ---- ids --------------------------------------------------------------------------------------

TEST(IsUuidTest, AcceptsCanonicalUuidsInEitherCase) {
  EXPECT_TRUE(IsUuid("7d5bd9a8-3c1e-4d6f-9f63-2a0c2b7d1e55"));
  EXPECT_TRUE(IsUuid("7D5BD9A8-3C1E-4D6F-9F63-2A0C2B7D1E55"));
  EXPECT_TRUE(IsUuid("00000000-0000-0000-0000-000000000000"));
}

TEST(IsUuidTest, RejectsAnythingElse) {
  for (const char* text :
       {"", "7d5bd9a83c1e4d6f9f632a0c2b7d1e55", "{7d5bd9a8-3c1e-4d6f-9f63-2a0c2b7d1e55}",
        "7d5bd9a8-3c1e-4d6f-9f63-2a0c2b7d1e5", "7d5bd9a8-3c1e-4d6f-9f63-2a0c2b7d1e555",
        "7d5bd9a8-3c1e-4d6f-9f632-a0c2b7d1e55", "7d5bd9a8-3c1e-4d6f-9f63-2a0c2b7d1e5g",
        "7d5bd9a8_3c1e_4d6f_9f63_2a0c2b7d1e55", "patient-0001"}) {
    EXPECT_FALSE(IsUuid(text)) << "\"" << text << "\"";
  }
}

TEST(NewRandomUuidTest, ProducesDistinctVersion4Uuids) {
  std::set<std::string> seen;
  for (int i = 0; i < 64; ++i) {
    std::string uuid = NewRandomUuid();
    ASSERT_TRUE(IsUuid(uuid)) << uuid;
    EXPECT_EQ(uuid[14], '4') << uuid;                                          // version
    EXPECT_NE(std::string("89ab").find(uuid[19]), std::string::npos) << uuid;  // variant
    EXPECT_EQ(uuid.find_first_of("ABCDEF"), std::string::npos) << uuid;        // lower case
    seen.insert(uuid);
  }
  EXPECT_EQ(seen.size(), 64u);
}

TEST(RandomIdGeneratorTest, ProducesUuids) {
  RandomIdGenerator ids;
  std::string first = ids.NewUuid();
  EXPECT_TRUE(IsUuid(first));
  EXPECT_NE(first, ids.NewUuid());
}

}  // namespace
}  // namespace lab_orders
